// The one step that turns aggregated ratings r_ui into what ALS multiplies by α: confidence
// c_ui = 1 + α·w(r_ui). The fit (fit.ts) and the user step of a fold-in (model.ts recalculateUser)
// both call it, with the scheme and the per-item statistics of the model itself, so an online
// vector is weighted like a batch one.
//
//   linear  w = r                                        (Hu, Koren & Volinsky's 1 + α·r)
//   log     w = log(1 + r/ε)                             (their alternative, ε = LOG_EPSILON)
//   tfidf   w = √r · idf_u                               (implicit's tfidf_weight)
//   bm25    w = r·(K1+1) / (K1·norm_i + r) · idf_u       (implicit's bm25_weight, K1 = 100, B = 0.8)
//
// implicit weights an item × user matrix (items are the "documents", users the "terms", as in its
// last.fm ALS example), so idf_u = log(nItems / (1 + |items of u|)) depends only on the user's own
// row — fold-in can compute it for a user the model never saw — and norm_i = (1 − B) + B·Σ_u r_ui /
// mean_i Σ_u r_ui is the one per-item number a model must keep (deploy writes it on the item
// document). idf is floored at IDF_FLOOR so a user who touched almost everything keeps positive
// confidences (a non-positive weight would drop the pair from fold-in).

import type { RatingsMatrix, WeightingScheme } from '../types/index.ts';

export type { WeightingScheme };
export const WEIGHTING_SCHEMES: readonly WeightingScheme[] = ['linear', 'log', 'bm25', 'tfidf'];

export const LOG_EPSILON = 1;
export const BM25_K1 = 100;
export const BM25_B = 0.8;
const IDF_FLOOR = 0.01;

/** idf of a user (a "term") with `degree` distinct items among `nItems`. */
export function userIdf(nItems: number, degree: number): number {
  return Math.max(IDF_FLOOR, Math.log(nItems / (1 + degree)));
}

/** BM25 length normalisation per item from the raw matrix (1 for schemes that do not use it). */
export function itemLengthNorms(m: RatingsMatrix): Float32Array {
  const sums = new Float64Array(m.nItems);
  const nnz = m.indptr[m.nUsers]!;
  for (let j = 0; j < nnz; j++) sums[m.indices[j]!]! += m.data[j]!;
  let total = 0;
  for (let i = 0; i < m.nItems; i++) total += sums[i]!;
  const mean = m.nItems > 0 ? total / m.nItems : 0;
  return Float32Array.from(sums, (s) => (mean > 0 ? 1 - BM25_B + (BM25_B * s) / mean : 1));
}

/**
 * One user's weights. `ratings[j]` is the user's rating of item j of the row, `norms[j]` that
 * item's BM25 norm (ignored by the other schemes); `nItems` is the model's catalogue size.
 */
export function weightRow(
  scheme: WeightingScheme,
  ratings: ArrayLike<number>,
  norms: ArrayLike<number> | undefined,
  nItems: number,
): Float32Array {
  const n = ratings.length;
  const out = new Float32Array(n);
  let degree = 0;
  for (let j = 0; j < n; j++) if (ratings[j]! > 0) degree++;
  const idf = scheme === 'bm25' || scheme === 'tfidf' ? userIdf(nItems, degree) : 1;
  for (let j = 0; j < n; j++) {
    const r = ratings[j]!;
    if (!(r > 0)) continue;
    switch (scheme) {
      case 'linear':
        out[j] = r;
        break;
      case 'log':
        out[j] = Math.log1p(r / LOG_EPSILON);
        break;
      case 'tfidf':
        out[j] = Math.sqrt(r) * idf;
        break;
      case 'bm25':
        out[j] = ((r * (BM25_K1 + 1)) / (BM25_K1 * (norms?.[j] ?? 1) + r)) * idf;
        break;
    }
  }
  return out;
}

/**
 * The matrix with weights in place of ratings (same structure), and the per-item norms a model
 * keeps for fold-in (bm25 only). The linear scheme returns the matrix itself.
 */
export function weightMatrix(
  m: RatingsMatrix,
  scheme: WeightingScheme,
): { matrix: RatingsMatrix; itemNorms?: Float32Array } {
  if (scheme === 'linear') return { matrix: m };
  const itemNorms = scheme === 'bm25' ? itemLengthNorms(m) : undefined;
  const data = new Float32Array(m.data.length);
  const rowNorms: number[] = [];
  for (let u = 0; u < m.nUsers; u++) {
    const s = m.indptr[u]!;
    const e = m.indptr[u + 1]!;
    if (itemNorms) {
      rowNorms.length = 0;
      for (let j = s; j < e; j++) rowNorms.push(itemNorms[m.indices[j]!]!);
    }
    data.set(weightRow(scheme, m.data.subarray(s, e), itemNorms ? rowNorms : undefined, m.nItems), s);
  }
  return { matrix: { ...m, data }, ...(itemNorms ? { itemNorms } : {}) };
}
