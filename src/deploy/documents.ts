import { normalizeVector } from '../lsh/index.ts';
import type { Metadata } from '../repositories/items.ts';
import type { ModelHashers } from './lsh-setup.ts';


/**
 * One items-<model_id> document: catalogue metadata, the factor in the fields each scoring mode
 * needs, and the LSH bucket terms (when the deploy builds LSH). A zero vector (an item the model saw but could not place)
 * cannot be cosine-normalised, so it is written like a new item, without vectors.
 */
export function itemDocument(modelId: string, itemId: string, meta: Metadata | undefined, factor: Float32Array | undefined, hashers: ModelHashers | undefined, popularity: number): Metadata {
  const doc: Metadata = { ...(meta ?? {}), item_id: itemId, model_id: modelId, popularity };
  const usable = factor !== undefined && factor.some((x) => x !== 0);
  doc['has_factor'] = usable;
  if (usable) {
    const raw = Array.from(factor);
    const u = Array.from(normalizeVector(factor));
    doc['factor'] = raw;
    doc['factor_exact'] = raw;
    doc['factor_unit'] = u;
    doc['factor_unit_exact'] = u;
    if (hashers) {
      doc['lsh'] = hashers.itemMipsTerms(factor);
      doc['lsh_cos'] = hashers.cosineTerms(factor);
    }
  }
  return doc;
}

export function userDocument(modelId: string, userId: string, factor: Float32Array, recentItems: string[] | undefined, now: string): Metadata {
  return { user_id: userId, model_id: modelId, factor: Array.from(factor), recent_items: recentItems ?? [], source: 'train', updated_at: now };
}
