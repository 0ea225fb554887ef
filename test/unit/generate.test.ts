import { describe, expect, it } from 'vitest';
import { CATEGORY_VOCABULARY } from '../../src/demo/catalog-words.ts';
import {
  CATEGORIES,
  EVENT_TYPES,
  MALFORMED_REASONS,
  generateCatalog,
  generateDataset,
  iterateEvents,
  iterateMessages,
  userMetadata,
  type DemoEvent,
  type GenerateOptions,
  type MalformedReason,
} from '../../src/demo/generate.ts';

const OPTS: GenerateOptions = { users: 600, items: 1200, days: 28, seed: 7 };
const ds = generateDataset(OPTS);
const START = Date.parse('2024-01-01T00:00:00.000Z');
const END = START + 28 * 86_400_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * A hand-written validator for the event model; returns the first problem
 * (named like MalformedReason) or null. Independent of the generator's code.
 */
function problem(raw: string): MalformedReason | 'other' | null {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return 'not_json';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not_json';
  const e = v as Record<string, unknown>;
  if (typeof e.user_id !== 'string' || e.user_id === '') return 'missing_user_id';
  if (typeof e.item_id !== 'string') return 'wrong_type';
  if (typeof e.event_type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(e.event_type)) {
    return 'unknown_event_type';
  }
  if (
    typeof e.timestamp !== 'string' ||
    !ISO.test(e.timestamp) ||
    Number.isNaN(Date.parse(e.timestamp)) ||
    new Date(e.timestamp).toISOString() !== e.timestamp
  ) {
    return 'bad_timestamp';
  }
  if (e.weight !== undefined && (typeof e.weight !== 'number' || e.weight < 0)) return 'negative_weight';
  if (typeof e.event_id !== 'string' || !UUID.test(e.event_id)) return 'other';
  return null;
}

function counts(events: DemoEvent[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const e of events) c[e.event_type] = (c[e.event_type] ?? 0) + 1;
  return c;
}

