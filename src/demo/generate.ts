// Seeded, realistic sample data for demos, tests and benchmarks. Pure: builds
// and streams plain JS objects; sends nothing to Elasticsearch or Kafka.
//
// The shop:
//  - items: 12 categories with their own names, brands, tags and log-normal
//    price; ≈ 90 % available. Popularity is Zipf (s = 1.1) within each category,
//    over a random permutation of the category's items, so ids carry no signal.
//  - users: country, segment and hidden ground truth — properties starting with
//    `_` (`_taste`, `_activity`, `_device`) describe how the generator behaves
//    and must not be indexed (use `userMetadata()` / `itemMetadata()`).
//    `_taste` = 1–3 preferred categories with Dirichlet(1) weights; 85 % of
//    category choices follow it, 15 % explore in proportion to catalogue share.
//  - sessions: per user Poisson(sessionsPerUser · activity) sessions, activity
//    log-normal × segment multiplier; start times uniform over the days with an
//    evening-heavy hour-of-day profile. A session looks at ~5 items (mostly in
//    one category) and runs a funnel per item:
//      page_view → click (40 %) → add_to_cart (38 % of clicks, available items
//      only; ≈ 13–14 % of views) → purchase at checkout (40 % of carted)
//      like (6 % of clicks); rating 1–5 for 25 % of purchases, 1–14 days later
//      (higher for taste categories). Events beyond the window are dropped.
//  - event order: all valid events are emitted in timestamp order over the
//    whole window (a k-way merge of concurrent sessions), as a shop would
//    produce them. event_id is a deterministic UUID-v4-shaped string.
//  - malformed messages (default 1 % of all messages): raw strings as they
//    might arrive on Kafka, each labelled with a `reason`.
//  - dynamics (all off by default, so the demo's shop is stationary): users
//    who arrive during the window, items released during it (with a novelty
//    share of views going to new arrivals), tastes that change once, and
//    seasonal category demand with a weekly rhythm — what makes the question
//    "how fresh must the model be" real (see ShopDynamics).
//
// Everything is a function of the options: same options ⇒ identical output.
// Valid events do not depend on malformedFraction (separate random stream).
// Streaming (`iterateEvents`, `iterateMessages`) keeps only the per-session
// index (two typed arrays) and the currently open sessions in memory, so a
// million events stream in a few seconds with flat memory.

import { Rng, hash32 } from '../random/rng.ts';
import {
  CATEGORIES,
  CATEGORY_VOCABULARY,
  COUNTRIES,
  COUNTRY_WEIGHTS,
  DEVICES,
  DEVICE_WEIGHTS,
  HOUR_WEIGHTS,
  REFERRERS,
  REFERRER_WEIGHTS,
  SEGMENTS,
  SEGMENT_ACTIVITY,
  SEGMENT_WEIGHTS,
  type Category,
  type CategoryVocabulary,
} from './catalog-words.ts';

export { CATEGORIES, type Category } from './catalog-words.ts';

// ---------------------------------------------------------------- types

