import type { Client } from '@elastic/elasticsearch';
import { isRetriableItem, RetryError, withRetry, type RetryPolicy } from '../infra/retry.ts';
import { MAX_ES_ID_BYTES, utf8Bytes } from '../types/ids.ts';

export interface LoadDoc {
  id: string;
  /** the document, or its JSON already serialised (sent as is) */
  doc: Record<string, unknown> | string;
}

/** A document the cluster refused for good (not retriable), or that could not be sent at all. */
export interface Refusal {
  status: number;
  /** ES error type, or id_too_long for an _id over 512 bytes (never sent: it fails a whole bulk) */
  type: string;
  reason: string;
}

export interface BulkLoadOptions {
  chunk?: number;
  concurrency?: number;
  onProgress?: (n: number) => void;
  /**
   * Called for each document refused for good; the load goes on without it. It may throw to fail
   * the load (e.g. too many refusals). Without it the first refusal fails the load.
   */
  onRefused?: (doc: LoadDoc, refusal: Refusal) => void;
  /** overrides of the retry budget per chunk (DEFAULT_LOAD_RETRY) */
  retry?: Partial<RetryPolicy>;
}

/**
 * How long one chunk may keep retrying rejections (429s: a busy cluster during a big load) and
 * unavailability before the deploy gives up. Bounded, unlike ingest: a deploy has an operator or a
 * schedule waiting on it, and a failed deploy leaves the live model serving.
 */
export const DEFAULT_LOAD_RETRY: RetryPolicy = { initialMs: 500, maxMs: 15_000, deadlineMs: 180_000 };

class RetriableItems extends RetryError {
  constructor(index: string, count: number, type: string | undefined) {
    super(`bulk load into ${index}: ${count} documents rejected retriably (${type ?? 'http 429/502-504'})`, {
      retriable: true,
    });
  }
}

/**
 * Bulk-loads a stream of documents into one index with a few requests in flight. Documents are
 * indexed with their fixed _id, so a retry just writes them again. Retriable rejections, of a
 * whole request or of single documents, are retried within a bounded budget, and an exhausted
 * budget fails the load. A document refused for good (a mapping conflict, an _id too long) goes
 * to `onRefused`, which decides whether the load goes on; without it the first one fails the load
 * at once. Returns the number of documents written.
 */
export async function bulkLoad(
  es: Client,
  index: string,
  docs: Iterable<LoadDoc>,
  opts: BulkLoadOptions = {},
): Promise<number> {
  const chunk = opts.chunk ?? 1000;
  const concurrency = opts.concurrency ?? 2;
  const policy: RetryPolicy = { ...DEFAULT_LOAD_RETRY, label: `bulk load into ${index}`, ...opts.retry };
  const inFlight = new Set<Promise<void>>();
  let done = 0;
  let failure: Error | undefined;
  let batch: LoadDoc[] = [];

  const refuse = (doc: LoadDoc, refusal: Refusal): void => {
    if (!opts.onRefused)
      throw new Error(`bulk load into ${index} rejected a document: ${refusal.type}: ${refusal.reason}`);
    opts.onRefused(doc, refusal);
  };

  /** One bulk request; returns the documents rejected retriably, hands refused ones to `refuse`. */
  const sendOnce = async (items: LoadDoc[]): Promise<{ retry: LoadDoc[]; type?: string }> => {
    const r = await es.bulk({
      operations: items.flatMap((d) => [{ index: { _index: index, _id: d.id } }, d.doc]),
      filter_path: 'errors,items.*.status,items.*.error.type,items.*.error.reason',
    });
    const retry: LoadDoc[] = [];
    let type: string | undefined;
    let refused = 0;
    if (r.errors) {
      r.items.forEach((item, i) => {
        const res = Object.values(item)[0]!;
        if (res.status < 300) return;
        if (!isRetriableItem(res.status, res.error?.type)) {
          refused++;
          refuse(items[i]!, {
            status: res.status,
            type: res.error?.type ?? 'unknown',
            reason: res.error?.reason ?? '',
          });
          return;
        }
        type ??= res.error?.type;
        retry.push(items[i]!);
      });
    }
    done += items.length - retry.length - refused;
    opts.onProgress?.(done);
    return { retry, type };
  };

  const send = (items: LoadDoc[]) => {
    let pending = items;
    const p = withRetry(
      async () => {
        const { retry, type } = await sendOnce(pending);
        pending = retry;
        if (retry.length) throw new RetriableItems(index, retry.length, type);
      },
      // once one chunk has failed the load, the others stop retrying too
      { ...policy, shouldAbort: () => failure !== undefined || (policy.shouldAbort?.() ?? false) },
    ).catch((e: Error) => {
      failure ??= e;
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    return p;
  };

  try {
    for (const d of docs) {
      if (failure) break;
      if (utf8Bytes(d.id) > MAX_ES_ID_BYTES) {
        refuse(d, {
          status: 400,
          type: 'id_too_long',
          reason: `_id is ${utf8Bytes(d.id)} bytes, more than the ${MAX_ES_ID_BYTES} Elasticsearch accepts`,
        });
        continue;
      }
      batch.push(d);
      if (batch.length >= chunk) {
        send(batch);
        batch = [];
        if (inFlight.size >= concurrency) await Promise.race(inFlight);
      }
    }
    if (batch.length && !failure) send(batch);
  } catch (e) {
    // the documents' source (or onRefused) gave up: no new requests, but the ones in flight are
    // awaited, so none lands after the caller has cleaned up (a bulk into a deleted index would recreate it)
    failure ??= e as Error;
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  return done;
}
