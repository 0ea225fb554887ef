// Exact user → item search without scoring the whole catalogue. Pure: no I/O here.
//
// By Cauchy–Schwarz an item x scores q·x ≤ ‖q‖·‖x‖. So if some k items (not excluded, passing
// the request's filters) already score at least b > 0, every item of the true top k has
// ‖x‖ ≥ b / ‖q‖, and the exact search may skip every shorter item: a range filter on the indexed
// factor_norm, which Elasticsearch applies before it scores a single vector, so the brute force
// costs the long items only. The answer is the same list, not an approximation. The items index is
// sorted by factor_norm, longest first (es-mappings/versioned/items.json): the kept items are one
// run of doc ids at the front of each segment, which the range finds without walking the points
// and the scorer reads in order (unsorted, a filtered brute force cost several times per vector what
// the unfiltered one did, so narrowing the catalogue saved little; bench/query measures both).
//
// The bound b comes from the probe: the catalogue's longest item vectors, loaded once per model
// (LiveModelResolver.normProbe), scored in process in norm order. The scan stops as soon as the
// next probe item cannot beat the k-th score so far (‖q‖·‖x‖ ≤ b), so users whose top k are long
// items cost a few hundred dot products; the whole probe is 10,000 × dims at most.
//
// Filtered requests are narrowed too: the probe carries the doc values of the whitelisted filter
// fields of its items (columns), and only probe items passing the request's filters may set the
// bound (query/filters.ts filterPredicate evaluates them). Those values are a copy: a metadata
// update reaches the live index at once and the probe only at its next reload, so a filtered bound
// is a guess, and every bounded answer is checked before it is served (boundHolds): if the k-th
// hit scores at least ‖q‖ times the bound, no skipped item could have beaten it, whatever the probe
// believed; otherwise the search runs again without the bound. An unfiltered bound always holds
// (item vectors do not change after deploy); the check costs nothing there.
//
// Measured offline on the 1M planted bench factors (200 users, k 10, seen items excluded), share of
// the catalogue still scored: p50 0.13 / p99 0.68 with a 4,096-item probe, 0.10 / 0.40 with 16,384,
// 0.10 / 0.35 with the true k-th score (the floor for any bound).

import type { FilterFieldLists, FilterKind } from '../catalog/item-fields.ts';
import { vectorNorm } from '../lsh/index.ts';
import { RowScorer } from '../als/row-scorer.ts';

/** Doc values of one whitelisted filter field of the probe items, in probe order (undefined: none). */
export interface ProbeColumn {
  kind: FilterKind;
  values: Array<readonly unknown[] | undefined>;
}

/** The longest item vectors of one model, longest first. */
export interface NormProbe {
  dims: number;
  ids: string[];
  /** ‖x‖ of each probe item, non-increasing */
  norms: Float64Array;
  /** ids.length × dims, row-major, same order */
  vectors: Float32Array;
  /** whitelisted filter fields whose doc values the probe carries (see probeColumnKinds) */
  columns: ReadonlyMap<string, ProbeColumn>;
  /** the whole catalogue's factor_norm: how many items have one, and its 0th…100th percentiles */
  distribution?: NormDistribution;
}

export interface NormDistribution {
  total: number;
  /** 101 values, non-decreasing: the norm at 0 %, 1 %, … 100 % */
  percentiles: readonly number[];
}

/** How many of the longest items the probe holds: one search page (index.max_result_window). */
export const PROBE_SIZE = 10_000;

/**
 * The threshold is lowered by this relative margin: Elasticsearch stores factor_norm as a float32
 * and scores in float32, the bound here is float64; the margin keeps an item whose norm sits on
 * the threshold in the scored set, and leaves boundHolds room to certify a hit that scores the
 * bound itself (a few more items scored: the share of the catalogue within 0.1 % of the bound).
 */
export const NORM_SLACK = 1e-3;

/** How a field is mapped in an items index, as far as reading its doc values goes. */
export interface FieldMapping {
  type: string;
  normalizer?: string;
  docValues?: boolean;
}

/**
 * Whether doc values of a field so mapped are what a filter of that kind matches: a keyword term
 * matches the indexed (doc) value exactly unless a normalizer rewrites both sides; numbers compare
 * as stored (a doc value inside a range in float64 is inside it once ES rounds the bounds to the
 * field's type, which is monotone). scaled_float, dates and text are left out.
 */
