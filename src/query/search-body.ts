// Pure builders: validated request → Elasticsearch search body. No I/O here.
//
// Vector side (knn, filtered by request filters ∧ ¬excluded, inside knn.filter so the k results
// all pass them; items without a factor have no vector fields, so knn never returns them and a
// has_factor clause would only cost a filter walk per segment):
//   exact  knn on the flat field (brute force over the filtered set), num_candidates = k; user →
//          item without filters also skips the items too short to reach the top k (../model/norm-probe.ts)
//   ann    knn on the int8 HNSW field re-scored with the float vectors, num_candidates = the model's
//          deploy-time measurement (or max(k · annCandidatesFactor, annMinCandidates)), ≥ k · oversample, ≤ 10,000
//   lsh    knn on the flat field restricted to items sharing ≥ 1 bucket term with the query
//          (`terms` on lsh / lsh_cos), num_candidates = k: exact scores within the candidate set
// User → item uses the inner-product fields (factor, factor_exact; lsh), item → item the unit
// vectors with dot_product, i.e. cosine (factor_unit, factor_unit_exact; lsh_cos).
// A model with a norm head (the longest item vectors, left out of the MIPS graph: see
// deploy/norm-head.ts) answers user → item ann with two knn clauses over disjoint items: the graph,
// and brute force on factor_exact over norm_head items. Both score exactly, so the union is ranked.
//
// Text + vector (`q`, user → item): two bodies for one _msearch, fused in Node by reciprocal rank
// fusion (./fusion.ts; this Elasticsearch build has no RRF retriever):
//   knn   the vector side as above, with the text query added to knn.filter: the nearest items
//         among those that match the text, k = num_candidates basis = max(k, hybrid.candidates)
//   text  multi_match over the text fields with the same filters and exclusions, by BM25, the
//         same number of hits
// Summing BM25 (≈ 8 on a shop's names) and a dot product (≈ 1) in one search, as before, let the
// text decide and the user only break ties; ranks have no scale, so each list gets an equal say,
// and every fused item matches the text because both lists only hold text matches.

import type { estypes } from '@elastic/elasticsearch';
import type { AnnCandidates } from '../model/live-model.ts';
import { excludeClause, filterClauses } from './filters.ts';
import { ITEM_RESPONSE_FIELDS, type Filters, type Mode, type QueryOptions } from './types.ts';

export type Space = 'mips' | 'cosine';

/** The fields each space and mode searches, and the LSH bucket field. */
export const VECTOR_FIELDS: Record<Space, Record<Mode, string> & { buckets: string }> = {
  mips: { exact: 'factor_exact', ann: 'factor', lsh: 'factor_exact', buckets: 'lsh' },
  cosine: { exact: 'factor_unit_exact', ann: 'factor_unit', lsh: 'factor_unit_exact', buckets: 'lsh_cos' },
};

/**
 * The HNSW fields are int8-quantised: ann gathers k · ANN_OVERSAMPLE hits by quantised score and
 * re-scores them with the float vectors (rescore_vector), so the returned scores are exact and
 * quantisation error costs no ranking inside that set. Measured on the 1M-item bench index (38
 * segments, 16 users, recall@10 vs exact): num_candidates 100 → 0.67 / 0.79 / 0.87 with oversample
 * 2 / 5 / 10, num_candidates 400 → 0.83 / 0.89 / 0.90: at 1M the inner products of the top items
 * are too close for int8 to order them within 2 · k.
 */
export const ANN_OVERSAMPLE = 5;

/**
 * The int8 MIPS graph ranks a query by quantised inner products, and how well depends on the
 * query's scale: on the 200k bench index (recall@10, num_candidates 100, no rescoring) the users'
 * own factors give 0.33, the same vectors × 3 give 0.63, × 10 0.58, × 0.3 0.04. Scaling a query
 * does not change its inner-product order, so deploy measures which root-mean-square component
 * ranks best on the built index (deploy/ann-tuning.ts) and every ann query is rescaled to it. The
 * returned factor divides the scores back to the unscaled inner products.
 */
