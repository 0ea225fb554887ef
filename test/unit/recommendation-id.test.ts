import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import {
  claimedServedAt,
  fitsRecommendationId,
  MAX_RECOMMENDATION_ID_CHARS,
  mintRecommendationId,
  readRecommendationId,
  TAG_BUDGET_CHARS,
  type RecommendationTag,
} from '../../src/events/recommendation-id.ts';
import { MAX_ES_ID_BYTES, utf8Bytes } from '../../src/types/ids.ts';

const SECRET = 'unit-test-secret-0123456789';
const servedAt = Date.parse('2026-12-01T20:15:00.123Z');
const plain: RecommendationTag = { modelId: 'm20261201020000-ab12', servedAt };
const arm: RecommendationTag = {
  modelId: 'm20261201020000-ab12',
  servedAt,
  experimentId: 'exp-2026.12_a',
  arm: 'candidate',
};
const URL_SAFE = /^[A-Za-z0-9._~-]+$/;

/** Replaces one character of s at i with another character of the same alphabet. */
function flip(s: string, i: number): string {
  const c = s[i]!;
  const alt = c === 'a' ? 'b' : c === '~' ? '-' : 'a';
  return s.slice(0, i) + alt + s.slice(i + 1);
}

describe('recommendation id codec', () => {
  it('round-trips model, serve time, experiment and arm', () => {
    expect(readRecommendationId(mintRecommendationId(plain, SECRET), SECRET)).toEqual({
      ...plain,
      binding: 'none',
    });
    expect(readRecommendationId(mintRecommendationId(arm, SECRET), SECRET)).toEqual({
      ...arm,
      binding: 'none',
    });
    const edge = { modelId: '0', servedAt: 0 };
    expect(readRecommendationId(mintRecommendationId(edge, SECRET), SECRET)).toEqual({
      ...edge,
      binding: 'none',
    });
  });

  it('is unique per list even for one model in one millisecond', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => mintRecommendationId(arm, SECRET)));
    expect(ids.size).toBe(10_000);
  });

  it('stays within 128 URL-safe characters and a valid Elasticsearch _id for the longest tag it accepts', () => {
    const modelId = 'm' + 'x'.repeat(63);
    const longest: RecommendationTag = {
      modelId,
      servedAt: 2 ** 48 - 1,
      experimentId: 'e'.repeat(13),
      arm: 'a'.repeat(TAG_BUDGET_CHARS - 64 - 13),
    };
    expect(fitsRecommendationId(longest)).toBe(true);
    const id = mintRecommendationId(longest, SECRET);
    expect(id.length).toBeLessThanOrEqual(MAX_RECOMMENDATION_ID_CHARS);
    expect(id).toMatch(URL_SAFE);
    expect(encodeURIComponent(id)).toBe(id);
    // an ES _id: at most 512 bytes, even with the longest prefix this project puts in front of an id
    expect(utf8Bytes(`attr-${id}`)).toBeLessThanOrEqual(MAX_ES_ID_BYTES);
    expect(id.startsWith('_')).toBe(false);
    expect(readRecommendationId(id, SECRET)).toEqual({ ...longest, binding: 'none' });
    expect(() => mintRecommendationId({ ...longest, arm: longest.arm + 'a' }, SECRET)).toThrow(RangeError);
  });

  it('rejects tampering with any single character, i.e. any field, of the id', () => {
    for (const tag of [plain, arm]) {
      const id = mintRecommendationId(tag, SECRET);
      for (let i = 0; i < id.length; i++)
        expect(readRecommendationId(flip(id, i), SECRET), `position ${i} of ${id}`).toBeUndefined();
    }
  });

  it('rejects a re-signed field swap, another secret, truncation, extra fields and garbage', () => {
    const id = mintRecommendationId(arm, SECRET);
    const [v, , e, a, tail] = id.split('~');
    expect(readRecommendationId([v, 'm20990101000000-evil', e, a, tail].join('~'), SECRET)).toBeUndefined();
    expect(readRecommendationId([v, arm.modelId, '', '', tail].join('~'), SECRET)).toBeUndefined(); // drop the arm
    expect(readRecommendationId([v, arm.modelId, e, 'control', tail].join('~'), SECRET)).toBeUndefined(); // switch arms
    expect(readRecommendationId(id, 'another-secret-0123456789')).toBeUndefined();
    expect(readRecommendationId(id.slice(0, -1), SECRET)).toBeUndefined();
    expect(readRecommendationId(`${id}~x`, SECRET)).toBeUndefined();
    expect(
      readRecommendationId(mintRecommendationId(arm, 'another-secret-0123456789'), SECRET),
    ).toBeUndefined();
    for (const junk of [
      '',
      'garbage',
      '7f1c6f1e-2f7b-4d35-9a51-0b8f8d5b0b2c',
      'r1~~~~',
      'r1~m1~~~' + 'A'.repeat(32),
      '~'.repeat(200),
    ]) {
      expect(readRecommendationId(junk, SECRET), junk).toBeUndefined();
    }
  });

  it('refuses to mint what it could not read back unambiguously', () => {
    for (const bad of [
      { ...plain, modelId: 'Has~Tilde' },
      { ...plain, modelId: '' },
      { ...plain, servedAt: -1 },
      { ...plain, servedAt: 1.5 },
      { ...plain, experimentId: 'exp~1', arm: 'a' },
      { ...plain, experimentId: 'exp1' }, // an experiment without an arm
      { ...plain, experimentId: '', arm: '' },
    ]) {
      expect(() => mintRecommendationId(bad, SECRET), JSON.stringify(bad)).toThrow(RangeError);
    }
  });

  it('binds an id to the user it was served to: it verifies for that user only, and says so', () => {
    const id = mintRecommendationId({ ...arm, userId: 'alice' }, SECRET);
    expect(readRecommendationId(id, SECRET, ['alice'])).toEqual({ ...arm, userId: 'alice', binding: 'user' });
    // the first candidate that verifies is the one it names
    expect(readRecommendationId(id, SECRET, ['mallory', 'alice'])).toMatchObject({ userId: 'alice' });
    expect(readRecommendationId(id, SECRET, ['mallory'])).toBeUndefined();
    expect(readRecommendationId(id, SECRET)).toBeUndefined();
    expect(readRecommendationId(id, SECRET, [''])).toBeUndefined();
    // a list served without a user binds nobody: any user's action verifies, as bound to none
    const open = mintRecommendationId(plain, SECRET);
    expect(readRecommendationId(open, SECRET, ['mallory'])).toStrictEqual({ ...plain, binding: 'none' });
    // an empty candidate is nobody, not a user bound as ''
    expect(readRecommendationId(open, SECRET, [''])).toStrictEqual({ ...plain, binding: 'none' });
    // the user is not in the id, and claimedServedAt reads only the (unverified) serve time
    expect(id).not.toContain('alice');
    expect(claimedServedAt(id)).toBe(servedAt);
    expect(claimedServedAt('garbage')).toBeUndefined();
  });

  it('reads no other version, even one signed with the same secret', () => {
    const fixed = Buffer.alloc(12);
    fixed.writeUIntBE(servedAt, 0, 6);
    for (const version of ['r3', 'r0', 'R2']) {
      const head = `${version}~${plain.modelId}~~`;
      const mac = createHmac('sha256', SECRET)
        .update(head)
        .update('\u0000')
        .update(fixed)
        .update('')
        .digest();
      const id = `${head}~${Buffer.concat([fixed, mac.subarray(0, 12)]).toString('base64url')}`;
      expect(readRecommendationId(id, SECRET), version).toBeUndefined();
    }
  });

  it('still verifies r1 ids, minted before the binding, as legacy, with the MAC they had', () => {
    const fixed = Buffer.alloc(12);
    fixed.writeUIntBE(servedAt, 0, 6);
    const head = `r1~${plain.modelId}~~`;
    const mac = createHmac('sha256', SECRET)
      .update(head)
      .update('\u0000')
      .update(fixed)
      .digest()
      .subarray(0, 12);
    const legacy = `${head}~${Buffer.concat([fixed, mac]).toString('base64url')}`;
    expect(readRecommendationId(legacy, SECRET, ['anyone'])).toEqual({ ...plain, binding: 'legacy' });
    expect(readRecommendationId(legacy, 'another-secret-0123456789')).toBeUndefined();
    // an r2 MAC under an r1 head does not verify, nor the reverse
    expect(readRecommendationId(legacy.replace(/^r1/, 'r2'), SECRET)).toBeUndefined();
    const current = mintRecommendationId(plain, SECRET);
    expect(readRecommendationId(current.replace(/^r2/, 'r1'), SECRET)).toBeUndefined();
  });
});
