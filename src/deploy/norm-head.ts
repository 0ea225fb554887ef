// The norm head: the longest item vectors, searched exactly beside the MIPS graph instead of in it.
//
// ALS item norms spread widely (popular items are long: on a generated 200k-item shop the median
// norm is 0.046 and the largest 2.3), and a user's top inner products come almost all from the
// long end: there, 96 % of sampled users' true top-10 items lay among the 1 % longest items and all
// of them among the 2.5 % longest. That is the case HNSW under max_inner_product handles worst:
// its recall@10 plateaued at 0.90 (int8, rescored) and 0.92 (float) however large num_candidates
// was, because the graph never reaches some of those long items.
//
// So deploy measures where the sample's true top-k items lie by norm and, when they concentrate in
// a small head, leaves the head out of the graph field: those items keep their flat (exact) field
// and a norm_head flag, and a user → item ann request adds a second knn clause, brute force over the
// head (a few thousand vectors: about a millisecond). Both clauses return exact float scores over
// disjoint sets, so Elasticsearch's union of the two is the ranked answer. Measured on that shop:
// recall@10 0.90 → 1.000 at num_candidates 100, with a category filter 1.000 → 0.994.
//
// The head clause costs about a microsecond per head item per request (Elasticsearch scores the
// filter's matches one by one), so the head is capped: at most 5 % of the items and 5,000 of them.
// When the truth does not concentrate that much (the planted bench factors: 95 % of the truth lay
// in 9,087 of 1M items, and the graph alone reached 0.95 there), no head: the graph alone as before.

import { vectorNorm } from '../lsh/index.ts';
import { exactTopK } from './ann-tuning.ts';

/** What the model document stores under ann.mips.head. */
export interface NormHead {
  /** items whose factor norm is at least min_norm: searched exactly, not in the graph */
  items: number;
  min_norm: number;
  /** share of the sample's true top-k items the head holds (the rule's target) */
  coverage: number;
}

/** The head holds this share of the sampled users' true top-k items. */
export const HEAD_COVERAGE = 0.95;
/** No head when it would be more than this share of the items with a factor… */
export const HEAD_MAX_SHARE = 0.05;
/** …or more than this many items (the head clause's cost grows with it). */
export const HEAD_MAX_ITEMS = 5_000;

/** Euclidean norm of each row of an n × dims row-major matrix. */
export function rowNorms(items: Float32Array, dims: number): Float64Array {
  const n = items.length / dims;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = vectorNorm(items.subarray(i * dims, (i + 1) * dims));
  return out;
}

/**
 * The norm head for these item factors and sampled user vectors, or undefined when their true
 * top-k items do not concentrate among the longest items (see the header).
 */
export function chooseNormHead(
  items: Float32Array,
  dims: number,
  queries: ArrayLike<number>[],
  k: number,
  opts: { coverage?: number; maxShare?: number; maxItems?: number } = {},
): NormHead | undefined {
  const coverage = opts.coverage ?? HEAD_COVERAGE;
  const maxShare = opts.maxShare ?? HEAD_MAX_SHARE;
  const maxItems = opts.maxItems ?? HEAD_MAX_ITEMS;
  const norms = rowNorms(items, dims);
  const usable = new Uint8Array(norms.length);
  let nUsable = 0;
  for (let i = 0; i < norms.length; i++) {
    if (!(norms[i]! > 0)) continue;
    usable[i] = 1;
    nUsable++;
  }
  if (!queries.length || !nUsable) return undefined;
  const truthNorms = exactTopK(items, dims, queries, k, { usable })
    .flat()
    .map((r) => norms[r]!)
    .sort((a, b) => b - a);
  if (!truthNorms.length) return undefined;
  // the norm above which `coverage` of the true top-k items lie
  const minNorm = truthNorms[Math.min(truthNorms.length - 1, Math.ceil(coverage * truthNorms.length) - 1)]!;
  let size = 0;
  for (let i = 0; i < norms.length; i++) if (usable[i] && norms[i]! >= minNorm) size++;
  if (size > maxShare * nUsable || size > maxItems) return undefined;
  return { items: size, min_norm: minNorm, coverage };
}

/** Whether an item's factor belongs to the head (searched exactly, left out of the graph). */
export function inNormHead(factor: ArrayLike<number>, head: NormHead | undefined): boolean {
  if (!head) return false;
  const norm = vectorNorm(factor);
  return norm > 0 && norm >= head.min_norm;
}
