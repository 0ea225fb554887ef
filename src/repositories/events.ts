import type { Client, estypes } from '@elastic/elasticsearch';
import { bucketRange } from '../config/buckets.ts';
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
  return sinceMs !== undefined
    ? { range: { timestamp: { gte: new Date(sinceMs).toISOString() } } }
    : { match_all: {} };
}

/** The event store (events-*): what training and fold-in read from it. Writes go through the ingest sink. */
const BUCKET_LIST_TTL_MS = 5_000;

export class EventsRepository {
  private listing?: { at: number; names: Promise<string[]> };

  constructor(
    private readonly es: Client,
    private readonly names: Names,
    /** retry budget of each page of a training read (default DEFAULT_SCAN_RETRY) */
    private readonly scanRetry?: Partial<RetryPolicy>,
  ) {}

  /**
   * The bucket indices holding events at or after `sinceMs` (every bucket when undefined), oldest
   * first. Any granularity is recognised, so a store half-way through a migration reads whole.
   */
  async bucketIndices(sinceMs?: number): Promise<Array<{ index: string; start: number; end: number }>> {
    // buckets appear once a month (or day/week/year): a few seconds of staleness costs nothing
    if (!this.listing || Date.now() - this.listing.at > BUCKET_LIST_TTL_MS) {
      const names = this.es.cat
        .indices({
          index: `${this.names.eventsIndexPrefix}*`,
          h: ['index'],
          format: 'json',
          expand_wildcards: 'open',
        })
        .then((rows) => (rows as Array<{ index?: string }>).map((r) => r.index ?? ''));
      this.listing = { at: Date.now(), names };
      names.catch(() => (this.listing = undefined));
    }
    const rows = (await this.listing.names.catch(() => [] as string[])).map((index) => ({ index }));
    const out: Array<{ index: string; start: number; end: number }> = [];
    for (const r of rows) {
      const range = r.index ? bucketRange(r.index.slice(this.names.eventsIndexPrefix.length)) : undefined;
      if (range && (sinceMs === undefined || range.end > sinceMs))
        out.push({ index: r.index!, start: range.start, end: range.end });
    }
    return out.sort((a, b) => a.start - b.start || a.index.localeCompare(b.index));
  }

  /** The index expression a read since `sinceMs` needs: only the buckets it overlaps. */
  private async readTarget(sinceMs: number | undefined): Promise<string | undefined> {
    if (sinceMs === undefined) return this.names.eventsPattern;
    const buckets = await this.bucketIndices(sinceMs);
    return buckets.length ? buckets.map((b) => b.index).join(',') : undefined;
  }

  /** Every event since `sinceMs` (all when undefined), in pages, read by `slices` parallel slices, for training. */
  async *scan(sinceMs: number | undefined, pageSize = 10_000, slices = 1): AsyncGenerator<EventRow[]> {
    const index = await this.readTarget(sinceMs);
    if (!index) return;
    const pages = scanPages(this.es, {
      index,
      slices,
      query: since(sinceMs),
      // doc values only: no _id, no _source (skipping the stored-field read measured ~10 % faster, bench/ratings)
      ids: false,
      docvalueFields: [
        'user_id',
        'item_id',
        'event_type',
        'weight',
        { field: 'timestamp', format: 'epoch_millis' },
      ],
      pageSize,
      retry: this.scanRetry,
    });
    for await (const hits of pages) {
      yield hits.map((h) => {
        const f = h.fields as Record<string, unknown[]>;
        const w = f['weight']?.[0] as number | undefined;
        // a document written around ingest may lack a field: '' (no id) is skipped by the reader
        return {
          userId: (f['user_id']?.[0] as string | undefined) ?? '',
          itemId: (f['item_id']?.[0] as string | undefined) ?? '',
          eventType: (f['event_type']?.[0] as string | undefined) ?? '',
          ...(w !== undefined ? { weight: w } : {}),
          ts: Number(f['timestamp']?.[0]),
        };
      });
    }
  }

