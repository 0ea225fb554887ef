// Choosing L (tables) and b (bits) from real vectors.
//
// For each (L, b) of a grid we hash a sample of items and queries exactly as
// serving would, take the candidate set C(q) = items sharing ≥ 1 bucket term
// with q, and measure
//   recall@k       = |C(q) ∩ trueTopK(q)| / k, averaged over queries — this is
//                    the recall of "exact top-k within C(q)" (serving scores the
//                    candidates exactly); the two coincide barring score ties;
//   candidate frac = |C(q)| / n, averaged over queries (the work per query).
// The pick is the setting with the smallest mean candidate fraction whose recall
// meets the target (ties → fewer hyperplanes L·b, i.e. cheaper hashing); if none
// meets it, the setting with the best recall (ties → smaller candidate set).
//
// Modes:
//   'mips'   — truth = top-k by inner product; items/queries hashed after the
//              simple-LSH augmentation (mips.ts), so params.dims = dims + 1.
//              `augment: false` hashes the raw vectors instead (a baseline to
//              show what the augmentation buys; params.dims = dims).
//   'cosine' — truth = top-k by cosine; normalised vectors, params.dims = dims.
//
// Estimates come from the sample: candidate fractions carry over to the full
// catalogue, recall@k is the recall against the sample's own top-k. Serving
// must use M over the full catalogue (it is returned here only for the sample).
//
// Cost: tables for a given b share their first L tables (projections.ts), so
// each distinct b is hashed once with its largest L and smaller L are prefixes.

import type { LshParams } from '../types/index.ts';
import { LshHasher } from './hasher.ts';
import {
  augmentItemsForMips,
  augmentQueryForMips,
  maxNorm,
  rowCount,
  toFlat,
  type VectorSet,
} from './mips.ts';

export type LshMode = 'mips' | 'cosine';

export interface LshGridSetting {
  tables: number;
  bits: number;
}

export interface LshGridRow extends LshGridSetting {
  /** mean recall@k of the candidate set against the exact top-k */
  recall: number;
  /** mean |C(q)| / n */
  candidateFraction: number;
  /** mean |C(q)| */
  meanCandidates: number;
  meetsTarget: boolean;
}

export interface LshTuneOptions {
  /** item sample: flat row-major n × dims, or an array of vectors */
  items: VectorSet;
  /** query sample (user factors for 'mips', item factors for 'cosine') */
  queries: VectorSet;
  /** raw vector dimension (before augmentation) */
  dims: number;
  k: number;
  targetRecall: number;
  mode: LshMode;
  /** (L, b) grid; default tables {1,2,4,8,16,32} × bits {4,6,8,10,12,14,16}. bits ≤ 32. */
  candidates?: LshGridSetting[];
  seed: number;
  /** mips only: false = hash raw vectors without the augmentation (baseline). Default true. */
  augment?: boolean;
  /**
   * Settings whose mean candidate set is a larger fraction of the catalogue are not considered
   * (unless none is below it): LSH that scores 40 % of the items is slower than exact search.
   */
  maxCandidateFraction?: number;
}

export interface LshChoice {
  /** ready to store with the model: tables, bits, hashed dims (dims + 1 for augmented mips), seed */
  params: LshParams;
  /** the chosen grid row */
  chosen: LshGridRow;
  meetsTarget: boolean;
  mode: LshMode;
  augmented: boolean;
  /** M of the item sample (mips only) */
  maxNorm?: number;
  /** every evaluated setting, in grid order */
  table: LshGridRow[];
}

export const DEFAULT_LSH_GRID: readonly LshGridSetting[] = [1, 2, 4, 8, 16, 32].flatMap((tables) =>
  [4, 6, 8, 10, 12, 14, 16].map((bits) => ({ tables, bits })),
);

/** Indices of the k largest scores (descending). */
function topK(scores: Float64Array, k: number): Int32Array {
  const idx = new Int32Array(k).fill(-1);
  const val = new Float64Array(k).fill(-Infinity);
  let filled = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (filled === k && s <= val[k - 1]!) continue;
    let p = filled < k ? filled++ : k - 1;
    while (p > 0 && val[p - 1]! < s) {
      val[p] = val[p - 1]!;
      idx[p] = idx[p - 1]!;
      p--;
    }
    val[p] = s;
    idx[p] = i;
  }
  return idx;
}

function normalizeRows(flat: Float64Array, dims: number): Float64Array {
  const out = new Float64Array(flat.length);
  const n = flat.length / dims;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dims; d++) s += flat[i * dims + d]! ** 2;
    const norm = Math.sqrt(s);
    // divide (not multiply by 1/norm) so the float32 rounding matches normalizeVector()
    if (norm > 0) for (let d = 0; d < dims; d++) out[i * dims + d] = flat[i * dims + d]! / norm;
  }
  return out;
}

