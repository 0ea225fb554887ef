import { describe, expect, it } from 'vitest';
import {
  CANDIDATE_LADDER,
  CLIMB_QUERIES,
  TIMED_QUERIES,
  componentRms,
  exactTopK,
  meanRecall,
  recallStats,
  sampleIndices,
  smallestReaching,
  tuneAnnCandidates,
} from '../../src/deploy/ann-tuning.ts';
import { createRng } from '../../src/random/rng.ts';

function randomFactors(n: number, dims: number, seed: number): Float32Array {
  const r = createRng(seed);
  return Float32Array.from({ length: n * dims }, () => r.gaussian());
}

/** Top-k rows by sorting every score: the slow, obviously right reference. */
function sortedTopK(
  items: Float32Array,
  dims: number,
  q: number[],
  k: number,
  keep: (i: number) => boolean = () => true,
): number[] {
  const scored: Array<[number, number]> = [];
  for (let i = 0; i < items.length / dims; i++) {
    if (!keep(i)) continue;
    let s = 0;
    for (let d = 0; d < dims; d++) s += items[i * dims + d]! * q[d]!;
    scored.push([i, s]);
  }
  return scored
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([i]) => i);
}

describe('ann tuning maths', () => {
  it('exactTopK equals sorting every inner product, with and without a row filter', () => {
    const dims = 8;
    const items = randomFactors(500, dims, 1);
    const queries = Array.from({ length: 5 }, (_, j) => Array.from(randomFactors(1, dims, 100 + j)));
    expect(exactTopK(items, dims, queries, 10)).toEqual(queries.map((q) => sortedTopK(items, dims, q, 10)));
    const even = (i: number) => i % 2 === 0;
    const usable = Uint8Array.from({ length: 500 }, (_, i) => (even(i) ? 1 : 0));
    expect(exactTopK(items, dims, queries, 10, { usable })).toEqual(
      queries.map((q) => sortedTopK(items, dims, q, 10, even)),
    );
    const evenRows = Array.from({ length: 250 }, (_, i) => 2 * i);
    expect(exactTopK(items, dims, queries, 10, { rowsOf: () => evenRows })).toEqual(
      queries.map((q) => sortedTopK(items, dims, q, 10, even)),
    );
  });

  it('meanRecall averages |got ∩ truth| / |truth| and leaves out queries without a truth', () => {
    expect(meanRecall([['a', 'b'], ['c', 'd'], []], [['a', 'x'], ['d', 'c'], ['z']])).toBeCloseTo(0.75);
    expect(meanRecall([[]], [[]])).toBe(1);
  });

  it('smallestReaching finds the first ladder value meeting the target, measuring few of them', async () => {
    const seen: number[] = [];
    const recallAt = async (n: number) => {
      seen.push(n);
      return n >= 800 ? 0.96 : 0.9;
    };
    expect(await smallestReaching(0.95, recallAt)).toEqual({ num_candidates: 800, recall: 0.96 });
    expect(seen.length).toBeLessThanOrEqual(6);
    expect(Math.max(...seen)).toBeLessThanOrEqual(1200); // the slow top rungs are never measured
    // every threshold on the ladder is found exactly
    for (const need of CANDIDATE_LADDER)
      expect((await smallestReaching(0.95, async (n) => (n >= need ? 1 : 0))).num_candidates).toBe(need);
    // met at once: one measurement
    const once: number[] = [];
    expect(await smallestReaching(0.95, async (n) => (once.push(n), 1))).toEqual({
      num_candidates: CANDIDATE_LADDER[0],
      recall: 1,
    });
    expect(once).toEqual([CANDIDATE_LADDER[0]]);
    // never met: the largest, with what it reached
    expect(await smallestReaching(0.95, async () => 0.5)).toEqual({ num_candidates: 10_000, recall: 0.5 });
  });

  it('recallStats gives the mean and its standard error over the queries', () => {
    const s = recallStats([['a', 'b'], ['c', 'd'], ['e', 'f'], []], [['a', 'b'], ['c'], [], ['z']]);
    expect(s.mean).toBeCloseTo(0.5);
    // per-query recalls 1, 0.5, 0: sd 0.5, se 0.5 / √3
    expect(s.se).toBeCloseTo(0.5 / Math.sqrt(3));
    expect(recallStats([], [])).toEqual({ mean: 1, se: 0 });
  });

  it('tuneAnnCandidates judges a rung by its mean recall less one standard error, so a mean just over the target on an uneven sample is not enough', async () => {
    const dims = 8;
    const n = 2000;
    const items = randomFactors(n, dims, 3);
    const itemIds = Array.from({ length: n }, (_, i) => `i${i}`);
    const queries = Array.from({ length: 20 }, (_, j) => ({
      vector: Array.from(randomFactors(1, dims, 400 + j)),
    }));
    // below 600 candidates one query in 20 gets nothing right: mean 0.95 exactly, the target, but with an error of 0.05
    let call = 0;
    const search = async (q: { vector: number[]; numCandidates: number; k: number }) => {
      const top = sortedTopK(items, dims, q.vector, q.k).map((r) => itemIds[r]!);
      return q.numCandidates < 600 && call++ % 20 === 0 ? ['nope'] : top;
    };
    const t = await tuneAnnCandidates({
      space: 'mips',
      dims,
      itemIds,
      itemFactors: items,
      queries,
      search,
      target: 0.95,
    });
    expect(t.unfiltered.num_candidates).toBe(600);
    expect(t.unfiltered.recall).toBe(1);
  });

  it('tuneAnnCandidates climbs on the first queries but chooses a rung only once the whole sample passes it: a lucky head cannot promise recall the rest will not get', async () => {
    const dims = 8;
    const n = 1500;
    const items = randomFactors(n, dims, 11);
    const itemIds = Array.from({ length: n }, (_, i) => `i${i}`);
    // each query tagged through an exclusion no item has, so the fake index knows which it is
    const queries = Array.from({ length: 200 }, (_, j) => ({
      vector: Array.from(randomFactors(1, dims, 900 + j)),
      exclude: [`q${j}`],
    }));
    // cosine: the truth ranks unit vectors, so the fake index does too
    const unit = Float32Array.from(items);
    for (let i = 0; i < n; i++) {
      const row = unit.subarray(i * dims, (i + 1) * dims);
      const norm = Math.hypot(...row);
      row.forEach((x, d) => (row[d] = x / norm));
    }
    const searched = new Map<number, number>();
    // the first CLIMB_QUERIES are found at any num_candidates; of the rest one in five gets nothing right below 800
    const search = async (q: { vector: number[]; numCandidates: number; k: number; exclude: string[] }) => {
      const j = Number(q.exclude[0]!.slice(1));
      searched.set(q.numCandidates, (searched.get(q.numCandidates) ?? 0) + 1);
      const top = sortedTopK(unit, dims, q.vector, q.k).map((r) => itemIds[r]!);
      return j >= CLIMB_QUERIES && j % 5 === 0 && q.numCandidates < 800 ? ['nope'] : top;
    };
    const t = await tuneAnnCandidates({
      space: 'cosine',
      dims,
      itemIds,
      itemFactors: items,
      queries,
      search,
      target: 0.95,
    });
    expect(t.sample).toBe(200);
    expect(t.unfiltered).toMatchObject({ num_candidates: 800, recall: 1 });
    // the first rung was climbed on the head (64 searches) and then judged on the rest, each query searched once per rung
    expect(searched.get(CANDIDATE_LADDER[0])).toBe(200);
    expect([...searched.values()].every((c) => c === 200)).toBe(true);
  });

  it('with compareExact the choice carries the median time of its rung and of the exact search, timed one query at a time, interleaved', async () => {
    const dims = 8;
    const n = 600;
    const items = randomFactors(n, dims, 21);
    const itemIds = Array.from({ length: n }, (_, i) => `i${i}`);
    const queries = Array.from({ length: 50 }, (_, j) => ({
      vector: Array.from(randomFactors(1, dims, 700 + j)),
    }));
    let clock = 0;
    const modes: string[] = [];
    // a fake index whose answers are exact, and whose clock says ann takes 20 ms and exact 5 ms (7 ms every fifth query)
    let call = 0;
    const search = async (q: { vector: number[]; k: number; mode?: 'ann' | 'exact' }) => {
      modes.push(q.mode ?? 'ann');
      clock += q.mode === 'exact' ? (call++ % 5 === 0 ? 7 : 5) : 20;
      const unit = sortedTopK(items, dims, q.vector, q.k);
      return unit.map((r) => itemIds[r]!);
    };
    const t = await tuneAnnCandidates({
      space: 'mips',
      dims,
      itemIds,
      itemFactors: items,
      queries,
      search,
      target: 0.95,
      compareExact: true,
      now: () => clock,
    });
    expect(t.unfiltered).toMatchObject({ ann_ms: 20, exact_ms: 5 });
    expect(modes.filter((m) => m === 'exact').length).toBe(TIMED_QUERIES);
    // interleaved: each exact search right after an ann one
    const firstExact = modes.indexOf('exact');
    expect(modes.slice(firstExact - 1, firstExact + 3)).toEqual(['ann', 'exact', 'ann', 'exact']);
    const plain = await tuneAnnCandidates({
      space: 'mips',
      dims,
      itemIds,
      itemFactors: items,
      queries,
      search,
      target: 0.95,
    });
    expect(plain.unfiltered.ann_ms).toBeUndefined();
  });

  it("tuneAnnCandidates measures with the exclusions serving sends (a user's seen items): the truth leaves them out and every search gets them", async () => {
    const dims = 8;
    const n = 1000;
    const items = randomFactors(n, dims, 7);
    const itemIds = Array.from({ length: n }, (_, i) => `i${i}`);
    // each user has seen its own three best items, as exclude_seen would remove
    const queries = Array.from({ length: 12 }, (_, j) => {
      const vector = Array.from(randomFactors(1, dims, 500 + j));
      return { vector, exclude: sortedTopK(items, dims, vector, 3).map((r) => itemIds[r]!) };
    });
    const got: string[][] = [];
    // a fake index that honours the exclusions exactly, as the knn filter's must_not does
    const search = async (q: { vector: number[]; k: number; exclude: string[] }) => {
      got.push(q.exclude);
      const skip = new Set(q.exclude);
      return sortedTopK(items, dims, q.vector, q.k, (i) => !skip.has(itemIds[i]!)).map((r) => itemIds[r]!);
    };
    const t = await tuneAnnCandidates({
      space: 'mips',
      dims,
      itemIds,
      itemFactors: items,
      queries,
      search,
      target: 0.95,
    });
    expect(t.unfiltered).toMatchObject({ num_candidates: 100, recall: 1 });
    expect(got.every((e) => e.length === 3)).toBe(true);
  });

  it('sampleIndices is spread out, deterministic and never repeats', () => {
    expect(sampleIndices(5, 10)).toEqual([0, 1, 2, 3, 4]);
    const s = sampleIndices(1000, 64);
    expect(new Set(s).size).toBe(64);
    expect(s.at(-1)).toBeGreaterThan(900);
  });

  it('tuneAnnCandidates picks the smallest num_candidates whose searches reach the target, filtered separately', async () => {
    const dims = 8;
    const n = 2000;
    const items = randomFactors(n, dims, 3);
    const itemIds = Array.from({ length: n }, (_, i) => `i${i}`);
    const category = (row: number) => `c${row % 4}`;
    const queries = Array.from({ length: 16 }, (_, j) => ({
      vector: Array.from(randomFactors(1, dims, 200 + j)),
    }));
    // a fake index: exact answers from num_candidates 300 on (unfiltered) and 1200 on (filtered), else misses half
    const search = async (q: { vector: number[]; numCandidates: number; k: number; category?: string }) => {
      const keep = (i: number) => q.category === undefined || category(i) === q.category;
      const top = sortedTopK(items, dims, q.vector, q.k, keep).map((r) => itemIds[r]!);
      const enough = q.numCandidates >= (q.category === undefined ? 300 : 1200);
      return enough ? top : [...top.slice(0, q.k / 2), 'nope'];
    };
    const t = await tuneAnnCandidates({
      space: 'mips',
      dims,
      itemIds,
      itemFactors: items,
      queries,
      category,
      search,
      target: 0.95,
    });
    expect(t.unfiltered).toEqual({ num_candidates: 300, recall: 1, recall_low: 1 });
    expect(t.filtered).toEqual({ num_candidates: 1200, recall: 1, recall_low: 1 });
    expect(t.sample).toBe(16);
    // every scale ranked alike: the queries stay as they are
    expect(t.query_rms).toBeUndefined();
  });

  it('mips: picks the query scale that ranks best at the first rung, then tunes num_candidates with queries at that scale', async () => {
    const dims = 8;
    const n = 1000;
    const items = randomFactors(n, dims, 5);
    const itemIds = Array.from({ length: n }, (_, i) => `i${i}`);
    const sigma = componentRms(items, dims);
    expect(sigma).toBeGreaterThan(0.9);
    expect(sigma).toBeLessThan(1.1);
    const queries = Array.from({ length: 8 }, (_, j) => ({
      vector: Array.from(randomFactors(1, dims, 300 + j)),
    }));
    const seen: Array<{ rms: number; numCandidates: number }> = [];
    // a fake quantised index: exact only for queries scaled to about 4σ, and from num_candidates 200 on
    const search = async (q: { vector: number[]; numCandidates: number; k: number }) => {
      const rms = Math.sqrt(q.vector.reduce((t, x) => t + x * x, 0) / dims);
      seen.push({ rms, numCandidates: q.numCandidates });
      const top = sortedTopK(items, dims, q.vector, q.k).map((r) => itemIds[r]!);
      const good = Math.abs(rms / sigma - 4) < 0.5 && q.numCandidates >= 200;
      const near = Math.abs(rms / sigma - 4) < 0.5;
      return good ? top : near ? [...top.slice(0, q.k - 2), 'x', 'y'] : ['nope'];
    };
    const t = await tuneAnnCandidates({
      space: 'mips',
      dims,
      itemIds,
      itemFactors: items,
      queries,
      search,
      target: 0.95,
    });
    expect(t.query_rms).toBeCloseTo(4 * sigma);
    expect(t.query_scales?.['4']).toBeCloseTo(0.8);
    expect(t.query_scales?.['none']).toBe(0);
    expect(t.unfiltered.num_candidates).toBe(200);
    // the ladder after the scale choice searched with rescaled queries only
    expect(seen.filter((s) => s.numCandidates > 100).every((s) => Math.abs(s.rms / sigma - 4) < 1e-6)).toBe(
      true,
    );
    // the cosine space never rescales (unit vectors against unit vectors)
    const c = await tuneAnnCandidates({
      space: 'cosine',
      dims,
      itemIds,
      itemFactors: items,
      queries: queries.map((q, j) => ({ ...q, exclude: [itemIds[j]!] })),
      search: async () => [],
      target: 0.95,
    });
    expect(c.query_rms).toBeUndefined();
    expect(c.query_scales).toBeUndefined();
  });
});
