import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import type { Interaction } from './evaluate/index.ts';

export interface RatingsReadOptions {
  weights: Record<string, number>;
  /** only events newer than this many days (0 = all) */
  windowDays: number;
  /** exponential time decay of weights (0 = none) */
  halfLifeDays: number;
  now?: number;
  pageSize?: number;
}

export type RatingsReader = (es: Client, names: Names, opts: RatingsReadOptions) => Promise<Interaction[]>;

const DAY = 86_400_000;

function windowQuery(opts: RatingsReadOptions, now: number) {
  return opts.windowDays > 0 ? { range: { timestamp: { gte: new Date(now - opts.windowDays * DAY).toISOString() } } } : { match_all: {} };
}

function decay(opts: RatingsReadOptions, now: number, ts: number): number {
  return opts.halfLifeDays > 0 ? Math.pow(0.5, Math.max(0, now - ts) / (opts.halfLifeDays * DAY)) : 1;
}

class PairAccumulator {
  private readonly pairs = new Map<string, Interaction & { lastMs: number }>();

  add(userId: string, itemId: string, weight: number, ts: number): void {
    const key = `${userId}\u0000${itemId}`;
    const p = this.pairs.get(key);
    if (p) {
      p.weight += weight;
      if (ts > p.lastMs) p.lastMs = p.lastTs = ts;
    } else this.pairs.set(key, { userId, itemId, weight, lastTs: ts, lastMs: ts });
  }

  result(): Interaction[] {
    return [...this.pairs.values()].filter((p) => p.weight > 0).map(({ userId, itemId, weight, lastTs }) => ({ userId, itemId, weight, lastTs }));
  }
}

/**
 * Point-in-time scan of the event store, aggregated in Node: one pass over every event's
 * (user, item, type, weight, timestamp) doc values.
 */
export const readRatingsByScan: RatingsReader = async (es, names, opts) => {
  const now = opts.now ?? Date.now();
  const size = opts.pageSize ?? 10_000;
  const acc = new PairAccumulator();
  const pit = await es.openPointInTime({ index: names.eventsPattern, keep_alive: '2m', ignore_unavailable: true });
  try {
    let after: unknown[] | undefined;
    for (;;) {
      const r = await es.search({
        pit: { id: pit.id, keep_alive: '2m' },
        size,
        query: windowQuery(opts, now),
        sort: [{ _shard_doc: 'asc' }],
        _source: false,
        docvalue_fields: ['user_id', 'item_id', 'event_type', 'weight', { field: 'timestamp', format: 'epoch_millis' }],
        ...(after ? { search_after: after as never } : {}),
      });
      for (const h of r.hits.hits) {
        const f = h.fields as Record<string, unknown[]>;
        const ts = Number(f['timestamp']![0]);
        const explicit = f['weight']?.[0] as number | undefined;
        const w = explicit ?? opts.weights[f['event_type']![0] as string] ?? 1;
        acc.add(f['user_id']![0] as string, f['item_id']![0] as string, w * decay(opts, now, ts), ts);
      }
      if (r.hits.hits.length < size) break;
      after = r.hits.hits.at(-1)!.sort as unknown[];
    }
  } finally {
    await es.closePointInTime({ id: pit.id }).catch(() => undefined);
  }
  return acc.result();
};

/**
 * Composite aggregation in Elasticsearch over (user, item, type[, day]) with sum/count of explicit
 * weights and the latest timestamp; Node only combines buckets. Without scripts ES cannot apply
 * per-type weights itself, hence the type in the key.
 */
export const readRatingsByComposite: RatingsReader = async (es, names, opts) => {
  const now = opts.now ?? Date.now();
  const size = opts.pageSize ?? 10_000;
  const acc = new PairAccumulator();
  const sources: Array<Record<string, unknown>> = [{ u: { terms: { field: 'user_id' } } }, { i: { terms: { field: 'item_id' } } }, { t: { terms: { field: 'event_type' } } }];
  if (opts.halfLifeDays > 0) sources.push({ d: { date_histogram: { field: 'timestamp', calendar_interval: '1d' } } });
  let after: Record<string, unknown> | undefined;
  for (;;) {
    const r = await es.search({
      index: names.eventsPattern,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 0,
      query: windowQuery(opts, now),
      aggs: {
        pairs: {
          composite: { size, sources: sources as never, ...(after ? { after: after as never } : {}) },
          aggs: { wsum: { sum: { field: 'weight' } }, wcnt: { value_count: { field: 'weight' } }, last: { max: { field: 'timestamp' } } },
        },
      },
    });
    const agg = r.aggregations?.['pairs'] as
      | { buckets: Array<{ key: { u: string; i: string; t: string; d?: number }; doc_count: number; wsum: { value: number }; wcnt: { value: number }; last: { value: number } }>; after_key?: Record<string, unknown> }
      | undefined;
    if (!agg) break;
    for (const b of agg.buckets) {
      const typeWeight = opts.weights[b.key.t] ?? 1;
      const w = b.wsum.value + (b.doc_count - b.wcnt.value) * typeWeight;
      // decay at the day's midpoint: exact to within half a day of the half-life
      const ts = b.last.value;
      acc.add(b.key.u, b.key.i, w * (b.key.d !== undefined ? decay(opts, now, b.key.d + DAY / 2) : 1), ts);
    }
    if (!agg.after_key || agg.buckets.length < size) break;
    after = agg.after_key;
  }
  return acc.result();
};

/** Drops users and items with fewer distinct partners than the minimums, repeated until stable. */
export function filterMinInteractions(rows: Interaction[], minUser: number, minItem: number): Interaction[] {
  if (minUser <= 1 && minItem <= 1) return rows;
  let current = rows;
  for (;;) {
    const perUser = new Map<string, number>();
    const perItem = new Map<string, number>();
    for (const r of current) {
      perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + 1);
      perItem.set(r.itemId, (perItem.get(r.itemId) ?? 0) + 1);
    }
    const next = current.filter((r) => perUser.get(r.userId)! >= minUser && perItem.get(r.itemId)! >= minItem);
    if (next.length === current.length) return next;
    current = next;
  }
}
