// docs/benchmarks.md is rendered from the benches' figures files, never edited by hand: it must be
// exactly the render of what bench/figures/ holds, and those files must carry what the page prints.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import path from 'node:path';
import {
  BENCHMARKS_DOC,
  checkFigures,
  loadFigures,
  REPO_ROOT,
  renderBenchmarksDoc,
} from '../../bench/figures.ts';
import { commandLine } from '../../bench/record.ts';

describe('docs/benchmarks.md', () => {
  it('is the render of the committed bench/figures/*.json (run npm run bench:docs)', async () => {
    const figures = loadFigures();
    expect(figures.length).toBeGreaterThan(0);
    expect(readFileSync(BENCHMARKS_DOC, 'utf8')).toBe(await renderBenchmarksDoc(figures));
  });

  it('says where every figure not written by its bench came from', async () => {
    const doc = readFileSync(BENCHMARKS_DOC, 'utf8');
    for (const f of loadFigures().filter((x) => x.source !== undefined))
      expect(doc).toContain(`Source: ${f.source}`);
  });
});

describe('figures files', () => {
  const valid = {
    bench: 'probe',
    title: 't',
    command: 'npx tsx bench/probe/run.ts',
    date: '2026-12-07T20:00:00.000Z',
    machine: { cpu: 'x', cores: 2, memory_gib: 24, node: 'v20', os: 'Linux' },
    tables: [{ title: 't', columns: ['a', 'b'], rows: [['x', 1]], reference: 'r', ratio: 'b' }],
  };

  it('are checked: a row of the wrong width, a ratio without its reference, a file of another name', () => {
    expect(checkFigures(valid, 'probe.json').bench).toBe('probe');
    const table = valid.tables[0]!;
    expect(() => checkFigures({ ...valid, tables: [{ ...table, rows: [['x']] }] }, 'probe.json')).toThrow(
      /1 cells for 2 columns/,
    );
    expect(() =>
      checkFigures({ ...valid, tables: [{ ...table, reference: undefined }] }, 'probe.json'),
    ).toThrow(/no named reference/);
    expect(() => checkFigures(valid, 'query.json')).toThrow(/belongs in probe.json/);
    expect(() => checkFigures({ ...valid, date: 'yesterday' }, 'probe.json')).toThrow(/ISO 8601/);
  });

  it('record the command with the settings that change a measurement, never credentials', () => {
    const line = commandLine(
      [
        '/usr/bin/node',
        path.join(REPO_ROOT, 'bench/query/run.ts'),
        '--items',
        '1000',
        '--similar',
        'ann,exact',
      ],
      {
        RECSYS_CONFIG: 'bench.toml',
        ES_API_KEY: 'secret',
        KAFKA_SASL_PASSWORD: 'secret',
        HOME: '/root',
      },
    );
    expect(line).toBe('RECSYS_CONFIG=bench.toml npx tsx bench/query/run.ts --items 1000 --similar ann,exact');
  });
});
