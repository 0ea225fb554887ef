// Exact, hand-sized cases for the hasher: planes chosen by hand so every expected bit is known.
// The statistical tests in lsh.test.ts show the hashing has the right collision rates; these show
// each rule of the code (bit order, the ≥ 0 boundary, offsets of batched rows, the ≤ 32-bit limit of
// numeric codes, unsigned codes) so that a changed operator fails a test in milliseconds.
import { describe, expect, it } from 'vitest';
import {
  LshHasher,
  candidateProbability,
  codeToTerm,
  tableCollisionProbability,
} from '../../src/lsh/index.ts';

/** Hyperplanes along axes: table t, bit j has normal ±e_(axis). */
function axisPlanes(tables: number, bits: number, dims: number, axis: (t: number, j: number) => number) {
  const p = new Float32Array(tables * bits * dims);
  for (let t = 0; t < tables; t++)
    for (let j = 0; j < bits; j++) {
      const a = axis(t, j);
      p[(t * bits + j) * dims + Math.abs(a) - 1] = Math.sign(a);
    }
  return p;
}

describe('LshHasher on hand-made planes', () => {
  // 2 tables × 3 bits over 3 dims: table 0 tests +x, +y, +z; table 1 tests −x, −y, −z
  const params = { tables: 2, bits: 3, dims: 3, seed: 1 };
  const planes = axisPlanes(2, 3, 3, (t, j) => (t === 0 ? j + 1 : -(j + 1)));
  const h = new LshHasher(params, planes);

  it('bit j of a table is 1 exactly when the vector is on the non-negative side of plane j', () => {
    expect(Array.from(h.signBits([1, -2, 3]))).toEqual([1, 0, 1, 0, 1, 0]);
    expect(Array.from(h.signBits([-1, 2, -3]))).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it('a vector on a plane (dot exactly 0) counts as the non-negative side in every form', () => {
    expect(Array.from(h.signBits([0, 0, 0]))).toEqual([1, 1, 1, 1, 1, 1]);
    expect(h.bucketTerms([0, 0, 0])).toEqual(['0_111', '1_111']);
    expect(Array.from(h.bucketCodes([0, 0, 0]))).toEqual([7, 7]);
  });

  it('terms put bit j at character j, and codes put bit j at 2^j', () => {
    // table 0: x ≥ 0 (bit 0), y < 0 (bit 1), z < 0 (bit 2); table 1 is the complement
    expect(h.bucketTerms([2, -1, -1])).toEqual(['0_100', '1_011']);
    expect(Array.from(h.bucketCodes([2, -1, -1]))).toEqual([0b001, 0b110]);
    expect(codeToTerm(0, 0b001, 3)).toBe('0_100');
    expect(codeToTerm(4, 0b110, 3)).toBe('4_011');
    expect(codeToTerm(1, 0, 2)).toBe('1_00');
  });

  it('batched rows are read at their own offsets, codes and terms alike', () => {
    const rows = Float32Array.from([1, 1, 1, -1, -1, -1, 5, -5, 0]);
    expect(Array.from(h.bucketCodesBatch(rows, 3))).toEqual([7, 0, 0, 7, 0b101, 0b110]);
    expect(h.bucketTermsBatch(rows, 3)).toEqual([
      ['0_111', '1_000'],
      ['0_000', '1_111'],
      ['0_101', '1_011'], // z = 0 lies on both tables' z plane
    ]);
    // a batch of fewer rows than the array holds reads only those
    expect(Array.from(h.bucketCodesBatch(rows, 1))).toEqual([7, 0]);
    expect(() => h.bucketCodesBatch(rows.subarray(0, 8), 3)).toThrow(/need 3×3 values, got 8/);
    expect(h.bucketCodesBatch(rows.subarray(0, 9), 3)).toHaveLength(6);
  });

  it('refuses vectors of the wrong length and projections of the wrong size', () => {
    expect(() => h.signBits([1, 2])).toThrow(/2 dims, hasher expects 3/);
    expect(() => h.bucketCodes([1, 2, 3, 4])).toThrow(RangeError);
    expect(() => new LshHasher(params, planes.subarray(1))).toThrow(/expected L·b·dims = 18/);
  });

  it('numeric codes are unsigned up to 32 bits and refused beyond; terms work at any width', () => {
    const h32 = new LshHasher({ tables: 1, bits: 32, dims: 1, seed: 1 }, new Float32Array(32).fill(1));
    expect(h32.bucketCodes([1])[0]).toBe(2 ** 32 - 1);
    // 33 bits over 2 dims: every plane of table 0 is +x, of table 1 is +y
    const planes33 = axisPlanes(2, 33, 2, (t) => t + 1);
    const h33 = new LshHasher({ tables: 2, bits: 33, dims: 2, seed: 1 }, planes33);
    expect(() => h33.bucketCodes([1, 1])).toThrow(/bits ≤ 32/);
    const ones = '1'.repeat(33);
    const zeros = '0'.repeat(33);
    expect(h33.bucketTerms([1, -1])).toEqual([`0_${ones}`, `1_${zeros}`]);
    expect(h33.bucketTermsBatch(Float32Array.from([1, -1, -1, 1, -1, -1]), 3)).toEqual([
      [`0_${ones}`, `1_${zeros}`],
      [`0_${zeros}`, `1_${ones}`],
      [`0_${zeros}`, `1_${zeros}`],
    ]);
  });

  it('serialises its params and exact planes, and a deserialised hasher hashes identically', () => {
    const s = h.serialize();
    expect(s).toMatchObject(params);
    const back = LshHasher.deserialize(s);
    expect(back.params).toEqual(params);
    expect(back.projections).toEqual(planes);
    expect(back.bucketTerms([3, -1, 0])).toEqual(h.bucketTerms([3, -1, 0]));
    expect(Object.isFrozen(h.params)).toBe(true);
  });
});

describe('collision probabilities of sign random projections', () => {
  it('one b-bit table collides with probability (1 − θ/π)^b', () => {
    expect(tableCollisionProbability(0, 8)).toBe(1);
    expect(tableCollisionProbability(Math.PI / 2, 1)).toBeCloseTo(0.5, 15);
    expect(tableCollisionProbability(Math.PI / 4, 3)).toBeCloseTo(0.75 ** 3, 15);
    expect(tableCollisionProbability(Math.PI, 2)).toBe(0);
  });

  it('L tables share a bucket with probability 1 − (1 − p)^L', () => {
    const p = 0.75 ** 3;
    expect(candidateProbability(Math.PI / 4, 1, 3)).toBeCloseTo(p, 15);
    expect(candidateProbability(Math.PI / 4, 5, 3)).toBeCloseTo(1 - (1 - p) ** 5, 15);
    expect(candidateProbability(Math.PI, 5, 3)).toBe(0);
  });
});
