// The ALS model object against brute-force references: the user step and its explanation solved
// with ml-matrix on the dense system, recommendations and similar items by sorting every score.

import { Matrix, solve } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { AlsModel, buildCsr, recalculateUser, weightRow, type WeightingScheme } from '../../src/als/index.ts';
import { gaussianSource, uniformSource } from '../../src/random/rng.ts';
import type { AlsParams } from '../../src/types/index.ts';

const K = 6;
const N_ITEMS = 40;

function randomModel(weighting: WeightingScheme, seed = 1): AlsModel {
  const normal = gaussianSource(seed);
  const uniform = uniformSource(seed);
  return new AlsModel({
    params: { factors: K, regularization: 0.3, alpha: 2.5, weighting },
    userFactors: Float32Array.from({ length: 10 * K }, () => normal() * 0.4),
    itemFactors: Float32Array.from({ length: N_ITEMS * K }, () => normal() * 0.4),
    itemNorms: Float32Array.from({ length: N_ITEMS }, () => 0.5 + uniform()),
    itemIds: Array.from({ length: N_ITEMS }, (_, i) => `i${i}`),
  });
}

/** A user's (item index, rating) pairs, a few of them repeated. */
const RATED: Array<[number, number]> = [
  [3, 1],
  [7, 4],
  [11, 0.5],
  [7, 1],
  [20, 2],
  [31, 6],
];

function merged(rated: Array<[number, number]>): Array<[number, number]> {
  const m = new Map<number, number>();
  for (const [i, r] of rated) m.set(i, (m.get(i) ?? 0) + r);
  return [...m];
}

/** The user step's system with ml-matrix, from the definition: A = YᵀC_uY + λI, b = YᵀC_u·1. */
function reference(model: AlsModel, rated: Array<[number, number]>) {
  const { alpha, regularization, weighting } = model.params;
  const rows = merged(rated);
  const w = weightRow(
    weighting,
    rows.map(([, r]) => r),
    rows.map(([i]) => model.itemNorms![i]!),
    model.nItems,
  );
  const Y = new Matrix(Array.from({ length: model.nItems }, (_, i) => Array.from(model.itemFactor(i))));
  // C_u: 1 everywhere, 1 + α·w on the rated items; p_u: 1 on the rated items
  const c = new Array<number>(model.nItems).fill(1);
  const p = new Array<number>(model.nItems).fill(0);
  rows.forEach(([i], j) => {
    c[i] = 1 + alpha * w[j]!;
    p[i] = 1;
  });
  const CY = Y.clone();
  for (let i = 0; i < model.nItems; i++) for (let a = 0; a < K; a++) CY.set(i, a, c[i]! * Y.get(i, a));
  const A = Y.transpose().mmul(CY).add(Matrix.eye(K, K).mul(regularization));
  const b = CY.transpose().mmul(Matrix.columnVector(p));
  return { rows, c, Y, A, x: solve(A, b).to1DArray() };
}

describe('AlsModel.recalculateUser', () => {
  it.each(['linear', 'log', 'tfidf', 'bm25'] as const)(
    'is the ALS user step solved on the dense system (%s weighting)',
    (weighting) => {
      const model = randomModel(weighting);
      const x = model.recalculateUser(RATED)!;
      const want = reference(model, RATED).x;
      for (let a = 0; a < K; a++) expect(x[a]).toBeCloseTo(want[a]!, 5);
    },
  );

  it('is the same step as the one the online consumer calls with gathered rows', () => {
    const model = randomModel('bm25');
    const rows = merged(RATED).map(([i, rating]) => ({
      factor: Array.from(model.itemFactor(i)),
      rating,
      weightNorm: model.itemNorms![i]!,
    }));
    expect(recalculateUser(model.basis, rows)).toEqual(model.recalculateUser(RATED));
  });

  it('skips unknown ids and leaves nothing to solve without a positive rating', () => {
    const model = randomModel('linear');
    const byIds = model.ratedByIds(
      new Map([
        ['i7', 5],
        ['nope', 1],
        ['i3', 1],
      ]),
    );
    expect(byIds).toEqual([
      [7, 5],
      [3, 1],
    ]);
    expect(model.recalculateUser([[5, -1]])).toBeUndefined();
    expect(() => model.recalculateUser([[N_ITEMS, 1]])).toThrow(RangeError);
    expect(() => recalculateUser(model.basis, [{ factor: [1, 2], rating: 1 }])).toThrow(/components/);
  });
});

