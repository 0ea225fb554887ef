// Item and user metadata: the schemas the API (PUT /v1/items, /v1/users) and `recsys import`
// validate with, and the bulk upserts.
//
// Items are upserted (partial update, doc_as_upsert) into item-metadata, the catalogue's source of
// truth, and propagated to the live items-<model_id> index: existing documents get the same
// partial update (their vectors and LSH terms stay), items the live model has never seen are
// indexed without vectors (has_factor = false) so they can be filtered, searched and served as
// popular/backfill items until the next deploy gives them a factor. Users go to user-metadata only.

import type { Client, estypes } from '@elastic/elasticsearch';
import type { ErrorObject } from 'ajv';
import { createAjv } from '../config/ajv.ts';
import type { Names } from '../config/names.ts';
import { isRetriableItem, RetriesExhaustedError, RetryError, withRetry, type RetryPolicy } from '../infra/retry.ts';
import { ModelIndicesRepository } from '../repositories/model-indices.ts';

export interface ItemMetadata {
  item_id: string;
  name?: string;
  description?: string;
  category?: string;
  tags?: string[];
  brand?: string;
  price?: number;
  available?: boolean;
  created_at?: string;
  /** extra attributes (strings become keywords, so they can be whitelisted as filters) */
  [attribute: string]: unknown;
}

export interface UserMetadata {
  user_id: string;
  country?: string;
  segment?: string;
  created_at?: string;
  [attribute: string]: unknown;
}

/** Fields written by deploy / by this module, never by clients. */
export const RESERVED_ITEM_FIELDS = ['updated_at', 'model_id', 'has_factor', 'popularity', 'factor', 'factor_exact', 'factor_unit', 'factor_unit_exact', 'lsh', 'lsh_cos'];
export const RESERVED_USER_FIELDS = ['updated_at'];

