// What a deploy takes and reports: the public shapes of deployModel (./deploy.ts).

import type { ModelLifecycle } from '../model/lifecycle.ts';
import type { SkipSummary } from '../types/skipped.ts';

export interface DeployInput {
  modelId: string;
  factors: number;
  itemIds: string[];
  /** nItems × factors, row-major */
  itemFactors: Float32Array;
  userIds: string[];
  userFactors: Float32Array;
  /** user_id → items the user interacted with (served as exclude_seen) */
  recentItems?: Map<string, string[]>;
  /** item_id → popularity (recent weighted events) */
  popularity?: Map<string, number>;
  /** per item (itemIds order): the weighting's BM25 norm, written on the item document for fold-in */
  itemNorms?: Float32Array;
  /** fixed LSH (L, b, seed) instead of tuning on the factors */
  lsh?: { tables: number; bits: number; seed: number };
}

export interface DeployOptions {
  onProgress?: (phase: 'items' | 'users', done: number, total: number) => void;
  /** model versions kept for rollback (the new one included) */
  keep?: number;
  /** the lifecycle to go live through (default: one for ctx); lets the API's resolver see the swap at once */
  lifecycle?: ModelLifecycle;
  /** build and keep the version (status staged, for an experiment) instead of making it live */
  stage?: boolean;
  /**
   * Build LSH tables and bucket terms (mode=lsh); default [deploy] lsh, always when input.lsh fixes
   * them. Without them mode=lsh answers 409 lsh_unavailable.
   */
  buildLsh?: boolean;
  /**
   * Build the unit vectors' HNSW graph (similar items, mode=ann); default [deploy] similar_ann.
   * Without it similar items are searched exactly and the deploy builds one graph, not two.
   * 'auto': unless the live model's deploy timed its graph no faster than exact search.
   */
  similarAnn?: 'auto' | boolean;
  /**
   * Build the raw factors' HNSW graph (user → item, mode=ann); default [deploy] mips_ann. 'auto':
   * only when the norm-bounded exact search would be too large for the sampled users (./mips-graph.ts).
   */
  mipsAnn?: 'auto' | boolean;
  /** fault point between the load and the swap (tests inject failures here) */
  beforeSwap?: () => Promise<void> | void;
  /**
   * How many item (user) documents may be skipped — an id today's rules refuse, a document the
   * cluster refuses for good — before the deploy fails instead: max(min, fraction × documents).
   * Default DEFAULT_SKIP_LIMIT (./skips.ts). A conflict that hits every document fails as soon as it passes this.
   */
  skipLimit?: { min: number; fraction: number };
}

export interface DeployReport {
  modelId: string;
  /** item documents in the deployed index */
  items: number;
  itemsWithFactor: number;
  /** user documents in the deployed index */
  users: number;
  /** documents skipped instead of failing the deploy (invalid id, refused by the cluster) */
  skippedItems: number;
  skippedUsers: number;
  /** the skips by stage and reason, with examples (also on the model document under deploy.skipped) */
  skipped: SkipSummary;
  seconds: number;
  timings: Record<string, number>;
  removedVersions: string[];
  previousModelId?: string;
  /** built and kept for an experiment, not live */
  staged: boolean;
}
