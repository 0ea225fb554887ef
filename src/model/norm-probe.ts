// Exact user → item search without scoring the whole catalogue. Pure: no I/O here.
//
// By Cauchy–Schwarz an item x scores q·x ≤ ‖q‖·‖x‖. So if some k items (not excluded, passing
// the request's filters) already score at least b > 0, every item of the true top k has
// ‖x‖ ≥ b / ‖q‖, and the exact search may skip every shorter item: a range filter on the indexed
// factor_norm, which Elasticsearch applies before it scores a single vector, so the brute force
// costs the long items only. The answer is the same list, not an approximation. The items index is
// sorted by factor_norm, longest first (es-mappings/versioned/items.json): the kept items are one
// run of doc ids at the front of each segment, which the range finds without walking the points
// and the scorer reads in order (unsorted, a filtered brute force cost ~2.5× per vector what the
// unfiltered one did, and narrowing to 13.5 % of 1M items only took 66 → 45 ms).
//
// The bound b comes from the probe: the catalogue's longest item vectors, loaded once per model
// (LiveModelResolver.normProbe), scored in process in norm order. The scan stops as soon as the
// next probe item cannot beat the k-th score so far (‖q‖·‖x‖ ≤ b), so users whose top k are long
// items cost a few hundred dot products; the whole probe is 10,000 × dims at most.
//
// Only unfiltered requests are narrowed: the probe does not know the items' categories, prices
// or availability, and a bound from items a filter would reject is not a bound. Filtered exact
// searches already score only the filter's matches.
//
// Measured offline on the 1M planted bench factors (200 users, k 10, seen items excluded), share of
// the catalogue still scored: p50 0.13 / p99 0.68 with a 4,096-item probe, 0.10 / 0.40 with 16,384,
// 0.10 / 0.35 with the true k-th score (the floor for any bound).

import { vectorNorm } from '../lsh/index.ts';

/** The longest item vectors of one model, longest first. */
export interface NormProbe {
  dims: number;
  ids: string[];
  /** ‖x‖ of each probe item, non-increasing */
  norms: Float64Array;
  /** ids.length × dims, row-major, same order */
  vectors: Float32Array;
}

/** How many of the longest items the probe holds: one search page (index.max_result_window). */
export const PROBE_SIZE = 10_000;

/**
 * The threshold is lowered by this relative margin: Elasticsearch stores factor_norm as a float32
 * and scores in float32, the bound here is float64; the margin keeps an item whose norm sits on
 * the threshold in the scored set.
 */
export const NORM_SLACK = 1e-4;

/** A probe from items in any order (vectors of a different length or zero vectors are left out). */
export function buildNormProbe(dims: number, items: Array<{ id: string; vector: ArrayLike<number> }>): NormProbe {
  const rows = items
    .filter((it) => it.vector.length === dims)
    .map((it) => ({ ...it, norm: vectorNorm(it.vector) }))
    .filter((r) => r.norm > 0)
    .sort((a, b) => b.norm - a.norm);
  const vectors = new Float32Array(rows.length * dims);
  rows.forEach((r, i) => vectors.set(Array.from(r.vector), i * dims));
  return { dims, ids: rows.map((r) => r.id), norms: Float64Array.from(rows.map((r) => r.norm)), vectors };
}

/**
 * The smallest factor_norm an item of the query's exact top k can have, or undefined when the
 * probe gives no positive bound (fewer than k probe items left after the exclusions, the k-th
 * score ≤ 0, a zero or mismatched query).
 */
export function minTopKNorm(probe: NormProbe, query: ArrayLike<number>, k: number, exclude: ReadonlySet<string>): number | undefined {
  const { dims, ids, norms, vectors } = probe;
  if (query.length !== dims || k < 1) return undefined;
  const q = Float64Array.from(query);
  const qn = vectorNorm(q);
  if (!(qn > 0)) return undefined;
  // the k best scores so far, ascending (k is small: insertion beats a heap). The hot loop runs
  // over up to PROBE_SIZE × dims floats per request: four accumulators, and the exclusion set is
  // asked only about items that would enter the top k (10,000 × 64: 3.5 → 1.4 ms per request).
  const top: number[] = [];
  const tail = dims - (dims % 4);
  for (let i = 0; i < ids.length; i++) {
    const full = top.length === k;
    if (full && norms[i]! * qn <= top[0]!) break;
    const o = i * dims;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let d = 0; d < tail; d += 4) {
      s0 += q[d]! * vectors[o + d]!;
      s1 += q[d + 1]! * vectors[o + d + 1]!;
      s2 += q[d + 2]! * vectors[o + d + 2]!;
      s3 += q[d + 3]! * vectors[o + d + 3]!;
    }
    for (let d = tail; d < dims; d++) s0 += q[d]! * vectors[o + d]!;
    const s = s0 + s1 + s2 + s3;
    if (full && s <= top[0]!) continue;
    if (exclude.has(ids[i]!)) continue;
    if (full) top.shift();
    let j = top.length;
    while (j > 0 && top[j - 1]! > s) j--;
    top.splice(j, 0, s);
  }
  if (top.length < k || !(top[0]! > 0)) return undefined;
  return (top[0]! / qn) * (1 - NORM_SLACK);
}

/**
 * How many items a bound keeps, when the probe can tell: the bound lies above the probe's shortest
 * item (every kept item is then in the probe), or the probe holds the whole catalogue (fewer
 * items than PROBE_SIZE). Undefined when more items may be kept than the probe holds.
 */
export function keptByBound(probe: NormProbe, minNorm: number): number | undefined {
  const n = probe.ids.length;
  if (!n) return undefined;
  if (!(minNorm > probe.norms[n - 1]!) && n >= PROBE_SIZE) return undefined;
  // norms are non-increasing: the first index whose norm falls below the bound
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (probe.norms[mid]! >= minNorm) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What the probe says of one request: the bound, and how many items it keeps when that is known. */
export interface NormBound {
  minNorm: number;
  kept?: number;
}

/** minTopKNorm and keptByBound together: undefined when the probe gives no bound. */
export function normBound(probe: NormProbe, query: ArrayLike<number>, k: number, exclude: ReadonlySet<string>): NormBound | undefined {
  const minNorm = minTopKNorm(probe, query, k, exclude);
  return minNorm === undefined ? undefined : { minNorm, kept: keptByBound(probe, minNorm) };
}

/**
 * Whether an unfiltered user → item ann request is answered by the bounded exact search: the
 * bound keeps a known number of items, at most maxScored (ANN_EXACT_MAX_SCORED; 0 never), which
 * costs less than the graph search and has recall 1.
 */
export function annAnsweredByBound(bound: NormBound | undefined, maxScored: number): boolean {
  return maxScored > 0 && bound?.kept !== undefined && bound.kept <= maxScored;
}