const id = { type: 'string', minLength: 1, maxLength: 256, pattern: '^\\S(.*\\S)?$' };
const keyword = { type: 'string', minLength: 1, maxLength: 256 };
const extraValue = { anyOf: [{ type: 'string', maxLength: 256 }, { type: 'number' }, { type: 'boolean' }] };
const attributeName = (reserved: string[]) => ({ type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$', not: { enum: reserved } });

export const ITEM_METADATA_SCHEMA = {
  type: 'object',
  required: ['item_id'],
  maxProperties: 100,
  propertyNames: attributeName(RESERVED_ITEM_FIELDS),
  properties: {
    item_id: id,
    name: { type: 'string', maxLength: 1000 },
    description: { type: 'string', maxLength: 20_000 },
    category: keyword,
    tags: { type: 'array', items: keyword, maxItems: 100 },
    brand: keyword,
    price: { type: 'number', minimum: 0 },
    available: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
  },
  additionalProperties: extraValue,
} as const;

export const USER_METADATA_SCHEMA = {
  type: 'object',
  required: ['user_id'],
  maxProperties: 100,
  propertyNames: attributeName(RESERVED_USER_FIELDS),
  properties: {
    user_id: id,
    country: keyword,
    segment: keyword,
    created_at: { type: 'string', format: 'date-time' },
  },
  additionalProperties: extraValue,
} as const;

const ajv = createAjv({ strict: true });
const validators = { items: ajv.compile(ITEM_METADATA_SCHEMA), users: ajv.compile(USER_METADATA_SCHEMA) };

export interface MetadataError {
  index: number;
  field: string;
  message: string;
}

function describe(errors: ErrorObject[]): { field: string; message: string } {
  const names = errors.find((e) => e.keyword === 'propertyNames');
  if (names) {
    const name = String(names.params['propertyName']);
    return { field: name, message: 'is reserved or not a valid attribute name (letters, digits, _; ≤ 64; starting with a letter)' };
  }
  const required = errors.find((e) => e.keyword === 'required');
  if (required) return { field: String(required.params['missingProperty']), message: 'is required' };
  const anyOf = errors.find((e) => e.keyword === 'anyOf');
  if (anyOf) return { field: anyOf.instancePath.replace(/^\//, '').replace(/\//g, '.'), message: 'must be a string (≤ 256 characters), a number or a boolean' };
  const e = errors[0]!;
  const field = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  return { field: field || '(document)', message: e.message ?? 'is invalid' };
}

/** Validates a batch; each invalid document gives one error naming its index and field. */
export function checkMetadata(kind: 'items' | 'users', docs: unknown[]): MetadataError[] {
  const validate = validators[kind];
  const errors: MetadataError[] = [];
  docs.forEach((doc, index) => {
    if (!validate(doc)) errors.push({ index, ...describe(validate.errors ?? []) });
  });
  return errors;
}

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

/**
 * Upserts item metadata into item-metadata and the live items index. Documents failing the schema
 * are not written and come back in `errors` (target "schema") with their index in `items`.
 */
export async function upsertItems(es: Client, names: Names, items: ReadonlyArray<ItemMetadata | Record<string, unknown>>, opts: UpsertOptions = {}): Promise<UpsertReport> {
  const live = await liveItemsIndex(es, names);
  return upsert(es, 'items', names.itemMetadata, 'item_id', items, opts, live);
}

/** Upserts user metadata into user-metadata (same contract as upsertItems). */
export async function upsertUsers(es: Client, names: Names, users: ReadonlyArray<UserMetadata | Record<string, unknown>>, opts: UpsertOptions = {}): Promise<UpsertReport> {
  return upsert(es, 'users', names.userMetadata, 'user_id', users, opts, null);
}

async function liveItemsIndex(es: Client, names: Names): Promise<{ index: string; modelId: string } | null> {
  const modelId = (await new ModelIndicesRepository(es, names).aliasedModelIds()).at(-1);
  return modelId ? { index: names.itemsIndex(modelId), modelId } : null;
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
): Promise<UpsertReport> {
  const report: UpsertReport = {
    documents: docs.length,
    upserted: 0,
    metadata: { index, created: 0, updated: 0, failed: 0 },
    live: live ? { ...live, created: 0, updated: 0, failed: 0 } : null,
    errors: [],
  };
  const invalid = new Set<number>();
  for (const e of checkMetadata(kind, docs as unknown[])) {
    invalid.add(e.index);
    const id = docs[e.index]?.[idField];
    report.errors.push({ index: e.index, ...(typeof id === 'string' ? { id } : {}), target: 'schema', field: e.field, message: e.message });
  }
  const now = (opts.now ?? new Date()).toISOString();
  const chunk = opts.chunkSize ?? 1000;
  for (let start = 0; start < docs.length; start += chunk) {
    const part = docs
      .slice(start, start + chunk)
      .map((d, i) => ({ position: start + i, id: String(d[idField]), doc: { ...d, updated_at: now } }))
      .filter((p) => !invalid.has(p.position));

    const ok = await bulkUpdate(es, opts, part, report, 'metadata', (p) => [{ update: { _index: index, _id: p.id, retry_on_conflict: 3 } }, { doc: p.doc, doc_as_upsert: true }]);
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
async function bulkUpdate(es: Client, opts: UpsertOptions, parts: Part[], report: UpsertReport, target: 'metadata' | 'live', ops: (p: Part) => unknown[]): Promise<Part[]> {
  if (!parts.length) return [];
  const counts = target === 'metadata' ? report.metadata : report.live!;
  const ok: Part[] = [];
  const rejected = new Map<Part, estypes.ErrorCause>();
  let pending = parts;
  try {
    await withRetry(
      async () => {
        const r = await es.bulk({ operations: pending.flatMap(ops) as estypes.BulkOperationContainer[], refresh: opts.refresh ?? false });
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
  if (error.type === 'mapper_parsing_exception' || error.type === 'document_parsing_exception' || error.type === 'illegal_argument_exception') {
    return { ...(field ? { field } : {}), message: type ? `value cannot be stored in a field of type ${type}` : 'value does not fit the stored field type' };
  }
  if (error.type === 'es_rejected_execution_exception' || error.type === 'circuit_breaking_exception') return { message: 'temporarily rejected by the cluster, retry' };
  return { message: `rejected (${error.type})` };
}
