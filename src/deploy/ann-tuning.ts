// num_candidates for mode ann, chosen at deploy time by measured recall, like the LSH tables.
//
// HNSW recall at a fixed num_candidates falls as the catalogue grows (0.997 at 100k, 0.79 at 1M
// with num_candidates 100) and falls further under a filter (0.42 with a category filter), so no
// constant is right for every model. After the load and before the swap, deploy takes a sample of
// query vectors, computes their true top-k in process (brute force over the deployed factors, no
// cluster load), then searches the new index exactly as the API will and picks the smallest
// num_candidates of a ladder whose mean recall@k less one standard error reaches the target over
// the whole sample (256 queries, the ladder climbed on the first 64: see CLIMB_QUERIES; choosing on
// the mean of 64 alone, the 1M bench's 100 users got 0.943 where the deploy's sample promised
// 0.956, and similar items 0.946 for 0.952), for the unfiltered case and for
// a filtered one (a category filter: the category of each query's true best item, so the filter
// keeps the query's own neighbourhood, as a shopper's filter does). The query path reads the
// choice from the model document (cached per model) and never pays for this.

import { RowScorer } from '../als/row-scorer.ts';
import { answeredExactly } from '../model/ann-choice.ts';
import { normalizeVector } from '../lsh/index.ts';
import { scaleQuery, type Space } from '../query/search-body.ts';

/**
 * Queries the ladder is climbed on before the rung reached is judged on the whole sample: the
 * per-query recall of a graph is heavy-tailed (at 1M ALS items, cosine: a few items' neighbours
 * are found at 0.3 while most are at 1), so a sample of 64 promised 0.972 at num_candidates 400
 * where 300 random items measured 0.908; climbing on a subset keeps the cheap rungs cheap.
 */
export const CLIMB_QUERIES = 64;

/** num_candidates tried, smallest first (ES refuses more than 10,000). */
export const CANDIDATE_LADDER = [
  100, 150, 200, 300, 400, 600, 800, 1200, 1600, 2400, 3200, 4800, 6400, 10_000,
] as const;

export interface AnnChoice {
  num_candidates: number;
  /** mean recall@k at that num_candidates over the sample */
  recall: number;
  /** the mean less one standard error: what the rung was chosen by (absent on older models) */
  recall_low?: number;
  /**
   * compareExact: median ms of one search at this num_candidates and of the exact search, over
   * the same queries one at a time, interleaved. Where exact is not slower, serving answers ann
   * requests of this kind exactly (model/ann-choice.ts answeredExactly): the same cost, recall 1.
   */
  ann_ms?: number;
  exact_ms?: number;
}

/**
 * Whether a space's graph served no kind of request: every case (unfiltered, filtered) missed the
 * recall target or was timed no faster than exact search, and at least one was timed. Serving
 * answers such requests exactly (model/ann-choice.ts), so the graph was built for nothing.
 */
export function graphNoFaster(
  t: { target: number; unfiltered: AnnChoice; filtered?: AnnChoice } | undefined,
): boolean {
  if (!t) return false;
  const cases = [t.unfiltered, t.filtered].filter((c): c is AnnChoice => c !== undefined);
  return cases.some((c) => c.exact_ms !== undefined) && cases.every((c) => answeredExactly(c, t.target));
}

/** Queries timed for compareExact: enough for a median, few enough to cost ~2 s at 1M items. */
export const TIMED_QUERIES = 32;

/** What the model document stores per space (read by the query path). */
export interface AnnTuning {
  k: number;
  target: number;
  sample: number;
  unfiltered: AnnChoice;
  /** absent when the catalogue has no category to filter by */
  filtered?: AnnChoice;
  /** mips: the root-mean-square component ann queries are rescaled to (absent: as they are) */
  query_rms?: number;
  /** mips: recall@k at the ladder's first rung per query scale tried ("none" = unscaled) */
  query_scales?: Record<string, number>;
}

/**
 * Query scales tried on the int8 MIPS graph, as multiples of the items' root-mean-square
 * component (see scaleQuery): on the bench catalogue the best lay near 4.
 */
export const QUERY_SCALE_LADDER = [2, 3, 4, 6, 8] as const;