export function scaleQuery(
  vector: ArrayLike<number>,
  rms: number | undefined,
): { vector: number[]; factor: number } {
  const v = Array.from(vector);
  if (rms === undefined) return { vector: v, factor: 1 };
  let ss = 0;
  for (const x of v) ss += x * x;
  const now = Math.sqrt(ss / Math.max(1, v.length));
  if (!(now > 0)) return { vector: v, factor: 1 };
  const factor = rms / now;
  return { vector: v.map((x) => x * factor), factor };
}

/** ES refuses num_candidates above this. */
export const MAX_NUM_CANDIDATES = 10_000;

export interface VectorSearchInput {
  space: Space;
  mode: Mode;
  k: number;
  vector: ArrayLike<number>;
  filters: Filters;
  exclude: Iterable<string>;
  /** bucket terms of the query (required for mode lsh) */
  lshTerms?: string[];
  /** ann: num_candidates chosen for this model at deploy (see deploy/ann-tuning.ts) instead of the configured rule */
  numCandidates?: number;
  /** mips ann: the model has a norm head, searched exactly beside the graph */
  normHead?: boolean;
  /** exact: only items at least this long can reach the top k (see ../model/norm-probe.ts) */
  minNorm?: number;
}

export type SearchBody = Omit<estypes.SearchRequest, 'index'>;
type TuningOptions = Pick<QueryOptions, 'annCandidatesFactor' | 'annMinCandidates'>;
type HybridTuning = TuningOptions & Pick<QueryOptions, 'hybrid'>;

export function numCandidates(
  mode: Mode,
  k: number,
  opts: Pick<QueryOptions, 'annCandidatesFactor' | 'annMinCandidates'>,
): number {
  if (mode !== 'ann') return k;
  return Math.min(MAX_NUM_CANDIDATES, Math.max(k, k * opts.annCandidatesFactor, opts.annMinCandidates));
}

/**
 * num_candidates from a model's deploy-time measurement (filtered or unfiltered, as the request
 * is), scaled from the k it was measured at to the request's k; undefined → the configured rule.
 */
export function tunedNumCandidates(
  tuned: AnnCandidates | undefined,
  k: number,
  filters: Filters,
): number | undefined {
  if (!tuned) return undefined;
  const n = (filterClauses(filters).length ? tuned.filtered : undefined) ?? tuned.unfiltered;
  return n === undefined
    ? undefined
    : Math.min(MAX_NUM_CANDIDATES, Math.ceil((n * Math.max(k, tuned.k)) / tuned.k));
}

/**
 * Whether an ann request is answered exactly instead: the model has no graph for the space, or its
 * deploy found no num_candidates reaching the recall target for this kind of request (filtered or
 * not, as tunedNumCandidates tells them apart).
 */
export function annAnsweredExactly(tuned: AnnCandidates | undefined, filters: Filters): boolean {
  if (!tuned) return false;
  if (tuned.exactOnly) return true;
  return filterClauses(filters).length && tuned.filtered !== undefined
    ? tuned.exactFiltered === true
    : tuned.exactUnfiltered === true;
}

function baseFilter(filters: Filters, exclude: Iterable<string>): estypes.QueryDslQueryContainer[] {
  const out = filterClauses(filters);
  const ex = excludeClause(exclude);
  if (ex) out.push({ bool: { must_not: [ex] } });
  return out;
}

