// A deploy's load leaves large segments (full indexing buffers) and small ones (the threads' last,
// part-filled buffers); each is one more HNSW graph per knn search. compactSmallSegments merges the
// small ones into one and must leave the large ones untouched (re-inserting their vectors would
// cost minutes at 1M items).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/random/rng.ts';
import { setup } from '../../src/setup/index.ts';
import { testContext } from './harness.ts';

const ctx = testContext('segments');
const { es, names } = ctx;
const MODEL = 'mseg';
const DIMS = 4;

async function segmentDocs(): Promise<number[]> {
  const r = await es.indices.segments({ index: names.itemsIndex(MODEL) });
  const copies = Object.values(r.indices[names.itemsIndex(MODEL)]!.shards).flat() as Array<{
    routing: { primary: boolean };
    segments: Record<string, { num_docs: number }>;
  }>;
  return copies
    .filter((c) => c.routing.primary)
    .flatMap((c) => Object.values(c.segments).map((s) => s.num_docs))
    .sort((a, b) => b - a);
}

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await ctx.repos.modelIndices.create(MODEL, DIMS);
  const rng = createRng(5);
  let next = 0;
  // three large segments and four small ones: one refresh after each chunk cuts a segment
  for (const size of [1500, 1200, 1000, 12, 9, 7, 5]) {
    // one bulk request is indexed by one thread, so it lands in one segment
    const operations = Array.from({ length: size }, () => {
      const id = `i${next++}`;
      return [
        { index: { _index: names.itemsIndex(MODEL), _id: id } },
        { item_id: id, has_factor: true, factor: Array.from({ length: DIMS }, () => rng.gaussian()) },
      ];
    }).flat();
    expect((await es.bulk({ operations, refresh: true })).errors).toBe(false);
  }
}, 120_000);

afterAll(() => ctx.dispose());

describe('compacting a deploy’s small segments', () => {
  it('merges the small segments into one and leaves every large one as it was', async () => {
    const before = await segmentDocs();
    expect(before).toEqual([1500, 1200, 1000, 12, 9, 7, 5]);
    const r = await ctx.repos.modelIndices.compactSmallSegments(MODEL, { pollMs: 100 });
    expect(r).toEqual({ before: 7, after: 4 });
    expect(await segmentDocs()).toEqual([1500, 1200, 1000, 33]);
    expect(await ctx.repos.modelIndices.countItems(MODEL)).toBe(3733);
  });

  it('does nothing when there are no two small segments to merge', async () => {
    expect(await ctx.repos.modelIndices.compactSmallSegments(MODEL, { pollMs: 100 })).toEqual({
      before: 4,
      after: 4,
    });
    expect(await segmentDocs()).toEqual([1500, 1200, 1000, 33]);
  });
});
