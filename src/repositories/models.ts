import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import type { ModelStatus, RankingMetrics } from '../types/index.ts';
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
    if (esStatus(e) === 404) return undefined;
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

/**
 * Model ids whose items-<id> index the items alias points to, sorted by id (normally exactly one:
 * the swap is atomic). The alias, not the registry, decides what serves.
 */
export async function aliasedModelIds(es: Client, names: Names): Promise<string[]> {
  let indices: string[];
  try {
    indices = Object.keys(await es.indices.getAlias({ name: names.itemsAlias }));
  } catch (e) {
    if (esStatus(e) === 404) return [];
    throw e;
  }
  const prefix = names.itemsIndex('');
  return indices
    .filter((i) => i.startsWith(prefix))
    .map((i) => i.slice(prefix.length))
    .sort();
}

/** The live model: the (last, if ever several) model the items alias points to. */
export async function liveModelId(es: Client, names: Names): Promise<string | undefined> {
  return (await aliasedModelIds(es, names)).at(-1);
}