describe('generateDataset: catalogue', () => {
  it('makes product-like items with ids, categories, tags, prices and availability', () => {
    const { items } = ds;
    expect(items).toHaveLength(1200);
    expect(new Set(items.map((i) => i.item_id)).size).toBe(1200);
    items.forEach((it) => expect(it.item_id).toMatch(/^i\d{6}$/));
    const cats = new Set(items.map((i) => i.category));
    expect(cats.size).toBeGreaterThanOrEqual(10);
    expect(cats.size).toBeLessThanOrEqual(15);
    for (const it of items) {
      const v = CATEGORY_VOCABULARY[it.category];
      expect(it.tags.length).toBeGreaterThanOrEqual(2);
      expect(it.tags.length).toBeLessThanOrEqual(5);
      expect(new Set(it.tags).size).toBe(it.tags.length);
      it.tags.forEach((t) => expect(v.tags).toContain(t));
      expect(it.name.startsWith(it.brand)).toBe(true);
      expect(v.nouns.some((n) => it.name.includes(n))).toBe(true);
      expect(it.description.length).toBeGreaterThan(60);
      expect(it.description).toContain(it.brand);
      expect(it.price).toBeGreaterThan(0);
      expect(Date.parse(it.created_at)).toBeLessThan(START);
    }
    // category-specific prices: median electronics ≫ median grocery
    const median = (c: string): number => {
      const p = items
        .filter((i) => i.category === c)
        .map((i) => i.price)
        .sort((a, b) => a - b);
      return p[Math.floor(p.length / 2)]!;
    };
    expect(median('electronics')).toBeGreaterThan(3 * median('grocery'));
    // ≈ 90 % available: binomial, 4 standard errors
    const avail = items.filter((i) => i.available).length / items.length;
    expect(Math.abs(avail - 0.9)).toBeLessThan(4 * Math.sqrt((0.9 * 0.1) / items.length));
  });

  it('makes users with metadata and hidden taste that userMetadata strips', () => {
    const { users } = ds;
    expect(users).toHaveLength(600);
    users.forEach((u) => expect(u.user_id).toMatch(/^u\d{5}$/));
    for (const u of users) {
      expect(u._taste.categories.length).toBeGreaterThanOrEqual(1);
      expect(u._taste.categories.length).toBeLessThanOrEqual(3);
      expect(new Set(u._taste.categories).size).toBe(u._taste.categories.length);
      u._taste.categories.forEach((c) => expect(CATEGORIES).toContain(c));
      expect(u._taste.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    }
    const meta = userMetadata(users[0]!);
    expect(Object.keys(meta).sort()).toEqual(['country', 'created_at', 'segment', 'user_id']);
    expect(JSON.stringify(meta)).not.toContain('_taste');
  });

  it('widens ids when the count needs more digits', () => {
    const c = generateCatalog({ users: 123_456, items: 12, days: 1, seed: 1 });
    expect(c.users[123_455]!.user_id).toBe('u123455');
    expect(c.users[0]!.user_id).toBe('u000000');
  });
});

describe('generateDataset: events', () => {
  const { events } = ds;

  it('is deterministic given the seed and changes with it', () => {
    const again = generateDataset(OPTS);
    expect(again).toEqual(ds);
    const other = generateDataset({ ...OPTS, seed: 8 });
    expect(other.events.slice(0, 50)).not.toEqual(events.slice(0, 50));
    expect(other.items.map((i) => i.name)).not.toEqual(ds.items.map((i) => i.name));
    // malformed messages come from their own stream: valid events do not move
    const noBad = generateDataset({ ...OPTS, malformedFraction: 0 });
    expect(noBad.malformed).toHaveLength(0);
    expect(noBad.events).toEqual(events);
  });

  it('emits valid, uniquely identified events in timestamp order within the window', () => {
    expect(events.length).toBeGreaterThan(20_000);
    const ids = new Set<string>();
    const userIds = new Set(ds.users.map((u) => u.user_id));
    const itemIds = new Set(ds.items.map((i) => i.item_id));
    const offenders: [number, string][] = [];
    let prev = -Infinity;
    events.forEach((e, i) => {
      const bad = (why: string): number => offenders.push([i, why]);
      const p = problem(JSON.stringify(e));
      if (p !== null) bad(p);
      ids.add(e.event_id);
      if (!userIds.has(e.user_id)) bad('unknown user');
      if (!itemIds.has(e.item_id)) bad('unknown item');
      const t = Date.parse(e.timestamp);
      if (t < prev) bad('out of order');
      if (t < START || t >= END) bad('outside window');
      prev = t;
      if (e.event_type === 'rating') {
        if (!Number.isInteger(e.weight) || e.weight! < 1 || e.weight! > 5) bad('rating value');
      } else if (e.weight !== undefined) bad('weight on non-rating');
      if (!['mobile', 'desktop', 'tablet'].includes(e.context?.device ?? '')) bad('device');
    });
    expect(offenders.slice(0, 5)).toEqual([]);
    expect(ids.size).toBe(events.length);
  });

  it('follows the funnel page_view → click → add_to_cart → purchase (→ rating)', () => {
    const c = counts(events);
    for (const t of EVENT_TYPES) expect(c[t]).toBeGreaterThan(0);
    const cartPerView = c.add_to_cart! / c.page_view!;
    const purchasePerCart = c.purchase! / c.add_to_cart!;
    expect(cartPerView).toBeGreaterThanOrEqual(0.1);
    expect(cartPerView).toBeLessThanOrEqual(0.2);
    expect(purchasePerCart).toBeGreaterThanOrEqual(0.3);
    expect(purchasePerCart).toBeLessThanOrEqual(0.5);
    expect(c.click!).toBeLessThan(c.page_view!);
    expect(c.like!).toBeLessThan(c.click!);
    expect(c.rating!).toBeLessThan(c.purchase!);
    // causality per (user, item): cart after a click, purchase after a cart, rating after a purchase
    const needs: Partial<Record<string, string>> = {
      click: 'page_view',
      add_to_cart: 'click',
      purchase: 'add_to_cart',
      rating: 'purchase',
    };
    const seen = new Map<string, Set<string>>();
    let violations = 0;
    for (const e of events) {
      const key = `${e.user_id}|${e.item_id}`;
      const s = seen.get(key) ?? new Set<string>();
      const need = needs[e.event_type];
      if (need !== undefined && !s.has(need)) violations++;
      s.add(e.event_type);
      seen.set(key, s);
    }
    expect(violations).toBe(0);
    // unavailable items are never carted
    const unavailable = new Set(ds.items.filter((i) => !i.available).map((i) => i.item_id));
    expect(events.some((e) => e.event_type === 'add_to_cart' && unavailable.has(e.item_id))).toBe(false);
  });

  it('has heavy-tailed item popularity', () => {
    const perItem = new Map<string, number>();
    for (const e of events) perItem.set(e.item_id, (perItem.get(e.item_id) ?? 0) + 1);
    const sorted = ds.items.map((i) => perItem.get(i.item_id) ?? 0).sort((a, b) => b - a);
    const top10 = sorted.slice(0, Math.ceil(sorted.length / 10)).reduce((a, b) => a + b, 0);
    expect(top10 / events.length).toBeGreaterThan(0.4);
    // and a long tail: the bottom half gets little
    const bottom = sorted.slice(Math.floor(sorted.length / 2)).reduce((a, b) => a + b, 0);
    expect(bottom / events.length).toBeLessThan(0.2);
  });

  it("concentrates each user's events on their latent taste categories", () => {
    const userById = new Map(ds.users.map((u) => [u.user_id, u]));
    const catById = new Map(ds.items.map((i) => [i.item_id, i.category]));
    const perUser = new Map<string, [number, number]>();
    let inTaste = 0;
    for (const e of events) {
      const hit = userById.get(e.user_id)!._taste.categories.includes(catById.get(e.item_id)!);
      if (hit) inTaste++;
      const p = perUser.get(e.user_id) ?? [0, 0];
      p[0] += hit ? 1 : 0;
      p[1] += 1;
      perUser.set(e.user_id, p);
    }
    expect(inTaste / events.length).toBeGreaterThan(0.6);
    const shares = [...perUser.values()]
      .filter(([, n]) => n >= 20)
      .map(([h, n]) => h / n)
      .sort((a, b) => a - b);
    expect(shares.length).toBeGreaterThan(100);
    expect(shares[Math.floor(shares.length / 2)]!).toBeGreaterThan(0.6);
    // the top-weighted taste category gets more than a uniform share would
    const byUser = new Map<string, DemoEvent[]>();
    for (const e of events) {
      const list = byUser.get(e.user_id);
      if (list) list.push(e);
      else byUser.set(e.user_id, [e]);
    }
    const topCatShare = [...byUser].map(([uid, mine]) => {
      const u = userById.get(uid)!;
      const best = u._taste.categories[u._taste.weights.indexOf(Math.max(...u._taste.weights))];
      return mine.filter((e) => catById.get(e.item_id) === best).length / mine.length;
    });
    expect(topCatShare.reduce((a, b) => a + b, 0) / topCatShare.length).toBeGreaterThan(
      3 / CATEGORIES.length,
    );
  });
});

describe('malformed messages', () => {
  it('occur at ≈ the requested fraction, with every kind really invalid for its reason', () => {
    const { malformed, events } = ds;
    const total = malformed.length + events.length;
    const f = malformed.length / total;
    expect(Math.abs(f - 0.01)).toBeLessThan(4 * Math.sqrt((0.01 * 0.99) / total));
    const reasons = new Set(malformed.map((m) => m.reason));
    expect([...reasons].sort()).toEqual([...MALFORMED_REASONS].sort());
    for (const m of malformed) {
      expect(problem(m.raw)).toBe(m.reason);
      if (m.reason === 'wrong_type')
        expect(typeof (JSON.parse(m.raw) as { item_id: unknown }).item_id).toBe('number');
      if (m.reason === 'missing_user_id') expect(m.key).toBeNull();
    }
    const eventIds = new Set(events.map((e) => e.event_id));
    for (const m of malformed) {
      const id = /"event_id":"([^"]+)"/.exec(m.raw)?.[1];
      if (id) expect(eventIds.has(id)).toBe(false);
    }
  });

  it('follow the requested fraction at 5 % and interleave in send order', () => {
    const f = 0.05;
    let bad = 0;
    let good = 0;
    let prev = -Infinity;
    for (const msg of iterateMessages({ users: 200, items: 300, days: 14, seed: 3, malformedFraction: f })) {
      const t = Date.parse(msg.kind === 'event' ? msg.event.timestamp : msg.message.sent_at);
      expect(t).toBeGreaterThanOrEqual(prev);
      prev = t;
      if (msg.kind === 'event') good++;
      else bad++;
    }
    const n = good + bad;
    expect(Math.abs(bad / n - f)).toBeLessThan(4 * Math.sqrt((f * (1 - f)) / n));
  });
});