describe('AlsModel.explain', () => {
  it.each(['linear', 'bm25'] as const)(
    'splits the recalculated user’s score into one term per rated item (%s)',
    (weighting) => {
      const model = randomModel(weighting);
      const x = model.recalculateUser(RATED)!;
      const { A, Y, c, rows } = reference(model, RATED);
      for (const item of [0, 7, 25]) {
        const e = model.explain(RATED, item);
        let score = 0;
        for (let a = 0; a < K; a++) score += x[a]! * model.itemFactor(item)[a]!;
        expect(e.score).toBeCloseTo(score, 5);
        const sum = e.contributions.reduce((s, t) => s + t.contribution, 0);
        expect(sum).toBeCloseTo(e.score, 10);
        // term j = c_j · (A⁻¹y_i)ᵀy_j, from ml-matrix
        const v = solve(A, Matrix.columnVector(Array.from(model.itemFactor(item)))).to1DArray();
        const want = new Map(rows.map(([j]) => [j, c[j]! * v.reduce((s, va, a) => s + va * Y.get(j, a), 0)]));
        expect(e.contributions.map((t) => t.index).sort((a, b) => a - b)).toEqual(
          [...want.keys()].sort((a, b) => a - b),
        );
        for (const t of e.contributions) expect(t.contribution).toBeCloseTo(want.get(t.index)!, 5);
        for (let j = 1; j < e.contributions.length; j++)
          expect(e.contributions[j]!.contribution).toBeLessThanOrEqual(e.contributions[j - 1]!.contribution);
      }
      expect(model.explain(RATED, 0, 2).contributions).toHaveLength(2);
    },
  );
});

describe('AlsModel.recommend and similarItems', () => {
  const model = randomModel('linear', 3);

  function bruteTop(scores: number[], k: number, skip: (i: number) => boolean): number[] {
    return scores
      .map((s, i) => ({ s, i }))
      .filter(({ i }) => !skip(i))
      .sort((a, b) => b.s - a.s || a.i - b.i)
      .slice(0, k)
      .map(({ i }) => i);
  }

  it('recommends the items of highest xᵀy, best first, without the excluded ones', () => {
    const x = model.userFactor(4);
    const scores = Array.from({ length: N_ITEMS }, (_, i) =>
      x.reduce((s, xa, a) => s + xa * model.itemFactor(i)[a]!, 0),
    );
    const exclude = new Set([bruteTop(scores, 1, () => false)[0]!, 9]);
    const want = bruteTop(scores, 5, (i) => exclude.has(i));
    expect(model.recommend(4, 5, exclude).map((r) => r.index)).toEqual(want);
    expect(model.recommend(Array.from(x), 5, (i) => exclude.has(i)).map((r) => r.index)).toEqual(want);
    expect(() => model.recommend(10, 5)).toThrow(RangeError);
  });

  it('finds similar items by the cosine of their factors, leaving the item out', () => {
    const norm = (i: number) => Math.hypot(...model.itemFactor(i));
    const cos = Array.from(
      { length: N_ITEMS },
      (_, j) =>
        model.itemFactor(12).reduce((s, v, a) => s + v * model.itemFactor(j)[a]!, 0) / (norm(12) * norm(j)),
    );
    const got = model.similarItems(12, 4);
    expect(got.map((r) => r.index)).toEqual(bruteTop(cos, 4, (j) => j === 12));
    for (const r of got) expect(r.score).toBeCloseTo(cos[r.index]!, 5);
  });
});

describe('AlsModel.fit', () => {
  it('keeps the ids, the params and YᵀY of what it fitted', async () => {
    const m = buildCsr([
      { userId: 'a', itemId: 'x', weight: 1 },
      { userId: 'a', itemId: 'y', weight: 2 },
      { userId: 'b', itemId: 'y', weight: 1 },
      { userId: 'b', itemId: 'z', weight: 3 },
    ]);
    const params: AlsParams = {
      factors: 2,
      regularization: 0.1,
      alpha: 2,
      iterations: 3,
      solver: 'cholesky',
      cgSteps: 3,
      seed: 1,
      threads: 1,
    };
    const model = await AlsModel.fit(m, params);
    expect(model.params).toEqual({ factors: 2, regularization: 0.1, alpha: 2, weighting: 'linear' });
    expect([model.nUsers, model.nItems]).toEqual([2, 3]);
    expect(model.userIndex('b')).toBe(1);
    expect(model.itemIndex('z')).toBe(m.itemIds.indexOf('z'));
    expect(model.loss).toHaveLength(3);
    const Y = new Matrix(Array.from({ length: 3 }, (_, i) => Array.from(model.itemFactor(i))));
    const yty = Y.transpose().mmul(Y).to1DArray();
    model.yty.forEach((v, j) => expect(v).toBeCloseTo(yty[j]!, 6));
  });
});
