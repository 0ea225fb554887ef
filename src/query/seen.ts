// What a user has already seen: the recent_items stored with the user's factor at deploy time,
// plus the items of the user's latest events in the event store (which cover everything since).

import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';

/** Item ids of the user's latest `limit` events (newest first, distinct). */
export async function recentEventItems(es: Client, names: Names, userId: string, limit: number): Promise<string[]> {
  if (limit <= 0) return [];
  const r = await es.search<{ item_id?: string }>({
    index: names.eventsPattern,
    ignore_unavailable: true,
    allow_no_indices: true,
    size: limit,
    query: { term: { user_id: userId } },
    sort: [{ timestamp: { order: 'desc', unmapped_type: 'date' } }],
    _source: ['item_id'],
    track_total_hits: false,
  });
  const out = new Set<string>();
  for (const h of r.hits.hits) if (h._source?.item_id) out.add(h._source.item_id);
  return [...out];
}
