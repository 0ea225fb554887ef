// Identifiers as every system downstream accepts them. A user or item id becomes an Elasticsearch
// document _id (at most 512 UTF-8 *bytes*, and attribution ids add a prefix), a keyword term and a
// Kafka key, so ids are limited by bytes, not characters: 256 bytes leaves room for every prefix.

export const MAX_ID_BYTES = 256;

/** Elasticsearch's own _id limit: a longer _id fails the whole bulk request it is in. */
export const MAX_ES_ID_BYTES = 512;

/** JSON schema of a user/item id: no leading/trailing blanks, 1..256 UTF-8 bytes (the ajv keyword `maxUtf8Bytes`). */
export const ID_SCHEMA = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_ID_BYTES,
  maxUtf8Bytes: MAX_ID_BYTES,
  pattern: '^\\S(.*\\S)?$',
} as const;

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Why a value is not a usable user/item id, or undefined when it is. */
export function idProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'must be a non-empty string';
  if (/^\s|\s$/.test(value)) return 'must not start or end with a blank';
  if (utf8Bytes(value) > MAX_ID_BYTES)
    return `must be at most ${MAX_ID_BYTES} bytes in UTF-8 (got ${utf8Bytes(value)})`;
  return undefined;
}

/** Model ids name indices and folders: lower-case letters, digits, '.', '_' and '-', 1..64, no leading dot or dash. */
export const MODEL_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function isModelId(value: unknown): value is string {
  return typeof value === 'string' && MODEL_ID_PATTERN.test(value) && !value.includes('..');
}
