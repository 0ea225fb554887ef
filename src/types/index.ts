// Cross-area types. Everything numeric is a flat typed array so hot loops stay
// allocation-free and matrices can be shared with worker_threads.

/** User × item implicit ratings in compressed sparse row form (rows = users). */
export interface RatingsMatrix {
  nUsers: number;
  nItems: number;
  /** length nUsers + 1; row u spans indices[indptr[u] .. indptr[u+1]) */
  indptr: Int32Array;
  /** item index per non-zero, sorted ascending within a row */
  indices: Int32Array;
  /** aggregated weight r_ui > 0 per non-zero */
  data: Float32Array;
  userIds: string[];
  itemIds: string[];
}

export type AlsSolver = 'cg' | 'cholesky';

/** w(r) in the confidence 1 + α·w(r) (src/als/weighting.ts) */
export type WeightingScheme = 'linear' | 'log' | 'bm25' | 'tfidf';

export interface AlsParams {
  factors: number;
  /** λ, L2 regularisation */
  regularization: number;
  /** α in confidence c = 1 + α·w(r) */
  alpha: number;
  /** w(r) of the confidence (src/als/weighting.ts); default linear */
  weighting?: WeightingScheme;
  iterations: number;
  solver: AlsSolver;
  /** conjugate-gradient steps per row and sweep (implicit's default is 3) */
  cgSteps: number;
  seed: number;
  /** worker threads; 1 = run in the calling thread */
  threads: number;
}

export interface RankingMetrics {
  k: number;
  precision: number;
  recall: number;
  ndcg: number;
  map: number;
  /** fraction of the catalogue that appears in at least one user's top k */
  coverage: number;
  /**
   * popularity bias: share of the recommended slots (all evaluated users' top k) taken by the
   * top 1 % most popular training items; the popularity baseline sits near 1
   */
  popularity_bias: number;
  users: number;
}

export interface LshParams {
  /** L: number of hash tables */
  tables: number;
  /** b: bits (hyperplanes) per table */
  bits: number;
  /** dimension of the vectors being hashed (after any augmentation) */
  dims: number;
  seed: number;
}

/** staged: indices built and kept for an online experiment, not live (exempt from keep-N) */
export type ModelStatus = 'training' | 'candidate' | 'deploying' | 'staged' | 'live' | 'retired' | 'failed';
