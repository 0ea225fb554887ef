import type { ErrorObject } from 'ajv';
import { ajvErrorField, createAjv } from '../config/ajv.ts';
import { ID_SCHEMA, MAX_ID_BYTES } from '../types/ids.ts';

/** An event as clients send it (before normalisation). */
export interface RawEvent {
  event_id?: string;
  user_id: string;
  item_id: string;
  event_type: string;
  timestamp: string | number;
  weight?: number;
  recommendation_id?: string;
  context?: Record<string, unknown>;
}

/** An event as the store keeps it: timestamp normalised to ISO 8601 UTC, event_id always present. */
export interface StoredEvent {
  event_id: string;
  user_id: string;
  item_id: string;
  event_type: string;
  timestamp: string;
  weight?: number;
  recommendation_id?: string;
  context?: Record<string, unknown>;
}

/** Context keys the event mapping indexes (as keywords); any other key is kept in _source only. */
export const CONTEXT_KEYWORDS = ['device', 'referrer', 'country', 'page'] as const;

const contextValue = {
  anyOf: [{ type: 'string', maxLength: 256 }, { type: 'number' }, { type: 'boolean' }],
} as const;

/**
 * A context is a flat map of scalars: what the event mapping can take (objects under a keyword
 * field, or nesting past Elasticsearch's depth limit, would be refused only after a 202).
 */
const CONTEXT_SCHEMA = {
  type: 'object',
  maxProperties: 50,
  propertyNames: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' },
  properties: Object.fromEntries(CONTEXT_KEYWORDS.map((k) => [k, { type: 'string', maxLength: 256 }])),
  additionalProperties: contextValue,
} as const;

export const EVENT_SCHEMA = {
  $id: 'https://seed-recsys/event.json',
  type: 'object',
  additionalProperties: false,
  required: ['user_id', 'item_id', 'event_type', 'timestamp'],
  properties: {
    event_id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' },
    user_id: ID_SCHEMA,
    item_id: ID_SCHEMA,
    event_type: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_]*$' },
    timestamp: {
      oneOf: [
        { type: 'string', format: 'date-time' },
        { type: 'integer', minimum: 0 },
      ],
    },
    weight: { type: 'number', minimum: 0, maximum: 1e6 },
    recommendation_id: { type: 'string', minLength: 1, maxLength: 128 },
    context: CONTEXT_SCHEMA,
  },
} as const;

export interface FieldError {
  field: string;
  message: string;
}

/** ajv's first error as `{field, message}`, the field named the way clients wrote it. */
export function toFieldError(errors: ErrorObject[] | null | undefined): FieldError {
  const e = errors?.[0];
  if (!e) return { field: '', message: 'invalid' };
  const field = ajvErrorField(e);
  if (e.keyword === 'required') return { field, message: 'is required' };
  if (e.keyword === 'additionalProperties') return { field, message: 'is not a known field' };
  if (e.keyword === 'maxUtf8Bytes')
    return { field, message: `must be at most ${MAX_ID_BYTES} bytes in UTF-8` };
  if (field.startsWith('context.') && (e.keyword === 'type' || e.keyword === 'anyOf')) {
    const declared = (CONTEXT_KEYWORDS as readonly string[]).includes(field.slice('context.'.length));
    return {
      field,
      message: declared
        ? 'must be a string (it is indexed as a keyword)'
        : 'must be a string, a number or a boolean (context is a flat map of scalars)',
    };
  }
  // oneOf on timestamp reports its branches first; name the field, not the branch.
  if (field === 'timestamp') return { field, message: 'must be an ISO 8601 date-time or epoch milliseconds' };
  return { field, message: e.message ?? 'is invalid' };
}

export const validateEventShape = createAjv().compile<RawEvent>(EVENT_SCHEMA);
