import type { Client } from '@elastic/elasticsearch';
import { errors } from '@elastic/elasticsearch';
import { isEsUnavailable } from '../infra/es-errors.ts';
import type { Logger } from '../infra/logger.ts';

export interface SinkDoc {
  index: string;
  id: string;
  doc: Record<string, unknown>;
  /** create: first write wins and a replay is a no-op (409); index: last write wins */
  op: 'create' | 'index';
  /** position of the source message in its batch, to dead-letter the right one */
  origin: number;
}

export interface PermanentFailure {
  origin: number;
  reason: string;
  message: string;
}

export interface StoreOutcome {
  written: number;
  duplicates: number;
  retriedItems: number;
  failures: PermanentFailure[];
}

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
  /** called while waiting, e.g. the Kafka heartbeat; may throw to abandon the batch */
  onWait?: (attempt: number, error: string) => Promise<void>;
  /** true once the caller wants out (shutdown): the loop throws instead of waiting again */
  shouldAbort?: () => boolean;
}

export class StoreAbortedError extends Error {}

/**
 * Whole-request failures that mean "ES is not there right now", not "this data is bad". A bulk
 * request is retried on any 5xx: it carries no client mistake that a retry could repeat forever.
 */
export function isUnavailable(e: unknown): boolean {
  return isEsUnavailable(e) || (e instanceof errors.ResponseError && (e.statusCode ?? 0) >= 500);
}

const RETRYABLE_ITEM = (status: number) => status === 429 || status >= 500;

/**
 * Bulk-writes docs until every one is stored, a duplicate, or permanently rejected.
 * Retryable items (429/5xx) and an unreachable cluster are retried with capped exponential
 * backoff for as long as it takes; only mapping-type errors come back as failures.
 */
export async function storeAll(es: Client, docs: SinkDoc[], policy: RetryPolicy, log: Logger): Promise<StoreOutcome> {
  const outcome: StoreOutcome = { written: 0, duplicates: 0, retriedItems: 0, failures: [] };
  let pending = docs;
  let attempt = 0;
  let lastError = '';
  while (pending.length > 0) {
    if (attempt > 0) {
      if (policy.shouldAbort?.()) throw new StoreAbortedError(`abandoned ${pending.length} unstored docs on shutdown`);
      const delay = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt - 1, 16));
      await waitWithHeartbeat(delay, policy, attempt, lastError);
    }
    attempt++;
    let response;
    try {
      response = await es.bulk({
        operations: pending.flatMap((d) => [{ [d.op]: { _index: d.index, _id: d.id } }, d.doc]),
        filter_path: 'errors,items.*.status,items.*.error.type,items.*.error.reason',
      });
    } catch (e) {
      if (!isUnavailable(e)) throw e;
      log.warn({ err: (e as Error).message, attempt, docs: pending.length }, 'Elasticsearch unavailable; holding the batch and retrying');
      lastError = (e as Error).message;
      continue;
    }
    if (!response.errors) {
      outcome.written += pending.length;
      break;
    }
    const retry: SinkDoc[] = [];
    response.items.forEach((item, i) => {
      const r = Object.values(item)[0]!;
      const doc = pending[i]!;
      if (r.status < 300) outcome.written++;
      else if (r.status === 409 && doc.op === 'create') outcome.duplicates++;
      else if (RETRYABLE_ITEM(r.status)) retry.push(doc);
      else outcome.failures.push({ origin: doc.origin, reason: r.error?.type ?? `http_${r.status}`, message: r.error?.reason ?? 'rejected by Elasticsearch' });
    });
    outcome.retriedItems += retry.length;
    if (retry.length) log.warn({ retry: retry.length, attempt }, 'bulk items rejected retryably (429/5xx); retrying them');
    if (retry.length) lastError = 'retryable bulk item rejections';
    pending = retry;
  }
  return outcome;
}

async function waitWithHeartbeat(ms: number, policy: RetryPolicy, attempt: number, lastError: string): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, Math.min(1000, until - Date.now())));
    await policy.onWait?.(attempt, lastError);
    if (policy.shouldAbort?.()) return;
  }
}
