import { createHash } from 'node:crypto';
import type { StoredEvent } from './schema.ts';

/** JSON with object keys sorted at every level: the same event always has the same text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * The id the API gives an event sent without one: a hash of the normalised event, so a client that
 * sends the same event again (a retry after a timeout or a 503) produces the same id and the store
 * keeps it once. Two distinct actions identical in every field, to the millisecond, are one event;
 * a client that can produce such pairs sends its own ids.
 */
export function deterministicEventId(event: Omit<StoredEvent, 'event_id'>): string {
  const { user_id, item_id, event_type, timestamp, weight, recommendation_id, context } = event;
  const body = canonical({ user_id, item_id, event_type, timestamp, weight, recommendation_id, context });
  return `h-${createHash('sha256').update(body).digest('hex').slice(0, 40)}`;
}
