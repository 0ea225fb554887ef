import { describe, expect, it } from 'vitest';
import { buildCsr } from '../../src/als/csr.ts';
import { rateEvent, rateUserHistory, type RatingRules } from '../../src/events/rating.ts';
import { createRng } from '../../src/random/rng.ts';
import { randomSplit, temporalSplit, type Interaction } from '../../src/train/evaluate/index.ts';
import { IdInterner } from '../../src/train/id-interner.ts';
import { PairAggregator } from '../../src/train/pair-aggregator.ts';
import {
  filterTable,
  holdoutOf,
  pairCount,
  subTable,
  tableFromRows,
  tableMatrix,
  tableRows,
  type RatingsTable,
} from '../../src/train/ratings-table.ts';
import { canonicalOrder, filterMinInteractions } from '../../src/train/ratings.ts';
import { SkipLog } from '../../src/types/skipped.ts';
import { MapAccumulator } from '../../bench/scale/map-accumulator.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);
const rules: RatingRules = { weights: { view: 1, cart: 3, purchase: 5 }, windowDays: 30, halfLifeDays: 7 };

interface Ev {
  user_id: string;
  item_id: string;
  event_type: string;
  weight?: number;
  timestamp: string;
}

/** Random interleaved histories: skewed users and items, some explicit weights, some outside the window. */
function randomEvents(seed: number, n: number, users: number, items: number): Ev[] {
  const rng = createRng(seed);
  const types = ['view', 'cart', 'purchase', 'other'];
  const out: Ev[] = [];
  for (let e = 0; e < n; e++) {
    const u = Math.floor(users * rng.next() ** 2);
    const i = Math.floor(items * rng.next() ** 3);
    const ev: Ev = {
      user_id: `u${u}`,
      item_id: i % 7 === 0 ? `é-${i}` : `i${i}`,
      event_type: types[Math.floor(rng.next() * types.length)]!,
      timestamp: new Date(NOW - Math.floor(rng.next() * 40 * DAY)).toISOString(),
    };
    if (rng.next() < 0.1) ev.weight = Math.round(rng.next() * 50) / 10;
    out.push(ev);
  }
  return out;
}

function aggregate(events: Ev[]): RatingsTable {
  const agg = new PairAggregator();
  for (const e of events) {
    const ts = Date.parse(e.timestamp);
    agg.add(e.user_id, e.item_id, rateEvent(e, ts, rules, NOW), ts);
  }
  return agg.table();
}

/** Rows at the precision ALS trains on (the table keeps float64 sums as float32, as the matrix always did). */
function asTrained(rows: Interaction[]): Interaction[] {
  return rows.map((r) => ({ ...r, weight: Math.fround(r.weight) }));
}

function ratingsOf(t: RatingsTable): Map<string, number> {
  return new Map(tableRows(t).map((r) => [`${r.userId}\u0000${r.itemId}`, r.weight]));
}

describe('IdInterner', () => {
  it('interns well past 65,536 ids and gives each back by its number', () => {
    const ids = new IdInterner(4);
    const n = 200_000;
    const wrong: number[] = [];
    for (let j = 0; j < n; j++) if (ids.intern(`id-${j * 7919}`) !== j) wrong.push(j);
    for (let j = 0; j < n; j++)
      if (ids.find(`id-${j * 7919}`) !== j || ids.idAt(j) !== `id-${j * 7919}`) wrong.push(j);
    expect(wrong).toEqual([]);
    expect(ids.find('id-1')).toBe(-1);
    expect(ids.size).toBe(n);
  });

  it('keeps ids apart when every hash collides, through rehashes', () => {
    const ids = new IdInterner(4);
    const words = Array.from({ length: 3_000 }, (_, j) => `w${j}`);
    expect(words.map((w) => ids.intern(w, 12345))).toEqual(words.map((_, j) => j));
    expect(words.map((w) => ids.find(w, 12345))).toEqual(words.map((_, j) => j));
    expect(ids.find('w3000', 12345)).toBe(-1);
  });

  it('round-trips non-ASCII ids and ids filling an arena chunk', () => {
    const ids = new IdInterner();
    const long = 'x'.repeat(200);
    const odd = ['商品-1', '😀 user', 'a\u0000b', long];
    for (let j = 0; j < 6_000; j++) ids.intern(`${long}${j}`);
    for (const s of odd) expect(ids.idAt(ids.intern(s))).toBe(s);
    expect(ids.idAt(ids.find(`${long}5999`))).toBe(`${long}5999`);
  });
});

