// Norm-pruned exact search on real Elasticsearch: deploy indexes every factor's length, the API's
// resolver loads the probe of the longest items (with the doc values of the filter fields), and an
// exact request, filtered or not, then searches only the items long enough to reach the top k,
// with the same answer as brute force over all, also when the probe's copy of the items'
// attributes has gone stale.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { estypes } from '@elastic/elasticsearch';
import { startServer } from '../../src/api/app.ts';
import { deployModel } from '../../src/deploy/index.ts';
import type { Counter } from 'prom-client';
import { createRegistry } from '../../src/infra/metrics.ts';
import { LiveModelResolver } from '../../src/model/live-model.ts';
import { minTopKNorm } from '../../src/model/norm-probe.ts';
import { setup } from '../../src/setup/index.ts';
import { testContext } from './harness.ts';
import { plantedModel } from './planted.ts';

const ctx = testContext('normprune');
const { es, names } = ctx;
const K = 8;
const N_ITEMS = 2000;
const N_USERS = 40;
const MODEL = 'mprune';
const input = plantedModel(MODEL, 11, {
  factors: K,
  items: N_ITEMS,
  users: N_USERS,
  normSpread: 0.8,
  extras: true,
});
let server: Awaited<ReturnType<typeof startServer>>;
const registry = createRegistry(false);
const bodies: Array<Omit<estypes.SearchRequest, 'index'>> = [];
/** the items' attributes as the catalogue has them now (a test may move items to another category) */
const category = input.itemIds.map((_, i) => `c${i % 4}`);
const price = (i: number) => i % 100;
const available = (i: number) => i % 3 !== 0;

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const ops = Array.from({ length: N_ITEMS }, (_, i) => [
    { index: { _index: names.itemMetadata, _id: `i${i}` } },
    { item_id: `i${i}`, name: `Item ${i}`, category: category[i], price: price(i), available: available(i) },
  ]).flat();
  await es.bulk({ operations: ops, refresh: true });
  // ann with a graph beside the bound (a catalogue this small would otherwise get none: ../../src/deploy/mips-graph.ts)
  await deployModel(ctx, input, { mipsAnn: true });
  // observe (not replace) the request path's item searches, to see the bound reach Elasticsearch
  const search = ctx.repos.items.search.bind(ctx.repos.items);
  ctx.repos.items.search = (index, body) => {
    bodies.push(body);
    return search(index, body);
  };
  server = await startServer({
    ctx,
    registry,
    port: 0,
    host: '127.0.0.1',
    options: { apiKeys: ['k'], defaultMode: 'exact', liveModelCacheMs: 600_000 },
  });
}, 300_000);

afterAll(async () => {
  await server?.close();
  await ctx.dispose();
});

const row = (m: Float32Array, r: number) => Array.from(m.subarray(r * K, (r + 1) * K));
const dot = (a: number[], b: number[]) => a.reduce((s, x, d) => s + x * b[d]!, 0);

interface Wanted {
  category?: string;
  available?: boolean;
  priceMax?: number;
}

/** Brute force over the catalogue's matches, u's recent item excluded (as exclude_seen does). */
function truth(u: number, want: Wanted = {}): string[] {
  const q = row(input.userFactors, u);
  return input.itemIds
    .map((id, i) => ({ id, s: dot(q, row(input.itemFactors, i)), i }))
    .filter(
      (x) =>
        x.id !== `i${u}` &&
        (want.category === undefined || category[x.i] === want.category) &&
        (want.available === undefined || available(x.i) === want.available) &&
        (want.priceMax === undefined || price(x.i) <= want.priceMax),
    )
    .sort((a, b) => b.s - a.s)
    .slice(0, 10)
    .map((x) => x.id);
}

const outcomes = async () => {
  const values = (await (registry.getSingleMetric('recsys_api_norm_bound_total') as Counter<'outcome'>).get())
    .values;
  const of = (o: string) => values.find((v) => v.labels['outcome'] === o)?.value ?? 0;
  return { held: of('held'), widened: of('widened') };
};

async function exact(u: number, query = '', mode = 'exact', url = server.url): Promise<string[]> {
  const res = await fetch(`${url}/v1/users/u${u}/recommendations?k=10&mode=${mode}${query}`, {
    headers: { 'x-api-key': 'k' },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: Array<{ item_id: string }> }).items.map((i) => i.item_id);
}

