import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRows, type Row } from '../../src/cli/read-rows.ts';
import { unknownEnvVariables, unknownEnvWarning } from '../../src/config/index.ts';
import { checkShare } from '../../src/experiments/service.ts';
import { parseJsonBounded } from '../../src/infra/json.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'recsys-rows-'));
async function rows(name: string, text: string, limits?: { maxRowBytes: number; maxColumns: number }) {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  const out: Row[] = [];
  for await (const r of readRows(file, limits)) out.push(r);
  return out;
}

describe('rows are bounded before they are parsed', () => {
  it('a JSON line over the byte bound is refused with a short excerpt; the lines around it are read', async () => {
    const huge = JSON.stringify({ item_id: 'x', blob: 'a'.repeat(2_000_000) });
    const out = await rows('a.jsonl', `{"item_id":"i1"}\n${huge}\n\n{"item_id":"i2"}\nnot json\n`);
    expect(out.map((r) => r.line)).toEqual([1, 2, 4, 5]);
    expect(out[0]!.value).toEqual({ item_id: 'i1' });
    expect(out[1]!.error).toMatch(/longer than 262144 bytes/);
    expect(out[1]!.value).toBeUndefined();
    expect(out[1]!.excerpt!.length).toBeLessThanOrEqual(201);
    expect(out[2]!.value).toEqual({ item_id: 'i2' });
    expect(out[3]!.error).toMatch(/not JSON/);
  });

  it('a CSV row of a million columns is refused unparsed, one too wide for the bound by its columns', async () => {
    const wide = Array.from({ length: 1500 }, (_, i) => `c${i}`).join(',');
    const million = ','.repeat(1_000_000);
    const out = await rows(
      'a.csv',
      `item_id,name,tags\ni1,"two\nlines, with a comma",a|b\n${million}\n${wide}\ni2,plain,\ni3,short\n`,
    );
    expect(out[0]).toEqual({
      line: 3,
      value: { item_id: 'i1', name: 'two\nlines, with a comma', tags: ['a', 'b'] },
    });
    expect(out[1]!.error).toMatch(/longer than/);
    expect(out[1]!.excerpt!.length).toBeLessThanOrEqual(201);
    expect(out[2]!.error).toMatch(/more than 1000 columns/);
    expect(out[3]).toEqual({ line: 6, value: { item_id: 'i2', name: 'plain' } });
    expect(out[4]!.error).toMatch(/2 columns where the header has 3/);
  });

  it('a CSV header wider than the bound stops the import', async () => {
    const header = Array.from({ length: 20 }, (_, i) => `c${i}`).join(',');
    await expect(rows('h.csv', `${header}\n`, { maxRowBytes: 1000, maxColumns: 10 })).rejects.toThrow(
      /header/,
    );
  });

  it('a Kafka message over the byte bound is refused before JSON.parse', () => {
    const r = parseJsonBounded(JSON.stringify({ a: 'x'.repeat(300_000) }));
    expect(r).toMatchObject({ ok: false, reason: 'too_large' });
    expect(parseJsonBounded('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
  });
});

describe('startup rules', () => {
  it('names RECSYS_/ES_/KAFKA_ variables no setting reads, not the tools’ own or unrelated ones', () => {
    const env = {
      ES_URL: 'http://x:9200',
      ES_CA_FINGERPRINT: 'ab:cd',
      KAFKA_BROKER: 'x:9092',
      KAFKA_HEAP_OPTS: '-Xmx1g',
      RECSYS_INDEX_PREFIX: 'a-',
      RECSYS_INDEXPREFIX: 'a-',
      PATH: '/bin',
      ESX: '1',
    };
    expect(unknownEnvVariables(env)).toEqual(['ES_CA_FINGERPRINT', 'KAFKA_BROKER', 'RECSYS_INDEXPREFIX']);
    expect(unknownEnvWarning(env)).toMatch(/ES_CA_FINGERPRINT, KAFKA_BROKER, RECSYS_INDEXPREFIX/);
    expect(unknownEnvWarning({ ES_URL: 'http://x:9200' })).toBeUndefined();
  });

  it('an experiment arm gets at least the minimum share', () => {
    for (const bad of [1e-300, 0.001, 0.999, 0, 1, Number.NaN, '0.5'])
      expect(() => checkShare(bad), String(bad)).toThrow(/treatment_share/);
    expect(checkShare(0.01)).toBe(0.01);
    expect(checkShare(0.99)).toBe(0.99);
    expect(checkShare(0.5)).toBe(0.5);
    expect(() => checkShare(0.05, 0.1)).toThrow(/from 0.1/);
  });
});
