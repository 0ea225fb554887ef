// Norm-pruned exact search on real Elasticsearch: deploy indexes every factor's length, the API's
// resolver loads the probe of the longest items, and an unfiltered exact request then searches
// only the items long enough to reach the top k, with the same answer as brute force over all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { estypes } from '@elastic/elasticsearch';
import { startServer } from '../../src/api/app.ts';
import { deployModel } from '../../src/deploy/index.ts';
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
const input = plantedModel(MODEL, 11, { factors: K, items: N_ITEMS, users: N_USERS, normSpread: 0.8, extras: true });
let server: Awaited<ReturnType<typeof startServer>>;
const bodies: Array<Omit<estypes.SearchRequest, 'index'>> = [];

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const ops = Array.from({ length: N_ITEMS }, (_, i) => [{ index: { _index: names.itemMetadata, _id: `i${i}` } }, { item_id: `i${i}`, name: `Item ${i}`, category: `c${i % 4}` }]).flat();
  await es.bulk({ operations: ops, refresh: true });
  await deployModel(ctx, input);
  // observe (not replace) the request path's item searches, to see the bound reach Elasticsearch
  const search = ctx.repos.items.search.bind(ctx.repos.items);
  ctx.repos.items.search = (index, body) => {
    bodies.push(body);
    return search(index, body);
  };
  server = await startServer({ ctx, registry: createRegistry(false), port: 0, host: '127.0.0.1', options: { apiKeys: ['k'], defaultMode: 'exact', liveModelCacheMs: 600_000 } });
}, 300_000);

afterAll(async () => {
  await server?.close();
  await ctx.dispose();
});

const row = (m: Float32Array, r: number) => Array.from(m.subarray(r * K, (r + 1) * K));
const dot = (a: number[], b: number[]) => a.reduce((s, x, d) => s + x * b[d]!, 0);

/** Brute force over the whole catalogue, u's recent item excluded (as exclude_seen does). */
function truth(u: number, category?: string): string[] {
  const q = row(input.userFactors, u);
  return input.itemIds
    .map((id, i) => ({ id, s: dot(q, row(input.itemFactors, i)), i }))
    .filter((x) => x.id !== `i${u}` && (category === undefined || `c${x.i % 4}` === category))
    .sort((a, b) => b.s - a.s)
    .slice(0, 10)
    .map((x) => x.id);
}

async function exact(u: number, query = '', mode = 'exact', url = server.url): Promise<string[]> {
  const res = await fetch(`${url}/v1/users/u${u}/recommendations?k=10&mode=${mode}${query}`, { headers: { 'x-api-key': 'k' } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: Array<{ item_id: string }> }).items.map((i) => i.item_id);
}

const boundOf = (body: Omit<estypes.SearchRequest, 'index'>) => JSON.stringify(body).match(/"factor_norm":\{"gte":([^}]+)\}/)?.[1];

describe('norm-pruned exact search', () => {
  it('deploy indexes each factor length, so a range on it narrows the searched items', async () => {
    const doc = (await es.get<{ factor_norm: number; factor_exact: number[] }>({ index: names.itemsIndex(MODEL), id: 'i7' }))._source!;
    expect(doc.factor_norm).toBeCloseTo(Math.hypot(...row(input.itemFactors, 7)), 5);
    const longest = await ctx.repos.items.longestFactors(names.itemsIndex(MODEL), 5);
    const norms = longest.map((l) => Math.hypot(...l.vector));
    expect(norms).toEqual([...norms].sort((a, b) => b - a));
    const all = input.itemIds.map((_, i) => Math.hypot(...row(input.itemFactors, i))).sort((a, b) => b - a);
    expect(norms[0]).toBeCloseTo(all[0]!, 5);
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
      expect(Number(bound)).toBeCloseTo(minTopKNorm(probe, row(input.userFactors, u), 10, new Set([`i${u}`]))!, 9);
      const kept = await es.count({ index: names.itemsIndex(MODEL), query: { range: { factor_norm: { gte: Number(bound) } } } });
      skipped += 1 - kept.count / N_ITEMS;
    }
    expect(skipped / (N_USERS / 2)).toBeGreaterThan(0.5);
  });

  it('filtered exact requests are not narrowed (the probe cannot tell which items pass) and match brute force over the matches', async () => {
    await server.app.live.loadNormProbe(MODEL);
    for (let u = 1; u < N_USERS; u += 5) {
      bodies.length = 0;
      expect(await exact(u, '&category=c2')).toEqual(truth(u, 'c2'));
      expect(boundOf(bodies.at(-1)!)).toBeUndefined();
    }
  });

  it('an unfiltered ann request whose bound keeps few items is answered by that exact search; with ANN_EXACT_MAX_SCORED 0, or a filter, by the graph', async () => {
    await server.app.live.loadNormProbe(MODEL);
    const graphOnly = await startServer({ ctx, registry: createRegistry(false), port: 0, host: '127.0.0.1', options: { apiKeys: ['k'], defaultMode: 'ann', liveModelCacheMs: 600_000, annExactMaxScored: 0 } });
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
        await exact(u, '&category=c1', 'ann');
        expect(field(bodies.at(-1)!)).toBe('factor');
      }
    } finally {
      await graphOnly.close();
    }
  });

  it('a probe that cannot be loaded is not asked for again by every request', async () => {
    let loads = 0;
    const items = { longestFactors: (index: string, size: number) => (loads++, ctx.repos.items.longestFactors(index, size)) };
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
});
