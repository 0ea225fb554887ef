// [deploy] similar_ann = "auto": the item → item graph is left out when the live model's deploy timed it
// no faster than exact search, and built (and timed) again by the deploy after that. The timing
// itself is unit-tested with a fake clock (test/unit/ann-tuning.test.ts); here the live model's
// recorded verdict is set by hand, so the decision is tested whatever this machine's speed.
import { afterAll, describe, expect, it } from 'vitest';
import { deployModel } from '../../src/deploy/index.ts';
import { LiveModelResolver } from '../../src/model/live-model.ts';
import { setup } from '../../src/setup/index.ts';
import { testContext } from './harness.ts';
import { plantedModel } from './planted.ts';

const shape = { factors: 8, items: 1200, users: 40 };
const contexts: Array<ReturnType<typeof testContext>> = [];

type Choice = { num_candidates: number; recall: number; ann_ms?: number; exact_ms?: number };
type CosineAnn = {
  target?: number;
  unfiltered?: Choice;
  filtered?: Choice;
  graph?: false;
  skipped?: { measured_on: string };
};

afterAll(() => Promise.all(contexts.map((c) => c.dispose())));

/** A shop of its own (its own prefix, so no live model of another test), deployed into with auto. */
async function shop(label: string) {
  const ctx = testContext(label, { deploy: { similarAnn: 'auto' } });
  contexts.push(ctx);
  const { es, names } = ctx;
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const ops = Array.from({ length: shape.items }, (_, i) => [
    { index: { _index: names.itemMetadata, _id: `i${i}` } },
    { item_id: `i${i}`, category: `c${i % 4}` },
  ]).flat();
  await es.bulk({ operations: ops, refresh: true });
  const read = async (modelId: string) =>
    (await es.get<{ ann: { cosine: CosineAnn } }>({ index: names.models, id: modelId }))._source!.ann.cosine;
  return {
    ctx,
    async deploy(modelId: string, seed: number) {
      await deployModel(ctx, { ...plantedModel(modelId, seed, shape), modelId }, { keep: 10 });
      const props = Object.values(await es.indices.getMapping({ index: names.itemsIndex(modelId) }))[0]!
        .mappings.properties!;
      return { graph: props['factor_unit'] !== undefined, cosine: await read(modelId) };
    },
    /** Rewrites the timings a deploy recorded, as if it had measured these. */
    async recordTimings(modelId: string, annMs: number, exactMs: number) {
      const cosine = await read(modelId);
      const timed = (c?: Choice) => (c ? { ...c, ann_ms: annMs, exact_ms: exactMs } : c);
      await es.update({
        index: names.models,
        id: modelId,
        doc: {
          ann: {
            cosine: { ...cosine, unfiltered: timed(cosine.unfiltered), filtered: timed(cosine.filtered) },
          },
        },
        refresh: true,
      });
    },
  };
}

describe('the item → item graph with [deploy] similar_ann = "auto"', () => {
  it('is built and timed with no live model, left out after a model whose graph exact search matched, and built again after that', async () => {
    const s = await shop('simauto');
    const a = await s.deploy('sa', 1);
    expect(a.graph).toBe(true);
    expect(a.cosine.unfiltered?.exact_ms).toBeGreaterThan(0);

    await s.recordTimings('sa', 10, 5);
    const b = await s.deploy('sb', 2);
    expect(b.graph).toBe(false);
    expect(b.cosine).toMatchObject({
      graph: false,
      skipped: { measured_on: 'sa', unfiltered: { ann_ms: 10, exact_ms: 5 } },
    });
    // serving answers similar items of the model without the graph exactly
    const resolver = new LiveModelResolver(s.ctx.repos, s.ctx.names, s.ctx.log);
    expect((await resolver.annCandidates('sb'))?.cosine).toMatchObject({ exactOnly: true });

    // sb measured nothing: the next deploy builds and times the graph again
    const c = await s.deploy('sc', 3);
    expect(c.graph).toBe(true);
    expect(c.cosine.filtered?.ann_ms).toBeGreaterThan(0);
  });

  it('is built after a live model whose graph was faster than exact search for some kind of request', async () => {
    const s = await shop('simauto2');
    expect((await s.deploy('sd', 4)).graph).toBe(true);
    await s.recordTimings('sd', 5, 10);
    expect((await s.deploy('se', 5)).graph).toBe(true);
  });
});
