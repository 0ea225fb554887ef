import { describe, expect, it } from 'vitest';
import {
  AlsModel,
  BM25_B,
  BM25_K1,
  buildCsr,
  LOG_EPSILON,
  weightMatrix,
  weightRow,
} from '../../src/als/index.ts';
import type { AlsParams, RatingsMatrix } from '../../src/types/index.ts';

// users × items; rows are users
const triples = [
  { userId: 'a', itemId: 'x', weight: 1 },
  { userId: 'a', itemId: 'y', weight: 4 },
  { userId: 'b', itemId: 'x', weight: 2 },
  { userId: 'c', itemId: 'x', weight: 5 },
  { userId: 'c', itemId: 'y', weight: 1 },
  { userId: 'c', itemId: 'z', weight: 3 },
  { userId: 'd', itemId: 'w', weight: 2 },
];
const m = buildCsr(triples);

/** implicit's bm25_weight / tfidf_weight, written out on the item × user matrix (items are documents, users terms). */
function implicitReference(scheme: 'bm25' | 'tfidf'): Map<string, number> {
  const nItems = m.nItems;
  const userDegree = new Map<string, number>();
  const itemSum = new Map<string, number>();
  for (const t of triples) {
    userDegree.set(t.userId, (userDegree.get(t.userId) ?? 0) + 1);
    itemSum.set(t.itemId, (itemSum.get(t.itemId) ?? 0) + t.weight);
  }
  const mean = [...itemSum.values()].reduce((a, b) => a + b, 0) / nItems;
  const out = new Map<string, number>();
  for (const t of triples) {
    // implicit's idf, with our floor (a user on nearly every item keeps positive weights)
    const idf = Math.max(0.01, Math.log(nItems / (1 + userDegree.get(t.userId)!)));
    const norm = 1 - BM25_B + (BM25_B * itemSum.get(t.itemId)!) / mean;
    const w =
      scheme === 'tfidf'
        ? Math.sqrt(t.weight) * idf
        : ((t.weight * (BM25_K1 + 1)) / (BM25_K1 * norm + t.weight)) * idf;
    out.set(`${t.userId}|${t.itemId}`, w);
  }
  return out;
}

function entries(x: RatingsMatrix): Map<string, number> {
  const out = new Map<string, number>();
  for (let u = 0; u < x.nUsers; u++)
    for (let j = x.indptr[u]!; j < x.indptr[u + 1]!; j++)
      out.set(`${x.userIds[u]}|${x.itemIds[x.indices[j]!]}`, x.data[j]!);
  return out;
}

describe('confidence weighting schemes', () => {
  it('linear is the ratings themselves, log is log(1 + r/ε)', () => {
    expect(weightMatrix(m, 'linear').matrix.data).toEqual(m.data);
    const log = weightMatrix(m, 'log').matrix;
    for (let j = 0; j < m.data.length; j++)
      expect(log.data[j]).toBeCloseTo(Math.log(1 + m.data[j]! / LOG_EPSILON), 6);
    expect(log.indices).toEqual(m.indices);
  });

  it('bm25 and tfidf match implicit’s formulas on the item × user matrix', () => {
    for (const scheme of ['bm25', 'tfidf'] as const) {
      const got = entries(weightMatrix(m, scheme).matrix);
      const want = implicitReference(scheme);
      expect(got.size).toBe(want.size);
      for (const [k, w] of want) expect(got.get(k)).toBeCloseTo(w, 5);
    }
    // user c touched 3 of 4 items: idf log(4/4) = 0 would erase them, the floor keeps them positive
    const c = entries(weightMatrix(m, 'tfidf').matrix);
    expect(c.get('c|x')).toBeGreaterThan(0);
    // a user with fewer items weighs each more (idf), an item with more mass weighs less (bm25 norm)
    const bm = entries(weightMatrix(m, 'bm25').matrix);
    expect(bm.get('b|x')! / 2).toBeGreaterThan(bm.get('a|x')! / 1);
  });

  it('one row weighted for fold-in equals the same row weighted inside the matrix', () => {
    for (const scheme of ['linear', 'log', 'bm25', 'tfidf'] as const) {
      const { matrix, itemNorms } = weightMatrix(m, scheme);
      for (let u = 0; u < m.nUsers; u++) {
        const s = m.indptr[u]!;
        const e = m.indptr[u + 1]!;
        const norms = Array.from(m.indices.subarray(s, e), (i) => itemNorms?.[i] ?? 1);
        const row = weightRow(scheme, m.data.subarray(s, e), norms, m.nItems);
        expect(Array.from(row)).toEqual(Array.from(matrix.data.subarray(s, e)));
      }
    }
  });

  it('training applies the scheme of its params: log training = linear training on log-weighted data', async () => {
    const p: AlsParams = {
      factors: 3,
      regularization: 0.1,
      alpha: 2,
      iterations: 4,
      solver: 'cholesky',
      cgSteps: 3,
      seed: 5,
      threads: 1,
    };
    const viaScheme = await AlsModel.fit(m, { ...p, weighting: 'log' });
    const byHand = await AlsModel.fit({ ...m, data: Float32Array.from(m.data, (r) => Math.log1p(r)) }, p);
    expect(Array.from(viaScheme.userFactors)).toEqual(Array.from(byHand.userFactors));
    expect(viaScheme.itemNorms).toBeUndefined();
    expect((await AlsModel.fit(m, { ...p, weighting: 'bm25' })).itemNorms).toHaveLength(m.nItems);
    await expect(AlsModel.fit(m, { ...p, weighting: 'cubic' as never })).rejects.toThrow(/weighting/);
  });

  it('fold-in with the model’s scheme reproduces the batch user step', async () => {
    // a converged user factor is (nearly) a fixed point of the user step against the final item
    // factors: fold-in weighting the row like training lands on it, raw ratings do not
    const p: AlsParams = {
      factors: 3,
      regularization: 0.5,
      alpha: 3,
      iterations: 6,
      solver: 'cholesky',
      cgSteps: 3,
      seed: 2,
      threads: 1,
    };
    const model = await AlsModel.fit(m, { ...p, weighting: 'bm25' });
    const u = m.userIds.indexOf('c');
    const s = m.indptr[u]!;
    const e = m.indptr[u + 1]!;
    const rated = Array.from(m.indices.subarray(s, e), (i, j): [number, number] => [i, m.data[s + j]!]);
    const same = model.recalculateUser(rated)!;
    // the same item factors with the ratings taken as confidences unweighted
    const unweighted = new AlsModel({
      params: { ...model.params, weighting: 'linear' },
      userFactors: model.userFactors,
      itemFactors: model.itemFactors,
    });
    const raw = unweighted.recalculateUser(rated)!;
    const trained = model.userFactor(u);
    const dist = (a: ArrayLike<number>) => Math.hypot(...Array.from(trained, (x, i) => x - a[i]!));
    expect(dist(same)).toBeLessThan(dist(raw));
    expect(dist(same)).toBeLessThan(0.05 * Math.hypot(...trained));
  });
});
