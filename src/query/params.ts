// Request parameters of the recommendation endpoints: one JSON schema per endpoint, built from the
// filter whitelist, used both to validate (ajv) and to document (OpenAPI).
//
// One flat form for GET query strings and POST bodies:
//   k, mode, q, exclude_seen, exclude            control parameters
//   <keyword field>=v (repeat / array = any-of)  e.g. category=shoes&category=bags, tags=red
//   <boolean field>=true|false                   e.g. available=true
//   <range field>_min / <range field>_max        inclusive bounds, e.g. price_min=10&price_max=50
// GET values are strings and get coerced (a single value becomes a one-element list); POST bodies
// are typed JSON and are not coerced, so `"k": "10"` is a 400. Anything else is a 400 that names
// the parameter — there is no way to pass query DSL.

import { idProblem, isModelId } from '../types/ids.ts';
import { KNOWN_ITEM_FIELDS } from '../catalog/item-fields.ts';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ajvErrorField, createAjv } from '../config/ajv.ts';
import { ValidationError } from '../errors/index.ts';
import {
  MODES,
  type FilterFields,
  type Filters,
  type Mode,
  type QueryOptions,
  type RecRequest,
} from './types.ts';

export type ParamStyle = 'query' | 'body';
export type Endpoint = 'user' | 'similar';

/** Control parameters; a filter field may not reuse these names. */
export const CONTROL_PARAMS = ['k', 'mode', 'q', 'exclude_seen', 'exclude'] as const;

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_.]{0,63}$/;

/** Throws if the whitelist is unusable (bad names, clashes with control parameters or each other). */
export function checkFilterFields(fields: FilterFields): void {
  const seen = new Set<string>(CONTROL_PARAMS);
  const names = [
    ...fields.keyword,
    ...fields.boolean,
    ...fields.range.flatMap((f) => [`${f}_min`, `${f}_max`]),
  ];
  for (const f of [...fields.keyword, ...fields.boolean, ...fields.range]) {
    if (!FIELD_NAME.test(f)) throw new Error(`filter field "${f}" is not a valid field name`);
    if (/^(factor|lsh)/.test(f) || f === 'has_factor' || f === 'model_id')
      throw new Error(`filter field "${f}" is internal`);
  }
  for (const n of names) {
    if (seen.has(n))
      throw new Error(`filter parameter "${n}" is used twice or clashes with a control parameter`);
    seen.add(n);
  }
}

const stringValue = { type: 'string', minLength: 1, maxLength: 256 } as const;

function listSchema(style: ParamStyle, maxItems: number, description: string): Record<string, unknown> {
  const array = { type: 'array', items: stringValue, minItems: 1, maxItems };
  // GET: ajv's coerceTypes 'array' wraps a single value; POST: a string or an array of strings.
  return style === 'query' ? { ...array, description } : { description, anyOf: [stringValue, array] };
}

/** JSON schema of the parameters of one endpoint (GET query string or POST body). */
export function paramsSchema(
  endpoint: Endpoint,
  style: ParamStyle,
  opts: Pick<QueryOptions, 'filterFields' | 'maxK' | 'defaultK' | 'defaultMode' | 'maxExclude'>,
): Record<string, unknown> {
  const properties: Record<string, unknown> = {
    k: {
      type: 'integer',
      minimum: 1,
      maximum: opts.maxK,
      default: opts.defaultK,
      description: 'number of items',
    },
    mode: {
      type: 'string',
      enum: [...MODES],
      default: opts.defaultMode,
      description: 'exact (brute force), ann (HNSW) or lsh (bucket candidates, exact re-scoring)',
    },
    exclude: listSchema(style, opts.maxExclude, 'item ids to leave out'),
  };
  if (endpoint === 'user') {
    properties['q'] = {
      type: 'string',
      minLength: 1,
      maxLength: 256,
      description:
        'full-text query over name and description: only matching items are returned; for a user with a factor, ranked by reciprocal rank fusion of their knn ranking and the BM25 ranking (score_type rrf)',
    };
    properties['exclude_seen'] = {
      type: 'boolean',
      default: true,
      description: "leave out items the user interacted with (the user's recent_items and latest events)",
    };
  }
  const { keyword, boolean, range } = opts.filterFields;
  for (const f of keyword) properties[f] = listSchema(style, 100, `filter: ${f} is any of these values`);
  for (const f of boolean) properties[f] = { type: 'boolean', description: `filter: ${f} equals this value` };
  for (const f of range) {
    properties[`${f}_min`] = { type: 'number', description: `filter: ${f} ≥ this value` };
    properties[`${f}_max`] = { type: 'number', description: `filter: ${f} ≤ this value` };
  }
  return { type: 'object', additionalProperties: false, properties };
}

export interface ParamsParser {
  parse(input: unknown, style: ParamStyle): RecRequest;
  schema(style: ParamStyle): Record<string, unknown>;
}

/** Compiles both schema styles of one endpoint once; `parse` validates and normalises. */
export function createParamsParser(endpoint: Endpoint, opts: QueryOptions): ParamsParser {
  checkFilterFields(opts.filterFields);
  const schemas = {
    query: paramsSchema(endpoint, 'query', opts),
    body: paramsSchema(endpoint, 'body', opts),
  };
  const validators: Record<ParamStyle, ValidateFunction> = {
    query: createAjv({ coerceTypes: 'array', strict: true }).compile(schemas.query),
    body: createAjv({ strict: true }).compile(schemas.body),
  };
  return {
    schema: (style) => schemas[style],
    parse(input, style) {
      if (input === undefined || input === null) input = {};
      if (typeof input !== 'object' || Array.isArray(input))
        throw new ValidationError('parameters must be a JSON object', undefined, 'invalid_body');
      const params: Record<string, unknown> = { ...(input as Record<string, unknown>) };
      const validate = validators[style];
      if (!validate(params))
        throw paramsError(
          validate.errors ?? [],
          opts.filterFields,
          Object.keys(schemas[style]['properties'] as object),
        );
      return toRequest(params, endpoint, opts);
    },
  };
}