/** knn body for one query vector; `extraFilter` narrows the candidates (the hybrid text match). */
export function vectorSearchBody(
  input: VectorSearchInput,
  opts: TuningOptions,
  extraFilter: estypes.QueryDslQueryContainer[] = [],
): SearchBody {
  const { space, mode, k } = input;
  const fields = VECTOR_FIELDS[space];
  const filter: estypes.QueryDslQueryContainer[] = [
    ...baseFilter(input.filters, input.exclude),
    ...extraFilter,
  ];
  if (mode === 'lsh') {
    if (!input.lshTerms?.length) throw new Error('mode lsh needs the bucket terms of the query');
    filter.push({ terms: { [fields.buckets]: input.lshTerms } });
  }
  if (input.minNorm !== undefined) filter.push({ range: { factor_norm: { gte: input.minNorm } } });
  const knn: estypes.KnnSearch = {
    field: fields[mode],
    query_vector: Array.from(input.vector),
    k,
    num_candidates: Math.min(
      MAX_NUM_CANDIDATES,
      Math.max(
        mode === 'ann' ? k * ANN_OVERSAMPLE : k,
        mode === 'ann' && input.numCandidates !== undefined
          ? input.numCandidates
          : numCandidates(mode, k, opts),
      ),
    ),
    ...(filter.length ? { filter } : {}),
  };
  if (mode === 'ann') knn.rescore_vector = { oversample: ANN_OVERSAMPLE };
  const head: estypes.KnnSearch | undefined =
    mode === 'ann' && space === 'mips' && input.normHead
      ? {
          field: fields.exact,
          query_vector: knn.query_vector!,
          k,
          num_candidates: k,
          filter: [...filter, { term: { norm_head: true } }],
        }
      : undefined;
  return {
    size: k,
    knn: head ? [knn, head] : knn,
    _source: { includes: [...ITEM_RESPONSE_FIELDS] },
    track_total_hits: false,
  };
}

export interface HybridBodies {
  /** nearest items among the text matches */
  knn: SearchBody;
  /** text matches by BM25 */
  text: SearchBody;
}

/** The two lists of a text + vector request, each max(k, hybrid.candidates) long (see the header). */
export function hybridSearchBodies(
  input: VectorSearchInput & { q: string },
  opts: HybridTuning,
): HybridBodies {
  const size = Math.min(MAX_NUM_CANDIDATES, Math.max(input.k, opts.hybrid.candidates));
  const exclude = [...input.exclude];
  const match: estypes.QueryDslQueryContainer = {
    multi_match: { query: input.q, fields: opts.hybrid.fields },
  };
  return {
    knn: vectorSearchBody({ ...input, k: size, exclude }, opts, [match]),
    text: {
      size,
      query: { bool: { must: [match], filter: baseFilter(input.filters, exclude) } },
      _source: { includes: [...ITEM_RESPONSE_FIELDS] },
      track_total_hits: false,
    },
  };
}

export interface PopularSearchInput {
  filters: Filters;
  exclude: Iterable<string>;
  size: number;
  /** rank text matches by relevance first, popularity second */
  q?: string;
  textFields?: string[];
}

/** Most popular items passing the filters (items without factors included), popularity desc. */
export function popularSearchBody(input: PopularSearchInput): SearchBody {
  const popularity: estypes.SortCombinations = {
    popularity: { order: 'desc', missing: '_last', unmapped_type: 'float' },
  };
  const tiebreak: estypes.SortCombinations = { item_id: { order: 'asc', unmapped_type: 'keyword' } };
  const bool: estypes.QueryDslBoolQuery = { filter: filterClauses(input.filters) };
  const ex = excludeClause(input.exclude);
  if (ex) bool.must_not = [ex];
  if (input.q)
    bool.must = [{ multi_match: { query: input.q, fields: input.textFields ?? ['name^2', 'description'] } }];
  return {
    size: input.size,
    query: { bool },
    sort: input.q ? ['_score', popularity, tiebreak] : [popularity, tiebreak],
    _source: { includes: [...ITEM_RESPONSE_FIELDS, 'popularity'] },
    track_total_hits: false,
  };
}

/**
 * ES score → similarity. max_inner_product scores dot ≥ 0 as dot + 1 and dot < 0 as 1 / (1 − dot);
 * dot_product on unit vectors scores (1 + cos) / 2.
 */
export function decodeScore(space: Space, score: number): number {
  if (space === 'mips') return score >= 1 ? score - 1 : 1 - 1 / score;
  return 2 * score - 1;
}