const COLUMN_TYPES: Record<FilterKind, (m: FieldMapping) => boolean> = {
  keyword: (m) => m.type === 'keyword' && m.normalizer === undefined,
  boolean: (m) => m.type === 'boolean',
  range: (m) => ['float', 'double', 'half_float', 'long', 'integer', 'short', 'byte'].includes(m.type),
};

/** The whitelisted filter fields the probe can carry, by kind, from the items index's mapping. */
export function probeColumnKinds(
  whitelist: FilterFieldLists,
  mappings: ReadonlyMap<string, FieldMapping>,
): Map<string, FilterKind> {
  const out = new Map<string, FilterKind>();
  for (const kind of ['keyword', 'boolean', 'range'] as const) {
    for (const field of whitelist[kind]) {
      const m = mappings.get(field);
      if (m && m.docValues !== false && COLUMN_TYPES[kind](m) && !out.has(field)) out.set(field, kind);
    }
  }
  return out;
}

/**
 * A probe from items in any order (vectors of a different length or zero vectors are left out),
 * with the doc values of the fields in `kinds` as columns.
 */
export function buildNormProbe(
  dims: number,
  items: Array<{ id: string; vector: ArrayLike<number>; fields?: Record<string, readonly unknown[]> }>,
  kinds: ReadonlyMap<string, FilterKind> = new Map(),
  distribution?: NormDistribution,
): NormProbe {
  const rows = items
    .filter((it) => it.vector.length === dims)
    .map((it) => ({ ...it, norm: vectorNorm(it.vector) }))
    .filter((r) => r.norm > 0)
    .sort((a, b) => b.norm - a.norm);
  const vectors = new Float32Array(rows.length * dims);
  rows.forEach((r, i) => vectors.set(Array.from(r.vector), i * dims));
  const columns = new Map<string, ProbeColumn>();
  for (const [field, kind] of kinds) columns.set(field, { kind, values: rows.map((r) => r.fields?.[field]) });
  return {
    dims,
    ids: rows.map((r) => r.id),
    norms: Float64Array.from(rows.map((r) => r.norm)),
    vectors,
    columns,
    ...(distribution ? { distribution } : {}),
  };
}

/**
 * The smallest factor_norm an item of the query's exact top k can have, or undefined when the
 * probe gives no positive bound (fewer than k probe items left after the exclusions and `accept`,
 * the k-th score ≤ 0, a zero or mismatched query). `accept(i)`: probe item i passes the
 * request's filters. Scores are float32 dot products, as Elasticsearch computes them; NORM_SLACK
 * covers their rounding.
 */
export function minTopKNorm(
  probe: NormProbe,
  query: ArrayLike<number>,
  k: number,
  exclude: ReadonlySet<string>,
  accept?: (i: number) => boolean,
): number | undefined {
  const { dims, ids, norms } = probe;
  if (query.length !== dims || k < 1) return undefined;
  const qn = vectorNorm(query);
  if (!(qn > 0)) return undefined;
  const scanner = scannerOf(probe);
  scanner.setQuery(query);
  // the k best scores so far, ascending (k is small: insertion beats a heap). The dot products
  // come a block at a time from the wasm kernel; the exclusion set and the filter are asked only
  // about items that would enter the top k
  const top: number[] = [];
  for (let from = 0; from < ids.length; from += SCAN_BLOCK) {
    if (top.length === k && norms[from]! * qn <= top[0]!) break;
    const count = Math.min(SCAN_BLOCK, ids.length - from);
    const scores = scanner.score(from, count);
    for (let r = 0; r < count; r++) {
      const i = from + r;
      const full = top.length === k;
      if (full && norms[i]! * qn <= top[0]!) break;
      const s = scores[r]!;
      if (full && s <= top[0]!) continue;
      if ((accept && !accept(i)) || exclude.has(ids[i]!)) continue;
      if (full) top.shift();
      let j = top.length;
      while (j > 0 && top[j - 1]! > s) j--;
      top.splice(j, 0, s);
    }
  }
  if (top.length < k || !(top[0]! > 0)) return undefined;
  return (top[0]! / qn) * (1 - NORM_SLACK);
}

/** Rows scored per kernel call: the scan stops early, so at most this many dot products are spare. */
const SCAN_BLOCK = 128;

/** Each probe's rows in wasm memory, copied at its first scan (a probe lives as long as its model). */
const scanners = new WeakMap<NormProbe, RowScorer>();
function scannerOf(probe: NormProbe): RowScorer {
  let s = scanners.get(probe);
  if (!s)
    scanners.set(
      probe,
      (s = new RowScorer(probe.ids.length, probe.dims).load(probe.vectors, probe.ids.length)),
    );
  return s;
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
  return countAtLeast(probe.norms, minNorm);
}

