import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import type { ModelStatus, RankingMetrics } from '../types/index.ts';
import type { SkipSummary } from '../types/skipped.ts';
import { esStatus } from '../infra/es-errors.ts';

/** The registry document of one training run / model version (index `models`, _id = model_id). */
export interface ModelDoc {
  model_id: string;
  status: ModelStatus;
  status_reason?: string;
  trigger?: string;
  created_at: string;
  finished_at?: string;
  live_at?: string;
  retired_at?: string;
  error?: string;
  params?: Record<string, unknown>;
  data_window?: Record<string, unknown>;
  counts?: Record<string, number>;
  /** rows the training read skipped (events with refused ids): by reason, with examples */
  skipped?: SkipSummary;
  timings?: Record<string, number>;
  metrics?: RankingMetrics;
  baseline_metrics?: RankingMetrics;
  /** the gate's verdict: candidate and live model scored on one exam (see train/gate.ts) */
  gate?: {
    passed: boolean;
    reason: string;
    exam?: string;
    candidate_ndcg?: number;
    baseline_ndcg?: number;
    live_model_id?: string;
    live_ndcg?: number;
    live_coverage?: { users_scored: number; users_unknown: number; items_unknown: number };
  };
  /** where params came from: config, defaults, a search (with its trials) or a reused search (see train/autotune.ts) */
  tuning?: {
    source: string;
    search_id?: string;
    validation_ndcg?: number;
    budget_seconds?: number;
    used_seconds?: number;
    reason?: string;
    trials?: Array<{
      params: Record<string, number | string>;
      ndcg: number;
      iterations: number;
      rung?: number;
    }>;
  };
  loss?: number[];
  lsh?: Record<string, unknown>;
  artifact?: string;
  deploy?: Record<string, unknown>;
  /** held by the process deploying this model, renewed while it runs (null once the deploy ended) */
  deploy_lease?: { owner: string; until: string } | null;
  /** base64 little-endian float64 k×k gramian YᵀY of the deployed item factors (online fold-in) */
  yty?: string;
}

/** Registry fields too large or too internal for listings and the API. */
export const INTERNAL_MODEL_FIELDS = ['lsh', 'yty'];

/** The `models` index: one document per training run. Status changes are the model lifecycle's. */
export class ModelsRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  async get(
    modelId: string,
    opts: { includes?: string[]; excludes?: string[] } = {},
  ): Promise<ModelDoc | undefined> {
    try {
      const r = await this.es.get<ModelDoc>({
        index: this.names.models,
        id: modelId,
        ...(opts.includes ? { _source_includes: opts.includes } : {}),
        ...(opts.excludes ? { _source_excludes: opts.excludes } : {}),
      });
      return r._source;
    } catch (e) {
      if (esStatus(e) === 404) return undefined;
      throw e;
    }
  }

  // refresh: true, not wait_for: listings see a status change at once, and on this small,
  // rarely written index an explicit refresh costs less than waiting out the next scheduled one
  async put(doc: ModelDoc): Promise<void> {
    await this.es.index({ index: this.names.models, id: doc.model_id, document: doc, refresh: true });
  }

  async update(modelId: string, patch: Partial<ModelDoc>): Promise<void> {
    await this.es.update({
      index: this.names.models,
      id: modelId,
      doc: patch,
      doc_as_upsert: true,
      refresh: true,
      retry_on_conflict: 3,
    });
  }

  /**
   * Applies the patch only if `check` holds for the document as read and nothing writes it between
   * the read and the write (compare-and-swap on seq_no); false otherwise.
   */
  async updateIf(
    modelId: string,
    includes: string[],
    check: (doc: Partial<ModelDoc>) => boolean,
    patch: Partial<ModelDoc>,
  ): Promise<boolean> {
    let current;
    try {
      current = await this.es.get<Partial<ModelDoc>>({
        index: this.names.models,
        id: modelId,
        _source_includes: includes,
      });
    } catch (e) {
      if (esStatus(e) === 404) return false;
      throw e;
    }
    if (!current._source || !check(current._source)) return false;
    try {
      await this.es.update({
        index: this.names.models,
        id: modelId,
        doc: patch,
        if_seq_no: current._seq_no!,
        if_primary_term: current._primary_term!,
        refresh: true,
      });
      return true;
    } catch (e) {
      if (esStatus(e) === 409) return false;
      throw e;
    }
  }

  /** Newest first, without the internal fields. */
  async list(size = 50): Promise<ModelDoc[]> {
    const r = await this.es.search<ModelDoc>({
      index: this.names.models,
      ignore_unavailable: true,
      allow_no_indices: true,
      size,
      sort: [{ created_at: { order: 'desc', unmapped_type: 'date' } }],
      _source: { excludes: [...INTERNAL_MODEL_FIELDS, 'loss'] },
    });
    return r.hits.hits.map((h) => h._source!);
  }

  /** Ids of every model with this status (a handful: staged versions, the live one). */
  async idsWithStatus(status: ModelStatus): Promise<string[]> {
    const r = await this.es.search<ModelDoc>({
      index: this.names.models,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 1000,
      query: { term: { status } },
      _source: ['model_id'],
    });
    return r.hits.hits.map((h) => h._source!.model_id);
  }
}
