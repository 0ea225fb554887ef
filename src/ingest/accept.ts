import type { StoredEvent } from '../events/schema.ts';
import { checkEvent, type EventRules } from '../events/validate.ts';

export interface IndexedError {
  index: number;
  field: string;
  message: string;
}

/** Splits a client batch into valid (normalised, ids assigned) and per-index errors. */
export function acceptEvents(
  input: unknown[],
  rules: EventRules,
  now = Date.now(),
): { accepted: StoredEvent[]; acceptedIndex: number[]; errors: IndexedError[] } {
  const accepted: StoredEvent[] = [];
  const acceptedIndex: number[] = [];
  const errors: IndexedError[] = [];
  input.forEach((raw, index) => {
    const r = checkEvent(raw, rules, { assignId: true, now });
    if (r.ok) {
      accepted.push(r.event);
      acceptedIndex.push(index);
    } else errors.push({ index, ...r.error });
  });
  return { accepted, acceptedIndex, errors };
}
