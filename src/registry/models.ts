import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import type { ModelStatus, RankingMetrics } from '../types/index.ts';

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
  timings?: Record<string, number>;
  metrics?: RankingMetrics;
  baseline_metrics?: RankingMetrics;
  gate?: { passed: boolean; reason: string; live_model_id?: string; live_ndcg?: number };
  loss?: number[];
  lsh?: Record<string, unknown>;
  artifact?: string;
  deploy?: Record<string, unknown>;
  /** base64 little-endian float64 k×k gramian YᵀY of the deployed item factors (online fold-in) */
  yty?: string;
}

export function newModelId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `m${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

export async function getModel(es: Client, names: Names, modelId: string): Promise<ModelDoc | undefined> {
  try {
    const r = await es.get<ModelDoc>({ index: names.models, id: modelId });
    return r._source;
  } catch (e) {
    if ((e as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return undefined;
    throw e;
  }
}

export async function putModel(es: Client, names: Names, doc: ModelDoc): Promise<void> {
  await es.index({ index: names.models, id: doc.model_id, document: doc, refresh: 'wait_for' });
}

export async function updateModel(es: Client, names: Names, modelId: string, patch: Partial<ModelDoc>): Promise<void> {
  await es.update({ index: names.models, id: modelId, doc: patch, doc_as_upsert: true, refresh: 'wait_for', retry_on_conflict: 3 });
}

export async function listModels(es: Client, names: Names, size = 50): Promise<ModelDoc[]> {
  const r = await es.search<ModelDoc>({ index: names.models, size, sort: [{ created_at: 'desc' }], _source: { excludes: ['lsh', 'loss'] }, ignore_unavailable: true });
  return r.hits.hits.map((h) => h._source!);
}

/** The model whose index the items alias points to: the alias, not the registry, decides what serves. */
export async function liveModelId(es: Client, names: Names): Promise<string | undefined> {
  try {
    const r = await es.indices.getAlias({ name: names.itemsAlias });
    const index = Object.keys(r)[0];
    return index?.slice(names.itemsIndex('').length);
  } catch (e) {
    if ((e as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return undefined;
    throw e;
  }
}