  /**
   * (user, item, type[, day]) buckets with counts, sums of explicit weights and the latest time,
   * computed by ES (composite aggregation): the alternative reader, kept for comparison.
   */
  async *pairBuckets(
    sinceMs: number | undefined,
    byDay: boolean,
    pageSize = 10_000,
  ): AsyncGenerator<PairBucket[]> {
    const sources: Array<Record<string, unknown>> = [
      { u: { terms: { field: 'user_id' } } },
      { i: { terms: { field: 'item_id' } } },
      { t: { terms: { field: 'event_type' } } },
    ];
    if (byDay) sources.push({ d: { date_histogram: { field: 'timestamp', calendar_interval: '1d' } } });
    let after: Record<string, unknown> | undefined;
    for (;;) {
      const r = await withRetry(
        () =>
          this.es.search({
            index: this.names.eventsPattern,
            ...ALL,
            size: 0,
            query: since(sinceMs),
            aggs: {
              pairs: {
                composite: {
                  size: pageSize,
                  sources: sources as never,
                  ...(after ? { after: after as never } : {}),
                },
                aggs: {
                  wsum: { sum: { field: 'weight' } },
                  wcnt: { value_count: { field: 'weight' } },
                  last: { max: { field: 'timestamp' } },
                },
              },
            },
          }),
        { ...DEFAULT_SCAN_RETRY, label: 'composite read of the event store', ...this.scanRetry },
      );
      const agg = r.aggregations?.['pairs'] as
        | {
            buckets: Array<{
              key: { u: string; i: string; t: string; d?: number };
              doc_count: number;
              wsum: { value: number };
              wcnt: { value: number };
              last: { value: number };
            }>;
            after_key?: Record<string, unknown>;
          }
        | undefined;
      if (!agg) return;
      yield agg.buckets.map((b) => ({
        userId: b.key.u,
        itemId: b.key.i,
        eventType: b.key.t,
        ...(b.key.d !== undefined ? { day: b.key.d } : {}),
        count: b.doc_count,
        explicitSum: b.wsum.value,
        explicitCount: b.wcnt.value,
        lastTs: b.last.value,
      }));
      if (!agg.after_key || agg.buckets.length < pageSize) return;
      after = agg.after_key;
    }
  }

  /** A user's latest `limit` events since `sinceMs`, newest first. */
  async latestOfUser(userId: string, limit: number, sinceMs?: number): Promise<RecentEvent[]> {
    if (limit <= 0) return [];
    const index = await this.readTarget(sinceMs);
    if (!index) return [];
    const r = await this.es.search<RecentEvent>({
      index,
      ...ALL,
      size: limit,
      query:
        sinceMs !== undefined
          ? { bool: { filter: [{ term: { user_id: userId } }, since(sinceMs)] } }
          : { term: { user_id: userId } },
      sort: [{ timestamp: { order: 'desc', unmapped_type: 'date' } }],
      _source: ['event_id', 'item_id', 'event_type', 'weight', 'timestamp', 'user_id'],
      track_total_hits: false,
    });
    return r.hits.hits.map((h) => h._source!);
  }

  /** Removes the dedup-ledger claims that name these buckets. */
  async releaseClaims(indices: string[]): Promise<void> {
    if (!indices.length || !(await this.es.indices.exists({ index: this.names.eventIds }))) return;
    // by scan and bulk delete: this Elasticsearch build has no _delete_by_query (no reindex module)
    await this.es.indices.refresh({ index: this.names.eventIds });
    for await (const hits of scanPages(this.es, {
      index: this.names.eventIds,
      query: { terms: { b: indices } },
      source: false,
      pageSize: 5_000,
    })) {
      await withRetry(
        () =>
          this.es.bulk({
            operations: hits.map((h) => ({ delete: { _index: this.names.eventIds, _id: h._id! } })),
          }),
        { ...DEFAULT_SCAN_RETRY, label: 'releasing event-id claims' },
      );
    }
    await this.es.indices.refresh({ index: this.names.eventIds });
  }

  /** Deletes whole bucket indices and their entries in the dedup ledger (retention, migration). */
  async dropBuckets(indices: string[]): Promise<void> {
    if (!indices.length) return;
    // ledger first: an entry without its event only makes a replay write the event again
    await this.releaseClaims(indices);
    await this.es.indices.delete({ index: indices.join(','), ignore_unavailable: true });
    this.listing = undefined;
  }

  /** Every stored event of one bucket index, as stored, in pages (migration). */
  async *documents(
    index: string,
    pageSize = 5_000,
  ): AsyncGenerator<Array<{ id: string; doc: Record<string, unknown> }>> {
    for await (const hits of scanPages<Record<string, unknown>>(this.es, { index, pageSize }))
      yield hits.map((h) => ({ id: h._id!, doc: h._source! }));
  }

  async count(index: string): Promise<number> {
    await this.es.indices.refresh({ index, ignore_unavailable: true });
    return (await this.es.count({ index, ignore_unavailable: true, allow_no_indices: true })).count;
  }

  /** Stored events, after a refresh (progress of a bulk import; not for hot paths). */
  async countAfterRefresh(): Promise<number> {
    await this.es.indices.refresh({ index: this.names.eventsPattern, ...ALL });
    return (await this.es.count({ index: this.names.eventsPattern, ...ALL })).count;
  }
}
