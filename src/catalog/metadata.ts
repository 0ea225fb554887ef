// Item and user metadata as clients send it: the schemas the API (PUT /v1/items, /v1/users), the
// demo and `recsys import` validate with. Storage is repositories/metadata.ts.

import type { ErrorObject, ValidateFunction } from 'ajv';
import { ajvErrorField, createAjv } from '../config/ajv.ts';
import { ID_SCHEMA } from '../types/ids.ts';
import {
  ITEM_ATTRIBUTES,
  ITEM_SYSTEM_FIELDS,
  whitelistedExtras,
  type FilterFieldLists,
  type FilterKind,
} from './item-fields.ts';

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
  /** extra attributes: kept in _source; indexed only when whitelisted as a filter field */
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
const ATTRIBUTE_PATTERN = '^[A-Za-z][A-Za-z0-9_]{0,63}$';
const ATTRIBUTE_NAME = new RegExp(ATTRIBUTE_PATTERN);
const attributeName = (reserved: string[]) => ({
  type: 'string',
  pattern: ATTRIBUTE_PATTERN,
  not: { enum: reserved },
});

/** Schema of an undeclared attribute that is whitelisted as a filter: the type its mapping has. */
const WHITELISTED_VALUE: Record<FilterKind, object> = {
  keyword: { anyOf: [keyword, { type: 'array', items: keyword, maxItems: 100 }] },
  boolean: { type: 'boolean' },
  range: { type: 'number' },
};

const WHITELISTED_MESSAGE: Record<FilterKind, string> = {
  keyword: 'is a keyword filter field: must be a string (1–256 characters) or an array of such strings',
  boolean: 'is a boolean filter field: must be true or false',
  range: 'is a range filter field: must be a number',
};

const NO_FILTER_FIELDS: FilterFieldLists = { keyword: [], boolean: [], range: [] };

/**
 * The one item metadata schema: the declared attributes, plus the filter whitelist's undeclared
 * fields typed like their mapping (a value of another type would be refused by Elasticsearch, so
 * it is refused here first, naming the field). Other extra attributes are scalars kept in _source.
 */
export function itemMetadataSchema(filterFields: FilterFieldLists = NO_FILTER_FIELDS) {
  const whitelisted: Record<string, object> = {};
  for (const [name, kind] of whitelistedExtras(filterFields))
    if (ATTRIBUTE_NAME.test(name)) whitelisted[name] = WHITELISTED_VALUE[kind];
  return {
    type: 'object',
    required: ['item_id'],
    maxProperties: 100,
    propertyNames: attributeName(RESERVED_ITEM_FIELDS),
    properties: {
      item_id: ID_SCHEMA,
      ...ITEM_ATTRIBUTES,
      ...whitelisted,
    },
    additionalProperties: extraValue,
  } as const;
}

/** The schema without a filter whitelist (declared attributes only). */
export const ITEM_METADATA_SCHEMA = itemMetadataSchema();

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
const userValidator = ajv.compile(USER_METADATA_SCHEMA);
/** compiled item validators per filter whitelist (a process has one or two) */
const itemValidators = new Map<string, ValidateFunction>();

function itemValidator(filterFields: FilterFieldLists): ValidateFunction {
  const key = JSON.stringify([filterFields.keyword, filterFields.boolean, filterFields.range]);
  let v = itemValidators.get(key);
  if (!v) itemValidators.set(key, (v = ajv.compile(itemMetadataSchema(filterFields))));
  return v;
}

export interface MetadataError {
  index: number;
  field: string;
  message: string;
}

function describe(
  errors: ErrorObject[],
  whitelisted: Map<string, FilterKind>,
): { field: string; message: string } {
  const names = errors.find((e) => e.keyword === 'propertyNames');
  if (names)
    return {
      field: ajvErrorField(names),
      message: 'is reserved or not a valid attribute name (letters, digits, _; ≤ 64; starting with a letter)',
    };
  const required = errors.find((e) => e.keyword === 'required');
  if (required) return { field: ajvErrorField(required), message: 'is required' };
  const e = errors[0]!;
  const top = ajvErrorField(e).split('.')[0]!;
  const kind = whitelisted.get(top);
  if (kind) return { field: top, message: WHITELISTED_MESSAGE[kind] };
  if (errors.some((x) => x.keyword === 'anyOf' && x.instancePath === e.instancePath))
    return { field: ajvErrorField(e), message: 'must be a string (≤ 256 characters), a number or a boolean' };
  const message =
    e.keyword === 'maxUtf8Bytes' ? 'must be at most 256 bytes in UTF-8' : (e.message ?? 'is invalid');
  return { field: ajvErrorField(e) || '(document)', message };
}

/**
 * Validates a batch; each invalid document gives one error naming its index and field. Items are
 * checked against the filter whitelist the item mappings are built from (config.serving.filterFields).
 */
export function checkMetadata(
  kind: 'items' | 'users',
  docs: unknown[],
  filterFields: FilterFieldLists = NO_FILTER_FIELDS,
): MetadataError[] {
  const validate = kind === 'items' ? itemValidator(filterFields) : userValidator;
  const whitelisted = kind === 'items' ? whitelistedExtras(filterFields) : new Map<string, FilterKind>();
  const errors: MetadataError[] = [];
  docs.forEach((doc, index) => {
    if (!validate(doc)) errors.push({ index, ...describe(validate.errors ?? [], whitelisted) });
  });
  return errors;
}