/** Root-mean-square component over the rows with a vector. */
export function componentRms(items: Float32Array, dims: number): number {
  let ss = 0;
  let n = 0;
  for (let i = 0; i < items.length; i += dims) {
    let row = 0;
    for (let d = 0; d < dims; d++) row += items[i + d]! * items[i + d]!;
    if (row > 0) {
      ss += row;
      n += dims;
    }
  }
  return n ? Math.sqrt(ss / n) : 0;
}

/**
 * Row indices of a deterministic, spread-out sample of `rows` rows (a fixed-stride walk); `phase`
 * in [0, 1) shifts the walk within the stride, so phase 0 and 0.5 give disjoint samples.
 */
export function sampleIndices(rows: number, n: number, phase = 0): number[] {
  if (rows <= n) return Array.from({ length: rows }, (_, i) => i);
  return Array.from({ length: n }, (_, i) => Math.floor(((i + phase) * rows) / n));
}

/** Rows per wasm block in exactTopK: 4,096 × 64 floats = 1 MiB, cache-sized. */
const EXACT_BLOCK = 4096;

/**
 * Exact top-k item rows per query by inner product. `items` is n × dims row-major; queries are
 * arrays of dims. Without `rowsOf` every row with `usable` set (all when omitted) is scored, items
 * walked once against every query so the factors are read from memory a single time; with it each
 * query scores only its own rows (a filter's matches).
 */
export function exactTopK(
  items: Float32Array,
  dims: number,
  queries: ArrayLike<number>[],
  k: number,
  opts: { usable?: Uint8Array; rowsOf?: (query: number) => ArrayLike<number> } = {},
): number[][] {
  const n = items.length / dims;
  const q = queries.length;
  const qs = new Float64Array(q * dims);
  queries.forEach((v, j) => {
    for (let d = 0; d < dims; d++) qs[j * dims + d] = v[d]!;
  });
  const best = Array.from({ length: q }, () => ({ rows: [] as number[], scores: [] as number[] }));
  const offer = (i: number, j: number, s: number) => {
    const b = best[j]!;
    if (b.rows.length === k && s <= b.scores[k - 1]!) return;
    let p = b.rows.length === k ? k - 1 : b.rows.length;
    while (p > 0 && b.scores[p - 1]! < s) {
      b.scores[p] = b.scores[p - 1]!;
      b.rows[p] = b.rows[p - 1]!;
      p--;
    }
    b.scores[p] = s;
    b.rows[p] = i;
  };
  if (opts.rowsOf) {
    // a filter's matches, a few per cent of the rows each: scalar float64
    for (let j = 0; j < q; j++) {
      const rows = opts.rowsOf(j);
      const qo = j * dims;
      for (let r = 0; r < rows.length; r++) {
        const i = rows[r]!;
        const off = i * dims;
        let s = 0;
        for (let d = 0; d < dims; d++) s += items[off + d]! * qs[qo + d]!;
        offer(i, j, s);
      }
    }
  } else {
    // every row against every query (the whole catalogue × the tuning sample): a block of rows at a
    // time in wasm memory, float32 dot products as Elasticsearch computes them, read from memory
    // once per block; only scores that beat a query's k-th so far reach the JS insertion
    const usable = opts.usable;
    const scorer = new RowScorer(Math.max(1, Math.min(EXACT_BLOCK, n)), dims);
    for (let start = 0; start < n; start += EXACT_BLOCK) {
      const count = Math.min(EXACT_BLOCK, n - start);
      scorer.load(items.subarray(start * dims, (start + count) * dims), count);
      for (let j = 0; j < q; j++) {
        scorer.setQuery(qs.subarray(j * dims, (j + 1) * dims));
        const scores = scorer.score(0, count);
        const b = best[j]!;
        for (let r = 0; r < count; r++) {
          const s = scores[r]!;
          if (b.rows.length === k && s <= b.scores[k - 1]!) continue;
          if (usable && !usable[start + r]) continue;
          offer(start + r, j, s);
        }
      }
    }
  }
  return best.map((b) => b.rows);
}

/**
 * Mean over queries of |got ∩ truth| / |truth| and its standard error (queries with an empty
 * truth are left out; no query: recall 1, error 0).
 */
