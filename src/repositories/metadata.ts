// Storage of item and user metadata. Items are upserted (partial update, doc_as_upsert) into
// item-metadata, the catalogue's source of truth, and propagated to the live items-<model_id>
// index: existing documents get the same partial update (their vectors and LSH terms stay), items
// the live model has never seen are indexed without vectors (has_factor = false) so they can be
// filtered, searched and served as popular/backfill items until the next deploy gives them a
// factor. Users go to user-metadata only.

import type { Client, estypes } from '@elastic/elasticsearch';
import type { FilterFieldLists } from '../catalog/item-fields.ts';
import { checkMetadata, type ItemMetadata, type UserMetadata } from '../catalog/metadata.ts';
import type { Names } from '../config/names.ts';
import {
  isRetriableItem,
  RetriesExhaustedError,
  RetryError,
  withRetry,
  type RetryPolicy,
} from '../infra/retry.ts';
import type { ModelIndicesRepository } from './model-indices.ts';

export interface UpsertError {
  index: number;
  /** absent when the document has no usable id */
  id?: string;
  /** schema: invalid, not written; metadata / live: refused by that index */
  target: 'schema' | 'metadata' | 'live';
  field?: string;
  message: string;
}

export interface UpsertReport {
  documents: number;
  /** documents written to the metadata index */
  upserted: number;
  metadata: { index: string; created: number; updated: number; failed: number };
  /** propagation to the live items index (items only; null when no model is live) */
  live: { index: string; modelId: string; created: number; updated: number; failed: number } | null;
  errors: UpsertError[];
}

export interface UpsertOptions {
  refresh?: boolean | 'wait_for';
  /** documents per bulk request */
  chunkSize?: number;
  now?: Date;
  /** overrides of the retry budget per bulk request (DEFAULT_UPSERT_RETRY) */
  retry?: Partial<RetryPolicy>;
}

export class MetadataRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
    private readonly modelIndices: ModelIndicesRepository,
    /** the filter whitelist the item mappings are built from: whitelisted attributes are type-checked */
    private readonly filterFields?: FilterFieldLists,
  ) {}

  /**
   * Upserts item metadata into item-metadata and the live items index. Documents failing the schema
   * are not written and come back in `errors` (target "schema") with their index in `items`.
   */
  async upsertItems(
    items: ReadonlyArray<ItemMetadata | Record<string, unknown>>,
    opts: UpsertOptions = {},
  ): Promise<UpsertReport> {
    const modelId = (await this.modelIndices.aliasedModelIds()).at(-1);
    const live = modelId ? { index: this.names.itemsIndex(modelId), modelId } : null;
    return upsert(this.es, 'items', this.names.itemMetadata, 'item_id', items, opts, live, this.filterFields);
  }

  /** Upserts user metadata into user-metadata (same contract as upsertItems). */
  upsertUsers(
    users: ReadonlyArray<UserMetadata | Record<string, unknown>>,
    opts: UpsertOptions = {},
  ): Promise<UpsertReport> {
    return upsert(this.es, 'users', this.names.userMetadata, 'user_id', users, opts, null);
  }
}

type Doc = Record<string, unknown>;

async function upsert(
  es: Client,
  kind: 'items' | 'users',
  index: string,
  idField: string,
  docs: ReadonlyArray<Doc>,
  opts: UpsertOptions,
  live: { index: string; modelId: string } | null,
  filterFields?: FilterFieldLists,
): Promise<UpsertReport> {
  const report: UpsertReport = {
    documents: docs.length,
    upserted: 0,
    metadata: { index, created: 0, updated: 0, failed: 0 },
    live: live ? { ...live, created: 0, updated: 0, failed: 0 } : null,
    errors: [],
  };
  const invalid = new Set<number>();
  for (const e of checkMetadata(kind, docs as unknown[], filterFields)) {
    invalid.add(e.index);
    const id = docs[e.index]?.[idField];
    report.errors.push({
      index: e.index,
      ...(typeof id === 'string' ? { id } : {}),
      target: 'schema',
      field: e.field,
      message: e.message,
    });
  }
  const now = (opts.now ?? new Date()).toISOString();
  const chunk = opts.chunkSize ?? 1000;
  for (let start = 0; start < docs.length; start += chunk) {
    const part = docs
      .slice(start, start + chunk)
      .map((d, i) => ({ position: start + i, id: String(d[idField]), doc: { ...d, updated_at: now } }))
      .filter((p) => !invalid.has(p.position));

    const ok = await bulkUpdate(es, opts, part, report, 'metadata', (p) => [
      { update: { _index: index, _id: p.id, retry_on_conflict: 3 } },
      { doc: p.doc, doc_as_upsert: true },
    ]);
    report.upserted += ok.length;
    if (live && ok.length) {
      await bulkUpdate(es, opts, ok, report, 'live', (p) => [
        { update: { _index: live.index, _id: p.id, retry_on_conflict: 3 } },
        // existing items: partial update; new ones: indexed without vectors
        { doc: p.doc, upsert: { popularity: 0, ...p.doc, model_id: live.modelId, has_factor: false } },
      ]);
    }
  }
  report.errors.sort((a, b) => a.index - b.index);
  return report;
}

