// What a replay has revealed so far, per user and in time order: all that its trainer, its online
// consumer and its popularity counts may know at a cut.

import { eventWeight } from '../events/rating.ts';
import type { ReplayEvent, ReplaySource } from './source.ts';

export interface TimedEvent {
  e: ReplayEvent;
  ts: number;
}

/** How many of a user's events (in time order) happened before `reached`. */
export function countBefore(events: readonly TimedEvent[], reached: number): number {
  let n = events.length;
  while (n > 0 && (events[n - 1]?.ts ?? -Infinity) >= reached) n--;
  return n;
}

export class RevealedHistory {
  private readonly byUser = new Map<string, TimedEvent[]>();
  private readonly itemsByUser = new Map<string, Set<string>>();
  private readonly firstTs = new Map<string, number>();
  /** every revealed event at its own weight: popularity counts what happened in its window, undecayed */
  readonly weighted: Array<{ itemId: string; weight: number; ts: number }> = [];
  private pos = 0;

  constructor(
    /** the whole history, in time order */
    private readonly sorted: readonly TimedEvent[],
    private readonly weights: Readonly<Record<string, number>>,
  ) {}

  /** The events before `until` not revealed yet, without revealing them. */
  upcoming(until: number): TimedEvent[] {
    const out: TimedEvent[] = [];
    for (let p = this.pos; p < this.sorted.length; p++) {
      const t = this.sorted[p]!;
      if (t.ts >= until) break;
      out.push(t);
    }
    return out;
  }

  /** Reveals every event before `until`: to the source (the trainer reads them back from there), then here. */
  async revealUntil(until: number, source: Pick<ReplaySource, 'reveal'>): Promise<void> {
    const batch = this.upcoming(until);
    this.pos += batch.length;
    await source.reveal(batch.map((b) => b.e));
    for (const b of batch) {
      const u = b.e.user_id;
      const h = this.byUser.get(u) ?? [];
      h.push(b);
      this.byUser.set(u, h);
      const s = this.itemsByUser.get(u) ?? new Set<string>();
      s.add(b.e.item_id);
      this.itemsByUser.set(u, s);
      if (!this.firstTs.has(u)) this.firstTs.set(u, b.ts);
      this.weighted.push({ itemId: b.e.item_id, weight: eventWeight(b.e, this.weights), ts: b.ts });
    }
  }

  /** A user's revealed events, in time order. */
  events(userId: string): readonly TimedEvent[] {
    return this.byUser.get(userId) ?? [];
  }

  /** Every item the user touched in what has been revealed. */
  items(userId: string): ReadonlySet<string> | undefined {
    return this.itemsByUser.get(userId);
  }

  /** When the user's first revealed event happened; undefined for a user not seen yet. */
  firstSeen(userId: string): number | undefined {
    return this.firstTs.get(userId);
  }

  /** The users with an event in [from, to), each with all its revealed events. */
  activeBetween(from: number, to: number): Array<[string, readonly TimedEvent[]]> {
    return [...this.byUser].filter(([, h]) => h.some((b) => b.ts >= from && b.ts < to));
  }
}
