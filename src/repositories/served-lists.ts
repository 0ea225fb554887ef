import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';

/** What attribution needs of a served record. */
export interface ServedList {
  recommendation_id: string;
  model_id: string;
  endpoint?: string;
  items: string[];
  timestamp: string;
  experiment_id?: string;
  arm?: string;
  /** the user it was served to (none for lists served without one) */
  user_id?: string;
}

export interface DocRef {
  index: string;
  id: string;
}

/** An attribution still waiting for its served list to give it a position. */
export interface PendingAttribution extends DocRef {
  recommendation_id: string;
  item_id: string;
}

export interface PositionUpdate extends DocRef {
  position: number | null;
  in_list: boolean;
}

export interface PositionOutcome {
  updated: number;
  /** the attribution document is not (or no longer) there: a copy of its event stored elsewhere */
  missing: number;
  failed: Array<{ id: string; status: number; reason: string }>;
}

const SERVED_FIELDS = [
  'recommendation_id',
  'model_id',
  'endpoint',
  'items',
  'timestamp',
  'experiment_id',
  'arm',
  'user_id',
];

/** Per arm of an experiment: served lists, and attributed actions by kind. */
export interface ArmCounts {
  /** served lists (impressions) */
  served: number;
  /** distinct users they were served to */
  users: number;
  /** the models that served the arm (control follows whatever is live) */
  models: string[];
  /** attribution records of this kind, and the distinct served lists they fall on */
  actions: Record<'click' | 'conversion', { records: number; lists: number }>;
}

/**
 * Cardinality is HyperLogLog++: exact in practice below its precision threshold (40,000 distinct
 * values, the maximum), within about 1 % above. One search, whatever the retention.
 */
const EXACT_BELOW = 40_000;

/**
 * The served-list log (recommendations-*): each list the API served, and the attribution records
 * of the clicks and conversions that fell on it. The recommendation query itself is src/query.
 */
