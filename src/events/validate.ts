import type { Config } from '../config/index.ts';
import { deterministicEventId } from './event-id.ts';
import { typeWeight } from './rating.ts';
import { toFieldError, validateEventShape, type FieldError, type StoredEvent } from './schema.ts';

export type EventCheck = { ok: true; event: StoredEvent } | { ok: false; error: FieldError };

// History from any year is normal (public rating datasets start in the 1990s); the configured
// earliest date ([events] earliest, 1970 by default) guards against zero or garbage clocks, and more
// than a day ahead is a clock error.
const DEFAULT_EARLIEST = 0;
const MAX_FUTURE_MS = 86_400_000;

export interface EventRules {
  weights: Record<string, number>;
  allowUnknownTypes: boolean;
  /** oldest accepted event time, epoch ms (default 1970-01-01) */
  earliestMs?: number;
}

export function eventRules(config: Config): EventRules {
  return config.events;
}

/**
 * Schema check plus the rules a schema cannot say (known event types, ratings carry a value,
 * plausible time), then normalisation. `assignId` is for the API edge only: an event without an
 * id gets one before it reaches Kafka, so replays of that message keep it; the id is a hash of the
 * event (events/event-id.ts), so a client's retry of the same event keeps it too.
 */
export function checkEvent(
  input: unknown,
  rules: EventRules,
  opts: { assignId?: boolean; now?: number } = {},
): EventCheck {
  if (!validateEventShape(input)) return { ok: false, error: toFieldError(validateEventShape.errors) };
  const e = input;
  if (typeWeight(e.event_type, rules.weights) === undefined && !rules.allowUnknownTypes) {
    return {
      ok: false,
      error: {
        field: 'event_type',
        message: `unknown event type "${e.event_type}" (known: ${Object.keys(rules.weights).join(', ')})`,
      },
    };
  }
  if (e.event_type === 'rating' && e.weight === undefined) {
    return {
      ok: false,
      error: { field: 'weight', message: 'a rating event carries its rating value in weight' },
    };
  }
  const ms = typeof e.timestamp === 'number' ? e.timestamp : Date.parse(e.timestamp);
  const now = opts.now ?? Date.now();
  const earliest = rules.earliestMs ?? DEFAULT_EARLIEST;
  if (!Number.isFinite(ms) || ms < earliest)
    return {
      ok: false,
      error: {
        field: 'timestamp',
        message: `is before ${new Date(earliest).toISOString().slice(0, 10)} ([events] earliest)`,
      },
    };
  if (ms > now + MAX_FUTURE_MS)
    return { ok: false, error: { field: 'timestamp', message: 'is more than a day in the future' } };
  if (!e.event_id && !opts.assignId)
    return {
      ok: false,
      error: { field: 'event_id', message: 'is required on the topic (the API assigns one)' },
    };
  const body: Omit<StoredEvent, 'event_id'> = {
    user_id: e.user_id,
    item_id: e.item_id,
    event_type: e.event_type,
    timestamp: new Date(ms).toISOString(),
  };
  if (e.weight !== undefined) body.weight = e.weight;
  if (e.recommendation_id !== undefined) body.recommendation_id = e.recommendation_id;
  if (e.context !== undefined) body.context = e.context;
  // an id from the body itself: a retried send of the same event is stored once
  const event: StoredEvent = { event_id: e.event_id || deterministicEventId(body), ...body };
  return { ok: true, event };
}
