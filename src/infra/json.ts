// JSON from untrusted sources (HTTP bodies, Kafka messages): refuse deep nesting before parsing, so
// no later recursion (validation, serialisation, Elasticsearch's own depth limit of 20 objects) can
// blow the stack or refuse the document after it was accepted.

/** Deeper than any valid request or event: an event is at most 2 objects deep, a batch adds an array. */
export const MAX_JSON_DEPTH = 16;

/** The deepest nesting of objects/arrays in a JSON text (strings skipped), stopping early past `limit`. */
export function jsonDepth(text: string | Uint8Array, limit = Infinity): number {
  const s =
    typeof text === 'string'
      ? text
      : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

export type JsonParse =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'empty' | 'too_large' | 'too_deep' | 'invalid_json'; error: string };

/**
 * Larger than any valid event or served-list record (a record lists at most 500 items): a message
 * over it is refused before it is parsed, whatever the broker's own message size limit allows.
 */
export const MAX_JSON_BYTES = 256 * 1024;

/**
 * Whether the text opens at most `limit` objects and arrays in all (strings not skipped, so a
 * bracket inside a string counts too): then it cannot nest deeper than `limit`. Native indexOf
 * over an event's few brackets is what lets the ingest skip jsonDepth's per-character loop.
 */
const OPENERS = ['{', '['] as const;
function fewOpeners(s: string, limit: number): boolean {
  let n = 0;
  for (const c of OPENERS) {
    for (let i = s.indexOf(c); i !== -1; i = s.indexOf(c, i + 1)) if (++n > limit) return false;
  }
  return true;
}

/** JSON.parse with the size and the depth refused first. */
export function parseJsonBounded(
  text: string | undefined,
  maxDepth = MAX_JSON_DEPTH,
  maxBytes = MAX_JSON_BYTES,
): JsonParse {
  if (!text) return { ok: false, reason: 'empty', error: 'empty message' };
  // characters ≤ bytes: a text of more characters than the bound is over it whatever its encoding
  if (text.length > maxBytes || Buffer.byteLength(text) > maxBytes)
    return { ok: false, reason: 'too_large', error: `larger than ${maxBytes} bytes` };
  if (!fewOpeners(text, maxDepth) && jsonDepth(text, maxDepth) > maxDepth)
    return { ok: false, reason: 'too_deep', error: `nested deeper than ${maxDepth} levels` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, reason: 'invalid_json', error: `not JSON: ${(e as Error).message}` };
  }
}