/** Evaluate every (L, b) of the grid; rows in grid order. */
export function evaluateLshGrid(opts: LshTuneOptions): {
  rows: LshGridRow[];
  hashDims: number;
  maxNorm?: number;
} {
  const { dims, mode, seed, targetRecall } = opts;
  const grid = opts.candidates ?? DEFAULT_LSH_GRID;
  if (grid.length === 0) throw new RangeError('empty (L, b) grid');
  for (const g of grid) {
    if (
      !Number.isInteger(g.tables) ||
      g.tables <= 0 ||
      !Number.isInteger(g.bits) ||
      g.bits <= 0 ||
      g.bits > 32
    ) {
      throw new RangeError(`bad grid setting ${JSON.stringify(g)} (tables ≥ 1, 1 ≤ bits ≤ 32)`);
    }
  }
  const n = rowCount(opts.items, dims);
  const m = rowCount(opts.queries, dims);
  if (n === 0 || m === 0) throw new RangeError('need at least one item and one query');
  const k = Math.min(opts.k, n);
  if (!(k > 0)) throw new RangeError(`k must be ≥ 1, got ${opts.k}`);
  const augment = mode === 'mips' && opts.augment !== false;

  let items = toFlat(opts.items, dims);
  let queries = toFlat(opts.queries, dims);
  if (mode === 'cosine') {
    items = normalizeRows(items, dims);
    queries = normalizeRows(queries, dims);
  }

  // exact top-k per query (inner product of the — for cosine, normalised — vectors)
  const truth: Int32Array[] = [];
  const scores = new Float64Array(n);
  for (let q = 0; q < m; q++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let d = 0; d < dims; d++) s += queries[q * dims + d]! * items[i * dims + d]!;
      scores[i] = s;
    }
    truth.push(topK(scores, k));
  }

  // what gets hashed: float32, exactly what serving would hash (factors are float32 in ES)
  let hashDims = dims;
  let hItems: Float32Array = Float32Array.from(items);
  let hQueries: Float32Array = Float32Array.from(queries);
  let M: number | undefined;
  if (mode === 'mips') M = maxNorm(items, dims);
  if (augment) {
    hashDims = dims + 1;
    hItems = augmentItemsForMips(items, dims, M! > 0 ? M! : 1);
    hQueries = new Float32Array(m * hashDims);
    for (let q = 0; q < m; q++)
      hQueries.set(augmentQueryForMips(queries.subarray(q * dims, (q + 1) * dims)), q * hashDims);
  }

  const result = new Map<string, LshGridRow>();
  const mark = new Int32Array(n).fill(-1);
  const isTop = new Int32Array(n).fill(-1);
  let stamp = 0;
  const bitsValues = [...new Set(grid.map((g) => g.bits))];
  for (const bits of bitsValues) {
    const lValues = [...new Set(grid.filter((g) => g.bits === bits).map((g) => g.tables))].sort(
      (a, b) => a - b,
    );
    const Lmax = lValues[lValues.length - 1]!;
    const hasher = new LshHasher({ tables: Lmax, bits, dims: hashDims, seed });
    const itemCodes = hasher.bucketCodesBatch(hItems, n);
    const queryCodes = hasher.bucketCodesBatch(hQueries, m);
    const buckets: Map<number, number[]>[] = [];
    for (let t = 0; t < Lmax; t++) {
      const map = new Map<number, number[]>();
      for (let i = 0; i < n; i++) {
        const c = itemCodes[i * Lmax + t]!;
        const list = map.get(c);
        if (list) list.push(i);
        else map.set(c, [i]);
      }
      buckets.push(map);
    }
    const sumCount = new Float64Array(Lmax + 1);
    const sumRecall = new Float64Array(Lmax + 1);
    const record = new Uint8Array(Lmax + 1);
    for (const L of lValues) record[L] = 1;
    for (let q = 0; q < m; q++) {
      stamp++;
      for (const i of truth[q]!) if (i >= 0) isTop[i] = stamp;
      let count = 0;
      let hits = 0;
      for (let t = 0; t < Lmax; t++) {
        const list = buckets[t]!.get(queryCodes[q * Lmax + t]!);
        if (list) {
          for (const i of list) {
            if (mark[i] === stamp) continue;
            mark[i] = stamp;
            count++;
            if (isTop[i] === stamp) hits++;
          }
        }
        if (record[t + 1]) {
          sumCount[t + 1] = sumCount[t + 1]! + count;
          sumRecall[t + 1] = sumRecall[t + 1]! + hits / k;
        }
      }
    }
    for (const L of lValues) {
      const recall = sumRecall[L]! / m;
      const meanCandidates = sumCount[L]! / m;
      result.set(`${L}x${bits}`, {
        tables: L,
        bits,
        recall,
        candidateFraction: meanCandidates / n,
        meanCandidates,
        meetsTarget: recall >= targetRecall,
      });
    }
  }
  const rows = grid.map((g) => result.get(`${g.tables}x${g.bits}`)!);
  return M === undefined ? { rows, hashDims } : { rows, hashDims, maxNorm: M };
}

/** Pick (L, b) meeting targetRecall with the smallest candidate set (see header). */
export function chooseLshParams(opts: LshTuneOptions): LshChoice {
  const { rows, hashDims, maxNorm: M } = evaluateLshGrid(opts);
  const cap = opts.maxCandidateFraction ?? 1;
  const affordable = rows.some((r) => r.candidateFraction <= cap)
    ? rows.filter((r) => r.candidateFraction <= cap)
    : rows;
  const meeting = affordable.filter((r) => r.meetsTarget);
  const cost = (r: LshGridRow): number => r.tables * r.bits;
  let chosen: LshGridRow;
  if (meeting.length > 0) {
    chosen = meeting.reduce((a, b) =>
      b.candidateFraction < a.candidateFraction ||
      (b.candidateFraction === a.candidateFraction && cost(b) < cost(a))
        ? b
        : a,
    );
  } else {
    chosen = affordable.reduce((a, b) =>
      b.recall > a.recall || (b.recall === a.recall && b.candidateFraction < a.candidateFraction) ? b : a,
    );
  }
  const choice: LshChoice = {
    params: { tables: chosen.tables, bits: chosen.bits, dims: hashDims, seed: opts.seed },
    chosen,
    meetsTarget: chosen.meetsTarget,
    mode: opts.mode,
    augmented: opts.mode === 'mips' && opts.augment !== false,
    table: rows,
  };
  if (M !== undefined) choice.maxNorm = M;
  return choice;
}