const boundOf = (body: Omit<estypes.SearchRequest, 'index'>) =>
  JSON.stringify(body).match(/"factor_norm":\{"gte":([^}]+)\}/)?.[1];

describe('norm-pruned exact search', () => {
  it('deploy indexes each factor length, so a range on it narrows the searched items', async () => {
    const doc = (
      await es.get<{ factor_norm: number; factor_exact: number[] }>({
        index: names.itemsIndex(MODEL),
        id: 'i7',
      })
    )._source!;
    expect(doc.factor_norm).toBeCloseTo(Math.hypot(...row(input.itemFactors, 7)), 5);
    const longest = await ctx.repos.items.longestFactors(names.itemsIndex(MODEL), 5);
    const norms = longest.map((l) => Math.hypot(...l.vector));
    expect(norms).toEqual([...norms].sort((a, b) => b - a));
    const all = input.itemIds.map((_, i) => Math.hypot(...row(input.itemFactors, i))).sort((a, b) => b - a);
    expect(norms[0]).toBeCloseTo(all[0]!, 5);
    // the catalogue's norm percentiles, which estimate how many items a bound beyond the probe keeps
    const d = await ctx.repos.items.normDistribution(names.itemsIndex(MODEL));
    expect(d.total).toBe(N_ITEMS);
    expect(d.percentiles).toHaveLength(101);
    expect(d.percentiles[100]).toBeCloseTo(all[0]!, 4);
    const median = all[N_ITEMS / 2]!;
    expect(Math.abs(d.percentiles[50]! - median) / median).toBeLessThan(0.02);
  });

  it('once the probe is loaded, unfiltered exact requests carry a norm bound that skips most items and still return the brute-force top 10', async () => {
    const probe = (await server.app.live.loadNormProbe(MODEL))!;
    expect(probe.ids.length).toBe(N_ITEMS);
    let skipped = 0;
    for (let u = 0; u < N_USERS; u += 2) {
      bodies.length = 0;
      expect(await exact(u)).toEqual(truth(u));
      const bound = boundOf(bodies.at(-1)!);
      expect(bound).toBeDefined();
      expect(Number(bound)).toBeCloseTo(
        minTopKNorm(probe, row(input.userFactors, u), 10, new Set([`i${u}`]))!,
        9,
      );
      const kept = await es.count({
        index: names.itemsIndex(MODEL),
        query: { range: { factor_norm: { gte: Number(bound) } } },
      });
      skipped += 1 - kept.count / N_ITEMS;
    }
    expect(skipped / (N_USERS / 2)).toBeGreaterThan(0.5);
  });

  it('the probe carries the doc values of the whitelisted filter fields its mapping lets it read, and no others', async () => {
    const probe = (await server.app.live.loadNormProbe(MODEL))!;
    const i = probe.ids.indexOf('i6');
    expect(probe.columns.get('category')).toMatchObject({ kind: 'keyword' });
    expect(probe.columns.get('category')!.values[i]).toEqual(['c2']);
    expect(probe.columns.get('available')!.values[i]).toEqual([false]);
    expect(probe.columns.get('price')!.values[i]).toEqual([6]);
    // a text field whitelisted as a keyword, a date as a range: their doc values are not what those filters match
    const resolver = new LiveModelResolver(ctx.repos, names, ctx.log, 5_000, {
      keyword: ['category', 'name'],
      boolean: ['available'],
      range: ['price', 'created_at'],
    });
    expect([...(await resolver.loadNormProbe(MODEL))!.columns.keys()].sort()).toEqual([
      'available',
      'category',
      'price',
    ]);
  });

  it('filtered exact requests carry the bound of the probe items passing the filter, skip most items and match brute force over the matches', async () => {
    const probe = (await server.app.live.loadNormProbe(MODEL))!;
    const before = await outcomes();
    let skipped = 0;
    let n = 0;
    for (let u = 1; u < N_USERS; u += 3) {
      for (const [query, want] of [
        ['&category=c2', { category: 'c2' }],
        ['&category=c1&available=true&price_max=50', { category: 'c1', available: true, priceMax: 50 }],
      ] as const) {
        bodies.length = 0;
        expect(await exact(u, query)).toEqual(truth(u, want));
        expect(bodies).toHaveLength(1);
        const bound = boundOf(bodies[0]!);
        expect(bound).toBeDefined();
        const accepts = (i: number) => {
          const item = Number(probe.ids[i]!.slice(1));
          return (
            category[item] === want.category &&
            ('available' in want ? available(item) && price(item) <= want.priceMax : true)
          );
        };
        expect(Number(bound)).toBeCloseTo(
          minTopKNorm(probe, row(input.userFactors, u), 10, new Set([`i${u}`]), accepts)!,
          9,
        );
        const kept = await es.count({
          index: names.itemsIndex(MODEL),
          query: { range: { factor_norm: { gte: Number(bound) } } },
        });
        skipped += 1 - kept.count / N_ITEMS;
        n++;
      }
    }
    expect(skipped / n).toBeGreaterThan(0.3);
    const after = await outcomes();
    expect(after.held - before.held).toBe(n);
    expect(after.widened).toBe(before.widened);
  });

  it('an ann request whose bound keeps few items is answered by that exact search, filtered or not; with [serving] ann_exact_max_scored 0 by the graph', async () => {
    await server.app.live.loadNormProbe(MODEL);
    const graphOnly = await startServer({
      ctx,
      registry: createRegistry(false),
      port: 0,
      host: '127.0.0.1',
      options: { apiKeys: ['k'], defaultMode: 'ann', liveModelCacheMs: 600_000, annExactMaxScored: 0 },
    });
    try {
      await graphOnly.app.live.loadNormProbe(MODEL);
      const field = (b: Omit<estypes.SearchRequest, 'index'>) => (b.knn as { field: string }).field;
      for (let u = 0; u < N_USERS; u += 7) {
        bodies.length = 0;
        expect(await exact(u, '', 'ann')).toEqual(truth(u));
        expect(field(bodies.at(-1)!)).toBe('factor_exact');
        expect(boundOf(bodies.at(-1)!)).toBeDefined();
        bodies.length = 0;
        await exact(u, '', 'ann', graphOnly.url);
        expect(field(bodies.at(-1)!)).toBe('factor');
        expect(boundOf(bodies.at(-1)!)).toBeUndefined();
        bodies.length = 0;
        expect(await exact(u, '&category=c1', 'ann')).toEqual(truth(u, { category: 'c1' }));
        expect(field(bodies.at(-1)!)).toBe('factor_exact');
        expect(boundOf(bodies.at(-1)!)).toBeDefined();
      }
    } finally {
      await graphOnly.close();
    }
  });

  it('a probe that cannot be loaded is not asked for again by every request', async () => {
    let loads = 0;
    const items = {
      fieldMappings: ctx.repos.items.fieldMappings.bind(ctx.repos.items),
      normDistribution: ctx.repos.items.normDistribution.bind(ctx.repos.items),
      longestFactors: (index: string, size: number) => (loads++, ctx.repos.items.longestFactors(index, size)),
    };
    const resolver = new LiveModelResolver({ ...ctx.repos, items }, names, ctx.log);
    // no such items index: Elasticsearch refuses the search
    expect(resolver.normProbe('nosuchmodel')).toBeUndefined();
    // the same load (concurrent callers share it) fails
    await expect(resolver.loadNormProbe('nosuchmodel')).rejects.toThrow();
    for (let i = 0; i < 20; i++) expect(resolver.normProbe('nosuchmodel')).toBeUndefined();
    expect(loads).toBe(1);
    // a model that exists still loads through the same resolver
    expect((await resolver.loadNormProbe(MODEL))!.ids.length).toBe(N_ITEMS);
  });

  it('an answer the probe misjudged (its copy of the categories is stale) is searched again without the bound, and is still the exact one', async () => {
    const probe = (await server.app.live.loadNormProbe(MODEL))!;
    const u = 4;
    // the items the probe believes are the user's best c3 items leave c3 after it loaded
    const moved = truth(u, { category: 'c3' });
    const report = await ctx.repos.metadata.upsertItems(
      moved.map((id) => ({ item_id: id, category: 'c0' })),
      { refresh: true },
    );
    expect(report.live?.updated).toBe(moved.length);
    for (const id of moved) category[Number(id.slice(1))] = 'c0';
    expect(probe.columns.get('category')!.values[probe.ids.indexOf(moved[0]!)]).toEqual(['c3']);
    const before = await outcomes();
    bodies.length = 0;
    const got = await exact(u, '&category=c3');
    expect(got).toEqual(truth(u, { category: 'c3' }));
    expect(got.some((id) => moved.includes(id))).toBe(false);
    // the bounded search, then the same search without the bound
    expect(bodies.map((b) => boundOf(b) !== undefined)).toEqual([true, false]);
    expect((await outcomes()).widened - before.widened).toBe(1);
  });
});