describe('iterateEvents streaming', () => {
  it('matches generateDataset and can stop early', () => {
    const first: DemoEvent[] = [];
    for (const e of iterateEvents(OPTS)) {
      first.push(e);
      if (first.length === 1000) break;
    }
    expect(first).toEqual(ds.events.slice(0, 1000));
  });

  it('produces 20k events of a million-event configuration lazily', () => {
    const opts: GenerateOptions = { users: 20_000, items: 20_000, days: 60, seed: 11, events: 1_000_000 };
    const got: DemoEvent[] = [];
    for (const e of iterateEvents(opts)) {
      got.push(e);
      if (got.length === 20_000) break;
    }
    expect(got).toHaveLength(20_000);
    for (let i = 1; i < got.length; i++) expect(got[i]!.timestamp >= got[i - 1]!.timestamp).toBe(true);
    // 20k of ~1M events cover only the first couple of days of the 60
    const spanDays = (Date.parse(got[got.length - 1]!.timestamp) - START) / 86_400_000;
    expect(spanDays).toBeLessThan(5);
    expect(new Set(got.map((e) => e.user_id)).size).toBeGreaterThan(1000);
  });

  it('hits an `events` target approximately', () => {
    let n = 0;
    for (const _e of iterateEvents({ users: 2000, items: 3000, days: 30, seed: 4, events: 60_000 })) n++;
    expect(n).toBeGreaterThan(60_000 * 0.85);
    expect(n).toBeLessThan(60_000 * 1.15);
  });
});

