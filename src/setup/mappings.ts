import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/index.ts';

const MAPPINGS_DIR = path.join(PROJECT_ROOT, 'es-mappings');

type Json = Record<string, unknown>;

/** Reads a JSON file under es-mappings/, without its documentation-only `_comment`. */
export function loadMapping(relative: string): Json {
  const { _comment: _c, ...body } = JSON.parse(
    readFileSync(path.join(MAPPINGS_DIR, relative), 'utf8'),
  ) as Json;
  return body;
}

/** An index template with the configured prefix put in front of its patterns. */
export function loadTemplate(relative: string, prefix: string): Json {
  const body = loadMapping(relative);
  body['index_patterns'] = (body['index_patterns'] as string[]).map((p) => `${prefix}${p}`);
  return body;
}

/** A versioned index body (items-/users-<model_id>) with the vector dimension filled in. */
export function loadVersionedIndex(relative: string, dims: number): Json {
  const body = loadMapping(relative);
  const props = (body['mappings'] as { properties: Record<string, Json> }).properties;
  for (const field of Object.values(props)) if (field['type'] === 'dense_vector') field['dims'] = dims;
  return body;
}
