// The reference: how training aggregated the window until the columnar table replaced it — a JS
// Map keyed by `user\0item` with one object per pair. Kept for the scale bench (bytes per pair
// before/after, and where it stops: V8 refuses a Map's 16,777,217th entry) and the equivalence test.

import type { Interaction } from '../../src/train/evaluate/index.ts';

export class MapAccumulator {
  private readonly pairs = new Map<string, Interaction & { lastMs: number }>();

  get size(): number {
    return this.pairs.size;
  }

  add(userId: string, itemId: string, weight: number, ts: number): void {
    const key = `${userId}\u0000${itemId}`;
    const p = this.pairs.get(key);
    if (p) {
      p.weight += weight;
      if (ts > p.lastMs) p.lastMs = p.lastTs = ts;
    } else this.pairs.set(key, { userId, itemId, weight, lastTs: ts, lastMs: ts });
  }

  result(): Interaction[] {
    return [...this.pairs.values()]
      .filter((p) => p.weight > 0)
      .map(({ userId, itemId, weight, lastTs }) => ({ userId, itemId, weight, lastTs }));
  }
}
