import { describe, expect, it } from 'vitest';
import { jsonDepth, MAX_JSON_DEPTH, parseJsonBounded } from '../../src/infra/json.ts';

const nested = (depth: number) => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);

describe('bounded JSON parsing', () => {
  it('accepts nesting up to the limit and refuses one level more, objects or arrays', () => {
    expect(parseJsonBounded(nested(MAX_JSON_DEPTH))).toMatchObject({ ok: true });
    expect(parseJsonBounded(nested(MAX_JSON_DEPTH + 1))).toMatchObject({ ok: false, reason: 'too_deep' });
    expect(parseJsonBounded('['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1))).toMatchObject({
      ok: false,
      reason: 'too_deep',
    });
  });

  it('judges many shallow brackets by their depth, not their number', () => {
    const wide = JSON.stringify({ list: Array.from({ length: 100 }, (_, i) => ({ i, tags: [i] })) });
    expect(jsonDepth(wide)).toBe(4);
    expect(parseJsonBounded(wide)).toMatchObject({ ok: true });
    // brackets inside strings count for nothing
    const quoted = JSON.stringify({ text: '{'.repeat(500) + '['.repeat(500) });
    expect(parseJsonBounded(quoted)).toMatchObject({ ok: true, value: { text: expect.any(String) } });
  });

  it('refuses empty and invalid text with their own reasons', () => {
    expect(parseJsonBounded(undefined)).toMatchObject({ ok: false, reason: 'empty' });
    expect(parseJsonBounded('{"a":')).toMatchObject({ ok: false, reason: 'invalid_json' });
  });
});
