import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import type { Logger } from '../infra/logger.ts';
import { withRetry } from '../infra/retry.ts';
import { storeAll, type RetryPolicy, type SinkDoc, type StoreOutcome } from './bulk-store.ts';

/**
 * Idempotent bulk writes of consumed messages (events, served lists, attributions).
 *
 * Events are deduplicated across buckets through the ledger (event-ids): a doc that carries
 * `ledger` first claims its event id there with op_type=create, recording its bucket; it is
 * written only if the claim is new or names the same bucket (a crash between claim and write is
 * healed by the redelivery). A second copy of an event_id dated into another bucket finds the
 * claim taken by that bucket and counts as a duplicate, so one event id is stored once, whatever
 * its timestamp. Claims are retried with the same policy as the writes.
 */
export class DocumentWriter {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  async storeAll(docs: SinkDoc[], policy: RetryPolicy, log: Logger): Promise<StoreOutcome> {
    const claimed = docs.filter((d) => d.ledger !== undefined);
    if (!claimed.length) return storeAll(this.es, docs, policy, log);

    // one claim per (event id, bucket); in-batch copies of an id are claimed in order, so the first decides
    const claims = new Map<string, SinkDoc>();
    for (const d of claimed) {
      const key = `${d.ledger!.id}\u0000${d.ledger!.bucket}`;
      if (!claims.has(key))
        claims.set(key, {
          index: this.names.eventIds,
          id: d.ledger!.id,
          op: 'create',
          origin: d.origin,
          doc: { b: d.ledger!.bucket },
        });
    }
    const ledger = await storeAll(this.es, [...claims.values()], policy, log);
    const refused = new Set(ledger.failures.map((f) => f.origin));
    const ownersStarted = performance.now();
    const owner = await this.owners(
      ledger.duplicateDocs.map((c) => c.id),
      policy,
    );
    const ownersMs = performance.now() - ownersStarted;
    for (const c of claims.values())
      if (!owner.has(c.id) && !refused.has(c.origin)) owner.set(c.id, c.doc['b'] as string);
    const elsewhere: SinkDoc[] = [];
    const toWrite = docs.filter((d) => {
      if (d.ledger === undefined) return true;
      if (refused.has(d.origin)) return false;
      if (owner.get(d.ledger.id) === d.ledger.bucket) return true;
      elsewhere.push(d);
      return false;
    });
    const out = await storeAll(this.es, toWrite, policy, log);
    return {
      written: out.written,
      duplicates: out.duplicates + elsewhere.filter((d) => d.index === d.ledger!.bucket).length,
      duplicateDocs: [...out.duplicateDocs, ...elsewhere],
      retriedItems: out.retriedItems + ledger.retriedItems,
      failures: [...ledger.failures, ...out.failures],
      phases: { ledger_claims: ledger.phases.bulk ?? 0, ledger_owners: ownersMs, bulk: out.phases.bulk ?? 0 },
    };
  }

  /** Which bucket holds each already-claimed event id. */
  private async owners(ids: string[], policy: RetryPolicy): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const r = await withRetry(
      () =>
        this.es.mget<{ b: string }>({ index: this.names.eventIds, ids: [...new Set(ids)], realtime: true }),
      { ...policy, label: 'reading event-id claims' },
    );
    const out = new Map<string, string>();
    for (const d of r.docs) if ('found' in d && d.found && d._source) out.set(d._id, d._source.b);
    return out;
  }
}
