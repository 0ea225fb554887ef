// Reading implicit ratings from the event store: every event in the training window rated by the
// one rating definition (events/rating.ts) and summed per (user, item). Events whose user or item
// id today's id rules refuse (stored before validation was tightened, or written into ES directly)
// are skipped and counted, never trained on: their ids could not be deployed or served.

import {
  DAY_MIDPOINT_MS,
  decay,
  rateEvent,
  typeWeight,
  windowStart,
  type RatingRules,
} from '../events/rating.ts';
import type { EventsRepository } from '../repositories/events.ts';
import type { SkipLog } from '../types/skipped.ts';
import type { Interaction } from './evaluate/index.ts';
import { PairAggregator } from './pair-aggregator.ts';
import { pairCount, tableRows, type RatingsTable } from './ratings-table.ts';

export interface RatingsReadOptions {
  rules: RatingRules;
  now?: number;
  pageSize?: number;
  /** parallel sliced reads of the scan ([training] read_slices) */
  slices?: number;
  /** where skipped events are counted (stage "events"); they are skipped either way */
  skipped?: SkipLog;
}

/** A reader of the window as the columnar table training uses. */
export type RatingsTableReader = (events: EventsRepository, opts: TableReadOptions) => Promise<RatingsTable>;
/** A reader of the window as rows (small data: the freshness replay, tests). */
export type RatingsReader = (events: EventsRepository, opts: RatingsReadOptions) => Promise<Interaction[]>;

/** What a read held: events offered, distinct pairs kept, bytes of ids, slots and columns at its end. */
export interface ReadFootprint {
  events: number;
  pairs: number;
  bytes: number;
}

export interface TableReadOptions extends RatingsReadOptions {
  /** filled when the read ends */
  footprint?: ReadFootprint;
}

function finish(acc: PairAggregator, opts: TableReadOptions): RatingsTable {
  const bytes = acc.bytes();
  const events = acc.events;
  const table = acc.table();
  if (opts.footprint) Object.assign(opts.footprint, { events, pairs: pairCount(table), bytes });
  return table;
}

/** Point-in-time scan of the window, rated and aggregated in Node (what training uses). */
export const scanRatingsTable: RatingsTableReader = async (events, opts) => {
  const now = opts.now ?? Date.now();
  const acc = new PairAggregator(opts.skipped);
  for await (const page of events.scan(windowStart(opts.rules, now), opts.pageSize, opts.slices)) {
    for (const e of page)
      acc.add(
        e.userId,
        e.itemId,
        rateEvent({ event_type: e.eventType, weight: e.weight }, e.ts, opts.rules, now),
        e.ts,
      );
  }
  return finish(acc, opts);
};

/**
 * Composite aggregation in Elasticsearch over (user, item, type[, day]); Node only applies the
 * type weights (ES has no scripts here) and the decay, at each day's midpoint: exact to within half
 * a day of the half-life.
 */
export const compositeRatingsTable: RatingsTableReader = async (events, opts) => {
  const now = opts.now ?? Date.now();
  const acc = new PairAggregator(opts.skipped);
  for await (const page of events.pairBuckets(
    windowStart(opts.rules, now),
    opts.rules.halfLifeDays > 0,
    opts.pageSize,
  )) {
    for (const b of page) {
      const w =
        b.explicitSum + (b.count - b.explicitCount) * (typeWeight(b.eventType, opts.rules.weights) ?? 1);
      acc.add(
        b.userId,
        b.itemId,
        w * (b.day !== undefined ? decay(opts.rules, now, b.day + DAY_MIDPOINT_MS) : 1),
        b.lastTs,
        b.count,
      );
    }
  }
  return finish(acc, opts);
};

/** scanRatingsTable's pairs as rows, in canonical (user, item) order. */
export const readRatingsByScan: RatingsReader = async (events, opts) =>
  tableRows(await scanRatingsTable(events, opts));

/** compositeRatingsTable's pairs as rows, in canonical (user, item) order. */
export const readRatingsByComposite: RatingsReader = async (events, opts) =>
  tableRows(await compositeRatingsTable(events, opts));

/**
 * Sorts rows by (user, item) in place. A sliced scan returns the window in whatever order its
 * slices interleave; the matrix's ids, the split's tie-breaks and so ALS's seeded start follow row
 * order, so without this the same data gave a different model (and a tuner a different winner)
 * from run to run. O(n log n) on the aggregated pairs, small next to a fit.
 */
export function canonicalOrder<T extends { userId: string; itemId: string }>(rows: T[]): T[] {
  return rows.sort((a, b) =>
    a.userId < b.userId
      ? -1
      : a.userId > b.userId
        ? 1
        : a.itemId < b.itemId
          ? -1
          : a.itemId > b.itemId
            ? 1
            : 0,
  );
}

/** Drops users and items with fewer distinct partners than the minimums, repeated until stable. */
export function filterMinInteractions(rows: Interaction[], minUser: number, minItem: number): Interaction[] {
  if (minUser <= 1 && minItem <= 1) return rows;
  let current = rows;
  for (;;) {
    const perUser = new Map<string, number>();
    const perItem = new Map<string, number>();
    for (const r of current) {
      perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + 1);
      perItem.set(r.itemId, (perItem.get(r.itemId) ?? 0) + 1);
    }
    const next = current.filter(
      (r) => perUser.get(r.userId)! >= minUser && perItem.get(r.itemId)! >= minItem,
    );
    if (next.length === current.length) return next;
    current = next;
  }
}
