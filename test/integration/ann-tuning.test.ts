// ann num_candidates chosen at deploy: the model document carries a choice per space that the
// index really delivers (checked here against exact search on the same index, not against the
// deploy's own arithmetic), and the items index can be force-merged as a polled task.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANDIDATE_LADDER } from '../../src/deploy/ann-tuning.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { startServer } from '../../src/api/app.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { scaleQuery, vectorSearchBody } from '../../src/query/search-body.ts';
import { DEFAULT_QUERY_OPTIONS, type Filters } from '../../src/query/types.ts';
import { LiveModelResolver } from '../../src/model/live-model.ts';
import { setup } from '../../src/setup/index.ts';
import { testContext } from './harness.ts';
import { plantedModel } from './planted.ts';

const ctx = testContext('anntune');
const { es, names } = ctx;
const K = 8;
const N_ITEMS = 3000;
const N_USERS = 60;
const MODEL = 'mtune';
const input = plantedModel(MODEL, 11, { factors: K, items: N_ITEMS, users: N_USERS });
const categoryOf = (i: number) => `c${i % 4}`;

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const ops = Array.from({ length: N_ITEMS }, (_, i) => [
    { index: { _index: names.itemMetadata, _id: `i${i}` } },
    { item_id: `i${i}`, name: `Item ${i}`, category: categoryOf(i) },
  ]).flat();
  await es.bulk({ operations: ops, refresh: true });
  // the graphs are what this file tests (a catalogue this small would otherwise get no MIPS graph: ../../src/deploy/mips-graph.ts)
  await deployModel(ctx, input, { mipsAnn: true });
}, 300_000);

afterAll(() => ctx.dispose());

type Choice = { num_candidates: number; recall: number };
type Timed = Choice & { ann_ms?: number; exact_ms?: number };
type Tuning = {
  k: number;
  target: number;
  sample: number;
  unfiltered: Choice;
  filtered?: Choice;
  query_rms?: number;
  query_scales?: Record<string, number>;
};

async function ids(
  space: 'mips' | 'cosine',
  mode: 'exact' | 'ann',
  vector: number[],
  filters: Filters,
  numCandidates?: number,
): Promise<string[]> {
  const body = vectorSearchBody(
    { space, mode, k: 10, vector, filters, exclude: [], numCandidates },
    DEFAULT_QUERY_OPTIONS,
  );
  return (await es.search({ index: names.itemsAlias, ...body, _source: false })).hits.hits.map((h) => h._id!);
}

