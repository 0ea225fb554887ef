// Types shared by the query layer (request model, options, response shape).

export const MODES = ['exact', 'ann', 'lsh'] as const;
export type Mode = (typeof MODES)[number];

/** Which item fields clients may filter on, by kind. Names must be fields of items-<model_id>. */
export interface FilterFields {
  /** keyword fields: `field=value` (any-of when repeated / an array) */
  keyword: string[];
  /** boolean fields: `field=true|false` */
  boolean: string[];
  /** numeric fields: `<field>_min` / `<field>_max` (inclusive) */
  range: string[];
}

export const DEFAULT_FILTER_FIELDS: FilterFields = {
  keyword: ['category', 'tags', 'brand'],
  boolean: ['available'],
  range: ['price'],
};

/** Request filters after validation, ready to turn into ES clauses. */
export interface Filters {
  terms: Record<string, string[]>;
  booleans: Record<string, boolean>;
  ranges: Record<string, { gte?: number; lte?: number }>;
}

export interface RecRequest {
  k: number;
  mode: Mode;
  /** full-text query over name/description, combined with the vector score */
  q?: string;
  /** drop items the user already interacted with (user endpoint only) */
  excludeSeen: boolean;
  /** explicit item ids to leave out */
  exclude: string[];
  filters: Filters;
  /** the filter parameters as the client gave them (normalised), for the served-list log */
  filterParams: Record<string, unknown>;
}

export interface HybridOptions {
  /** reciprocal rank fusion constant: score = Σ 1 / (rrfK + rank) over the knn and the text list */
  rrfK: number;
  /** length of each fused list (knn among the text matches, and text) when q is given (≥ k) */
  candidates: number;
  /** text fields with their boosts */
  fields: string[];
}

/** Tuning of the query layer; every value has a default (see DEFAULT_QUERY_OPTIONS). */
export interface QueryOptions {
  defaultMode: Mode;
  defaultK: number;
  maxK: number;
  filterFields: FilterFields;
  /** ann: num_candidates = max(k · annCandidatesFactor, annMinCandidates), capped at 10,000 */
  annCandidatesFactor: number;
  annMinCandidates: number;
  /**
   * ann, user → item without filters: when the norm bound (model/norm-probe.ts) leaves at most
   * this many items, the request is answered by exact search over them instead of the graph
   * (cheaper, and recall 1); 0 never does
   */
  annExactMaxScored: number;
  hybrid: HybridOptions;
  /** how many of the user's latest events count as "seen" */
  seenEventsLimit: number;
  /** popular lists are cached this long per (model, filter set) */
  popularCacheMs: number;
  /** items fetched per cached popular list */
  popularPoolSize: number;
  /** the live model (alias → index) is re-resolved after this long */
  liveModelCacheMs: number;
  /** max ids in `exclude` */
  maxExclude: number;
}

export const DEFAULT_QUERY_OPTIONS: QueryOptions = {
  defaultMode: 'ann',
  defaultK: 10,
  maxK: 500,
  filterFields: DEFAULT_FILTER_FIELDS,
  annCandidatesFactor: 10,
  annMinCandidates: 100,
  annExactMaxScored: 10_000,
  hybrid: { rrfK: 60, candidates: 100, fields: ['name^2', 'description'] },
  seenEventsLimit: 500,
  popularCacheMs: 30_000,
  popularPoolSize: 1000,
  liveModelCacheMs: 5_000,
  maxExclude: 1000,
};

export type ItemSource = 'personal' | 'popular';
export type ListSource = 'personal' | 'popular' | 'mixed';

/** Item fields returned with every recommendation (besides id, score and source). */
export { ITEM_RESPONSE_FIELDS } from '../catalog/item-fields.ts';

export interface ServedItem {
  item_id: string;
  /** dot product (user→item), cosine (item→item), reciprocal-rank-fusion score (with q) or popularity (popular) */
  score: number;
  source: ItemSource;
  name?: string;
  category?: string;
  brand?: string;
  price?: number;
  available?: boolean;
  tags?: string[];
}

export type ScoreKind = 'dot' | 'cosine' | 'rrf' | 'popularity';

export interface RecResponse {
  recommendation_id: string;
  request_id: string;
  model_id: string;
  /** the A/B experiment the list was served in, and the user's arm (user recommendations only) */
  experiment_id?: string;
  arm?: 'treatment' | 'control';
  user_id?: string;
  item_id?: string;
  mode: Mode;
  /**
   * the vector search that actually ran for the personal items: `exact` where an ann request was
   * answered by the norm-bounded exact search or the model has no graph for the space (query/plan.ts)
   */
  search?: Mode;
  source: ListSource;
  /** how `score` of the personal items is to be read */
  score_type: ScoreKind;
  /** why the list is not personal, when it is not (unknown_user, no_user_factor, item_has_no_factor, degraded) */
  reason?: string;
  /** answered without Elasticsearch (it timed out or is down): the cached popular list */
  degraded?: true;
  items: ServedItem[];
}