export function recallStats(truth: string[][], got: string[][]): { mean: number; se: number } {
  const xs: number[] = [];
  truth.forEach((t, j) => {
    if (!t.length) return;
    const g = new Set(got[j]);
    xs.push(t.filter((id) => g.has(id)).length / t.length);
  });
  if (!xs.length) return { mean: 1, se: 0 };
  const mean = xs.reduce((a, x) => a + x, 0) / xs.length;
  if (xs.length < 2) return { mean, se: 0 };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, se: Math.sqrt(variance / xs.length) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Mean over queries of |got ∩ truth| / |truth| (queries with an empty truth are left out). */
export function meanRecall(truth: string[][], got: string[][]): number {
  return recallStats(truth, got).mean;
}

/**
 * The smallest ladder value whose recall reaches `target` (recall grows with num_candidates): a
 * galloping search up the ladder (rungs 0, 1, 3, 7, …), then bisection below the first rung that
 * passes, so the large, slow values are only measured when the small ones fall short. If none
 * passes, the largest, with its recall.
 */
export async function smallestReaching(
  target: number,
  recallAt: (numCandidates: number) => Promise<number>,
  ladder: readonly number[] = CANDIDATE_LADDER,
): Promise<AnnChoice> {
  const measured = new Map<number, number>();
  const at = async (i: number) => {
    const n = ladder[i]!;
    if (!measured.has(n)) measured.set(n, await recallAt(n));
    return measured.get(n)!;
  };
  const top = ladder.length - 1;
  let failed = -1;
  let hi = 0;
  for (;;) {
    if ((await at(hi)) >= target) break;
    if (hi === top) return { num_candidates: ladder[top]!, recall: await at(top) };
    failed = hi;
    hi = Math.min(top, 2 * hi + 1);
  }
  let lo = failed + 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((await at(mid)) >= target) hi = mid;
    else lo = mid + 1;
  }
  return { num_candidates: ladder[lo]!, recall: await at(lo) };
}

export interface AnnTuneInput {
  space: Space;
  dims: number;
  itemIds: string[];
  /** the deployed item factors, itemIds.length × dims (zero rows are not indexed and are skipped) */
  itemFactors: Float32Array;
  /**
   * query vectors: user factors for mips, item factors for cosine; `exclude` as serving excludes
   * (the seed item for cosine, the user's seen items for mips: exclude_seen is on by default, and a
   * must_not inside the knn filter makes every such search a filtered one)
   */
  queries: { vector: number[]; exclude?: string[] }[];
  /** item row → category (undefined: the row takes part in no filtered query) */
  category?: (row: number) => string | undefined;
  k?: number;
  target?: number;
  /** runs one ann search on the new index; returns the ids of the hits */
  search: (q: {
    vector: number[];
    numCandidates: number;
    k: number;
    category?: string;
    exclude: string[];
    mode?: 'ann' | 'exact';
  }) => Promise<string[]>;
  concurrency?: number;
  /**
   * Time the chosen rung against the exact search (see AnnChoice.ann_ms). For item → item: no
   * bound narrows its exact search, and on ALS item factors at 1M the cosine graph needed so many
   * candidates for the recall target that it cost what brute force did (bench/query, docs/benchmarks.md).
   */
  compareExact?: boolean;
  /** the clock compareExact reads, in ms */
  now?: () => number;
}

async function mapLimit<T, R>(xs: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, xs.length) }, async () => {
      while (next < xs.length) {
        const i = next++;
        out[i] = await fn(xs[i]!);
      }
    }),
  );
  return out;
}

/** The sample's exact answers, computed in process over the deployed factors. */
interface TuningTruth {
  /** the items as searched: unit vectors for cosine (dot_product on them is what factor_unit serves) */
  items: Float32Array;
  /** rows with a non-zero vector (the others are not indexed) */
  usable: Uint8Array;
  /** per query, the rows serving excludes from its answer */
  excluded: Set<number>[];
  /** the query vectors the truth is computed for (cosine: unit) */
  raw: number[][];
  /** per query, its true top-k rows and their ids, exclusions left out */
  rows: number[][];
  ids: string[][];
}

/** Exact top-k rows per query with its exclusions left out: k more than the most any query excludes, then dropped. */
function topKExcluding(
  items: Float32Array,
  dims: number,
  queries: number[][],
  k: number,
  excluded: Set<number>[],
  opts: Parameters<typeof exactTopK>[4],
): number[][] {
  const extra = Math.max(0, ...excluded.map((e) => e.size));
  return exactTopK(items, dims, queries, k + extra, opts).map((rows, j) =>
    rows.filter((r) => !excluded[j]!.has(r)).slice(0, k),
  );
}