/** How many of these non-increasing norms are ≥ x (the first index whose norm falls below it). */
export function countAtLeast(norms: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = norms.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (norms[mid]! >= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What the probe says of one request: the bound, and how many items the bounded search scores. */
export interface NormBound {
  minNorm: number;
  /** items with factor_norm ≥ minNorm, when the probe can tell (keptByBound) */
  kept?: number;
  /**
   * items the bounded search scores: those kept that pass the filter. Exact when every kept item
   * is in the probe (as far as its copy of the attributes goes); else an estimate, the catalogue's
   * norm percentiles times the share of probe items passing the filter; undefined without either.
   */
  scored?: number;
}

/**
 * minTopKNorm, keptByBound and (unless countScored is false) the scored count together:
 * undefined when the probe gives no bound.
 */
export function normBound(
  probe: NormProbe,
  query: ArrayLike<number>,
  k: number,
  exclude: ReadonlySet<string>,
  accept?: (i: number) => boolean,
  countScored = true,
): NormBound | undefined {
  const minNorm = minTopKNorm(probe, query, k, exclude, accept);
  if (minNorm === undefined) return undefined;
  const kept = keptByBound(probe, minNorm);
  let scored: number | undefined;
  // the count walks the probe once more with the filter: only ann routing needs it
  if (countScored && kept !== undefined) {
    scored = kept;
    if (accept) {
      scored = 0;
      for (let i = 0; i < kept; i++) if (accept(i)) scored++;
    }
  } else if (countScored && probe.distribution) {
    let share = 1;
    if (accept) {
      let passing = 0;
      for (let i = 0; i < probe.ids.length; i++) if (accept(i)) passing++;
      share = passing / Math.max(1, probe.ids.length);
    }
    scored = Math.ceil(longerThan(probe.distribution, minNorm) * share);
  }
  return { minNorm, ...(kept !== undefined ? { kept } : {}), ...(scored !== undefined ? { scored } : {}) };
}

/** How many items of the catalogue have a norm ≥ x, interpolated between its percentiles. */
export function longerThan(d: NormDistribution, x: number): number {
  const p = d.percentiles;
  if (p.length < 2 || !(d.total > 0)) return 0;
  if (x <= p[0]!) return d.total;
  if (x > p.at(-1)!) return 0;
  let i = 1;
  while (i < p.length - 1 && p[i]! < x) i++;
  const lo = p[i - 1]!;
  const hi = p[i]!;
  const within = hi > lo ? (x - lo) / (hi - lo) : 1;
  const below = (i - 1 + within) / (p.length - 1);
  return Math.round(d.total * (1 - below));
}

/**
 * Margins of boundHolds: relative, for float32 norms and dot products (64 terms: ~4e-6 at worst),
 * and absolute, for the float32 _score of max_inner_product (dot + 1: ~1.2e-7 per unit).
 */
const HOLD_RELATIVE = 1e-5;
const HOLD_ABSOLUTE = 5e-7;

/**
 * Whether the answer of a search bounded by factor_norm ≥ minNorm is the exact top k: it has k
 * hits and the k-th scores at least ‖q‖·minNorm (with margins), which no skipped item can reach
 * (q·x ≤ ‖q‖·‖x‖ < ‖q‖·minNorm). Holds whatever the probe that chose the bound believed about
 * the items' attributes. `scores`: the hits' inner products, as returned.
 */
export function boundHolds(
  minNorm: number,
  query: ArrayLike<number>,
  k: number,
  scores: readonly number[],
): boolean {
  if (scores.length < k || k < 1) return false;
  let kth = Infinity;
  for (let i = 0; i < k; i++) kth = Math.min(kth, scores[i]!);
  return kth > 0 && kth >= vectorNorm(query) * minNorm * (1 + HOLD_RELATIVE) + HOLD_ABSOLUTE * (1 + kth);
}

/**
 * Whether a user → item ann request is answered by the bounded exact search: it scores at most
 * maxScored items ([serving] ann_exact_max_scored; 0 never), which costs less than the graph search and has
 * recall 1. With a filter the count is often an estimate; a wrong one costs time, not recall.
 */
export function annAnsweredByBound(bound: NormBound | undefined, maxScored: number): boolean {
  return maxScored > 0 && bound?.scored !== undefined && bound.scored <= maxScored;
}