describe('PairAggregator', () => {
  it('sums duplicates exactly like the old Map accumulator, past 65,536 pairs and across chunks', () => {
    const rng = createRng(7);
    const agg = new PairAggregator();
    const old = new MapAccumulator();
    for (let e = 0; e < 200_000; e++) {
      const u = `u${Math.floor(rng.next() * 2_000)}`;
      const i = `i${Math.floor(rng.next() * 200)}`;
      const w = rng.next() < 0.05 ? 0 : rng.next() * 3;
      const ts = NOW - Math.floor(rng.next() * DAY * 10);
      agg.add(u, i, w, ts);
      old.add(u, i, w, ts);
    }
    expect(agg.pairs).toBeGreaterThan(65_536 * 2);
    const table = agg.table();
    expect(tableRows(table)).toEqual(asTrained(canonicalOrder(old.result())));
  });

  it('skips and counts refused ids without interning them', () => {
    const skipped = new SkipLog();
    const agg = new PairAggregator(skipped);
    agg.add(' bad', 'i1', 1, NOW);
    agg.add('u1', '', 1, NOW);
    agg.add(' bad', 'i1', 1, NOW, 3);
    agg.add('u1', 'i1', 1, NOW);
    expect(skipped.total).toBe(5);
    expect(agg.events).toBe(6);
    expect(tableRows(agg.table()).map((r) => [r.userId, r.itemId])).toEqual([['u1', 'i1']]);
  });

  it('gives the same table whatever order the events arrive in', () => {
    const events = randomEvents(3, 5_000, 300, 400);
    const shuffled = [...events];
    const rng = createRng(9);
    for (let a = shuffled.length - 1; a > 0; a--) {
      const b = Math.floor(rng.next() * (a + 1));
      [shuffled[a], shuffled[b]] = [shuffled[b]!, shuffled[a]!];
    }
    const a = aggregate(events);
    const b = aggregate(shuffled);
    expect(b.userIds).toEqual(a.userIds);
    expect(b.itemIds).toEqual(a.itemIds);
    expect([...b.indptr]).toEqual([...a.indptr]);
    expect([...b.items]).toEqual([...a.items]);
    expect([...b.lastTs]).toEqual([...a.lastTs]);
    // float64 sums in another order may differ in their last bits only
    b.weights.forEach((w, j) => expect(w).toBeCloseTo(a.weights[j]!, 5));
  });

  it('holds no Map or Set on the data path (read, table, filter, split, matrices)', () => {
    const events = randomEvents(4, 3_000, 100, 150);
    const saved = { Map: globalThis.Map, Set: globalThis.Set };
    const refuse = class {
      constructor() {
        throw new Error('a Map or Set on the data path');
      }
    };
    let ok = false;
    try {
      globalThis.Map = refuse as unknown as MapConstructor;
      globalThis.Set = refuse as unknown as SetConstructor;
      const t = filterTable(aggregate(events), 2, 2);
      const mask = holdoutOf(t, 0.2);
      const train = tableMatrix(subTable(t, mask, 0));
      tableMatrix(subTable(t, mask, 1), train);
      ok = true;
    } finally {
      globalThis.Map = saved.Map;
      globalThis.Set = saved.Set;
    }
    expect(ok).toBe(true);
  });
});

describe('the rating definition', () => {
  it('gives every pair exactly the rating rateUserHistory gives that user history', () => {
    for (const seed of [1, 2, 3]) {
      const events = randomEvents(seed, 20_000, 500, 2_000);
      const table = ratingsOf(aggregate(events));
      const byUser = new Map<string, Ev[]>();
      for (const e of events) {
        const list = byUser.get(e.user_id) ?? [];
        list.push(e);
        byUser.set(e.user_id, list);
      }
      const expected = new Map<string, number>();
      for (const [user, history] of byUser)
        for (const [item, r] of rateUserHistory(history, rules, NOW, 10).ratings)
          expected.set(`${user}\u0000${item}`, Math.fround(r));
      expect(table).toEqual(expected);
    }
  });
});

describe('the table as training uses it', () => {
  const events = randomEvents(5, 30_000, 800, 1_500);
  const old = new MapAccumulator();
  for (const e of events) {
    const ts = Date.parse(e.timestamp);
    old.add(e.user_id, e.item_id, rateEvent(e, ts, rules, NOW), ts);
  }
  const rows = canonicalOrder(old.result());
  const table = aggregate(events);

  it('filters by minimum partners like the row filter', () => {
    const f = filterTable(table, 3, 4);
    expect(tableRows(f)).toEqual(asTrained(canonicalOrder(filterMinInteractions(rows, 3, 4))));
    expect(pairCount(f)).toBeLessThan(pairCount(table));
  });

  it('holds out the same pairs as the row splits', () => {
    for (const holdout of [0.2, 2]) {
      const mask = holdoutOf(table, holdout);
      const split = temporalSplit(rows, holdout);
      expect(tableRows(subTable(table, mask, 1))).toEqual(asTrained(canonicalOrder([...split.test])));
      expect(tableRows(subTable(table, mask, 0))).toEqual(asTrained(canonicalOrder([...split.train])));
    }
    const r = randomSplit(rows, 0.25, 11);
    expect(tableRows(subTable(table, holdoutOf(table, 0.25, 11), 1))).toEqual(
      asTrained(canonicalOrder([...r.test])),
    );
  });

  it('builds exactly the matrices buildCsr builds from the rows (ids, order, values), aligned test included', () => {
    for (const holdout of [0.3, 1]) {
      const mask = holdoutOf(table, holdout);
      const trainPart = subTable(table, mask, 0);
      const train = tableMatrix(trainPart);
      const test = tableMatrix(subTable(table, mask, 1), train);
      const ref = buildCsr(tableRows(trainPart));
      const refTest = buildCsr(tableRows(subTable(table, mask, 1)), {
        userIds: ref.userIds,
        itemIds: ref.itemIds,
        unknown: 'drop',
      });
      expect(train).toEqual(ref);
      expect(test).toEqual(refTest);
      expect(test.indptr[test.nUsers]).toBeGreaterThan(0);
    }
    expect(tableMatrix(table)).toEqual(buildCsr(rows));
  });

  it('round-trips rows', () => {
    const some: Interaction[] = [
      { userId: 'b', itemId: 'x', weight: 1, lastTs: 5 },
      { userId: 'a', itemId: 'y', weight: 2, lastTs: '2026-01-01T00:00:00Z' },
      { userId: 'a', itemId: 'x', weight: 0.5, lastTs: 7 },
      { userId: 'a', itemId: 'x', weight: 0.25, lastTs: 6 },
    ];
    expect(tableRows(tableFromRows(some))).toEqual([
      { userId: 'a', itemId: 'x', weight: 0.75, lastTs: 7 },
      { userId: 'a', itemId: 'y', weight: 2, lastTs: Date.parse('2026-01-01T00:00:00Z') },
      { userId: 'b', itemId: 'x', weight: 1, lastTs: 5 },
    ]);
  });
});