function exactTruth(input: AnnTuneInput, k: number): TuningTruth {
  const { dims, itemIds } = input;
  const n = itemIds.length;
  let items = input.itemFactors;
  if (input.space === 'cosine') {
    items = new Float32Array(input.itemFactors.length);
    for (let i = 0; i < n; i++) {
      const row = input.itemFactors.subarray(i * dims, (i + 1) * dims);
      if (row.some((x) => x !== 0)) items.set(normalizeVector(row), i * dims);
    }
  }
  const usable = new Uint8Array(n);
  for (let i = 0; i < n; i++)
    usable[i] = items.subarray(i * dims, (i + 1) * dims).some((x) => x !== 0) ? 1 : 0;
  const rowOf = new Map(itemIds.map((id, i) => [id, i]));
  const excluded = input.queries.map(
    (q) => new Set((q.exclude ?? []).map((id) => rowOf.get(id)).filter((r): r is number => r !== undefined)),
  );
  const raw = input.queries.map((q) =>
    input.space === 'cosine' ? Array.from(normalizeVector(q.vector)) : q.vector,
  );
  // excluded when serving, so excluded from the truth
  const rows = topKExcluding(items, dims, raw, k, excluded, { usable });
  return {
    items,
    usable,
    excluded,
    raw,
    rows,
    ids: rows.map((r) => r.map((i) => itemIds[i]!)),
  };
}

/** Searches queries [from, to) of the sample with these vectors, as serving would. */
function sampleSearcher(input: AnnTuneInput, k: number, vectors: number[][]) {
  return (numCandidates: number, categories: (string | undefined)[] | undefined, to: number, from = 0) =>
    mapLimit(
      Array.from({ length: to - from }, (_, i) => from + i),
      input.concurrency ?? 2,
      (j) =>
        input.search({
          vector: vectors[j]!,
          numCandidates,
          k,
          category: categories?.[j],
          exclude: input.queries[j]!.exclude ?? [],
        }),
    );
}

type SampleSearch = ReturnType<typeof sampleSearcher>;

interface QueryScale {
  /** the query vectors the ladder is climbed with */
  vectors: number[][];
  /** mips: the rms component chosen (undefined: unscaled) */
  queryRms: number | undefined;
  /** mips: recall at the first rung per scale tried */
  scales: Record<string, number> | undefined;
}

/**
 * mips: the query scale first, at the ladder's first rung (the scale that ranks best there needs
 * the fewest candidates); num_candidates is then tuned at that scale. Cosine is never rescaled.
 */
async function chooseQueryScale(
  input: AnnTuneInput,
  k: number,
  truth: TuningTruth,
  climb: number,
): Promise<QueryScale> {
  const sigma = input.space === 'mips' ? componentRms(truth.items, input.dims) : 0;
  if (!(sigma > 0)) return { vectors: truth.raw, queryRms: undefined, scales: undefined };
  const head = truth.ids.slice(0, climb);
  const firstRung = async (vectors: number[][]) =>
    meanRecall(head, await sampleSearcher(input, k, vectors)(CANDIDATE_LADDER[0], undefined, climb));
  const scales: Record<string, number> = {};
  let best = (scales['none'] = await firstRung(truth.raw));
  let queryRms: number | undefined;
  for (const c of QUERY_SCALE_LADDER) {
    const r = (scales[String(c)] = await firstRung(truth.raw.map((v) => scaleQuery(v, c * sigma).vector)));
    if (r > best) [best, queryRms] = [r, c * sigma];
  }
  const rms = queryRms;
  return {
    vectors: rms === undefined ? truth.raw : truth.raw.map((v) => scaleQuery(v, rms).vector),
    queryRms: rms,
    scales,
  };
}

/**
 * The rung for one kind of request. Each rung is judged by its mean recall less one standard
 * error; the choice reports both. The ladder is climbed on the first `climb` queries, then the
 * rung reached and those above it are judged on the whole sample, which the choice must pass.
 */
