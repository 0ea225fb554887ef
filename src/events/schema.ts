import type { ErrorObject } from 'ajv';
import { ajvErrorField, createAjv } from '../config/ajv.ts';

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

const id = { type: 'string', minLength: 1, maxLength: 256, pattern: '^\\S(.*\\S)?$' };

export const EVENT_SCHEMA = {
  $id: 'https://seed-recsys/event.json',
  type: 'object',
  additionalProperties: false,
  required: ['user_id', 'item_id', 'event_type', 'timestamp'],
  properties: {
    event_id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' },
    user_id: id,
    item_id: id,
    event_type: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_]*$' },
    timestamp: {
      oneOf: [
        { type: 'string', format: 'date-time' },
        { type: 'integer', minimum: 0 },
      ],
    },
    weight: { type: 'number', minimum: 0, maximum: 1e6 },
    recommendation_id: { type: 'string', minLength: 1, maxLength: 128 },
    context: { type: 'object', maxProperties: 50 },
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
  // oneOf on timestamp reports its branches first; name the field, not the branch.
  if (field === 'timestamp') return { field, message: 'must be an ISO 8601 date-time or epoch milliseconds' };
  return { field, message: e.message ?? 'is invalid' };
}

export const validateEventShape = createAjv().compile<RawEvent>(EVENT_SCHEMA);
