// Item and user metadata as clients send it: the schemas the API (PUT /v1/items, /v1/users), the
// demo and `recsys import` validate with. Storage is repositories/metadata.ts.

import type { ErrorObject } from 'ajv';
import { ajvErrorField, createAjv } from '../config/ajv.ts';
import { ID_SCHEMA } from '../types/ids.ts';
import { ITEM_ATTRIBUTES, ITEM_SYSTEM_FIELDS } from './item-fields.ts';

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
export const RESERVED_ITEM_FIELDS: string[] = [...ITEM_SYSTEM_FIELDS];
export const RESERVED_USER_FIELDS = ['updated_at'];

const keyword = { type: 'string', minLength: 1, maxLength: 256 };
const extraValue = { anyOf: [{ type: 'string', maxLength: 256 }, { type: 'number' }, { type: 'boolean' }] };
const attributeName = (reserved: string[]) => ({ type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$', not: { enum: reserved } });

export const ITEM_METADATA_SCHEMA = {
  type: 'object',
  required: ['item_id'],
  maxProperties: 100,
  propertyNames: attributeName(RESERVED_ITEM_FIELDS),
  properties: {
    item_id: ID_SCHEMA,
    ...ITEM_ATTRIBUTES,
  },
  additionalProperties: extraValue,
} as const;

export const USER_METADATA_SCHEMA = {
  type: 'object',
  required: ['user_id'],
  maxProperties: 100,
  propertyNames: attributeName(RESERVED_USER_FIELDS),
  properties: {
    user_id: ID_SCHEMA,
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
  if (names) return { field: ajvErrorField(names), message: 'is reserved or not a valid attribute name (letters, digits, _; ≤ 64; starting with a letter)' };
  const required = errors.find((e) => e.keyword === 'required');
  if (required) return { field: ajvErrorField(required), message: 'is required' };
  const anyOf = errors.find((e) => e.keyword === 'anyOf');
  if (anyOf) return { field: ajvErrorField(anyOf), message: 'must be a string (≤ 256 characters), a number or a boolean' };
  const e = errors[0]!;
  const message = e.keyword === 'maxUtf8Bytes' ? 'must be at most 256 bytes in UTF-8' : (e.message ?? 'is invalid');
  return { field: ajvErrorField(e) || '(document)', message };
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