async function climbLadder(
  search: SampleSearch,
  target: number,
  truth: string[][],
  climb: number,
  categories?: (string | undefined)[],
): Promise<AnnChoice> {
  const stats = new Map<number, { mean: number; se: number }>();
  const cache = new Map<number, string[][]>();
  const judge = async (nc: number, m: number) => {
    const done = cache.get(nc) ?? [];
    const got = done.length >= m ? done : [...done, ...(await search(nc, categories, m, done.length))];
    cache.set(nc, got);
    const st = recallStats(truth.slice(0, m), got.slice(0, m));
    if (m === truth.length) stats.set(nc, st);
    return st.mean - st.se;
  };
  const first = await smallestReaching(target, (nc) => judge(nc, climb));
  const c = await smallestReaching(
    target,
    (nc) => judge(nc, truth.length),
    CANDIDATE_LADDER.slice(
      CANDIDATE_LADDER.indexOf(first.num_candidates as (typeof CANDIDATE_LADDER)[number]),
    ),
  );
  const st = stats.get(c.num_candidates)!;
  return {
    num_candidates: c.num_candidates,
    recall: st.mean,
    recall_low: st.mean - st.se,
  };
}

/** compareExact: the choice with the median time of its rung and of the exact search (AnnChoice.ann_ms). */
async function timeAgainstExact(
  input: AnnTuneInput,
  k: number,
  vectors: number[][],
  choice: AnnChoice,
  categories?: (string | undefined)[],
): Promise<AnnChoice> {
  if (!input.compareExact) return choice;
  const now = input.now ?? (() => performance.now());
  const took: Record<'ann' | 'exact', number[]> = { ann: [], exact: [] };
  for (let j = 0; j < Math.min(TIMED_QUERIES, vectors.length); j++) {
    if (categories && categories[j] === undefined) continue;
    for (const mode of ['ann', 'exact'] as const) {
      const t = now();
      await input.search({
        vector: vectors[j]!,
        numCandidates: choice.num_candidates,
        k,
        category: categories?.[j],
        exclude: input.queries[j]!.exclude ?? [],
        mode,
      });
      took[mode].push(now() - t);
    }
  }
  if (!took.ann.length) return choice;
  return { ...choice, ann_ms: median(took.ann), exact_ms: median(took.exact) };
}

/**
 * The filtered case's truth: each query filtered to the category of its true best item, so the
 * filter keeps the query's own neighbourhood. Undefined when no query's best item has a category.
 */
function categoryTruth(
  input: AnnTuneInput,
  k: number,
  truth: TuningTruth,
): { categories: (string | undefined)[]; ids: string[][] } | undefined {
  const category = input.category;
  if (!category) return undefined;
  const byCategory = new Map<string, number[]>();
  for (let i = 0; i < input.itemIds.length; i++) {
    const c = truth.usable[i] ? category(i) : undefined;
    if (c === undefined) continue;
    let rows = byCategory.get(c);
    if (!rows) byCategory.set(c, (rows = []));
    rows.push(i);
  }
  const categories = truth.rows.map((rows) => (rows.length ? category(rows[0]!) : undefined));
  if (!categories.some((c) => c !== undefined)) return undefined;
  const rows = topKExcluding(truth.items, input.dims, truth.raw, k, truth.excluded, {
    rowsOf: (j) => (categories[j] === undefined ? [] : byCategory.get(categories[j]!)!),
  });
  return { categories, ids: rows.map((r) => r.map((i) => input.itemIds[i]!)) };
}

/** Measures recall of ann against the exact top-k over the sample and picks num_candidates. */
export async function tuneAnnCandidates(input: AnnTuneInput): Promise<AnnTuning> {
  const k = input.k ?? 10;
  const target = input.target ?? 0.95;
  const truth = exactTruth(input, k);
  const climb = Math.min(CLIMB_QUERIES, truth.raw.length);
  const scale = await chooseQueryScale(input, k, truth, climb);
  const search = sampleSearcher(input, k, scale.vectors);
  const rung = async (t: string[][], categories?: (string | undefined)[]) =>
    timeAgainstExact(
      input,
      k,
      scale.vectors,
      await climbLadder(search, target, t, climb, categories),
      categories,
    );
  const tuning: AnnTuning = {
    k,
    target,
    sample: scale.vectors.length,
    unfiltered: await rung(truth.ids),
    ...(scale.scales ? { query_scales: scale.scales } : {}),
    ...(scale.queryRms !== undefined ? { query_rms: scale.queryRms } : {}),
  };
  const filtered = categoryTruth(input, k, truth);
  if (filtered) tuning.filtered = await rung(filtered.ids, filtered.categories);
  return tuning;
}
