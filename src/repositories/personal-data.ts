// The per-store reads and writes of the privacy jobs (src/privacy): one user's or one item's
// documents found, deleted, pseudonymised or re-keyed. Deletion is by id, in bulk: an event's
// claim in the dedup ledger is found by the event's id, so the ids are read even where the cluster
// offers _delete_by_query (the local 8.19 build does not), and the other stores are addressed by id.

import type { Client, estypes } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import { esStatus, isIndexNotFound } from '../infra/es-errors.ts';
import { withRetry } from '../infra/retry.ts';
import { DEFAULT_SCAN_RETRY, scanPages } from './scan.ts';

const ALL = { ignore_unavailable: true, allow_no_indices: true } as const;
const BULK_RETRY = { ...DEFAULT_SCAN_RETRY, label: 'privacy bulk' };

export interface Hit {
  index: string;
  id: string;
  source: Record<string, unknown>;
}

/** How many documents of a bulk request did what was asked, and how many were already gone. */
export interface BulkCount {
  done: number;
  missing: number;
}

export class PersonalDataRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  /** Concrete indices matching a pattern (open ones). */
  async indices(pattern: string): Promise<string[]> {
    const rows = (await this.es.cat
      .indices({ index: pattern, h: ['index'], format: 'json', expand_wildcards: 'open' })
      .catch((e: unknown) => {
        if (esStatus(e) === 404) return [];
        throw e;
      })) as Array<{ index?: string }>;
    return rows
      .map((r) => r.index ?? '')
      .filter(Boolean)
      .sort();
  }

  async refresh(indices: string | string[]): Promise<void> {
    const index = Array.isArray(indices) ? indices : [indices];
    if (!index.length) return;
    await this.es.indices.refresh({ index, ...ALL });
  }

  /** Documents where `field` = `value` in `index` (a pattern or a list), in pages, with _source unless `source` is false. */
  async *matching(
    index: string,
    field: string,
    value: string,
    opts: { source?: boolean | string[]; pageSize?: number } = {},
  ): AsyncGenerator<Hit[]> {
    try {
      for await (const hits of scanPages<Record<string, unknown>>(this.es, {
        index,
        query: { term: { [field]: value } },
        source: opts.source ?? true,
        pageSize: opts.pageSize ?? 5_000,
      }))
        yield hits.map((h) => ({ index: h._index, id: h._id!, source: h._source ?? {} }));
    } catch (e) {
      if (!isIndexNotFound(e)) throw e;
    }
  }

  /**
   * The indices of `pattern` holding documents where `field` = `value`, with how many each holds
   * (one aggregation, after a refresh).
   */
  async indicesHolding(
    pattern: string,
    field: string,
    value: string,
  ): Promise<Array<{ index: string; count: number }>> {
    await this.refresh(pattern);
    const r = await this.es.search<unknown, { at: { buckets: Array<{ key: string; doc_count: number }> } }>({
      index: pattern,
      ...ALL,
      size: 0,
      query: { term: { [field]: value } },
      aggs: { at: { terms: { field: '_index', size: 10_000 } } },
    });
    return (r.aggregations?.at.buckets ?? [])
      .map((b) => ({ index: b.key, count: b.doc_count }))
      .sort((a, b) => a.index.localeCompare(b.index));
  }

  /**
   * Ids of the documents of one index where `field` = `value`, in pages: one search when `expected`
   * (from indicesHolding) fits a page, else a point-in-time scan.
   */
  async *idsWhere(index: string, field: string, value: string, expected: number): AsyncGenerator<Hit[]> {
    if (expected > 10_000) {
      yield* this.matching(index, field, value, { source: false });
      return;
    }
    const r = await this.es.search({
      index,
      ...ALL,
      size: 10_000,
      query: { term: { [field]: value } },
      _source: false,
      track_total_hits: false,
      filter_path: 'hits.hits._index,hits.hits._id',
    });
    const hits = (r.hits?.hits ?? []).map((h) => ({ index: h._index, id: h._id!, source: {} }));
    if (hits.length) yield hits;
  }

  async count(index: string, field: string, value: string): Promise<number> {
    await this.refresh(index);
    return (await this.es.count({ index, ...ALL, query: { term: { [field]: value } } })).count;
  }

  /** Deletes these documents; already gone counts as missing. */
  async deleteDocs(refs: ReadonlyArray<{ index: string; id: string }>): Promise<BulkCount> {
    if (!refs.length) return { done: 0, missing: 0 };
    const ops = refs.map((r) => ({ delete: { _index: r.index, _id: r.id } }));
    return this.bulk(ops, 'delete');
  }

  /**
   * Deletes events and their claims in the dedup ledger, in one bulk request; an event or claim
   * already gone counts as missing.
   */
  async deleteEventsWithClaims(
    events: ReadonlyArray<{ index: string; id: string }>,
  ): Promise<{ events: number; claims: number }> {
    if (!events.length) return { events: 0, claims: 0 };
    // one request; a claim left without its event (or the reverse) by a crash midway only lets a
    // replay write the event again, which the tombstone drops, and the rerun deletes the rest
    const r = await withRetry(
      () =>
        this.es.bulk({
          operations: [
            ...events.map((e) => ({ delete: { _index: this.names.eventIds, _id: e.id } })),
            ...events.map((e) => ({ delete: { _index: e.index, _id: e.id } })),
          ],
          filter_path: 'items.*.status,items.*.error.type',
        }),
      BULK_RETRY,
    );
    const out = { events: 0, claims: 0 };
    r.items.forEach((item, i) => {
      const res = item.delete!;
      if (res.status >= 300 && res.status !== 404)
        throw new Error(`privacy bulk: delete failed (${res.error?.type ?? res.status})`);
      if (res.status < 300) out[i < events.length ? 'claims' : 'events']++;
    });
    return out;
  }

  /** Partial updates of documents (no scripts: the same fields set on each). */
  async updateDocs(
    refs: ReadonlyArray<{ index: string; id: string }>,
    doc: (ref: { index: string; id: string }) => Record<string, unknown>,
  ): Promise<BulkCount> {
    if (!refs.length) return { done: 0, missing: 0 };
    const ops = refs.flatMap((r) => [
      { update: { _index: r.index, _id: r.id, retry_on_conflict: 3 } },
      { doc: doc(r) },
    ]);
    return this.bulk(ops, 'update');
  }

  /** Writes documents under new ids and deletes the old ones, in one bulk request (re-identifying documents whose _id carries an id). */
  async replaceDocs(
    moves: ReadonlyArray<{
      from: { index: string; id: string };
      to: { index: string; id: string };
      doc: Record<string, unknown>;
    }>,
  ): Promise<BulkCount> {
    if (!moves.length) return { done: 0, missing: 0 };
    const ops = moves.flatMap((m) => [
      { index: { _index: m.to.index, _id: m.to.id } },
      m.doc,
      { delete: { _index: m.from.index, _id: m.from.id } },
    ]);
    const r = await this.bulk(ops, 'delete');
    return r;
  }

  /** One document, or undefined. */
  async get(index: string, id: string): Promise<Record<string, unknown> | undefined> {
    try {
      return (await this.es.get<Record<string, unknown>>({ index, id }))._source;
    } catch (e) {
      if (esStatus(e) === 404) return undefined;
      throw e;
    }
  }

  /** Where a document id is found among `indices` (one mget), with its _source. */
  async findById(indices: string[], id: string): Promise<Hit[]> {
    if (!indices.length) return [];
    const r = await this.es.mget<Record<string, unknown>>({
      docs: indices.map((index) => ({ _index: index, _id: id })),
      realtime: true,
    });
    const out: Hit[] = [];
    for (const d of r.docs)
      if ('found' in d && d.found) out.push({ index: d._index, id: d._id, source: d._source ?? {} });
    return out;
  }

  /** The dedup ledger's index name (its claims are deleted with their events). */
  get ledger(): string {
    return this.names.eventIds;
  }

  private async bulk(operations: unknown[], counted: 'delete' | 'update'): Promise<BulkCount> {
    const r = await withRetry(
      () =>
        this.es.bulk({
          operations: operations as estypes.BulkOperationContainer[],
          filter_path: 'errors,items.*.status,items.*.result,items.*.error.type',
        }),
      BULK_RETRY,
    );
    const out: BulkCount = { done: 0, missing: 0 };
    for (const item of r.items) {
      const [op, res] = Object.entries(item)[0]!;
      if (op !== counted) {
        if (res.status >= 300)
          throw new Error(`privacy bulk: ${op} failed (${res.error?.type ?? res.status})`);
        continue;
      }
      if (res.status === 404) out.missing++;
      else if (res.status < 300) out.done++;
      else throw new Error(`privacy bulk: ${op} failed (${res.error?.type ?? res.status})`);
    }
    return out;
  }
}
