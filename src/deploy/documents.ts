import { normalizeVector, vectorNorm } from '../lsh/index.ts';
import type { Metadata } from '../repositories/items.ts';
import type { ModelHashers } from './lsh-setup.ts';
import { float32ArrayJson } from './vector-json.ts';

const VECTOR_FIELDS = [
  'factor',
  'factor_exact',
  'factor_unit',
  'factor_unit_exact',
  'factor_norm',
  'norm_head',
] as const;

export interface ItemDocumentOptions {
  /** the model's BM25 item norm: fold-in weights a user's row with it, as training did */
  weightNorm?: number;
  /** write factor_unit (the similar items' graph); off when [deploy] similar_ann is, as it is then unmapped */
  similarGraph?: boolean;
  /** write factor (the user → item graph); off when the deploy builds no MIPS graph (./mips-graph.ts), as it is then unmapped */
  mipsGraph?: boolean;
  /** the item is in the norm head (./norm-head.ts): flagged and left out of the MIPS graph field */
  normHead?: boolean;
}

/**
 * One items-<model_id> document as the JSON line the bulk request sends: catalogue metadata, the
 * factor in the fields each scoring mode needs, and the LSH bucket terms (when the deploy builds
 * LSH). Each vector is serialised once and written into both of its fields: at 1M items the JSON
 * of the vectors is most of the deploy's own CPU, hence float32ArrayJson (9 digits, not 17). A zero vector (an item the model saw but could
 * not place) cannot be cosine-normalised, so it is written like a new item, without vectors.
 * factor_exact is the one vector field every item with a factor has (fold-in reads it);
 * factor_norm, its length, lets exact search skip items too short to reach a user's top k
 * (src/model/norm-probe.ts).
 */
export function itemDocument(
  modelId: string,
  itemId: string,
  meta: Metadata | undefined,
  factor: Float32Array | undefined,
  hashers: ModelHashers | undefined,
  popularity: number,
  opts: ItemDocumentOptions = {},
): string {
  const { weightNorm, similarGraph = true, mipsGraph = true, normHead = false } = opts;
  const doc: Metadata = { ...(meta ?? {}), item_id: itemId, model_id: modelId, popularity };
  for (const f of VECTOR_FIELDS) delete doc[f];
  if (weightNorm !== undefined) doc['weight_norm'] = weightNorm;
  const usable = factor !== undefined && factor.some((x) => x !== 0);
  doc['has_factor'] = usable;
  if (!usable) return JSON.stringify(doc);
  if (hashers) {
    doc['lsh'] = hashers.itemMipsTerms(factor);
    doc['lsh_cos'] = hashers.cosineTerms(factor);
  }
  if (normHead) doc['norm_head'] = true;
  doc['factor_norm'] = vectorNorm(factor);
  const raw = float32ArrayJson(factor);
  const unit = float32ArrayJson(normalizeVector(factor));
  return `${JSON.stringify(doc).slice(0, -1)},${mipsGraph && !normHead ? `"factor":${raw},` : ''}"factor_exact":${raw},${similarGraph ? `"factor_unit":${unit},` : ''}"factor_unit_exact":${unit}}`;
}

export function userDocument(
  modelId: string,
  userId: string,
  factor: Float32Array,
  recentItems: string[] | undefined,
  now: string,
): Metadata {
  return {
    user_id: userId,
    model_id: modelId,
    factor: Array.from(factor),
    recent_items: recentItems ?? [],
    source: 'train',
    updated_at: now,
  };
}