interface Part {
  position: number;
  id: string;
  doc: Doc;
}

/**
 * Retries of one metadata bulk request: rejections (429) and unavailability are retried for a
 * while; the caller (an API request, an import) is waiting, so the budget is short.
 */
export const DEFAULT_UPSERT_RETRY: RetryPolicy = { initialMs: 200, maxMs: 5_000, deadlineMs: 20_000 };

class RetriableItems extends RetryError {
  constructor(count: number) {
    super(`${count} metadata updates rejected retriably`, { retriable: true });
  }
}

/**
 * One bulk request, retrying retriable failures (the whole request, or single items: an update
 * with the same partial doc is idempotent); counts results into the report and returns the parts
 * that succeeded. Items still rejected retriably when the budget runs out are reported as errors,
 * a whole request still failing is thrown.
 */
async function bulkUpdate(
  es: Client,
  opts: UpsertOptions,
  parts: Part[],
  report: UpsertReport,
  target: 'metadata' | 'live',
  ops: (p: Part) => unknown[],
): Promise<Part[]> {
  if (!parts.length) return [];
  const counts = target === 'metadata' ? report.metadata : report.live!;
  const ok: Part[] = [];
  const rejected = new Map<Part, estypes.ErrorCause>();
  let pending = parts;
  try {
    await withRetry(
      async () => {
        const r = await es.bulk({
          operations: pending.flatMap(ops) as estypes.BulkOperationContainer[],
          refresh: opts.refresh ?? false,
        });
        const retry: Part[] = [];
        r.items.forEach((item, i) => {
          const res = item.update!;
          const part = pending[i]!;
          if (res.error) {
            if (isRetriableItem(res.status, res.error.type)) {
              rejected.set(part, res.error);
              retry.push(part);
              return;
            }
            counts.failed++;
            report.errors.push({ index: part.position, id: part.id, target, ...bulkError(res.error) });
            return;
          }
          if (res.result === 'created') counts.created++;
          else counts.updated++;
          ok.push(part);
        });
        pending = retry;
        if (retry.length) throw new RetriableItems(retry.length);
      },
      { label: `metadata upsert (${target})`, ...DEFAULT_UPSERT_RETRY, ...opts.retry },
    );
  } catch (e) {
    if (!(e instanceof RetriesExhaustedError && e.cause instanceof RetriableItems)) throw e;
    for (const part of pending) {
      counts.failed++;
      report.errors.push({ index: part.position, id: part.id, target, ...bulkError(rejected.get(part)!) });
    }
  }
  return ok.sort((x, y) => x.position - y.position);
}

/** A client-safe description of a bulk item error (never ES's message verbatim). */
function bulkError(error: estypes.ErrorCause): { field?: string; message: string } {
  const reason = String(error.reason ?? '');
  const field = /field \[([^\]]+)\]/.exec(reason)?.[1];
  const type = /of type \[([^\]]+)\]/.exec(reason)?.[1];
  if (
    error.type === 'mapper_parsing_exception' ||
    error.type === 'document_parsing_exception' ||
    error.type === 'illegal_argument_exception'
  ) {
    return {
      ...(field ? { field } : {}),
      message: type
        ? `value cannot be stored in a field of type ${type}`
        : 'value does not fit the stored field type',
    };
  }
  if (error.type === 'es_rejected_execution_exception' || error.type === 'circuit_breaking_exception')
    return { message: 'temporarily rejected by the cluster, retry' };
  return { message: `rejected (${error.type})` };
}