describe('ann tuning at deploy', () => {
  it('stores a num_candidates per space, unfiltered and filtered, from the ladder, meeting the target on its sample', async () => {
    const doc = (await es.get<{ ann?: Record<string, Tuning> }>({ index: names.models, id: MODEL }))._source!;
    for (const space of ['mips', 'cosine']) {
      const t = doc.ann?.[space];
      expect(t, space).toBeDefined();
      expect(t!.k).toBe(10);
      expect(t!.sample).toBeGreaterThan(30);
      for (const c of [t!.unfiltered, t!.filtered!]) {
        expect(CANDIDATE_LADDER as readonly number[]).toContain(c.num_candidates);
        expect(c.recall).toBeGreaterThanOrEqual(t!.target);
      }
    }
  });

  it('cosine carries the graph search timed against the exact one, and serving answers exactly where exact was not slower', async () => {
    const t = (
      await es.get<{ ann: Record<string, Tuning & { unfiltered: Timed; filtered?: Timed }> }>({
        index: names.models,
        id: MODEL,
      })
    )._source!.ann;
    const cosine = t['cosine']!;
    for (const c of [cosine.unfiltered, cosine.filtered!]) {
      expect(c.ann_ms).toBeGreaterThan(0);
      expect(c.exact_ms).toBeGreaterThan(0);
    }
    // mips has its own routing (the norm bound per request) and is not timed
    expect((t['mips']!.unfiltered as Timed).ann_ms).toBeUndefined();
    const resolver = new LiveModelResolver(ctx.repos, names, ctx.log, 5_000, ctx.config.serving.filterFields);
    const tuned = (await resolver.annCandidates(MODEL))!.cosine!;
    expect(tuned.exactUnfiltered === true).toBe(cosine.unfiltered.exact_ms! <= cosine.unfiltered.ann_ms!);
    expect(tuned.exactFiltered === true).toBe(cosine.filtered!.exact_ms! <= cosine.filtered!.ann_ms!);
  });

  it('mips records the recall of every query scale it tried, and keeps a scale only when it ranked better than none', async () => {
    const t = (await es.get<{ ann: Record<string, Tuning> }>({ index: names.models, id: MODEL }))._source!
      .ann;
    const scales = t['mips']!.query_scales!;
    expect(Object.keys(scales).sort()).toEqual(['2', '3', '4', '6', '8', 'none']);
    const best = Math.max(...Object.values(scales));
    if (t['mips']!.query_rms === undefined) expect(scales['none']).toBe(best);
    else expect(scales['none']).toBeLessThan(best);
    expect(t['cosine']!.query_scales).toBeUndefined();
  });

  it('the stored num_candidates reaches the recall it promises for users the deploy did not sample', async () => {
    const t = (await es.get<{ ann: Record<string, Tuning> }>({ index: names.models, id: MODEL }))._source!
      .ann['mips']!;
    let sum = 0;
    let n = 0;
    // odd users: the deploy's stride sample over 60 users takes them all, so check with shifted vectors too
    for (let u = 1; u < N_USERS; u += 3) {
      const vector = Array.from(
        input.userFactors.subarray(u * K, (u + 1) * K),
        (x, d) => x * (1 + 0.1 * Math.sin(d + u)),
      );
      for (const filters of [
        { terms: {}, booleans: {}, ranges: {} },
        { terms: { category: [categoryOf(u)] }, booleans: {}, ranges: {} },
      ] as Filters[]) {
        const truth = new Set(await ids('mips', 'exact', vector, filters));
        const nc = filters.terms['category'] ? t.filtered!.num_candidates : t.unfiltered.num_candidates;
        // as the API sends it: rescaled to the measured query rms, if the deploy chose one
        const got = await ids('mips', 'ann', scaleQuery(vector, t.query_rms).vector, filters, nc);
        sum += got.filter((id) => truth.has(id)).length / truth.size;
        n++;
      }
    }
    expect(sum / n).toBeGreaterThanOrEqual(0.9); // the 0.95 target less sampling noise over 40 queries
  });

  it('force-merge runs as a polled task and leaves one segment; settled merges report the count', async () => {
    expect(await ctx.repos.modelIndices.forceMerge(MODEL, { maxSegments: 1, pollMs: 200 })).toBe(1);
    expect(await ctx.repos.modelIndices.mergesSettled(MODEL, { pollMs: 200 })).toBe(1);
    expect(await ctx.repos.modelIndices.countItems(MODEL)).toBe(N_ITEMS);
  });

  it('without the item graph ([deploy] similar_ann off): no factor_unit field, the model says so, and similar items with mode ann are the exact ones', async () => {
    const flat = 'mtuneflat';
    await deployModel(
      ctx,
      { ...plantedModel(flat, 11, { factors: K, items: N_ITEMS, users: N_USERS }), modelId: flat },
      { similarAnn: false, mipsAnn: true, keep: 5 },
    );
    const mapping = await es.indices.getMapping({ index: names.itemsIndex(flat) });
    const props = Object.values(mapping)[0]!.mappings.properties!;
    expect(props['factor_unit']).toBeUndefined();
    expect(props['factor_unit_exact']).toMatchObject({
      type: 'dense_vector',
      index_options: { type: 'flat' },
    });
    expect(props['factor']).toMatchObject({ index_options: { type: 'int8_hnsw' } });
    const doc = (await es.get<{ ann: Record<string, unknown> }>({ index: names.models, id: flat }))._source!;
    expect(doc.ann['cosine']).toEqual({ graph: false });
    const server = await startServer({
      ctx,
      registry: createRegistry(false),
      port: 0,
      host: '127.0.0.1',
      options: { apiKeys: ['k'], defaultMode: 'ann', liveModelCacheMs: 600_000 },
    });
    try {
      for (const item of ['i3', 'i501', 'i2999']) {
        const get = async (mode: string) => {
          const res = await fetch(`${server.url}/v1/items/${item}/similar?k=10&mode=${mode}`, {
            headers: { 'x-api-key': 'k' },
          });
          expect(res.status).toBe(200);
          return ((await res.json()) as { items: Array<{ item_id: string; score: number }> }).items;
        };
        const [ann, exact] = [await get('ann'), await get('exact')];
        expect(ann.length).toBe(10);
        expect(ann).toEqual(exact);
      }
    } finally {
      await server.close();
    }
  });

  it('a space whose deploy missed the recall target at every num_candidates answers ann exactly', async () => {
    // what a deploy records when the ladder's top falls short (1M items of ALS factors: 0.63 at 10,000)
    const doc = (await es.get<{ ann: Record<string, Tuning> }>({ index: names.models, id: MODEL }))._source!;
    const mips = doc.ann['mips']!;
    // the query scale is set so that an ann search would rank by noise (the query quantises to ~0):
    // ann equal to exact below shows it was not run
    await es.update({
      index: names.models,
      id: MODEL,
      doc: {
        ann: {
          ...doc.ann,
          mips: { ...mips, query_rms: 1e-6, unfiltered: { num_candidates: 100, recall: 0.5 } },
        },
      },
      refresh: true,
    });
    await ctx.repos.modelIndices.swap(MODEL);
    const server = await startServer({
      ctx,
      registry: createRegistry(false),
      port: 0,
      host: '127.0.0.1',
      options: { apiKeys: ['k'], defaultMode: 'ann', liveModelCacheMs: 600_000 },
    });
    try {
      for (const u of [0, 7, 33]) {
        const get = async (mode: string, q = '') => {
          const res = await fetch(
            `${server.url}/v1/users/u${u}/recommendations?k=10&mode=${mode}&exclude_seen=false${q}`,
            { headers: { 'x-api-key': 'k' } },
          );
          expect(res.status).toBe(200);
          const body = (await res.json()) as {
            model_id: string;
            items: Array<{ item_id: string; score: number }>;
          };
          expect(body.model_id).toBe(MODEL);
          return body.items;
        };
        expect(await get('ann')).toEqual(await get('exact'));
      }
    } finally {
      await server.close();
    }
  });
});
