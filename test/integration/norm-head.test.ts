// The norm head on real Elasticsearch: with ALS-like norms the deploy leaves the longest items out
// of the MIPS graph, and ann requests still find them (they come from the exact clause over the
// head), fold-in still reads their factors, and similar items still sees them in its own graph.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/api/app.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { HEAD_MAX_SHARE, rowNorms } from '../../src/deploy/norm-head.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { setup } from '../../src/setup/index.ts';
import { testContext } from './harness.ts';
import { plantedModel } from './planted.ts';

const ctx = testContext('normhead');
const { es, names } = ctx;
const K = 8;
const N_ITEMS = 3000;
const N_USERS = 90;
const MODEL = 'mhead';
const input = plantedModel(MODEL, 5, { factors: K, items: N_ITEMS, users: N_USERS, normSpread: 1.5 });
const norms = rowNorms(input.itemFactors, K);
const categoryOf = (i: number) => `c${i % 4}`;
type Head = { items: number; min_norm: number; coverage: number };
let server: Awaited<ReturnType<typeof startServer>>;

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const ops = Array.from({ length: N_ITEMS }, (_, i) => [
    { index: { _index: names.itemMetadata, _id: `i${i}` } },
    { item_id: `i${i}`, name: `Item ${i}`, category: categoryOf(i) },
  ]).flat();
  await es.bulk({ operations: ops, refresh: true });
  await deployModel(ctx, input, { mipsAnn: true });
  // ann stays on the graph and head clauses (the norm bound would answer these small catalogues exactly)
  server = await startServer({
    ctx,
    registry: createRegistry(false),
    port: 0,
    host: '127.0.0.1',
    options: { apiKeys: ['k'], defaultMode: 'ann', liveModelCacheMs: 600_000, annExactMaxScored: 0 },
  });
}, 300_000);

afterAll(async () => {
  await server?.close();
  await ctx.dispose();
});

async function recommend(u: number, mode: string, query = ''): Promise<string[]> {
  const res = await fetch(
    `${server.url}/v1/users/u${u}/recommendations?k=10&mode=${mode}&exclude_seen=false${query}`,
    { headers: { 'x-api-key': 'k' } },
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: Array<{ item_id: string }> }).items.map((i) => i.item_id);
}

const headOf = async () =>
  (await es.get<{ ann: { mips: { head?: Head } } }>({ index: names.models, id: MODEL }))._source!.ann.mips
    .head;

describe('norm head', () => {
  it('is recorded on the model, and its items carry norm_head and the flat vector but no graph vector', async () => {
    const head = (await headOf())!;
    expect(head).toBeDefined();
    expect(head.items).toBeGreaterThan(0);
    expect(head.items / N_ITEMS).not.toBeGreaterThan(HEAD_MAX_SHARE);
    const heads = [...norms.keys()].filter((i) => norms[i]! >= head.min_norm);
    expect(heads.length).toBe(head.items);
    const count = await es.count({ index: names.itemsIndex(MODEL), query: { term: { norm_head: true } } });
    expect(count.count).toBe(head.items);
    const tail = [...norms.keys()].find((i) => norms[i]! < head.min_norm)!;
    const docs = await es.mget<Record<string, unknown>>({
      index: names.itemsIndex(MODEL),
      ids: [`i${heads[0]}`, `i${tail}`],
      _source: ['factor', 'factor_exact', 'norm_head'],
    });
    const [h, t] = docs.docs.map((d) => ('found' in d && d.found ? d._source! : {}));
    expect(h!['norm_head']).toBe(true);
    expect(h!['factor']).toBeUndefined();
    expect((h!['factor_exact'] as number[]).length).toBe(K);
    expect(t!['norm_head']).toBeUndefined();
    expect((t!['factor'] as number[]).length).toBe(K);
  });

  it('ann recommendations hold head items (only the exact clause can return them) and match exact', async () => {
    const head = (await headOf())!;
    let sum = 0;
    let fromHead = 0;
    for (let u = 0; u < N_USERS; u += 3) {
      for (const q of ['', `&category=${categoryOf(u)}`]) {
        const [ann, exact] = [await recommend(u, 'ann', q), await recommend(u, 'exact', q)];
        const truth = new Set(exact);
        sum += ann.filter((id) => truth.has(id)).length / truth.size;
        fromHead += ann.filter((id) => norms[Number(id.slice(1))]! >= head.min_norm).length;
      }
    }
    expect(fromHead).toBeGreaterThan(0);
    expect(sum / (2 * Math.ceil(N_USERS / 3))).toBeGreaterThanOrEqual(0.9);
  });

  it('fold-in reads a head item factor like any other', async () => {
    const head = (await headOf())!;
    const i = [...norms.keys()].find((r) => norms[r]! >= head.min_norm)!;
    const got = await ctx.repos.items.factors(names.itemsIndex(MODEL), [`i${i}`, `i${(i + 1) % N_ITEMS}`]);
    expect(Array.from(got.get(`i${i}`)!.factor)).toEqual(
      Array.from(input.itemFactors.subarray(i * K, (i + 1) * K)),
    );
    expect(got.size).toBe(2);
  });

  it('a head item seeds similar items like any other: the unit-vector graph holds every item', async () => {
    const head = (await headOf())!;
    const i = [...norms.keys()].find((r) => norms[r]! >= head.min_norm)!;
    const res = await fetch(`${server.url}/v1/items/i${i}/similar?k=10&mode=ann`, {
      headers: { 'x-api-key': 'k' },
    });
    expect(res.status).toBe(200);
    const exact = await fetch(`${server.url}/v1/items/i${i}/similar?k=10&mode=exact`, {
      headers: { 'x-api-key': 'k' },
    });
    const [a, e] = [
      (await res.json()) as { items: Array<{ item_id: string }> },
      (await exact.json()) as { items: Array<{ item_id: string }> },
    ];
    expect(e.items.length).toBe(10);
    const truth = new Set(e.items.map((x) => x.item_id));
    expect(a.items.filter((x) => truth.has(x.item_id)).length).toBeGreaterThanOrEqual(8);
  });
});
