// The record of a served list, as the API writes it to the recommendations topic and the ingest
// sink stores it. The topic is writable by anyone with producer rights, so the sink checks it like
// client input: the strict mapping's fields only (no `kind`: the sink sets it), ids as for events,
// and a timestamp near now (a record from 2001 or 275760 would create an index for that day).

import { ajvErrorField, createAjv } from '../config/ajv.ts';
import { ID_SCHEMA } from '../types/ids.ts';

export interface ServedRecord {
  recommendation_id: string;
  request_id: string;
  model_id: string;
  /** the A/B experiment and arm that chose the model, when one ran */
  experiment_id?: string;
  arm?: 'treatment' | 'control';
  endpoint: 'user_recommendations' | 'similar_items';
  mode: string;
  source: string;
  user_id?: string;
  seed_item_id?: string;
  items: string[];
  k: number;
  count: number;
  query?: string;
  filters: Record<string, unknown>;
  latency_ms: number;
  timestamp: string;
}

/** How far a served record's time may lie behind now: an ingest outage of up to two days catches up. */
export const SERVED_MAX_AGE_MS = 2 * 86_400_000;
/** ... and ahead of now (clock skew between API hosts and the ingest host). */
export const SERVED_MAX_AHEAD_MS = 5 * 60_000;

const token = { type: 'string', minLength: 1, maxLength: 128 } as const;

export const SERVED_RECORD_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: [
    'recommendation_id',
    'request_id',
    'model_id',
    'endpoint',
    'mode',
    'source',
    'items',
    'k',
    'count',
    'filters',
    'latency_ms',
    'timestamp',
  ],
  properties: {
    recommendation_id: token,
    request_id: token,
    model_id: token,
    experiment_id: token,
    arm: { enum: ['treatment', 'control'] },
    endpoint: { enum: ['user_recommendations', 'similar_items'] },
    mode: { type: 'string', maxLength: 16 },
    source: { type: 'string', maxLength: 16 },
    user_id: ID_SCHEMA,
    seed_item_id: ID_SCHEMA,
    items: { type: 'array', items: ID_SCHEMA, maxItems: 500 },
    k: { type: 'integer', minimum: 0, maximum: 10_000 },
    count: { type: 'integer', minimum: 0, maximum: 10_000 },
    query: { type: 'string', maxLength: 1024 },
    filters: { type: 'object', maxProperties: 100 },
    latency_ms: { type: 'number', minimum: 0 },
    timestamp: { type: 'string', format: 'date-time' },
  },
} as const;

const validate = createAjv().compile<ServedRecord>(SERVED_RECORD_SCHEMA);

export type ServedCheck = { ok: true; record: ServedRecord } | { ok: false; field: string; message: string };

export function checkServedRecord(input: unknown, now = Date.now()): ServedCheck {
  if (!validate(input)) {
    const e = validate.errors![0]!;
    return {
      ok: false,
      field: ajvErrorField(e) || '(record)',
      message:
        e.keyword === 'additionalProperties'
          ? 'is not a field of a served record'
          : (e.message ?? 'is invalid'),
    };
  }
  const ts = Date.parse(input.timestamp);
  if (ts < now - SERVED_MAX_AGE_MS || ts > now + SERVED_MAX_AHEAD_MS)
    return {
      ok: false,
      field: 'timestamp',
      message: 'is not near now (served records are logged as they are served)',
    };
  return { ok: true, record: input };
}
