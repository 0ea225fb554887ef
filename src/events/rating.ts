// The rating of an event: the one definition batch training and online fold-in share, so an
// online vector and a batch vector of the same history agree.
//
//   rating(e) = weight(e) · 0.5^(age / half-life)      if e is inside the window, else 0
//   weight(e) = e.weight when the event carries one (ratings), else the type's configured weight
//
// A (user, item) pair's implicit rating r_ui is the sum over its events.

import type { Config } from '../config/index.ts';

const DAY = 86_400_000;

export interface RatingRules {
  weights: Readonly<Record<string, number>>;
  /** only events newer than this many days count (0 = all) */
  windowDays: number;
  /** exponential time decay of weights (0 = none) */
  halfLifeDays: number;
}

export function ratingRules(config: Pick<Config, 'events' | 'training'>): RatingRules {
  return {
    weights: config.events.weights,
    windowDays: config.training.windowDays,
    halfLifeDays: config.training.halfLifeDays,
  };
}

/** The configured weight of an event type, looked up as an own key (a type named "constructor" is just unknown). */
export function typeWeight(eventType: string, weights: Readonly<Record<string, number>>): number | undefined {
  return Object.hasOwn(weights, eventType) ? weights[eventType] : undefined;
}

/** Explicit weight wins, else the type's configured weight, else 1 (types admitted by [events] allow_unknown_types). */
export function eventWeight(
  event: { event_type: string; weight?: number },
  weights: Readonly<Record<string, number>>,
): number {
  if (event.weight !== undefined) return event.weight;
  return typeWeight(event.event_type, weights) ?? 1;
}

/** Oldest event time that counts at `now`, undefined when every event does. */
export function windowStart(rules: RatingRules, now: number): number | undefined {
  return rules.windowDays > 0 ? now - rules.windowDays * DAY : undefined;
}

export function decay(rules: RatingRules, now: number, ts: number): number {
  return rules.halfLifeDays > 0 ? Math.pow(0.5, Math.max(0, now - ts) / (rules.halfLifeDays * DAY)) : 1;
}

/** What one event adds to its (user, item) rating at time `now`. */
export function rateEvent(
  event: { event_type: string; weight?: number },
  ts: number,
  rules: RatingRules,
  now: number,
): number {
  const start = windowStart(rules, now);
  if (start !== undefined && ts < start) return 0;
  return eventWeight(event, rules.weights) * decay(rules, now, ts);
}

/** Half a day: the composite reader decays a whole day's bucket at its midpoint. */
export const DAY_MIDPOINT_MS = DAY / 2;

/**
 * A user's history as a fold-in sees it: each item's rating r_ui (every event rated as training
 * rates it, summed) and the `seen` most recently touched items, newest first. The online consumer
 * and the freshness replay both rate a history with it.
 */
export function rateUserHistory(
  events: Iterable<{ item_id: string; event_type: string; weight?: number; timestamp: string }>,
  rules: RatingRules,
  now: number,
  seen: number,
): { ratings: Map<string, number>; recent: string[] } {
  const ratings = new Map<string, number>();
  const lastSeen = new Map<string, string>();
  for (const e of events) {
    const r = rateEvent(e, Date.parse(e.timestamp), rules, now);
    if (r > 0) ratings.set(e.item_id, (ratings.get(e.item_id) ?? 0) + r);
    if ((lastSeen.get(e.item_id) ?? '') < e.timestamp) lastSeen.set(e.item_id, e.timestamp);
  }
  const recent = [...lastSeen]
    .sort((a, b) => b[1].localeCompare(a[1]))
    .slice(0, seen)
    .map(([itemId]) => itemId);
  return { ratings, recent };
}
