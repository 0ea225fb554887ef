// Deploy decides from the model's own factors whether user → item ann needs an HNSW graph
// (src/deploy/mips-graph.ts): where the norm-bounded exact search stays small for the sampled
// users, the `factor` graph is not built and ann is answered by that exact search, with the
// brute-force answer; where the bound keeps too much, the graph is built as before.
import { afterAll, describe, expect, it } from 'vitest';
import type { estypes } from '@elastic/elasticsearch';
import { startServer } from '../../src/api/app.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { setup } from '../../src/setup/index.ts';
import type { SettingsOverrides } from '../../src/config/index.ts';
import { testContext } from './harness.ts';
import { plantedModel } from './planted.ts';

const K = 8;
const N_ITEMS = 2000;
const N_USERS = 40;
const contexts: Array<ReturnType<typeof testContext>> = [];
afterAll(async () => {
  for (const c of contexts) await c.dispose();
});

const row = (m: Float32Array, r: number) => Array.from(m.subarray(r * K, (r + 1) * K));
const dot = (a: number[], b: number[]) => a.reduce((s, x, d) => s + x * b[d]!, 0);

/** Deploys a model in a fresh prefix and reads back its mapping and model document. */
async function deployed(label: string, settings: SettingsOverrides, normSpread: number) {
  const ctx = testContext(label, settings);
  contexts.push(ctx);
  await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
  const ops = Array.from({ length: N_ITEMS }, (_, i) => [
    { index: { _index: ctx.names.itemMetadata, _id: `i${i}` } },
    { item_id: `i${i}`, category: `c${i % 4}` },
  ]).flat();
  await ctx.es.bulk({ operations: ops, refresh: true });
  const input = plantedModel('mg', 5, {
    factors: K,
    items: N_ITEMS,
    users: N_USERS,
    normSpread,
    extras: true,
  });
  const report = await deployModel(ctx, input);
  const mapping = Object.values(await ctx.es.indices.getMapping({ index: ctx.names.itemsIndex('mg') }))[0]!
    .mappings.properties!;
  const ann = (
    await ctx.es.get<{ ann: { mips: Record<string, unknown> } }>({ index: ctx.names.models, id: 'mg' })
  )._source!.ann;
  return { ctx, input, report, mapping, mips: ann.mips };
}

/** ann recommendations through the API, with the knn field and factor_norm bound of the search it sent. */
async function annThroughApi(d: Awaited<ReturnType<typeof deployed>>, users: number[], query = '') {
  const bodies: Array<Omit<estypes.SearchRequest, 'index'>> = [];
  const search = d.ctx.repos.items.search.bind(d.ctx.repos.items);
  d.ctx.repos.items.search = (index, body) => (bodies.push(body), search(index, body));
  const server = await startServer({
    ctx: d.ctx,
    registry: createRegistry(false),
    port: 0,
    host: '127.0.0.1',
    options: { apiKeys: ['k'], defaultMode: 'ann', liveModelCacheMs: 600_000 },
  });
  try {
    await server.app.live.loadNormProbe('mg');
    const out = [];
    for (const u of users) {
      bodies.length = 0;
      const res = await fetch(`${server.url}/v1/users/u${u}/recommendations?k=10&mode=ann${query}`, {
        headers: { 'x-api-key': 'k' },
      });
      expect(res.status).toBe(200);
      const json = (await res.json()) as { mode: string; search?: string; items: Array<{ item_id: string }> };
      const body = JSON.stringify(bodies.at(-1));
      out.push({
        u,
        items: json.items.map((i) => i.item_id),
        mode: json.mode,
        search: json.search,
        field: (bodies.at(-1)!.knn as { field: string }).field,
        bounded: /"factor_norm":\{"gte":/.test(body),
      });
    }
    return out;
  } finally {
    await server.close();
  }
}

/** Brute force over the catalogue (category c when given), u's recent item excluded as exclude_seen does. */
function truth(input: ReturnType<typeof plantedModel>, u: number, c?: string): string[] {
  const q = row(input.userFactors, u);
  return input.itemIds
    .map((id, i) => ({ id, i, s: dot(q, row(input.itemFactors, i)) }))
    .filter((x) => x.id !== `i${u}` && (c === undefined || `c${x.i % 4}` === c))
    .sort((a, b) => b.s - a.s)
    .slice(0, 10)
    .map((x) => x.id);
}

describe('the user → item graph, decided at deploy', () => {
  it('is not built when the bounded exact search stays small: no factor field, and ann answers exactly through the bound', async () => {
    const d = await deployed('mipsauto', {}, 0.8);
    expect(d.mapping['factor']).toBeUndefined();
    expect(d.mapping['factor_exact']).toMatchObject({ index_options: { type: 'flat' } });
    expect(d.mapping['factor_unit']).toMatchObject({ index_options: { type: 'int8_hnsw' } });
    expect(d.mips).toMatchObject({
      graph: false,
      bound: { sample: N_USERS, max_scored: 10_000, routed_share: 1 },
    });
    expect(d.report.timings).toHaveProperty('mips_graph');
    const doc = (
      await d.ctx.es.get<Record<string, unknown>>({
        index: d.ctx.names.itemsIndex('mg'),
        id: 'i3',
        _source_includes: ['factor', 'factor_exact'], // by name: 9.x leaves vectors out of a whole _source
      })
    )._source!;
    expect(doc['factor']).toBeUndefined();
    expect((doc['factor_exact'] as number[]).length).toBe(K);

    const users = [0, 7, 14, 21, 28, 35];
    for (const r of await annThroughApi(d, users)) {
      expect(r.items).toEqual(truth(d.input, r.u));
      // the response says what ran: asked for ann, searched exactly
      expect(r).toMatchObject({ field: 'factor_exact', bounded: true, mode: 'ann', search: 'exact' });
    }
    for (const r of await annThroughApi(d, users, '&category=c2')) {
      expect(r.items).toEqual(truth(d.input, r.u, 'c2'));
      expect(r.field).toBe('factor_exact');
    }
  });

  it('is built when the bound keeps more than [serving] ann_exact_max_scored items for the sampled users', async () => {
    const d = await deployed('mipsbuilt', { serving: { annExactMaxScored: 100 } }, 0);
    expect(d.mapping['factor']).toMatchObject({ index_options: { type: 'int8_hnsw' } });
    expect(d.mips['graph']).toBeUndefined();
    expect(d.mips).toMatchObject({ bound: { max_scored: 100 } });
    expect((d.mips['bound'] as { routed_share: number }).routed_share).toBeLessThan(0.9);
    expect((d.mips['bound'] as { scored_p50: number }).scored_p50).toBeGreaterThan(100);
    expect(d.mips['unfiltered']).toMatchObject({ num_candidates: expect.any(Number) });
    const [r] = await annThroughApi(d, [3]);
    expect(r).toMatchObject({ field: 'factor', mode: 'ann', search: 'ann' });
  });

  it('[deploy] mips_ann = false leaves it out even then, and ann stays exact', async () => {
    const d = await deployed(
      'mipsoff',
      { serving: { annExactMaxScored: 100 }, deploy: { mipsAnn: false } },
      0,
    );
    expect(d.mapping['factor']).toBeUndefined();
    expect(d.mips).toMatchObject({ graph: false });
    expect((d.mips['bound'] as { routed_share: number }).routed_share).toBeLessThan(0.9);
    for (const r of await annThroughApi(d, [1, 2])) {
      expect(r.items).toEqual(truth(d.input, r.u));
      expect(r.field).toBe('factor_exact');
    }
  });
});
