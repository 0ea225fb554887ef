import type { Client, estypes } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import { withRetry, type RetryPolicy } from '../infra/retry.ts';
import { DEFAULT_SCAN_RETRY, scanPages } from './scan.ts';

/** One stored event as training reads it (doc values, not _source). */
export interface EventRow {
  userId: string;
  itemId: string;
  eventType: string;
  weight?: number;
  ts: number;
}

export interface RecentEvent {
  event_id: string;
  user_id: string;
  item_id: string;
  event_type: string;
  weight?: number;
  timestamp: string;
}

export interface PairBucket {
  userId: string;
  itemId: string;
  eventType: string;
  /** start of the UTC day when grouped by day */
  day?: number;
  count: number;
  explicitSum: number;
  explicitCount: number;
  lastTs: number;
}

const ALL = { ignore_unavailable: true, allow_no_indices: true } as const;

function since(sinceMs: number | undefined): estypes.QueryDslQueryContainer {
  return sinceMs !== undefined ? { range: { timestamp: { gte: new Date(sinceMs).toISOString() } } } : { match_all: {} };
}

/** The event store (events-*): what training and fold-in read from it. Writes go through the ingest sink. */
export class EventsRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
    /** retry budget of each page of a training read (default DEFAULT_SCAN_RETRY) */
    private readonly scanRetry?: Partial<RetryPolicy>,
  ) {}

  /** Every event since `sinceMs` (all when undefined), in pages, for training. */
  async *scan(sinceMs: number | undefined, pageSize = 10_000): AsyncGenerator<EventRow[]> {
    const pages = scanPages(this.es, {
      index: this.names.eventsPattern,
      query: since(sinceMs),
      source: false,
      docvalueFields: ['user_id', 'item_id', 'event_type', 'weight', { field: 'timestamp', format: 'epoch_millis' }],
      pageSize,
      retry: this.scanRetry,
    });
    for await (const hits of pages) {
      yield hits.map((h) => {
        const f = h.fields as Record<string, unknown[]>;
        const w = f['weight']?.[0] as number | undefined;
        // a document written around ingest may lack a field: '' (no id) is skipped by the reader
        return { userId: (f['user_id']?.[0] as string | undefined) ?? '', itemId: (f['item_id']?.[0] as string | undefined) ?? '', eventType: (f['event_type']?.[0] as string | undefined) ?? '', ...(w !== undefined ? { weight: w } : {}), ts: Number(f['timestamp']?.[0]) };
      });
    }
  }

  /**
   * (user, item, type[, day]) buckets with counts, sums of explicit weights and the latest time,
   * computed by ES (composite aggregation): the alternative reader, kept for comparison.
   */
  async *pairBuckets(sinceMs: number | undefined, byDay: boolean, pageSize = 10_000): AsyncGenerator<PairBucket[]> {
    const sources: Array<Record<string, unknown>> = [{ u: { terms: { field: 'user_id' } } }, { i: { terms: { field: 'item_id' } } }, { t: { terms: { field: 'event_type' } } }];
    if (byDay) sources.push({ d: { date_histogram: { field: 'timestamp', calendar_interval: '1d' } } });
    let after: Record<string, unknown> | undefined;
    for (;;) {
      const r = await withRetry(() => this.es.search({
        index: this.names.eventsPattern,
        ...ALL,
        size: 0,
        query: since(sinceMs),
        aggs: {
          pairs: {
            composite: { size: pageSize, sources: sources as never, ...(after ? { after: after as never } : {}) },
            aggs: { wsum: { sum: { field: 'weight' } }, wcnt: { value_count: { field: 'weight' } }, last: { max: { field: 'timestamp' } } },
          },
        },
      }), { ...DEFAULT_SCAN_RETRY, label: 'composite read of the event store', ...this.scanRetry });
      const agg = r.aggregations?.['pairs'] as
        | { buckets: Array<{ key: { u: string; i: string; t: string; d?: number }; doc_count: number; wsum: { value: number }; wcnt: { value: number }; last: { value: number } }>; after_key?: Record<string, unknown> }
        | undefined;
      if (!agg) return;
      yield agg.buckets.map((b) => ({ userId: b.key.u, itemId: b.key.i, eventType: b.key.t, ...(b.key.d !== undefined ? { day: b.key.d } : {}), count: b.doc_count, explicitSum: b.wsum.value, explicitCount: b.wcnt.value, lastTs: b.last.value }));
      if (!agg.after_key || agg.buckets.length < pageSize) return;
      after = agg.after_key;
    }
  }

  /** A user's latest `limit` events since `sinceMs`, newest first. */
  async latestOfUser(userId: string, limit: number, sinceMs?: number): Promise<RecentEvent[]> {
    if (limit <= 0) return [];
    const r = await this.es.search<RecentEvent>({
      index: this.names.eventsPattern,
      ...ALL,
      size: limit,
      query: sinceMs !== undefined ? { bool: { filter: [{ term: { user_id: userId } }, since(sinceMs)] } } : { term: { user_id: userId } },
      sort: [{ timestamp: { order: 'desc', unmapped_type: 'date' } }],
      _source: ['event_id', 'item_id', 'event_type', 'weight', 'timestamp', 'user_id'],
      track_total_hits: false,
    });
    return r.hits.hits.map((h) => h._source!);
  }

  /** Stored events, after a refresh (progress of a bulk import; not for hot paths). */
  async countAfterRefresh(): Promise<number> {
    await this.es.indices.refresh({ index: this.names.eventsPattern, ...ALL });
    return (await this.es.count({ index: this.names.eventsPattern, ...ALL })).count;
  }
}
