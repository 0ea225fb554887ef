import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@elastic/elasticsearch';
import { createRng } from '../../src/random/rng.ts';
import { Kafka, logLevel } from 'kafkajs';
import { startServer, type AdminOps, type RunningServer } from '../../src/api/app.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { modelLifecycle } from '../../src/model/lifecycle.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { startIngest, type IngestService } from '../../src/ingest/service.ts';
import { LOCAL_ES_URL } from '../../src/infra/clients.ts';
import { setup } from '../../src/setup/index.ts';
import { onClient, pool, testContext } from './harness.ts';
import { startTcpProxy } from './tcp-proxy.ts';
import { waitUntil } from './wait.ts';
import { startOnline } from '../../src/online/service.ts';

// A planted model: known item/user factors and catalogue, deployed with the real deployModel; every
// personalised answer of the API is checked against brute force over the same numbers.

// mode=lsh is tested here, and LSH is off by default ([deploy] lsh)
const ctx = testContext('api', { deploy: { lsh: true } });
const { es, names } = ctx;
const KEY = 'test-admin-key';
const MODEL = 'mapi1';
const K = 16;
const N_ITEMS = 2000;
const N_NEW = 30; // catalogue items the model has no factor for
const N_USERS = 200;
const COLORS = ['red', 'green', 'blue', 'amber', 'violet', 'teal', 'ochre'];

function rng(seed: number) {
  const r = createRng(seed);
  return { uniform: () => r.next(), gauss: () => r.gaussian() };
}

interface Item {
  item_id: string;
  name: string;
  description: string;
  category: string;
  brand: string;
  price: number;
  tags: string[];
  available: boolean;
  popularity: number;
}

function makeItem(id: string, i: number, r: ReturnType<typeof rng>): Item {
  return {
    item_id: id,
    name: `Item ${i} tok${id} ${COLORS[i % 7]}`,
    description: `A ${COLORS[(i * 3) % 7]} thing for everyday use`,
    category: `c${i % 8}`,
    brand: `b${i % 13}`,
    price: ((i * 37) % 500) / 2 + 1,
    tags: [...new Set([`t${i % 10}`, `t${(i * 3 + 1) % 10}`])],
    available: i % 5 !== 0,
    popularity: Math.round(r.uniform() * 10_000) / 10,
  };
}

const r = rng(42);
const itemIds = Array.from({ length: N_ITEMS }, (_, i) => `i${i}`);
const items: Item[] = itemIds.map((id, i) => makeItem(id, i, r));
const newItems: Item[] = Array.from({ length: N_NEW }, (_, j) => makeItem(`n${j}`, j, r));
const catalogue = new Map([...items, ...newItems].map((it) => [it.item_id, it]));
const itemFactors = new Float32Array(N_ITEMS * K);
for (let i = 0; i < N_ITEMS; i++) {
  const scale = 0.5 + r.uniform(); // varied norms: inner product ≠ cosine ranking
  for (let d = 0; d < K; d++) itemFactors[i * K + d] = r.gauss() * scale;
}
const userIds = Array.from({ length: N_USERS }, (_, u) => `u${u}`);
const userFactors = Float32Array.from({ length: N_USERS * K }, () => r.gauss());

function dot(u: number, i: number): number {
  let s = 0;
  for (let d = 0; d < K; d++) s += userFactors[u * K + d]! * itemFactors[i * K + d]!;
  return s;
}
function cosine(a: number, b: number): number {
  let s = 0;
  let na = 0;
  let nb = 0;
  for (let d = 0; d < K; d++) {
    const x = itemFactors[a * K + d]!;
    const y = itemFactors[b * K + d]!;
    s += x * y;
    na += x * x;
    nb += y * y;
  }
  return s / Math.sqrt(na * nb);
}

type Pred = (it: Item) => boolean;
const all: Pred = () => true;

/** Brute-force top k of model items by score, among those passing `ok`. */
function bruteTop(
  score: (i: number) => number,
  k: number,
  ok: (i: number) => boolean,
): Array<{ id: string; score: number }> {
  const rows: Array<{ id: string; score: number }> = [];
  for (let i = 0; i < N_ITEMS; i++) if (ok(i)) rows.push({ id: itemIds[i]!, score: score(i) });
  return rows.sort((a, b) => b.score - a.score).slice(0, k);
}

// recent items: ranks 0, 3 and 7 of each user's true list, so exclusion visibly changes the top 10
const fullRank = userIds.map((_, u) =>
  bruteTop(
    (i) => dot(u, i),
    50,
    () => true,
  ),
);
const recent = new Map(
  userIds.map((id, u) => [id, [fullRank[u]![0]!.id, fullRank[u]![3]!.id, fullRank[u]![7]!.id]]),
);

function userTop(u: number, k: number, pred: Pred = all, excludeSeen = true) {
  const seen = new Set(excludeSeen ? recent.get(userIds[u]!) : []);
  return bruteTop(
    (i) => dot(u, i),
    k,
    (i) => !seen.has(itemIds[i]!) && pred(items[i]!),
  );
}

interface Rec {
  recommendation_id: string;
  model_id: string;
  mode: string;
  source: string;
  score_type: string;
  reason?: string;
  items: Array<{
    item_id: string;
    score: number;
    source: string;
    name?: string;
    category?: string;
    price?: number;
  }>;
}

