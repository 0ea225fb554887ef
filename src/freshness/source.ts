// Where a replay's events go and where its trainer reads them back: the interface, and the
// in-memory source (the real one, through Kafka and the event store, is pipeline.ts).

import type { RatingRules } from '../events/rating.ts';
import type { EventRow, EventsRepository, RecentEvent } from '../repositories/events.ts';
import type { Interaction } from '../train/evaluate/index.ts';
import { readRatingsByScan } from '../train/ratings.ts';

/** An event of a replayed history: what the event store keeps and the fold-in reads back. */
export type ReplayEvent = RecentEvent;

export interface ReadCost {
  esRoundTrips: number;
  esDocsRead: number;
}

/** Where the replay's events go and where training reads them back from. */
export interface ReplaySource {
  /** makes one step's events visible to the trainer (the real source: Kafka → ingest → event store) */
  reveal(events: readonly ReplayEvent[]): Promise<void>;
  /** the ratings training reads at `cutoff` (every revealed event, rated and summed per pair) */
  readRatings(cutoff: number): Promise<{ rows: Interaction[]; cost: ReadCost }>;
}

/**
 * The in-memory source: the trainer's own reader (readRatingsByScan) over what has been revealed,
 * as the event store would page it, without Elasticsearch (unit tests, dry runs).
 */
export function memorySource(rules: RatingRules): ReplaySource & { revealed: ReplayEvent[] } {
  const revealed: ReplayEvent[] = [];
  const store = {
    async *scan(): AsyncGenerator<EventRow[]> {
      yield revealed.map((e) => ({
        userId: e.user_id,
        itemId: e.item_id,
        eventType: e.event_type,
        ...(e.weight !== undefined ? { weight: e.weight } : {}),
        ts: Date.parse(e.timestamp),
      }));
    },
  };
  return {
    revealed,
    async reveal(events) {
      revealed.push(...events);
    },
    async readRatings(cutoff) {
      const rows = await readRatingsByScan(store as unknown as EventsRepository, { rules, now: cutoff });
      return { rows, cost: { esRoundTrips: 0, esDocsRead: 0 } };
    },
  };
}