describe('shop dynamics', () => {
  const DYN: GenerateOptions = {
    users: 1500,
    items: 600,
    days: 42,
    seed: 5,
    events: 60_000,
    malformedFraction: 0,
    dynamics: { newUsers: 0.3, newItems: 0.2, novelty: 0.2, drift: 0.4, seasonality: 0.5 },
  };
  const dyn = generateDataset(DYN);
  const end = START + 42 * 86_400_000;
  const byUser = new Map<string, DemoEvent[]>();
  for (const e of dyn.events) byUser.set(e.user_id, [...(byUser.get(e.user_id) ?? []), e]);
  const category = new Map(dyn.items.map((i) => [i.item_id, i.category]));

  it('changes nothing when none is asked for', () => {
    expect(generateDataset({ ...OPTS, dynamics: {} })).toEqual(ds);
    expect(generateDataset({ ...OPTS, dynamics: { newUsers: 0, drift: 0 } }).events).toEqual(ds.events);
  });

  it('lets new users arrive inside the window, with nothing before their arrival', () => {
    const arrived = dyn.users.filter((u) => u._arrived);
    expect(arrived.length / dyn.users.length).toBeGreaterThan(0.25);
    expect(arrived.length / dyn.users.length).toBeLessThan(0.35);
    for (const u of arrived) {
      const created = Date.parse(u.created_at);
      expect(created).toBeGreaterThanOrEqual(START);
      expect(created).toBeLessThan(end);
      const first = byUser.get(u.user_id)?.[0];
      if (first) expect(Date.parse(first.timestamp)).toBeGreaterThanOrEqual(created);
    }
    expect(arrived.filter((u) => byUser.has(u.user_id)).length).toBeGreaterThan(arrived.length * 0.9);
  });

  it('never shows an item before its release, and new arrivals get views in their first days', () => {
    const release = new Map(dyn.items.map((i) => [i.item_id, Date.parse(i.created_at)]));
    expect(dyn.events.filter((e) => Date.parse(e.timestamp) < release.get(e.item_id)!)).toEqual([]);
    const fresh = dyn.items.filter(
      (i) => Date.parse(i.created_at) >= START && Date.parse(i.created_at) < end - 14 * 86_400_000,
    );
    expect(fresh.length).toBeGreaterThan(60);
    const early = fresh.filter((i) =>
      dyn.events.some(
        (e) =>
          e.item_id === i.item_id && Date.parse(e.timestamp) < Date.parse(i.created_at) + 14 * 86_400_000,
      ),
    );
    expect(early.length / fresh.length).toBeGreaterThan(0.8);
  });

  it('moves drifted users towards their new taste after the drift', () => {
    const drifted = dyn.users.filter((u) => u._drift && Date.parse(u._drift.at) < end - 10 * 86_400_000);
    expect(drifted.length).toBeGreaterThan(300);
    let before = 0;
    let nBefore = 0;
    let after = 0;
    let nAfter = 0;
    for (const u of drifted) {
      const at = Date.parse(u._drift!.at);
      const gained = new Set(u._drift!.taste.categories.filter((c) => !u._taste.categories.includes(c)));
      for (const e of byUser.get(u.user_id) ?? []) {
        const inNew = gained.has(category.get(e.item_id)!) ? 1 : 0;
        if (Date.parse(e.timestamp) < at) {
          before += inNew;
          nBefore++;
        } else {
          after += inNew;
          nAfter++;
        }
      }
    }
    // share of events in the categories the drift brought: small before, most of them after
    expect(before / nBefore).toBeLessThan(0.15);
    expect(after / nAfter).toBeGreaterThan(0.4);
  });

  it('is busier at weekends when seasonal', () => {
    const perDay = new Array<number>(7).fill(0);
    for (const e of dyn.events) perDay[new Date(e.timestamp).getUTCDay()]!++;
    const weekend = (perDay[0]! + perDay[6]!) / 2;
    const weekday = (perDay[1]! + perDay[2]! + perDay[3]! + perDay[4]! + perDay[5]!) / 5;
    expect(weekend / weekday).toBeGreaterThan(1.2);
  });
});