let server: RunningServer;
let ingest: IngestService;
let trainingRuns = 0;
const activated: string[] = [];

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; field?: string } };
  headers: Headers;
}> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(server.url + path, init);
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

async function recs(path: string): Promise<Rec> {
  const res = await call('GET', path);
  if (res.status !== 200) throw new Error(`${path} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as unknown as Rec;
}

/** Same ids in the same order, except that exact score ties (|Δ| < 1e-4) may swap. */
function expectRanking(got: Rec['items'], want: Array<{ id: string; score: number }>): void {
  expect(got.map((g) => g.item_id).length).toBe(want.length);
  got.forEach((g, i) => {
    if (g.item_id !== want[i]!.id) expect(Math.abs(g.score - want[i]!.score)).toBeLessThan(1e-4);
    expect(g.score).toBeCloseTo(want[i]!.score, 3);
  });
  expect(new Set(got.map((g) => g.item_id))).toEqual(new Set(want.map((w) => w.id)));
}

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const meta = await ctx.repos.metadata.upsertItems(
    [...items, ...newItems].map(({ popularity: _p, ...m }) => m),
    { refresh: true },
  );
  expect(meta.upserted).toBe(N_ITEMS + N_NEW);
  await deployModel(ctx, {
    modelId: MODEL,
    factors: K,
    itemIds,
    itemFactors,
    userIds,
    userFactors,
    recentItems: recent,
    popularity: new Map([...catalogue.values()].map((it) => [it.item_id, it.popularity])),
  });
  ingest = await startIngest(ctx, createRegistry(false), { lagIntervalMs: 1000 });
  const lifecycle = modelLifecycle(ctx);
  const admin: AdminOps = {
    listModels: (n) => lifecycle.list(n),
    getModel: (id) => lifecycle.getPublic(id),
    activate: async (id) => {
      await lifecycle.activate(id);
      activated.push(id);
    },
    // the real training backend behind this route is train-api.test.ts; here only what the route
    // itself adds is checked, so the stub hands back an id that needs URL encoding
    startTraining: async () => ({ run_id: `run ${++trainingRuns}/x` }),
    stageModel: async (id) => ({ model_id: id, status: 'deploying' }),
  };
  server = await startServer({
    ctx,
    registry: createRegistry(false),
    admin,
    port: 0,
    host: '127.0.0.1',
    options: {
      apiKeys: [KEY],
      defaultMode: 'exact',
      servedLog: { lingerMs: 10 },
      healthConsumerGroups: ['ingest', 'recommendations'],
    },
  });
});

afterAll(async () => {
  await server?.close();
  await ingest?.stop();
  await ctx.dispose();
});

describe('user → items against brute force', () => {
  it('exact mode returns the brute-force top-k (ids, order, scores = dot products) for every user', async () => {
    await pool(N_USERS, 8, async (u) => {
      const res = await recs(`/v1/users/${userIds[u]}/recommendations?k=10&mode=exact`);
      expect(res.model_id).toBe(MODEL);
      expect(res.source).toBe('personal');
      expect(res.score_type).toBe('dot');
      expectRanking(res.items, userTop(u, 10));
      for (const it of res.items) expect(it.source).toBe('personal');
    });
  });

  it('POST with a JSON body answers like GET; response carries display fields', async () => {
    const post = await call('POST', `/v1/users/u5/recommendations`, { k: 20, mode: 'exact' });
    expect(post.status).toBe(200);
    const rec = post.body as unknown as Rec;
    expectRanking(rec.items, userTop(5, 20));
    const first = rec.items[0]!;
    const planted = catalogue.get(first.item_id)!;
    expect(first).toMatchObject({ name: planted.name, category: planted.category, price: planted.price });
  });

  it('seen items are absent by default and come back with exclude_seen=false', async () => {
    for (let u = 0; u < 20; u++) {
      const res = await recs(`/v1/users/${userIds[u]}/recommendations?k=10&mode=exact`);
      const ids = new Set(res.items.map((i) => i.item_id));
      for (const seen of recent.get(userIds[u]!)!) expect(ids.has(seen)).toBe(false);
    }
    const withSeen = await recs(`/v1/users/u0/recommendations?k=10&mode=exact&exclude_seen=false`);
    expectRanking(withSeen.items, userTop(0, 10, all, false));
    expect(withSeen.items[0]!.item_id).toBe(recent.get('u0')![0]);
  });

  it('explicit exclude leaves those ids out', async () => {
    const top = userTop(3, 3);
    const res = await recs(
      `/v1/users/u3/recommendations?k=10&mode=exact&exclude=${top[0]!.id}&exclude=${top[2]!.id}`,
    );
    const excluded = new Set([top[0]!.id, top[2]!.id]);
    expectRanking(
      res.items,
      userTop(3, 10, (it) => !excluded.has(it.item_id)),
    );
  });

  it.each([
    ['category', '&category=c3', (it: Item) => it.category === 'c3'],
    [
      'categories (any-of)',
      '&category=c3&category=c5',
      (it: Item) => it.category === 'c3' || it.category === 'c5',
    ],
    ['price range', '&price_min=20&price_max=60.5', (it: Item) => it.price >= 20 && it.price <= 60.5],
    ['tags (any-of)', '&tags=t1&tags=t4', (it: Item) => it.tags.includes('t1') || it.tags.includes('t4')],
    ['available=false', '&available=false', (it: Item) => !it.available],
    [
      'brand + category + price',
      '&brand=b2&category=c1&price_max=200',
      (it: Item) => it.brand === 'b2' && it.category === 'c1' && it.price <= 200,
    ],
  ])('filter %s is honoured and equals brute force', async (_label, qs, pred) => {
    for (let u = 0; u < 15; u++) {
      const res = await recs(`/v1/users/${userIds[u]}/recommendations?k=10&mode=exact${qs}`);
      const want = userTop(u, 10, pred);
      if (want.length === 10) expectRanking(res.items, want);
      for (const it of res.items) expect(pred(catalogue.get(it.item_id)!)).toBe(true);
    }
  });

  it("q: only text matches, fused by rank with the user's own ranking (score_type rrf)", async () => {
    const u = 11;
    const list = userTop(u, 60);
    const target = list[40]!.id; // well outside the top 10 by vector alone
    const withQ = await recs(`/v1/users/u${u}/recommendations?k=10&mode=exact&q=tok${target}`);
    expect(withQ.score_type).toBe('rrf');
    // the token matches one item: that item alone, not padded with items that do not match
    expect(withQ.items.map((i) => i.item_id)).toEqual([target]);
    expect(withQ.items[0]!.score).toBeCloseTo(2 / 61, 12); // rank 1 in both lists, k = 60
    // a word many items match: every item matches it, and the fused order is RRF of the user's
    // own order among the matches and the BM25 order (checked against brute force on ranks)
    const word = COLORS[3]!;
    const matches = (id: string) =>
      `${catalogue.get(id)!.name} ${catalogue.get(id)!.description}`.split(/\W+/).includes(word);
    const broad = await recs(`/v1/users/u${u}/recommendations?k=10&mode=exact&q=${word}`);
    expect(broad.items).toHaveLength(10);
    for (const it of broad.items) expect(matches(it.item_id)).toBe(true);
    const knnRank = new Map(userTop(u, N_ITEMS, (it) => matches(it.item_id)).map((l, i) => [l.id, i + 1]));
    for (const it of broad.items) expect(it.score).toBeGreaterThan(1 / (60 + knnRank.get(it.item_id)!));
    const fused = broad.items.map((it) => it.score);
    for (let i = 1; i < fused.length; i++) expect(fused[i]).toBeLessThanOrEqual(fused[i - 1]!);
    // q with a filter that excludes the matching item: nothing, rather than items that do not match
    const cat = catalogue.get(target)!.category;
    const other = cat === 'c0' ? 'c1' : 'c0';
    const filtered = await recs(
      `/v1/users/u${u}/recommendations?k=10&mode=exact&q=tok${target}&category=${other}`,
    );
    expect(filtered.items).toEqual([]);
  });

  it('ann and lsh recall@10 against exact, averaged over all users, stay above their floors', async () => {
    const recall: Record<string, number> = { ann: 0, lsh: 0 };
    await pool(N_USERS, 8, async (u) => {
      const exact = new Set(
        (await recs(`/v1/users/${userIds[u]}/recommendations?k=10&mode=exact`)).items.map((i) => i.item_id),
      );
      for (const mode of ['ann', 'lsh'] as const) {
        const res = await recs(`/v1/users/${userIds[u]}/recommendations?k=10&mode=${mode}`);
        expect(res.mode).toBe(mode);
        const personal = res.items.filter((i) => i.source === 'personal');
        recall[mode]! += personal.filter((i) => exact.has(i.item_id)).length / 10;
        // whatever ann / lsh return is scored exactly: score = true dot product
        for (const it of personal) expect(it.score).toBeCloseTo(dot(u, Number(it.item_id.slice(1))), 3);
      }
    });
    const ann = recall['ann']! / N_USERS;
    const lsh = recall['lsh']! / N_USERS;
    console.log(`recall@10 vs exact over ${N_USERS} users: ann ${ann.toFixed(3)}, lsh ${lsh.toFixed(3)}`);
    // Measured on this planted model: ann 1.000, lsh 0.959. HNSW with num_candidates = 100 over 2,000
    // items is essentially exact, so 0.95 only allows for graph-construction variance. LSH is fully
    // deterministic here (seeded hyperplanes, exact scoring of the candidates) and deploy tunes (L, b)
    // for a candidate-set recall of 0.9 on a sample; 0.85 leaves room for the sample-to-catalogue gap.
    expect(ann).toBeGreaterThanOrEqual(0.95);
    expect(lsh).toBeGreaterThanOrEqual(0.85);
  });
});

describe('cold start and backfill', () => {
  const popularTop = (k: number, pred: Pred = all) =>
    [...catalogue.values()]
      .filter(pred)
      .sort((a, b) => b.popularity - a.popularity || (a.item_id < b.item_id ? -1 : 1))
      .slice(0, k)
      .map((it) => it.item_id);

  it('an unknown user gets the popular items (with the same filters), source popular', async () => {
    const res = await recs(`/v1/users/nobody-${Date.now()}/recommendations?k=15`);
    expect(res.source).toBe('popular');
    expect(res.reason).toBe('unknown_user');
    expect(res.score_type).toBe('popularity');
    expect(res.items.map((i) => i.item_id)).toEqual(popularTop(15));
    for (const it of res.items) expect(it.source).toBe('popular');
    const filtered = await recs(`/v1/users/nobody/recommendations?k=15&category=c2&available=true`);
    expect(filtered.items.map((i) => i.item_id)).toEqual(
      popularTop(15, (it) => it.category === 'c2' && it.available),
    );
  });

  it('k larger than the filtered catalogue: all personal items, then popular ones (incl. new items), no error, source mixed', async () => {
    const pred: Pred = (it) => it.category === 'c1' && it.price <= 40;
    const seen = new Set(recent.get('u9'));
    const eligible = [...catalogue.values()].filter((it) => pred(it) && !seen.has(it.item_id));
    const withFactor = userTop(9, 500, pred);
    expect(eligible.length).toBeLessThan(100);
    expect(eligible.length).toBeGreaterThan(withFactor.length); // some new items qualify
    const res = await recs(`/v1/users/u9/recommendations?k=100&mode=exact&category=c1&price_max=40`);
    expect(res.source).toBe('mixed');
    expect(res.items).toHaveLength(eligible.length);
    expect(new Set(res.items.map((i) => i.item_id))).toEqual(new Set(eligible.map((i) => i.item_id)));
    const personal = res.items.filter((i) => i.source === 'personal');
    expectRanking(personal, withFactor);
    expect(res.items.slice(0, personal.length).every((i) => i.source === 'personal')).toBe(true);
    const backfill = res.items.slice(personal.length).map((i) => i.item_id);
    const remaining = new Set(
      eligible.map((i) => i.item_id).filter((id) => !withFactor.some((w) => w.id === id)),
    );
    expect(backfill).toEqual(popularTop(500, (it) => remaining.has(it.item_id)));
  });
});

describe('item → similar items', () => {
  it('exact similar = brute-force cosine, without the item itself', async () => {
    for (const i of [0, 17, 345, 1999]) {
      const res = await recs(`/v1/items/i${i}/similar?k=10&mode=exact`);
      expect(res.score_type).toBe('cosine');
      const want = bruteTop(
        (j) => cosine(i, j),
        10,
        (j) => j !== i,
      );
      expectRanking(res.items, want);
    }
    const filtered = await recs(`/v1/items/i17/similar?k=10&mode=exact&category=c4`);
    expectRanking(
      filtered.items,
      bruteTop(
        (j) => cosine(17, j),
        10,
        (j) => j !== 17 && items[j]!.category === 'c4',
      ),
    );
  });

  it('ann and lsh similar items overlap the exact ones', async () => {
    let ann = 0;
    let lsh = 0;
    const seeds = Array.from({ length: 30 }, (_, s) => s * 61);
    for (const i of seeds) {
      const exact = new Set(
        (await recs(`/v1/items/i${i}/similar?k=10&mode=exact`)).items.map((x) => x.item_id),
      );
      ann +=
        (await recs(`/v1/items/i${i}/similar?k=10&mode=ann`)).items.filter((x) => exact.has(x.item_id))
          .length / 10;
      lsh +=
        (await recs(`/v1/items/i${i}/similar?k=10&mode=lsh`)).items.filter(
          (x) => exact.has(x.item_id) && x.source === 'personal',
        ).length / 10;
    }
    console.log(
      `item→item recall@10 over ${seeds.length} items: ann ${(ann / seeds.length).toFixed(3)}, lsh ${(lsh / seeds.length).toFixed(3)}`,
    );
    // measured: ann 1.000, lsh 0.927 (cosine tables tuned for 0.9 like the MIPS ones)
    expect(ann / seeds.length).toBeGreaterThanOrEqual(0.95);
    expect(lsh / seeds.length).toBeGreaterThanOrEqual(0.85);
  });

  it('unknown item → 404; an item without a factor → popular items of its category, flagged', async () => {
    const missing = await call('GET', '/v1/items/no-such-item/similar');
    expect(missing.status).toBe(404);
    expect(missing.body.error?.code).toBe('item_not_found');
    const res = await recs('/v1/items/n3/similar?k=5');
    expect(res.source).toBe('popular');
    expect(res.reason).toBe('item_has_no_factor');
    const cat = catalogue.get('n3')!.category;
    for (const it of res.items) expect(it.category).toBe(cat);
    expect(res.items.map((i) => i.item_id)).not.toContain('n3');
  });
});

describe('bad requests', () => {
  const auth = { 'x-api-key': KEY };
  const cases: Array<
    [string, () => Promise<Awaited<ReturnType<typeof call>>>, number, string, string | undefined]
  > = [
    ['k too large', () => call('GET', '/v1/users/u1/recommendations?k=10000'), 400, 'invalid_parameter', 'k'],
    ['k zero', () => call('GET', '/v1/users/u1/recommendations?k=0'), 400, 'invalid_parameter', 'k'],
    [
      'unknown mode',
      () => call('GET', '/v1/users/u1/recommendations?mode=fast'),
      400,
      'invalid_parameter',
      'mode',
    ],
    [
      'unknown parameter',
      () => call('GET', '/v1/users/u1/recommendations?colour=red'),
      400,
      'unknown_parameter',
      'colour',
    ],
    [
      'raw DSL attempt',
      () => call('POST', '/v1/users/u1/recommendations', { query: { match_all: {} } }),
      400,
      'unknown_parameter',
      'query',
    ],
    [
      'filter on a non-whitelisted field',
      () => call('GET', '/v1/users/u1/recommendations?description=x'),
      400,
      'filter_not_allowed',
      'description',
    ],
    [
      'bad JSON',
      () => call('POST', '/v1/users/u1/recommendations', '{"k": 5,'),
      400,
      'invalid_json',
      undefined,
    ],
    [
      'wrong type in body',
      () => call('POST', '/v1/users/u1/recommendations', { k: '5' }),
      400,
      'invalid_parameter',
      'k',
    ],
    [
      'wrong type in query',
      () => call('GET', '/v1/users/u1/recommendations?price_min=cheap'),
      400,
      'invalid_parameter',
      'price_min',
    ],
    [
      'inverted range',
      () => call('GET', '/v1/users/u1/recommendations?price_min=9&price_max=1'),
      400,
      'invalid_parameter',
      'price_min',
    ],
    ['missing API key', () => call('POST', '/v1/events', [{}]), 401, 'unauthorized', undefined],
    [
      'wrong API key',
      () => call('POST', '/v1/events', [{}], { 'x-api-key': 'nope' }),
      403,
      'forbidden',
      undefined,
    ],
    ['unknown item', () => call('GET', '/v1/items/zzz/similar'), 404, 'item_not_found', undefined],
    [
      'activate unknown model',
      () => call('POST', '/v1/models/nope/activate', undefined, auth),
      404,
      'model_not_found',
      undefined,
    ],
    [
      'events batch > 1000',
      () =>
        call(
          'POST',
          '/v1/events',
          Array.from({ length: 1001 }, () => ({
            user_id: 'u',
            item_id: 'i',
            event_type: 'click',
            timestamp: 1,
          })),
          auth,
        ),
      400,
      'batch_too_large',
      'events',
    ],
    [
      'body over the limit',
      () => call('POST', '/v1/events', [{ user_id: 'x'.repeat(2_000_000) }], auth),
      413,
      'payload_too_large',
      undefined,
    ],
    ['empty batch', () => call('POST', '/v1/events', [], auth), 400, 'empty_batch', 'events'],
    ['unknown route', () => call('GET', '/v2/nothing'), 404, 'route_not_found', undefined],
    [
      'invalid item metadata',
      () => call('PUT', '/v1/items', [{ item_id: 'x', price: -1 }], auth),
      400,
      'invalid_items',
      'items[0].price',
    ],
    [
      'reserved metadata field',
      () => call('PUT', '/v1/items', [{ item_id: 'x', has_factor: true }], auth),
      400,
      'invalid_items',
      'items[0].has_factor',
    ],
    [
      'user metadata without id',
      () => call('PUT', '/v1/users', [{ country: 'DE' }], auth),
      400,
      'invalid_users',
      'users[0].user_id',
    ],
    [
      'query params on POST',
      () => call('POST', '/v1/users/u1/recommendations?k=5', {}),
      400,
      'unknown_parameter',
      'k',
    ],
    [
      'malformed percent-encoding in the path',
      () => call('GET', '/v1/users/%E0%A4%A/recommendations'),
      400,
      'invalid_request',
      undefined,
    ],
    [
      'user id too long',
      () => call('GET', `/v1/users/${'u'.repeat(300)}/recommendations`),
      400,
      'invalid_request',
      'user_id',
    ],
    [
      'non-JSON content type',
      () =>
        call('POST', '/v1/events', 'user_id=u', {
          ...auth,
          'content-type': 'application/x-www-form-urlencoded',
        }),
      415,
      'unsupported_media_type',
      undefined,
    ],
  ];
  it.each(cases)('%s', async (_label, run, status, code, field) => {
    const res = await run();
    expect(res.status).toBe(status);
    expect(res.body.error?.code).toBe(code);
    expect(typeof res.body.error?.message).toBe('string');
    if (field) expect(res.body.error?.field).toBe(field);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
  });

  it('filter values are data, never query syntax', async () => {
    const res = await call(
      'GET',
      '/v1/users/u1/recommendations?category=' + encodeURIComponent('"}}] OR *:*'),
    );
    expect(res.status).toBe(200);
    expect(res.body['source']).toBe('personal');
    expect(res.body['items']).toEqual([]);
  });
});

describe('served lists and events through Kafka', () => {
  it('every served list lands in recommendations-*, and a click carrying its recommendation_id is attributed', async () => {
    const rid = `req-${Date.now()}`;
    const res = await call('GET', '/v1/users/u42/recommendations?k=5&category=c2', undefined, {
      'x-request-id': rid,
    });
    expect(res.headers.get('x-request-id')).toBe(rid);
    const rec = res.body as unknown as Rec;
    type Stored = {
      kind: string;
      model_id: string;
      position?: number | null;
      in_list?: boolean;
      position_pending?: boolean;
      request_id?: string;
      items?: string[];
      endpoint?: string;
      filters?: Record<string, unknown>;
      count?: number;
      event_type?: string;
      item_id?: string;
    };
    const find = async (query: object) => {
      await es.indices.refresh({
        index: names.recommendationsPattern,
        ignore_unavailable: true,
        allow_no_indices: true,
      });
      const r = await es.search<Stored>({
        index: names.recommendationsPattern,
        ignore_unavailable: true,
        allow_no_indices: true,
        query,
      });
      return r.hits.hits.map((h) => h._source!);
    };
    await waitUntil(
      'served list stored',
      async () =>
        (
          await find({
            bool: {
              filter: [{ term: { recommendation_id: rec.recommendation_id } }, { term: { kind: 'served' } }],
            },
          })
        ).length === 1,
      60_000,
    );
    const [served] = await find({
      bool: {
        filter: [{ term: { recommendation_id: rec.recommendation_id } }, { term: { kind: 'served' } }],
      },
    });
    expect(served).toMatchObject({
      model_id: MODEL,
      request_id: rid,
      endpoint: 'user_recommendations',
      items: rec.items.map((i) => i.item_id),
      count: 5,
      filters: { category: ['c2'] },
    });

    const clicked = rec.items[1]!.item_id;
    const posted = await call(
      'POST',
      '/v1/events',
      {
        user_id: 'u42',
        item_id: clicked,
        event_type: 'click',
        timestamp: new Date().toISOString(),
        recommendation_id: rec.recommendation_id,
      },
      { 'x-api-key': KEY },
    );
    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({ accepted: 1, errors: [] });
    await waitUntil(
      'click attributed',
      async () =>
        (
          await find({
            bool: {
              filter: [{ term: { recommendation_id: rec.recommendation_id } }, { term: { kind: 'click' } }],
            },
          })
        ).length === 1,
      60_000,
    );
    const [click] = await find({
      bool: { filter: [{ term: { recommendation_id: rec.recommendation_id } }, { term: { kind: 'click' } }] },
    });
    expect(click).toMatchObject({
      model_id: MODEL,
      item_id: clicked,
      event_type: 'click',
      position: 2,
      in_list: true,
      position_pending: false,
    });

    // the clicked item now counts as seen for u42: the fold-in stream puts it on u42's user document
    const online = await startOnline(ctx, createRegistry(false), { fromBeginning: true });
    try {
      await waitUntil(
        `${clicked} is excluded as seen`,
        async () =>
          !(await recs('/v1/users/u42/recommendations?k=5&category=c2')).items.some(
            (i) => i.item_id === clicked,
          ),
        60_000,
      );
    } finally {
      await online.stop();
    }
  });

  it('POST /v1/events with some invalid events: 202, errors by index, the valid ones stored', async () => {
    const now = Date.now();
    const batch = [
      { event_id: `ev-${now}-0`, user_id: 'w1', item_id: 'i1', event_type: 'purchase', timestamp: now },
      { user_id: 'w1', item_id: 'i2', event_type: 'teleport', timestamp: now },
      {
        event_id: `ev-${now}-2`,
        user_id: 'w2',
        item_id: 'i3',
        event_type: 'like',
        timestamp: new Date(now).toISOString(),
      },
      { user_id: 'w2', event_type: 'click', timestamp: now },
      { user_id: 'w3', item_id: 'i4', event_type: 'add_to_cart', timestamp: now },
    ];
    const res = await call('POST', '/v1/events', batch, { 'x-api-key': KEY });
    expect(res.status).toBe(202);
    expect(res.body['accepted']).toBe(3);
    const ids = res.body['ids'] as string[];
    expect(ids.slice(0, 2)).toEqual([`ev-${now}-0`, `ev-${now}-2`]);
    expect(ids[2]).toMatch(/^h-[0-9a-f]{40}$/); // assigned: a hash of the event, so a retry keeps it
    expect(res.body['errors']).toEqual([
      { index: 1, field: 'event_type', message: expect.any(String) },
      { index: 3, field: 'item_id', message: 'is required' },
    ]);
    await waitUntil('3 events stored', async () => {
      await es.indices.refresh({
        index: names.eventsPattern,
        ignore_unavailable: true,
        allow_no_indices: true,
      });
      return (await es.count({ index: names.eventsPattern, query: { ids: { values: ids } } })).count === 3;
    });

    const allBad = await call('POST', '/v1/events', [{ user_id: 'w1' }, { event_type: 'click' }], {
      'x-api-key': KEY,
    });
    expect(allBad.status).toBe(400);
    expect(allBad.body).toMatchObject({ accepted: 0, ids: [], error: { code: 'invalid_events' } });
    expect((allBad.body['errors'] as unknown[]).length).toBe(2);
  });
});

describe('metadata upserts', () => {
  it('PUT /v1/items updates the catalogue and the live index; new items join the live index without a vector', async () => {
    const res = await call(
      'PUT',
      '/v1/items',
      [
        { item_id: 'i7', price: 999.5, color: 'blue' },
        { item_id: 'fresh-1', name: 'Fresh thing', category: 'c7', price: 3, available: true, tags: ['t1'] },
      ],
      { 'x-api-key': KEY },
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      documents: 2,
      upserted: 2,
      live: { modelId: MODEL, updated: 1, created: 1 },
    });
    await es.indices.refresh({ index: `${names.itemMetadata},${names.itemsAlias}` });
    const meta = (await es.get<Record<string, unknown>>({ index: names.itemMetadata, id: 'i7' }))._source!;
    expect(meta).toMatchObject({ price: 999.5, color: 'blue', name: catalogue.get('i7')!.name });
    const liveDoc = (await es.get<Record<string, unknown>>({ index: names.itemsAlias, id: 'i7' }))._source!;
    expect(liveDoc).toMatchObject({ price: 999.5, color: 'blue', has_factor: true });
    expect((liveDoc['factor_exact'] as number[]).length).toBe(K); // vector kept
    const fresh = (await es.get<Record<string, unknown>>({ index: names.itemsAlias, id: 'fresh-1' }))
      ._source!;
    expect(fresh).toMatchObject({ has_factor: false, model_id: MODEL, category: 'c7' });
    // the updated price is what filters see now
    const res2 = await recs('/v1/users/u1/recommendations?k=10&mode=exact&price_min=900');
    expect(res2.items.map((i) => i.item_id)).toEqual(['i7'].filter((id) => !recent.get('u1')!.includes(id)));

    const users = await call(
      'PUT',
      '/v1/users',
      { user_id: 'u1', country: 'DE', segment: 'gold' },
      { 'x-api-key': KEY },
    );
    expect(users.status).toBe(200);
    expect(users.body).toMatchObject({ upserted: 1, live: null });
  });

  it('an undeclared attribute is kept in _source but not mapped, so its type is free; a declared field keeps its type → 400', async () => {
    const res = await call('PUT', '/v1/items', [{ item_id: 'i8', size_cm: 12 }], { 'x-api-key': KEY });
    expect(res.status).toBe(200);
    const other = await call('PUT', '/v1/items', [{ item_id: 'i9', size_cm: 'large' }], { 'x-api-key': KEY });
    expect(other.status).toBe(200);
    const mapping = await es.indices.getMapping({
      index: `${names.itemMetadata},${names.itemsIndex(MODEL)}`,
    });
    for (const m of Object.values(mapping)) expect(m.mappings.properties?.['size_cm']).toBeUndefined();
    const bad = await call('PUT', '/v1/items', [{ item_id: 'i9', price: 'cheap' }], { 'x-api-key': KEY });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.field).toBe('items[0].price');
  });
});

describe('dependencies down', () => {
  it('Elasticsearch unreachable → 503 without its message; Kafka unreachable → /health 503 and lost served lists counted, requests still 200', async () => {
    const proxy = await startTcpProxy({
      host: '127.0.0.1',
      port: Number(new URL(ctx.config.es.url ?? LOCAL_ES_URL).port || 9200),
    });
    const cutEs = new Client({
      node: `http://127.0.0.1:${proxy.port}`,
      requestTimeout: 3_000,
      maxRetries: 0,
    });
    const deadKafka = new Kafka({
      brokers: ['127.0.0.1:9'],
      clientId: 'api-test',
      retry: { retries: 1, initialRetryTime: 100 },
      logLevel: logLevel.NOTHING,
      connectionTimeout: 500,
    });
    const registry = createRegistry(false);
    const noop: AdminOps = {
      listModels: async () => [],
      getModel: async () => undefined,
      activate: async () => undefined,
      startTraining: async () => ({ run_id: 'x' }),
      stageModel: async (id) => ({ model_id: id, status: 'deploying' }),
    };
    const a = await startServer({
      ctx: onClient(ctx, cutEs),
      registry,
      admin: noop,
      port: 0,
      host: '127.0.0.1',
      // the 503 is what this test is about (the degraded answer: deadlines.test.ts)
      options: { apiKeys: [KEY], defaultMode: 'exact', healthTimeoutMs: 1000, degradedAnswers: false },
    });
    const b = await startServer({
      ctx: { ...ctx, kafka: deadKafka },
      registry: createRegistry(false),
      admin: noop,
      port: 0,
      host: '127.0.0.1',
      options: { apiKeys: [KEY], defaultMode: 'exact', healthTimeoutMs: 1000 },
    });
    try {
      expect((await fetch(`${a.url}/v1/users/u1/recommendations`)).status).toBe(200);
      proxy.cut();
      a.app.live.invalidate();
      const down = await fetch(`${a.url}/v1/users/u1/recommendations`);
      expect(down.status).toBe(503);
      const body = (await down.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('search_unavailable');
      expect(body.error.message).not.toMatch(/ECONNRESET|ECONNREFUSED|socket|127\.0\.0\.1/i);
      expect((await fetch(`${a.url}/health`)).status).toBe(503);
      proxy.restore();

      const health = await fetch(`${b.url}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({
        status: 'down',
        elasticsearch: { ok: true },
        kafka: { ok: false },
      });
      const served = await fetch(`${b.url}/v1/users/u1/recommendations?k=3`);
      expect(served.status).toBe(200);
      await waitUntil('served-list failure counted', async () => b.app.servedLog.failed >= 1, 30_000);
      const events = await fetch(`${b.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': KEY },
        body: JSON.stringify({ user_id: 'u', item_id: 'i', event_type: 'click', timestamp: Date.now() }),
      });
      expect(events.status).toBe(503);
      // sends that failed open the broker's breaker: then nothing is sent at all, and the 503 says so
      let last: { status: number; body: { error: { message: string }; ids: string[] } } | undefined;
      for (let i = 0; i < 10 && !last?.body.error.message.includes('nothing was sent'); i++) {
        const r = await fetch(`${b.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': KEY },
          body: JSON.stringify({
            user_id: 'u',
            item_id: 'i',
            event_type: 'click',
            timestamp: 1_700_000_000_000,
          }),
        });
        last = { status: r.status, body: (await r.json()) as never };
      }
      expect(last!.status).toBe(503);
      expect(last!.body.error.message).toMatch(/nothing was sent/);
      expect(last!.body.ids).toHaveLength(1);
    } finally {
      await a.close();
      await b.close();
      await cutEs.close();
      await proxy.close();
    }
  });
});

describe('admin, health, metrics, OpenAPI', () => {
  const auth = { 'x-api-key': KEY };

  it('lists models, activates a deployed one, refuses failed/undeployed ones, starts and reads training runs', async () => {
    const list = await call('GET', '/v1/models', undefined, auth);
    expect(list.status).toBe(200);
    expect(list.body['live_model_id']).toBe(MODEL);
    const models = list.body['models'] as Array<Record<string, unknown>>;
    expect(models.map((m) => m['model_id'])).toContain(MODEL);
    expect(models[0]!['lsh']).toBeUndefined();

    await es.index({
      index: names.models,
      id: 'mfailed',
      document: { model_id: 'mfailed', status: 'failed', created_at: new Date().toISOString() },
      refresh: true,
    });
    await es.index({
      index: names.models,
      id: 'mcand',
      document: { model_id: 'mcand', status: 'candidate', created_at: new Date().toISOString() },
      refresh: true,
    });
    expect((await call('POST', '/v1/models/mfailed/activate', undefined, auth)).status).toBe(409);
    const undeployed = await call('POST', '/v1/models/mcand/activate', undefined, auth);
    expect(undeployed.status).toBe(409);
    expect(undeployed.body.error?.code).toBe('model_not_deployed');
    const ok = await call('POST', `/v1/models/${MODEL}/activate`, undefined, auth);
    expect(ok.status).toBe(200);
    expect(activated).toEqual([MODEL]);

    // a refused body never reaches the backend; an accepted one gets its status URL, encoded
    expect((await call('POST', '/v1/train', { epochs: 3 }, auth)).body.error?.field).toBe('epochs');
    expect((await call('POST', '/v1/train', undefined)).status).toBe(401);
    expect(trainingRuns).toBe(0);
    const started = await call('POST', '/v1/train', undefined, auth);
    expect(started.status).toBe(202);
    expect(trainingRuns).toBe(1);
    expect(started.body['status_url']).toBe('/v1/train/run%201%2Fx');
    const run = await call('GET', `/v1/train/${MODEL}`, undefined, auth);
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ model_id: MODEL, status: 'live' });
    expect((await call('GET', '/v1/train/nope', undefined, auth)).status).toBe(404);
  });

  it('health reports ES, Kafka and the live model with its age', async () => {
    const res = await call('GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      elasticsearch: { ok: true },
      kafka: { ok: true },
      model: { ok: true, model_id: MODEL },
    });
    // the age is counted from when the model went live, as its registry document records it
    const model = res.body['model'] as { age_seconds: number; live_at: string };
    expect(model.live_at).toBe((await ctx.repos.models.get(MODEL))?.live_at);
    const sinceLive = (Date.now() - Date.parse(model.live_at)) / 1000;
    expect(Math.abs(model.age_seconds - sinceLive)).toBeLessThanOrEqual(2);
  });

  it('metrics expose latency by endpoint/mode/status and request counts', async () => {
    // the requests the metrics are about: one answered, one refused
    expect((await call('GET', '/v1/users/u1/recommendations?k=3&mode=exact')).status).toBe(200);
    expect((await call('GET', '/v1/users/u1/recommendations?k=0')).status).toBe(400);
    const res = await fetch(`${server.url}/metrics`);
    const text = await res.text();
    expect(text).toMatch(
      /recsys_api_request_duration_seconds_bucket\{[^}]*endpoint="user_recommendations"[^}]*mode="exact"[^}]*status="200"/,
    );
    expect(text).toMatch(/recsys_api_requests_total\{endpoint="user_recommendations",status="400"\} \d+/);
    expect(text).toMatch(/recsys_api_served_log_failures_total 0/);
  });

  it('serves an OpenAPI document built from the validation schemas', async () => {
    const res = await call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body['openapi']).toBe('3.1.0');
    const paths = res.body['paths'] as Record<
      string,
      Record<string, { parameters?: Array<{ name: string; schema: Record<string, unknown> }> }>
    >;
    expect(Object.keys(paths)).toEqual(
      expect.arrayContaining([
        '/v1/users/{user_id}/recommendations',
        '/v1/items/{item_id}/similar',
        '/v1/events',
        '/v1/items',
        '/v1/users',
        '/v1/models',
        '/v1/train',
        '/health',
        '/metrics',
      ]),
    );
    const params = paths['/v1/users/{user_id}/recommendations']!['get']!.parameters!;
    expect(params.find((p) => p.name === 'k')!.schema).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 500,
    });
    expect(params.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'mode',
        'q',
        'exclude_seen',
        'category',
        'tags',
        'available',
        'price_min',
        'price_max',
      ]),
    );
  });
});