export class ServedListsRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  /**
   * Served records by `_id` in the index their serve time names, realtime: a record is seen as soon
   * as its write is acknowledged, refresh or not. One request for any number of refs; a ref into an
   * index that does not exist (yet) is simply not found.
   */
  async byRefs(refs: DocRef[]): Promise<Map<string, ServedList>> {
    const unique = [...new Map(refs.map((r) => [`${r.index}\u0000${r.id}`, r])).values()];
    if (!unique.length) return new Map();
    const res = await this.es.mget<ServedList>({
      docs: unique.map((r) => ({ _index: r.index, _id: r.id, _source: SERVED_FIELDS })),
      realtime: true,
    });
    const out = new Map<string, ServedList>();
    for (const d of res.docs)
      if ('found' in d && d.found && d._source && Array.isArray(d._source.items)) out.set(d._id, d._source);
    return out;
  }

  /** Makes what was just written to these indices searchable (for the served-record sink's look for pending positions). */
  async refresh(indices: string[]): Promise<void> {
    if (!indices.length) return;
    await this.es.indices.refresh({
      index: [...new Set(indices)],
      ignore_unavailable: true,
      allow_no_indices: true,
    });
  }

  /** Attributions of these recommendation ids whose position is still pending (at most `max`; `more` when there were others). */
  async pendingAttributions(
    recommendationIds: string[],
    max = 10_000,
  ): Promise<{ pending: PendingAttribution[]; more: boolean }> {
    const ids = [...new Set(recommendationIds)];
    if (!ids.length) return { pending: [], more: false };
    const res = await this.es.search<{ recommendation_id: string; item_id: string }>({
      index: this.names.recommendationsPattern,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: max,
      track_total_hits: max + 1,
      query: {
        bool: { filter: [{ term: { position_pending: true } }, { terms: { recommendation_id: ids } }] },
      },
      _source: ['recommendation_id', 'item_id'],
    });
    const total = typeof res.hits.total === 'number' ? res.hits.total : (res.hits.total?.value ?? 0);
    return {
      pending: res.hits.hits.map((h) => ({
        index: h._index,
        id: h._id!,
        recommendation_id: h._source!.recommendation_id,
        item_id: h._source!.item_id,
      })),
      more: total > res.hits.hits.length,
    };
  }

  /** The event that holds each of these credit records (realtime mget; absent: no such record). */
  async creditHolders(refs: DocRef[]): Promise<Map<string, string>> {
    const unique = [...new Map(refs.map((r) => [refKey(r), r])).values()];
    if (!unique.length) return new Map();
    const res = await this.es.mget<{ event_id: string }>({
      docs: unique.map((r) => ({ _index: r.index, _id: r.id, _source: ['event_id'] })),
      realtime: true,
    });
    const out = new Map<string, string>();
    for (const d of res.docs)
      if ('found' in d && d.found && d._source)
        out.set(refKey({ index: d._index, id: d._id }), d._source.event_id);
    return out;
  }

  /**
   * Writes records that must exist once (op create: a record already there is not written again,
   * so a replayed batch adds nothing). Retriable rejections are returned with the refused.
   */
  async createOnce(docs: Array<DocRef & { doc: Record<string, unknown> }>): Promise<{
    created: number;
    existing: number;
    failed: Array<{ id: string; status: number; reason: string }>;
  }> {
    const out = {
      created: 0,
      existing: 0,
      failed: [] as Array<{ id: string; status: number; reason: string }>,
    };
    if (!docs.length) return out;
    const res = await this.es.bulk({
      operations: docs.flatMap((d) => [{ create: { _index: d.index, _id: d.id } }, d.doc]),
      filter_path: 'errors,items.*.status,items.*.error.type',
    });
    if (!res.errors) return { ...out, created: docs.length };
    res.items.forEach((item, i) => {
      const r = Object.values(item)[0]!;
      if (r.status < 300) out.created++;
      else if (r.status === 409) out.existing++;
      else
        out.failed.push({ id: docs[i]!.id, status: r.status, reason: r.error?.type ?? `http_${r.status}` });
    });
    return out;
  }

  /** Sets positions with partial updates (no scripts); idempotent, so both sides of a race may do it. */
  async setPositions(updates: PositionUpdate[]): Promise<PositionOutcome> {
    const out: PositionOutcome = { updated: 0, missing: 0, failed: [] };
    const unique = [...new Map(updates.map((u) => [`${u.index}\u0000${u.id}`, u])).values()];
    if (!unique.length) return out;
    const res = await this.es.bulk({
      operations: unique.flatMap((u) => [
        { update: { _index: u.index, _id: u.id, retry_on_conflict: 3 } },
        { doc: { position: u.position, in_list: u.in_list, position_pending: false } },
      ]),
      filter_path: 'errors,items.*.status,items.*.error.type,items.*.error.reason',
    });
    if (!res.errors) return { ...out, updated: unique.length };
    res.items.forEach((item, i) => {
      const r = Object.values(item)[0]!;
      if (r.status < 300) out.updated++;
      else if (r.status === 404) out.missing++;
      else
        out.failed.push({ id: unique[i]!.id, status: r.status, reason: r.error?.type ?? `http_${r.status}` });
    });
    return out;
  }

  /** One aggregation over recommendations-* of everything tagged with this experiment, per arm. */
  async experimentCounts(experimentId: string): Promise<Map<string, ArmCounts>> {
    type Bucket = { key: string; doc_count: number };
    type KindBucket = Bucket & {
      lists: { value: number };
      users: { value: number };
      models: { buckets: Bucket[] };
    };
    const res = await this.es.search<
      unknown,
      Record<string, { buckets: Array<Bucket & { kinds: { buckets: KindBucket[] } }> }>
    >({
      index: this.names.recommendationsPattern,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 0,
      query: { term: { experiment_id: experimentId } },
      aggs: {
        arms: {
          terms: { field: 'arm', size: 10 },
          aggs: {
            kinds: {
              terms: { field: 'kind', size: 10 },
              aggs: {
                lists: { cardinality: { field: 'recommendation_id', precision_threshold: EXACT_BELOW } },
                users: { cardinality: { field: 'user_id', precision_threshold: EXACT_BELOW } },
                models: { terms: { field: 'model_id', size: 10 } },
              },
            },
          },
        },
      },
    });
    const out = new Map<string, ArmCounts>();
    for (const arm of res.aggregations?.['arms']?.buckets ?? []) {
      const counts: ArmCounts = {
        served: 0,
        users: 0,
        models: [],
        actions: { click: { records: 0, lists: 0 }, conversion: { records: 0, lists: 0 } },
      };
      for (const k of arm.kinds.buckets) {
        if (k.key === 'served') {
          counts.served = k.doc_count;
          counts.users = k.users.value;
          counts.models = k.models.buckets.map((b) => b.key);
        } else if (k.key === 'click' || k.key === 'conversion')
          counts.actions[k.key] = { records: k.doc_count, lists: k.lists.value };
      }
      out.set(arm.key, counts);
    }
    return out;
  }
}

function refKey(r: DocRef): string {
  return `${r.index}\u0000${r.id}`;
}