function asList(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? (v as string[]) : [v as string];
}

function toRequest(p: Record<string, unknown>, endpoint: Endpoint, opts: QueryOptions): RecRequest {
  const filters: Filters = { terms: {}, booleans: {}, ranges: {} };
  const filterParams: Record<string, unknown> = {};
  const { keyword, boolean, range } = opts.filterFields;
  for (const f of keyword) {
    const values = asList(p[f]);
    if (values) {
      filters.terms[f] = [...new Set(values)];
      filterParams[f] = filters.terms[f];
    }
  }
  for (const f of boolean) {
    if (p[f] !== undefined) {
      filters.booleans[f] = p[f] as boolean;
      filterParams[f] = p[f];
    }
  }
  for (const f of range) {
    const gte = p[`${f}_min`] as number | undefined;
    const lte = p[`${f}_max`] as number | undefined;
    if (gte === undefined && lte === undefined) continue;
    for (const [name, v] of [
      [`${f}_min`, gte],
      [`${f}_max`, lte],
    ] as const) {
      // 1e309 and "Infinity" parse to ±Infinity, which JSON would turn into null and ES would ignore
      if (v !== undefined && !Number.isFinite(v))
        throw new ValidationError(`${name} must be a finite number`, name, 'invalid_parameter');
    }
    if (gte !== undefined && lte !== undefined && gte > lte)
      throw new ValidationError(`${f}_min must be ≤ ${f}_max`, `${f}_min`, 'invalid_parameter');
    filters.ranges[f] = { ...(gte !== undefined ? { gte } : {}), ...(lte !== undefined ? { lte } : {}) };
    if (gte !== undefined) filterParams[`${f}_min`] = gte;
    if (lte !== undefined) filterParams[`${f}_max`] = lte;
  }
  const q = typeof p['q'] === 'string' ? p['q'].trim() : undefined;
  if (p['q'] !== undefined && !q) throw new ValidationError('q must not be blank', 'q', 'invalid_parameter');
  return {
    k: (p['k'] as number | undefined) ?? opts.defaultK,
    mode: (p['mode'] as Mode | undefined) ?? opts.defaultMode,
    ...(q ? { q } : {}),
    excludeSeen: endpoint === 'user' ? ((p['exclude_seen'] as boolean | undefined) ?? true) : false,
    exclude: [...new Set(asList(p['exclude']) ?? [])],
    filters,
    filterParams,
  };
}

/** The parameter an error is about (`category`, not `category.0`). */
function fieldOf(e: ErrorObject): string {
  return ajvErrorField({ ...e, params: {} }).split('.')[0] ?? '';
}

/** The most useful of ajv's errors as a ValidationError naming the parameter. */
export function paramsError(
  errors: ErrorObject[],
  fields: FilterFields,
  allowed?: string[],
): ValidationError {
  const extra = errors.find((e) => e.keyword === 'additionalProperties');
  if (extra) {
    const name = String(extra.params['additionalProperty']);
    const base = name.replace(/_(min|max)$/, '');
    const filterable = [
      ...fields.keyword,
      ...fields.boolean,
      ...fields.range.flatMap((f) => [`${f}_min`, `${f}_max`]),
    ];
    if (KNOWN_ITEM_FIELDS.includes(name) || KNOWN_ITEM_FIELDS.includes(base)) {
      return new ValidationError(
        `${name} is not a filterable field (filterable: ${filterable.join(', ')})`,
        name,
        'filter_not_allowed',
      );
    }
    return new ValidationError(
      `unknown parameter ${name} (allowed: ${(allowed ?? [...CONTROL_PARAMS, ...filterable]).join(', ')})`,
      name,
      'unknown_parameter',
    );
  }
  const anyOf = errors.find((e) => e.keyword === 'anyOf');
  if (anyOf)
    return new ValidationError(
      `${fieldOf(anyOf)} must be a string or an array of strings`,
      fieldOf(anyOf),
      'invalid_parameter',
    );
  const e = errors[0];
  if (!e) return new ValidationError('invalid parameters', undefined, 'invalid_parameter');
  const field = fieldOf(e);
  const what = e.instancePath.split('/').length > 2 ? `${field} values` : field;
  return new ValidationError(
    `${what || 'parameters'} ${e.message ?? 'is invalid'}`,
    field || undefined,
    'invalid_parameter',
  );
}

/** Path ids (user_id, item_id): as everywhere (types/ids.ts), limited in UTF-8 bytes. */
export function checkPathId(value: unknown, field: string): string {
  const problem = idProblem(value);
  if (problem) throw new ValidationError(`${field} ${problem}`, field);
  return value as string;
}

/** Model / training-run ids in paths: the pattern model ids are made with (they name indices and folders). */
export function checkModelId(value: unknown, field: string): string {
  if (!isModelId(value))
    throw new ValidationError(
      `${field} is not a model id (lower-case letters, digits, '.', '_', '-'; at most 64)`,
      field,
    );
  return value;
}