export const EVENT_TYPES = ['page_view', 'click', 'add_to_cart', 'like', 'purchase', 'rating'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export type Device = (typeof DEVICES)[number];
export type Referrer = (typeof REFERRERS)[number];
export type Segment = (typeof SEGMENTS)[number];

export interface EventContext {
  device: Device;
  referrer: Referrer;
  country: string;
}

/** One valid interaction event (the Kafka `events` payload, key = user_id). */
export interface DemoEvent {
  event_id: string;
  user_id: string;
  item_id: string;
  event_type: EventType;
  /** ISO 8601, UTC, millisecond precision */
  timestamp: string;
  /** rating value 1–5, only on 'rating' */
  weight?: number;
  context?: EventContext;
}

export interface DemoItem {
  item_id: string;
  name: string;
  description: string;
  category: Category;
  tags: string[];
  price: number;
  available: boolean;
  brand: string;
  created_at: string;
}

/** Generator ground truth; never index it. */
export interface UserTaste {
  /** 1–3 preferred categories */
  categories: Category[];
  /** Dirichlet weights over `categories`, summing to 1 */
  weights: number[];
}

export interface DemoUser {
  user_id: string;
  country: string;
  segment: Segment;
  created_at: string;
  /** hidden: preferred categories (not metadata — strip before indexing) */
  _taste: UserTaste;
  /** hidden: relative activity (expected sessions = sessionsPerUser · _activity) */
  _activity: number;
  /** hidden: usual device */
  _device: Device;
  /** hidden, with dynamics.drift: the taste that replaces `_taste` from `at` on */
  _drift?: { at: string; taste: UserTaste };
  /** hidden, with dynamics.newUsers: the user's first session is at created_at, inside the window */
  _arrived?: true;
}

export type MalformedReason =
  'missing_user_id' | 'bad_timestamp' | 'unknown_event_type' | 'negative_weight' | 'not_json' | 'wrong_type';

export const MALFORMED_REASONS: readonly MalformedReason[] = [
  'missing_user_id',
  'bad_timestamp',
  'unknown_event_type',
  'negative_weight',
  'not_json',
  'wrong_type',
];

/** A message that a validating consumer must reject (→ dead-letter topic). */
export interface MalformedMessage {
  /** the raw message value as it would be produced */
  raw: string;
  reason: MalformedReason;
  /** Kafka key a producer would use (user_id when there is one) */
  key: string | null;
  /** when it is sent (ISO 8601) — it sits in the stream right after a valid event of this time */
  sent_at: string;
}

export type DemoMessage =
  { kind: 'event'; event: DemoEvent } | { kind: 'malformed'; message: MalformedMessage };

export interface GenerateOptions {
  users: number;
  items: number;
  /** length of the event window in days (weeks-scale: 14–90 is typical) */
  days: number;
  seed: number;
  /** mean sessions per user over the window; default 8 */
  sessionsPerUser?: number;
  /** approximate number of valid events wanted; overrides sessionsPerUser */
  events?: number;
  /** fraction of all messages that are malformed (0 ≤ f < 0.5); default 0.01 */
  malformedFraction?: number;
  /** window start; default 2024-01-01T00:00:00Z (fixed, so output never depends on the clock) */
  startDate?: string | Date;
  /** a shop that changes over the window; default: none (the output is as without the option) */
  dynamics?: ShopDynamics;
}

/**
 * What changes in a real shop while a model ages. Each draws from its own random streams, so
 * turning one on leaves everything that does not depend on it as it was.
 */
export interface ShopDynamics {
  /** share of users who arrive during the window: first session at their created_at, then the usual rate */
  newUsers?: number;
  /** share of items released during the window (created_at inside it): never viewed before */
  newItems?: number;
  /** share of views that go to the session category's items released in the last 14 days (shops push new arrivals) */
  novelty?: number;
  /** share of users whose taste is redrawn once, at a uniform time in the window's later 80 % */
  drift?: number;
  /** amplitude in [0, 1) of seasonal category demand (28-day cycle, phase per category), plus quieter weekdays */
  seasonality?: number;
}

const NOVELTY_DAYS = 14;
const SEASON_DAYS = 28;
/** weekday sessions kept when seasonality is on (weekends all): shops are busier at weekends */
const WEEKDAY_KEEP = 0.75;

export interface Catalog {
  items: DemoItem[];
  users: DemoUser[];
}

export interface Dataset extends Catalog {
  /** valid events in timestamp order */
  events: DemoEvent[];
  /** malformed messages in send order */
  malformed: MalformedMessage[];
}

// ---------------------------------------------------------------- behaviour constants

/** funnel probabilities (see header) */
export const FUNNEL = {
  click: 0.4,
  cartGivenClick: 0.38,
  purchaseGivenCart: 0.4,
  likeGivenClick: 0.06,
  ratingGivenPurchase: 0.25,
  /** share of category choices that follow the user's taste */
  tasteFollow: 0.85,
  /** chance that the next view stays in the session's category */
  stayInCategory: 0.7,
  /** mean views per session = 1 + extraViewsMean */
  extraViewsMean: 4,
  maxViews: 40,
  zipfExponent: 1.1,
  availableFraction: 0.9,
} as const;

const DAY_MS = 86_400_000;
const DEFAULT_START = '2024-01-01T00:00:00.000Z';
const DEFAULT_SESSIONS_PER_USER = 8;
const DEFAULT_MALFORMED = 0.01;
const RATING_TASTE = [3, 5, 12, 35, 45];
const RATING_OTHER = [10, 15, 30, 30, 15];

// random streams: each concern draws from its own sequence
const STREAM_ITEMS = 1;
const STREAM_USERS = 2;
const STREAM_POPULARITY = 3;
const STREAM_SESSIONS = 4;
const STREAM_IDS = 5;
const STREAM_MALFORMED = 6;
const STREAM_MALFORMED_IDS = 7;
const SESSION_SALT = 0x5e55;
const STREAM_DYN_USERS = 8;
const STREAM_DYN_ITEMS = 9;

/**
 * Expected valid events per session implied by FUNNEL (before the few dropped
 * at the window end): views · (1 + click·(1 + like + avail·cart·(1 + purchase·(1 + rating)))).
 */
export function expectedEventsPerSession(): number {
  const f = FUNNEL;
  const q = 1 / (1 + f.extraViewsMean); // geometric success prob for extra views
  let views = 1;
  // mean of min(1 + Geom, maxViews) — the cap barely matters, but be exact
  for (let k = 1; k < f.maxViews; k++) views += Math.pow(1 - q, k);
  const perView =
    1 +
    f.click *
      (1 +
        f.likeGivenClick +
        f.availableFraction * f.cartGivenClick * (1 + f.purchaseGivenCart * (1 + f.ratingGivenPurchase)));
  return views * perView;
}

interface Resolved {
  dynamics: Required<ShopDynamics>;
  users: number;
  items: number;
  days: number;
  seed: number;
  sessionsPerUser: number;
  malformedFraction: number;
  startMs: number;
  endMs: number;
}

function resolve(opts: GenerateOptions): Resolved {
  const { users, items, days, seed } = opts;
  if (!Number.isInteger(users) || users < 1)
    throw new RangeError(`users must be a positive integer, got ${users}`);
  if (!Number.isInteger(items) || items < 1)
    throw new RangeError(`items must be a positive integer, got ${items}`);
  if (!(days > 0)) throw new RangeError(`days must be > 0, got ${days}`);
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite, got ${seed}`);
  const malformedFraction = opts.malformedFraction ?? DEFAULT_MALFORMED;
  if (!(malformedFraction >= 0 && malformedFraction < 0.5)) {
    throw new RangeError(`malformedFraction must be in [0, 0.5), got ${malformedFraction}`);
  }
  let sessionsPerUser = opts.sessionsPerUser ?? DEFAULT_SESSIONS_PER_USER;
  if (opts.events !== undefined) {
    if (!(opts.events > 0)) throw new RangeError(`events must be > 0, got ${opts.events}`);
    sessionsPerUser = opts.events / (users * expectedEventsPerSession());
  }
  if (!(sessionsPerUser > 0)) throw new RangeError(`sessionsPerUser must be > 0, got ${sessionsPerUser}`);
  const d = opts.dynamics ?? {};
  const dynamics: Required<ShopDynamics> = {
    newUsers: d.newUsers ?? 0,
    newItems: d.newItems ?? 0,
    novelty: d.novelty ?? 0,
    drift: d.drift ?? 0,
    seasonality: d.seasonality ?? 0,
  };
  for (const [name, v] of Object.entries(dynamics))
    if (!(v >= 0 && v < 1)) throw new RangeError(`dynamics.${name} must be in [0, 1), got ${v}`);
  const start = opts.startDate === undefined ? new Date(DEFAULT_START) : new Date(opts.startDate);
  const startMs = start.getTime();
  if (Number.isNaN(startMs)) throw new RangeError(`invalid startDate ${String(opts.startDate)}`);
  return {
    dynamics,
    users,
    items,
    days,
    seed,
    sessionsPerUser,
    malformedFraction,
    startMs,
    endMs: startMs + days * DAY_MS,
  };
}

// ---------------------------------------------------------------- catalogue

function pad(prefix: string, n: number, width: number): string {
  return prefix + String(n).padStart(width, '0');
}

/** id width: at least `min` digits, more if the count needs it */
function idWidth(count: number, min: number): number {
  return Math.max(min, String(count - 1).length);
}

export function itemId(index: number, totalItems: number): string {
  return pad('i', index, idWidth(totalItems, 6));
}

export function userId(index: number, totalUsers: number): string {
  return pad('u', index, idWidth(totalUsers, 5));
}

function roundPrice(p: number): number {
  if (p < 5) return Math.max(0.49, Math.round(p * 100) / 100);
  return Math.floor(p) + 0.99;
}

function makeItem(rng: Rng, index: number, total: number, category: Category, startMs: number): DemoItem {
  const v: CategoryVocabulary = CATEGORY_VOCABULARY[category];
  const brand = rng.pick(v.brands);
  const adjective = rng.pick(v.adjectives);
  const modifier = rng.pick(v.modifiers);
  const noun = rng.pick(v.nouns);
  const parts = [brand];
  const shape = rng.next();
  if (shape < 0.45) parts.push(adjective, modifier);
  else if (shape < 0.7) parts.push(modifier);
  else parts.push(adjective);
  parts.push(noun);
  if (rng.chance(0.35)) parts.push(rng.pick(v.variants));
  const name = parts.join(' ');
  const tags = rng.sample(v.tags, 2 + rng.int(4));
  const [f1, f2] = rng.sample(v.features, 2);
  const use = rng.pick(v.uses);
  const core = `${modifier} ${noun}`;
  let description: string;
  switch (rng.int(3)) {
    case 0:
      description = `${adjective} ${core} from ${brand}, with ${f1}. Also features ${f2}. Designed for ${use}.`;
      break;
    case 1:
      description = `${brand} ${core}: ${adjective.toLowerCase()}, with ${f1} and ${f2}. Made for ${use}.`;
      break;
    default:
      description = `Made for ${use}: the ${adjective.toLowerCase()} ${core} by ${brand}. Features ${f1}, plus ${f2}.`;
  }
  const price = roundPrice(v.price.median * Math.exp(v.price.sigma * rng.gaussian()));
  const created = startMs - Math.floor(rng.uniform(1, 730) * DAY_MS);
  return {
    item_id: itemId(index, total),
    name,
    description,
    category,
    tags,
    price,
    available: rng.chance(FUNNEL.availableFraction),
    brand,
    created_at: new Date(created).toISOString(),
  };
}

export function generateItems(opts: GenerateOptions): DemoItem[] {
  const r = resolve(opts);
  const rng = new Rng(r.seed, STREAM_ITEMS);
  const shares = CATEGORIES.map((c) => CATEGORY_VOCABULARY[c].share);
  const dyn = new Rng(r.seed, STREAM_DYN_ITEMS);
  const items: DemoItem[] = [];
  for (let i = 0; i < r.items; i++) {
    // the first items cover every category once, the rest follow the shares
    const category = i < CATEGORIES.length ? CATEGORIES[i]! : CATEGORIES[rng.weightedIndex(shares)]!;
    const item = makeItem(rng, i, r.items, category, r.startMs);
    if (r.dynamics.newItems > 0 && i >= CATEGORIES.length && dyn.chance(r.dynamics.newItems)) {
      item.created_at = new Date(r.startMs + Math.floor(dyn.next() * (r.endMs - r.startMs))).toISOString();
    }
    items.push(item);
  }
  return items;
}

/** 1–3 categories weighted by catalogue share, without replacement, with Dirichlet(1) weights. */
function drawTaste(rng: Rng, shares: readonly number[]): UserTaste {
  const nTaste = 1 + rng.weightedIndex([30, 45, 25]);
  const pool = CATEGORIES.slice();
  const poolW = shares.slice();
  const categories: Category[] = [];
  for (let k = 0; k < nTaste; k++) {
    const j = rng.weightedIndex(poolW);
    categories.push(pool[j]!);
    pool.splice(j, 1);
    poolW.splice(j, 1);
  }
  const g = categories.map(() => rng.exponential(1)); // Gamma(1) → Dirichlet(1, …, 1)
  const gs = g.reduce((a, b) => a + b, 0);
  return { categories, weights: g.map((x) => x / gs) };
}

export function generateUsers(opts: GenerateOptions): DemoUser[] {
  const r = resolve(opts);
  const rng = new Rng(r.seed, STREAM_USERS);
  const shares = CATEGORIES.map((c) => CATEGORY_VOCABULARY[c].share);
  const dyn = new Rng(r.seed, STREAM_DYN_USERS);
  const users: DemoUser[] = [];
  // log-normal activity with mean 1: exp(σZ − σ²/2)
  const sigma = 0.9;
  for (let u = 0; u < r.users; u++) {
    const seg = rng.weightedIndex(SEGMENT_WEIGHTS);
    const taste = drawTaste(rng, shares);
    const activity = Math.exp(sigma * rng.gaussian() - (sigma * sigma) / 2) * SEGMENT_ACTIVITY[seg]!;
    const user: DemoUser = {
      user_id: userId(u, r.users),
      country: COUNTRIES[rng.weightedIndex(COUNTRY_WEIGHTS)]!,
      segment: SEGMENTS[seg]!,
      created_at: new Date(r.startMs - Math.floor(rng.uniform(0, 3 * 365) * DAY_MS)).toISOString(),
      _taste: taste,
      _activity: activity,
      _device: DEVICES[rng.weightedIndex(DEVICE_WEIGHTS)]!,
    };
    const { newUsers, drift } = r.dynamics;
    if (newUsers > 0 && dyn.chance(newUsers)) {
      user.created_at = new Date(r.startMs + Math.floor(dyn.next() * (r.endMs - r.startMs))).toISOString();
      user._arrived = true;
    }
    if (drift > 0 && dyn.chance(drift)) {
      const span = r.endMs - r.startMs;
      const at = r.startMs + Math.floor(span * (0.2 + 0.8 * dyn.next()));
      // a real change of interest: at least one category the user did not care about before
      let next = drawTaste(dyn, shares);
      for (let tries = 0; tries < 5 && next.categories.every((c) => taste.categories.includes(c)); tries++)
        next = drawTaste(dyn, shares);
      user._drift = { at: new Date(Math.max(at, Date.parse(user.created_at))).toISOString(), taste: next };
    }
    users.push(user);
  }
  return users;
}

export function generateCatalog(opts: GenerateOptions): Catalog {
  return { items: generateItems(opts), users: generateUsers(opts) };
}

/** T without its hidden `_…` properties. */
export type PublicFields<T> = { [K in keyof T as K extends `_${string}` ? never : K]: T[K] };

/** Copy without the hidden `_…` ground-truth fields (what may be indexed). */
export function stripHidden<T extends object>(obj: T): PublicFields<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!k.startsWith('_')) out[k] = v;
  return out as PublicFields<T>;
}

export function userMetadata(user: DemoUser): PublicFields<DemoUser> {
  return stripHidden(user);
}

export function itemMetadata(item: DemoItem): DemoItem {
  return stripHidden(item);
}

// ---------------------------------------------------------------- sampling model

interface CategoryPool {
  /** item indices, most popular first */
  items: Int32Array;
  /** cumulative Zipf weights, normalised to end at 1 */
  cdf: Float64Array;
}

interface ShopModel {
  r: Resolved;
  catalog: Catalog;
  pools: Map<Category, CategoryPool>;
  /** categories that have items, and their share weights for exploration */
  exploreCats: Category[];
  exploreW: number[];
  tasteCats: Category[][];
  tasteW: number[][];
  userTasteSet: Set<Category>[];
  /** the drifted taste from driftAt[u] on (the same arrays when the user never drifts) */
  driftAt: Float64Array;
  tasteCats2: Category[][];
  tasteW2: number[][];
  userTasteSet2: Set<Category>[];
  /** release time per item; items released inside the window per category, oldest first */
  release: Float64Array;
  releasedInWindow: Map<Category, { items: number[]; at: number[] }>;
}

function buildModel(r: Resolved, catalog: Catalog): ShopModel {
  const rng = new Rng(r.seed, STREAM_POPULARITY);
  const byCat = new Map<Category, number[]>();
  catalog.items.forEach((it, i) => {
    const list = byCat.get(it.category);
    if (list) list.push(i);
    else byCat.set(it.category, [i]);
  });
  const pools = new Map<Category, CategoryPool>();
  for (const [cat, list] of byCat) {
    const perm = rng.sample(list, list.length); // random popularity order
    const cdf = new Float64Array(perm.length);
    let acc = 0;
    for (let k = 0; k < perm.length; k++) {
      acc += 1 / Math.pow(k + 1, FUNNEL.zipfExponent);
      cdf[k] = acc;
    }
    for (let k = 0; k < cdf.length; k++) cdf[k] = cdf[k]! / acc;
    pools.set(cat, { items: Int32Array.from(perm), cdf });
  }
  const exploreCats = CATEGORIES.filter((c) => pools.has(c));
  const exploreW = exploreCats.map((c) => CATEGORY_VOCABULARY[c].share);
  const tasteCats: Category[][] = [];
  const tasteW: number[][] = [];
  const tasteCats2: Category[][] = [];
  const tasteW2: number[][] = [];
  // a taste category without items (tiny catalogues) is skipped
  const usable = (t: UserTaste): [Category[], number[]] => {
    const cats: Category[] = [];
    const w: number[] = [];
    t.categories.forEach((c, k) => {
      if (pools.has(c)) {
        cats.push(c);
        w.push(t.weights[k]!);
      }
    });
    return [cats, w];
  };
  const driftAt = new Float64Array(catalog.users.length).fill(Infinity);
  catalog.users.forEach((u, i) => {
    const [cats, w] = usable(u._taste);
    tasteCats.push(cats);
    tasteW.push(w);
    const [cats2, w2] = u._drift ? usable(u._drift.taste) : [cats, w];
    tasteCats2.push(cats2);
    tasteW2.push(w2);
    if (u._drift) driftAt[i] = Date.parse(u._drift.at);
  });
  const userTasteSet = catalog.users.map((u) => new Set(u._taste.categories));
  const userTasteSet2 = catalog.users.map((u, i) =>
    u._drift ? new Set(u._drift.taste.categories) : userTasteSet[i]!,
  );
  const release = Float64Array.from(catalog.items, (it) => Date.parse(it.created_at));
  const releasedInWindow = new Map<Category, { items: number[]; at: number[] }>();
  const fresh = catalog.items
    .map((_, i) => i)
    .filter((i) => release[i]! >= r.startMs)
    .sort((a, b) => release[a]! - release[b]! || a - b);
  for (const i of fresh) {
    const cat = catalog.items[i]!.category;
    const entry = releasedInWindow.get(cat) ?? { items: [], at: [] };
    entry.items.push(i);
    entry.at.push(release[i]!);
    releasedInWindow.set(cat, entry);
  }
  return {
    r,
    catalog,
    pools,
    exploreCats,
    exploreW,
    tasteCats,
    tasteW,
    userTasteSet,
    driftAt,
    tasteCats2,
    tasteW2,
    userTasteSet2,
    release,
    releasedInWindow,
  };
}

/** Seasonal demand of each category at t: 1 + A·sin(2π·t/28 d + phase of the category). */
function seasonal(m: ShopModel, cats: readonly Category[], w: readonly number[], t: number): number[] {
  const a = m.r.dynamics.seasonality;
  const x = (2 * Math.PI * (t - m.r.startMs)) / (SEASON_DAYS * DAY_MS);
  return cats.map(
    (c, k) => w[k]! * (1 + a * Math.sin(x + (2 * Math.PI * CATEGORIES.indexOf(c)) / CATEGORIES.length)),
  );
}

function pickCategory(rng: Rng, m: ShopModel, u: number, t: number): Category {
  const drifted = t >= m.driftAt[u]!;
  const cats = drifted ? m.tasteCats2[u]! : m.tasteCats[u]!;
  const w = drifted ? m.tasteW2[u]! : m.tasteW[u]!;
  const season = m.r.dynamics.seasonality > 0;
  if (cats.length > 0 && rng.chance(FUNNEL.tasteFollow))
    return cats[rng.weightedIndex(season ? seasonal(m, cats, w, t) : w)]!;
  return m.exploreCats[rng.weightedIndex(season ? seasonal(m, m.exploreCats, m.exploreW, t) : m.exploreW)]!;
}

/** An item of `cat` that exists at t: a new arrival (novelty share) or a Zipf draw among released items. */
function pickItemAt(rng: Rng, m: ShopModel, cat: Category, t: number): number {
  const pool = m.pools.get(cat)!;
  const { novelty, newItems } = m.r.dynamics;
  if (novelty > 0) {
    const fresh = m.releasedInWindow.get(cat);
    if (fresh) {
      const hi = upperBound(fresh.at, t);
      const lo = upperBound(fresh.at, t - NOVELTY_DAYS * DAY_MS);
      if (hi > lo && rng.chance(novelty)) return fresh.items[lo + rng.int(hi - lo)]!;
    }
  }
  let item = pickItem(rng, pool);
  if (newItems <= 0) return item;
  for (let tries = 0; tries < 8 && m.release[item]! > t; tries++) item = pickItem(rng, pool);
  if (m.release[item]! <= t) return item;
  // every category has an item older than the window (the first of each category is never new)
  for (const i of pool.items) if (m.release[i]! <= t) return i;
  return item;
}

/** First index whose value is > x in an ascending array. */
function upperBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function pickItem(rng: Rng, pool: CategoryPool): number {
  const x = rng.next();
  let lo = 0;
  let hi = pool.cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pool.cdf[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return pool.items[lo]!;
}

// ---------------------------------------------------------------- sessions

interface RawEvent {
  t: number;
  user: number;
  item: number;
  type: EventType;
  weight?: number;
  device: Device;
  referrer: Referrer;
}

function isWeekend(ms: number): boolean {
  const d = new Date(ms).getUTCDay();
  return d === 0 || d === 6;
}

interface SessionIndex {
  /** start time (ms since epoch) per session, in time order */
  starts: Float64Array;
  users: Int32Array;
  /** per-session seed */
  seeds: Uint32Array;
}

function buildSessionIndex(m: ShopModel): SessionIndex {
  const { r } = m;
  const rng = new Rng(r.seed, STREAM_SESSIONS);
  const span = r.endMs - r.startMs;
  const wholeDays = Math.ceil(r.days);
  const startList: number[] = [];
  const userList: number[] = [];
  const season = r.dynamics.seasonality > 0;
  m.catalog.users.forEach((user, u) => {
    // an arriving user's first session is their arrival; after it they visit at the usual rate
    const from = user._arrived ? Date.parse(user.created_at) - r.startMs : 0;
    const count = rng.poisson(
      r.sessionsPerUser * user._activity * (user._arrived ? (span - from) / span : 1),
    );
    if (user._arrived) {
      startList.push(r.startMs + from);
      userList.push(u);
    }
    for (let k = 0; k < count; k++) {
      let offset: number;
      let day: number;
      do {
        day = rng.int(wholeDays);
        const hour = rng.weightedIndex(HOUR_WEIGHTS);
        offset = day * DAY_MS + hour * 3_600_000 + Math.floor(rng.next() * 3_600_000);
      } while (
        offset >= span ||
        offset < from ||
        (season && !isWeekend(r.startMs + day * DAY_MS) && !rng.chance(WEEKDAY_KEEP))
      );
      startList.push(r.startMs + offset);
      userList.push(u);
    }
  });
  const n = startList.length;
  const order = Int32Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => startList[a]! - startList[b]! || a - b,
  );
  const starts = new Float64Array(n);
  const users = new Int32Array(n);
  const seeds = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    starts[k] = startList[i]!;
    users[k] = userList[i]!;
    seeds[k] = hash32(r.seed, SESSION_SALT, i);
  }
  return { starts, users, seeds };
}

/** All events of one session (including ratings days later), unsorted. */
function simulateSession(m: ShopModel, u: number, start: number, seed: number): RawEvent[] {
  const rng = new Rng(seed);
  const user = m.catalog.users[u]!;
  const device: Device = rng.chance(0.8) ? user._device : DEVICES[rng.weightedIndex(DEVICE_WEIGHTS)]!;
  const referrer = REFERRERS[rng.weightedIndex(REFERRER_WEIGHTS)]!;
  const extra = Math.floor(
    Math.log(1 - rng.next()) / Math.log(FUNNEL.extraViewsMean / (1 + FUNNEL.extraViewsMean)),
  );
  const views = Math.min(FUNNEL.maxViews, 1 + extra);
  const out: RawEvent[] = [];
  const emit = (t: number, item: number, type: EventType, weight?: number): void => {
    const e: RawEvent = { t: Math.round(t), user: u, item, type, device, referrer };
    if (weight !== undefined) e.weight = weight;
    out.push(e);
  };
  const sessionCat = pickCategory(rng, m, u, start);
  const seen = new Set<number>();
  const carted: number[] = [];
  let t = start;
  let last = start;
  for (let v = 0; v < views; v++) {
    const cat = rng.chance(FUNNEL.stayInCategory) ? sessionCat : pickCategory(rng, m, u, t);
    let item = pickItemAt(rng, m, cat, t);
    for (let tries = 0; tries < 3 && seen.has(item); tries++) item = pickItemAt(rng, m, cat, t);
    seen.add(item);
    emit(t, item, 'page_view');
    last = t;
    if (rng.chance(FUNNEL.click)) {
      const tc = t + rng.uniform(2_000, 20_000);
      emit(tc, item, 'click');
      last = tc;
      if (rng.chance(FUNNEL.likeGivenClick)) {
        const tl = tc + rng.uniform(3_000, 60_000);
        emit(tl, item, 'like');
        last = Math.max(last, tl);
      }
      if (m.catalog.items[item]!.available && rng.chance(FUNNEL.cartGivenClick)) {
        const ta = tc + rng.uniform(15_000, 180_000);
        emit(ta, item, 'add_to_cart');
        carted.push(item);
        last = Math.max(last, ta);
      }
    }
    t = last + 3_000 + rng.exponential(45_000);
  }
  if (carted.length > 0) {
    let tp = last + rng.uniform(30_000, 300_000); // checkout
    const tasteSet = tp >= m.driftAt[u]! ? m.userTasteSet2[u]! : m.userTasteSet[u]!;
    for (const item of carted) {
      if (!rng.chance(FUNNEL.purchaseGivenCart)) continue;
      emit(tp, item, 'purchase');
      if (rng.chance(FUNNEL.ratingGivenPurchase)) {
        const liked = tasteSet.has(m.catalog.items[item]!.category);
        const value = 1 + rng.weightedIndex(liked ? RATING_TASTE : RATING_OTHER);
        emit(tp + rng.uniform(1, 14) * DAY_MS, item, 'rating', value);
      }
      tp += rng.uniform(500, 3_000);
    }
  }
  return out;
}

/** Min-heap of pending events keyed by (time, push sequence). */
class EventHeap {
  private ev: RawEvent[] = [];
  private seq: number[] = [];
  private counter = 0;

  get size(): number {
    return this.ev.length;
  }

  peekTime(): number {
    return this.ev.length > 0 ? this.ev[0]!.t : Infinity;
  }

  private less(i: number, j: number): boolean {
    const a = this.ev[i]!.t;
    const b = this.ev[j]!.t;
    return a < b || (a === b && this.seq[i]! < this.seq[j]!);
  }

  private swap(i: number, j: number): void {
    const e = this.ev[i]!;
    this.ev[i] = this.ev[j]!;
    this.ev[j] = e;
    const s = this.seq[i]!;
    this.seq[i] = this.seq[j]!;
    this.seq[j] = s;
  }

  push(e: RawEvent): void {
    this.ev.push(e);
    this.seq.push(this.counter++);
    let i = this.ev.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): RawEvent | undefined {
    const n = this.ev.length;
    if (n === 0) return undefined;
    const top = this.ev[0]!;
    this.swap(0, n - 1);
    this.ev.pop();
    this.seq.pop();
    let i = 0;
    const size = n - 1;
    while (true) {
      const l = 2 * i + 1;
      const rr = l + 1;
      let s = i;
      if (l < size && this.less(l, s)) s = l;
      if (rr < size && this.less(rr, s)) s = rr;
      if (s === i) break;
      this.swap(i, s);
      i = s;
    }
    return top;
  }
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(x: number): string {
  return HEX[(x >>> 24) & 255]! + HEX[(x >>> 16) & 255]! + HEX[(x >>> 8) & 255]! + HEX[x & 255]!;
}

/** UUID-v4-shaped id from 128 PRNG bits (deterministic, so replays keep their _id). */
export function uuidFromRng(rng: Rng): string {
  const a = hex32(rng.nextUint32());
  const b = hex32(rng.nextUint32());
  const c = hex32(rng.nextUint32());
  const d = hex32(rng.nextUint32());
  const variant = '89ab'[parseInt(c[0]!, 16) & 3]!;
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

// ---------------------------------------------------------------- malformed

const BAD_TIMESTAMPS = [
  '2024-13-45T25:61:00Z',
  'yesterday',
  '31/01/2024 10:00',
  '',
  'NaN',
  '2024-02-30T10:00:00Z',
];
const UNKNOWN_TYPES = ['wishlist', 'share', 'view', 'PAGE_VIEW', 'refund', 'hover'];
const NOT_JSON = ['<html><body><h1>502 Bad Gateway</h1></body></html>', 'null,', 'undefined', '{{}}'];

function makeMalformed(rng: Rng, idRng: Rng, base: DemoEvent): MalformedMessage {
  const reason = MALFORMED_REASONS[rng.int(MALFORMED_REASONS.length)]!;
  const e: Record<string, unknown> = { ...base, event_id: uuidFromRng(idRng) };
  let raw: string;
  let key: string | null = base.user_id;
  switch (reason) {
    case 'missing_user_id':
      delete e.user_id;
      key = null;
      raw = JSON.stringify(e);
      break;
    case 'bad_timestamp':
      e.timestamp = rng.pick(BAD_TIMESTAMPS);
      raw = JSON.stringify(e);
      break;
    case 'unknown_event_type':
      e.event_type = rng.pick(UNKNOWN_TYPES);
      delete e.weight;
      raw = JSON.stringify(e);
      break;
    case 'negative_weight':
      e.event_type = 'rating';
      e.weight = -(1 + rng.int(5));
      raw = JSON.stringify(e);
      break;
    case 'wrong_type':
      e.item_id = Number(base.item_id.replace(/\D/g, ''));
      raw = JSON.stringify(e);
      break;
    case 'not_json': {
      if (rng.chance(0.3)) {
        raw = rng.pick(NOT_JSON);
      } else if (rng.chance(0.5)) {
        raw = `user_id=${base.user_id}&item_id=${base.item_id}&event_type=${base.event_type}`;
      } else {
        const s = JSON.stringify(e); // truncated object: no proper prefix of an object is valid JSON
        raw = s.slice(0, 1 + rng.int(s.length - 1));
      }
      break;
    }
  }
  return { raw, reason, key, sent_at: base.timestamp };
}

// ---------------------------------------------------------------- streams

/**
 * All messages — valid events and malformed ones — in send (timestamp) order.
 * Lazy: nothing is generated until iterated; break out at any point.
 * Pass a prebuilt catalog (from generateCatalog with the same options) to skip rebuilding it.
 */
export function* iterateMessages(
  opts: GenerateOptions,
  catalog?: Catalog,
): Generator<DemoMessage, void, undefined> {
  const r = resolve(opts);
  const cat = catalog ?? generateCatalog(opts);
  const m = buildModel(r, cat);
  const sessions = buildSessionIndex(m);
  const idRng = new Rng(r.seed, STREAM_IDS);
  const badRng = new Rng(r.seed, STREAM_MALFORMED);
  const badIdRng = new Rng(r.seed, STREAM_MALFORMED_IDS);
  const pBad = r.malformedFraction / (1 - r.malformedFraction); // malformed / all = f
  const heap = new EventHeap();
  const items = cat.items;
  const users = cat.users;
  const n = sessions.starts.length;
  let s = 0;
  while (s < n || heap.size > 0) {
    // events before the next session's start can no longer be preceded by anything
    const horizon = s < n ? sessions.starts[s]! : Infinity;
    while (heap.size > 0 && heap.peekTime() < horizon) {
      const raw = heap.pop()!;
      if (raw.t >= r.endMs) continue; // after the observation window
      const user = users[raw.user]!;
      const event: DemoEvent = {
        event_id: uuidFromRng(idRng),
        user_id: user.user_id,
        item_id: items[raw.item]!.item_id,
        event_type: raw.type,
        timestamp: new Date(raw.t).toISOString(),
      };
      if (raw.weight !== undefined) event.weight = raw.weight;
      event.context = { device: raw.device, referrer: raw.referrer, country: user.country };
      yield { kind: 'event', event };
      if (pBad > 0 && badRng.chance(pBad))
        yield { kind: 'malformed', message: makeMalformed(badRng, badIdRng, event) };
    }
    if (s < n) {
      for (const e of simulateSession(m, sessions.users[s]!, sessions.starts[s]!, sessions.seeds[s]!))
        heap.push(e);
      s++;
    }
  }
}

/** Valid events only, in timestamp order (lazy). */
export function* iterateEvents(
  opts: GenerateOptions,
  catalog?: Catalog,
): Generator<DemoEvent, void, undefined> {
  for (const msg of iterateMessages(opts, catalog)) if (msg.kind === 'event') yield msg.event;
}

/** Everything in memory: catalogue, valid events (time-ordered) and malformed messages. */
export function generateDataset(opts: GenerateOptions): Dataset {
  const catalog = generateCatalog(opts);
  const events: DemoEvent[] = [];
  const malformed: MalformedMessage[] = [];
  for (const msg of iterateMessages(opts, catalog)) {
    if (msg.kind === 'event') events.push(msg.event);
    else malformed.push(msg.message);
  }
  return { ...catalog, events, malformed };
}
