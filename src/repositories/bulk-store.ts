import type { Client } from '@elastic/elasticsearch';
import { isRetriable, isRetriableItem, RetryError, withRetry, type RetryPolicy } from '../infra/retry.ts';
import type { Logger } from '../infra/logger.ts';

export interface SinkDoc {
  index: string;
  id: string;
  doc: Record<string, unknown>;
  /** create: first write wins and a replay is a no-op (409); index: last write wins */
  op: 'create' | 'index';
  /** position of the source message in its batch, to dead-letter the right one */
  origin: number;
  /**
   * Write only if this event id is (or becomes) claimed by this bucket in the dedup ledger
   * (DocumentWriter): the event doc itself, and docs that exist because of it (its attribution).
   */
  ledger?: { id: string; bucket: string };
}

export interface PermanentFailure {
  origin: number;
  reason: string;
  message: string;
}

export interface StoreOutcome {
  written: number;
  duplicates: number;
  /** the docs that were duplicates (a `create` that found its _id taken) */
  duplicateDocs: SinkDoc[];
  retriedItems: number;
  failures: PermanentFailure[];
  /** wall ms of each write step, retries included (DocumentWriter: ledger claims, claim owners, the write) */
  phases: Partial<Record<StorePhase, number>>;
}

/** The steps of a store: the dedup-ledger claims bulk, the mget of claims other buckets hold, the documents' bulk. */
export type StorePhase = 'ledger_claims' | 'ledger_owners' | 'bulk';

/** The sink's retry policy: usually unbounded (no maxAttempts / deadlineMs), see storeAll. */
export type { RetryPolicy } from '../infra/retry.ts';
/** Thrown by storeAll when shouldAbort() stops it with docs still unstored (the batch must not be committed). */
export { RetryAbortedError as StoreAbortedError } from '../infra/retry.ts';

/** "Some items were rejected retriably": asks withRetry for another round with just those items. */
class RetriableItems extends RetryError {
  constructor(count: number) {
    super(`${count} bulk items rejected retriably (429/502-504/es_rejected_execution_exception)`, {
      retriable: true,
    });
  }
}

/**
 * Bulk-writes docs until every one is stored, a duplicate, or permanently rejected.
 * Retriable items and retriable whole-request failures (infra/retry.ts: 429, 502-504, rejected
 * execution, connection loss) are retried with capped exponential backoff for as long as the
 * policy allows (the sink: as long as it takes, the batch is held); everything else an item can
 * fail with comes back as a failure, and a non-retriable whole-request failure is thrown.
 */
export async function storeAll(
  es: Client,
  docs: SinkDoc[],
  policy: RetryPolicy,
  log: Logger,
): Promise<StoreOutcome> {
  const outcome: StoreOutcome = {
    written: 0,
    duplicates: 0,
    duplicateDocs: [],
    retriedItems: 0,
    failures: [],
    phases: {},
  };
  let pending = docs;
  if (!pending.length) return outcome;
  const started = performance.now();
  await withRetry(
    async (attempt) => {
      let response;
      try {
        response = await es.bulk({
          operations: pending.flatMap((d) => [{ [d.op]: { _index: d.index, _id: d.id } }, d.doc]),
          filter_path: 'errors,items.*.status,items.*.error.type,items.*.error.reason',
        });
      } catch (e) {
        if (isRetriable(e))
          log.warn(
            { err: (e as Error).message, attempt, docs: pending.length },
            'Elasticsearch unavailable; holding the batch and retrying',
          );
        throw e;
      }
      if (!response.errors) {
        outcome.written += pending.length;
        pending = [];
        return;
      }
      const retry: SinkDoc[] = [];
      response.items.forEach((item, i) => {
        const r = Object.values(item)[0]!;
        const doc = pending[i]!;
        if (r.status < 300) outcome.written++;
        else if (r.status === 409 && doc.op === 'create') {
          outcome.duplicates++;
          outcome.duplicateDocs.push(doc);
        } else if (isRetriableItem(r.status, r.error?.type)) retry.push(doc);
        else
          outcome.failures.push({
            origin: doc.origin,
            reason: r.error?.type ?? `http_${r.status}`,
            message: r.error?.reason ?? 'rejected by Elasticsearch',
          });
      });
      pending = retry;
      if (retry.length) {
        outcome.retriedItems += retry.length;
        log.warn({ retry: retry.length, attempt }, 'bulk items rejected retriably; retrying them');
        throw new RetriableItems(retry.length);
      }
    },
    { label: `storing ${docs.length} docs`, ...policy },
  );
  outcome.phases.bulk = performance.now() - started;
  return outcome;
}
