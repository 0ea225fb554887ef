import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import type { StoredEvent } from '../events/schema.ts';
import { eventWeight } from '../events/validate.ts';
import { foldInUser } from '../als/index.ts';
import type { LiveModel } from './live-model.ts';

const HISTORY = 500;
const RECENT_ITEMS = 200;

/** The user's latest events from the store plus those just consumed (not yet searchable), deduplicated. */
async function history(es: Client, names: Names, userId: string, fresh: StoredEvent[]): Promise<StoredEvent[]> {
  const r = await es.search<StoredEvent>({
    index: names.eventsPattern,
    ignore_unavailable: true,
    allow_no_indices: true,
    size: HISTORY,
    query: { term: { user_id: userId } },
    sort: [{ timestamp: 'desc' }],
    _source: ['event_id', 'item_id', 'event_type', 'weight', 'timestamp', 'user_id'],
  });
  const byId = new Map<string, StoredEvent>();
  for (const h of r.hits.hits) byId.set(h._source!.event_id, h._source!);
  for (const e of fresh) byId.set(e.event_id, e);
  return [...byId.values()];
}

/**
 * Recomputes one user's factor against the live item factors by the ALS user step, and writes
 * it to the live user-factors index. Works for users the model never saw (cold start).
 * Returns false when none of the user's items has a factor yet.
 */
export async function foldInAndStore(es: Client, names: Names, model: LiveModel, weights: Record<string, number>, userId: string, fresh: StoredEvent[]): Promise<boolean> {
  const events = await history(es, names, userId, fresh);
  const ratings = new Map<string, number>();
  const lastSeen = new Map<string, string>();
  for (const e of events) {
    ratings.set(e.item_id, (ratings.get(e.item_id) ?? 0) + eventWeight(e, weights));
    if ((lastSeen.get(e.item_id) ?? '') < e.timestamp) lastSeen.set(e.item_id, e.timestamp);
  }
  const itemIds = [...ratings.keys()];
  if (!itemIds.length) return false;
  const docs = await es.mget<{ factor?: number[] }>({ index: names.itemsAlias, ids: itemIds, _source: ['factor'] });
  const k = model.factors;
  const factors: number[] = [];
  const values: number[] = [];
  for (const d of docs.docs) {
    if (!('found' in d) || !d.found || !d._source?.factor) continue;
    factors.push(...d._source.factor);
    values.push(ratings.get(d._id)!);
  }
  if (!values.length) return false;
  const x = foldInUser(Float32Array.from(factors), model.yty, Array.from(values, (_, i) => i), values, { factors: k, regularization: model.regularization, alpha: model.alpha });
  const recent = itemIds.sort((a, b) => lastSeen.get(b)!.localeCompare(lastSeen.get(a)!)).slice(0, RECENT_ITEMS);
  await es.index({
    index: names.usersAlias,
    id: userId,
    document: { user_id: userId, model_id: model.modelId, factor: Array.from(x), recent_items: recent, source: 'online', updated_at: new Date().toISOString() },
  });
  return true;
}
