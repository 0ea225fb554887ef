import { describe, expect, it } from 'vitest';
import {
  annAnsweredByBound,
  boundHolds,
  buildNormProbe,
  keptByBound,
  longerThan,
  minTopKNorm,
  normBound,
  NORM_SLACK,
  PROBE_SIZE,
  probeColumnKinds,
} from '../../src/model/norm-probe.ts';
import { filterPredicate } from '../../src/query/filters.ts';
import { planVectorSearch } from '../../src/query/plan.ts';
import type { Filters } from '../../src/query/types.ts';
import { vectorSearchBody } from '../../src/query/search-body.ts';
import { DEFAULT_QUERY_OPTIONS } from '../../src/query/types.ts';
import { createRng } from '../../src/random/rng.ts';

const K = 8;

function catalogue(
  n: number,
  seed: number,
  spread: number,
): Array<{ id: string; vector: number[]; norm: number }> {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const s = Math.exp(spread * rng.gaussian());
    const vector = Array.from({ length: K }, () => Math.fround(rng.uniform(-1, 1) * s));
    return { id: `i${i}`, vector, norm: Math.hypot(...vector) };
  });
}

const dot = (a: number[], b: number[]) => a.reduce((s, x, d) => s + x * b[d]!, 0);

/** The probe as the resolver builds it: the `size` longest items. */
const probeOf = (items: ReturnType<typeof catalogue>, size: number) =>
  buildNormProbe(K, [...items].sort((a, b) => b.norm - a.norm).slice(0, size));

describe('norm-pruned exact search', () => {
  it('never cuts an item of the true top k, whatever the probe size and exclusions, and does cut most of the catalogue', () => {
    const items = catalogue(5000, 1, 1);
    const rng = createRng(2);
    let cut = 0;
    let bounded = 0;
    for (const size of [50, 500, 5000]) {
      const probe = probeOf(items, size);
      for (let t = 0; t < 60; t++) {
        const q = Array.from({ length: K }, () => rng.uniform(-1, 1));
        // exclusions drawn from this query's own top 10 (seen items are what a user would score
        // highest), plus random ones: a bound that ignored them would sit above the true k-th score
        const ranked = [...items].sort((a, b) => dot(q, b.vector) - dot(q, a.vector));
        const exclude = new Set([
          ...ranked
            .slice(0, 10)
            .filter(() => rng.uniform(0, 1) < 0.5)
            .map((it) => it.id),
          ...Array.from({ length: 10 }, () => `i${Math.floor(rng.uniform(0, 1) * 300)}`),
        ]);
        const top = ranked.filter((it) => !exclude.has(it.id)).slice(0, 10);
        const min = minTopKNorm(probe, q, 10, exclude);
        if (min === undefined) continue;
        bounded++;
        for (const it of top) expect(it.norm).toBeGreaterThanOrEqual(min);
        cut += items.filter((it) => it.norm < min).length / items.length;
      }
    }
    expect(bounded).toBeGreaterThan(150);
    expect(cut / bounded).toBeGreaterThan(0.5);
  });

  it('with the whole catalogue as probe, the bound is the true k-th score over the query norm', () => {
    const items = catalogue(800, 3, 0.5);
    const probe = probeOf(items, 800);
    const q = [0.3, -0.2, 0.5, 0.1, -0.4, 0.2, 0.6, -0.1];
    const kth = items.map((it) => dot(q, it.vector)).sort((a, b) => b - a)[9]!;
    const want = (kth / Math.hypot(...q)) * (1 - NORM_SLACK);
    // scores are float32 dot products, as ES computes them: equal to float32 rounding, far inside NORM_SLACK
    expect(Math.abs(minTopKNorm(probe, q, 10, new Set())! - want) / want).toBeLessThan(1e-6);
  });

  it('scores rows of any length, in blocks, as float64 dot products do up to float32 rounding', () => {
    for (const dims of [1, 3, 8, 13, 64]) {
      const rng = createRng(dims);
      const items = Array.from({ length: 300 }, (_, i) => ({
        id: `i${i}`,
        vector: Array.from({ length: dims }, () => Math.fround(rng.uniform(0.01, 1))),
      }));
      const probe = buildNormProbe(dims, items);
      // positive rows and query: every dot is positive, so even the 300th score gives a bound
      const q = Array.from({ length: dims }, () => rng.uniform(0.01, 1));
      const byId = new Map(items.map((it) => [it.id, it.vector]));
      // k = all rows: the scan cannot stop early, so the k-th score is the smallest of every row's dot
      const smallest = Math.min(...items.map((it) => q.reduce((s, x, d) => s + x * it.vector[d]!, 0)));
      const got = minTopKNorm(probe, q, 300, new Set());
      expect(Math.abs((got! * Math.hypot(...q)) / (1 - NORM_SLACK) - smallest)).toBeLessThan(1e-5);
      // k = 1: the best row, whichever block it sits in
      const best = Math.max(...probe.ids.map((id) => q.reduce((s, x, d) => s + x * byId.get(id)![d]!, 0)));
      expect(
        Math.abs((minTopKNorm(probe, q, 1, new Set())! * Math.hypot(...q)) / (1 - NORM_SLACK) - best),
      ).toBeLessThan(1e-5);
    }
  });

  it('gives no bound when exclusions leave fewer than k probe items, the k-th score is not positive, or the query is zero or of another length', () => {
    const items = catalogue(30, 4, 0);
    const probe = probeOf(items, 12);
    const q = Array.from({ length: K }, () => 0.5);
    expect(minTopKNorm(probe, q, 10, new Set(probe.ids.slice(0, 3)))).toBeUndefined();
    expect(minTopKNorm(probe, new Array(K).fill(0), 10, new Set())).toBeUndefined();
    expect(minTopKNorm(probe, [1, 2, 3], 10, new Set())).toBeUndefined();
    // every probe item points away from the query: the k-th score is negative
    const away = buildNormProbe(
      K,
      Array.from({ length: 12 }, (_, i) => ({ id: `n${i}`, vector: new Array(K).fill(-1 - i) })),
    );
    expect(minTopKNorm(away, q, 10, new Set())).toBeUndefined();
  });

  it('tells how many items a bound keeps only when every kept item is in the probe, or the probe is the whole catalogue', () => {
    const small = buildNormProbe(
      1,
      [5, 4, 3, 2, 1].map((x, i) => ({ id: `s${i}`, vector: [x] })),
    );
    expect(keptByBound(small, 3)).toBe(3);
    expect(keptByBound(small, 0.5)).toBe(5);
    expect(keptByBound(small, 9)).toBe(0);
    const full = buildNormProbe(
      1,
      Array.from({ length: PROBE_SIZE }, (_, i) => ({ id: `f${i}`, vector: [PROBE_SIZE - i] })),
    );
    // above the shortest probe item: the kept items are the probe's longest
    expect(keptByBound(full, PROBE_SIZE - 99.5)).toBe(100);
    // at or below it: items outside the probe may pass too, so the count is unknown
    expect(keptByBound(full, 1)).toBeUndefined();
    expect(keptByBound(full, 0.5)).toBeUndefined();
    expect(keptByBound(buildNormProbe(1, []), 1)).toBeUndefined();
  });

  it('the probe is longest first and leaves out zero vectors and vectors of another length', () => {
    const probe = buildNormProbe(2, [
      { id: 'short', vector: [0.1, 0] },
      { id: 'zero', vector: [0, 0] },
      { id: 'long', vector: [3, 4] },
      { id: 'odd', vector: [1, 2, 3] },
    ]);
    expect(probe.ids).toEqual(['long', 'short']);
    expect(Array.from(probe.norms)).toEqual([5, expect.closeTo(0.1, 9)]);
    expect(Array.from(probe.vectors)).toEqual([3, 4, expect.closeTo(0.1, 6), 0]);
  });

  it('an exact body with a bound filters on factor_norm inside knn, beside the request filters', () => {
    const filters = { terms: { category: ['a'] }, booleans: {}, ranges: {} };
    const body = vectorSearchBody(
      { space: 'mips', mode: 'exact', k: 10, vector: [1, 0], filters, exclude: ['x'], minNorm: 0.25 },
      DEFAULT_QUERY_OPTIONS,
    );
    const knn = body.knn as { field: string; filter: unknown[] };
    expect(knn.field).toBe('factor_exact');
    expect(knn.filter).toContainEqual({ range: { factor_norm: { gte: 0.25 } } });
    expect(knn.filter).toContainEqual({ term: { category: 'a' } });
    const plain = vectorSearchBody(
      { space: 'mips', mode: 'exact', k: 10, vector: [1, 0], filters, exclude: [] },
      DEFAULT_QUERY_OPTIONS,
    );
    expect(JSON.stringify(plain)).not.toContain('factor_norm');
  });

  it('with a filter, only probe items passing it set the bound, which then never cuts an item of the filtered top k', () => {
    const items = catalogue(4000, 5, 1).map((it, i) => ({ ...it, fields: { category: [`c${i % 5}`] } }));
    const probe = buildNormProbe(
      K,
      [...items].sort((a, b) => b.norm - a.norm).slice(0, 1000),
      new Map([['category', 'keyword' as const]]),
    );
    const accept = filterPredicate({ terms: { category: ['c3'] }, booleans: {}, ranges: {} }, probe.columns)!;
    const rng = createRng(6);
    let tighter = 0;
    for (let t = 0; t < 60; t++) {
      const q = Array.from({ length: K }, () => rng.uniform(-1, 1));
      const top = items
        .filter((it) => it.fields.category[0] === 'c3')
        .sort((a, b) => dot(q, b.vector) - dot(q, a.vector))
        .slice(0, 10);
      const min = minTopKNorm(probe, q, 10, new Set(), accept)!;
      expect(min).toBeDefined();
      for (const it of top) expect(it.norm).toBeGreaterThanOrEqual(min);
      // the bound of the filtered request is lower than the unfiltered one (fewer items set it)
      if (min < minTopKNorm(probe, q, 10, new Set())!) tighter++;
      expect(min).toBeLessThanOrEqual(minTopKNorm(probe, q, 10, new Set())!);
    }
    expect(tighter).toBeGreaterThan(30);
  });

  it('a bounded answer holds when its k-th hit scores at least the query norm times the bound, and not when it has fewer than k hits or scores below', () => {
    const q = [3, 4]; // ‖q‖ = 5
    expect(boundHolds(1, q, 3, [9, 8, 5.01])).toBe(true);
    expect(boundHolds(1, q, 3, [9, 8, 4.9])).toBe(false);
    expect(boundHolds(1, q, 3, [9, 8])).toBe(false);
    expect(boundHolds(0, q, 2, [0, 0])).toBe(false);
    // the bound the probe gives certifies the hits that set it: the slack leaves room for float32
    const probe = buildNormProbe(2, [
      { id: 'a', vector: [1, 1] },
      { id: 'b', vector: [2, 0] },
      { id: 'c', vector: [0.1, 0.1] },
    ]);
    const min = minTopKNorm(probe, q, 2, new Set())!;
    expect(boundHolds(min, q, 2, [Math.fround(7), Math.fround(6)])).toBe(true);
  });

  it('the margins of a bounded answer: relative 1e-5 on ‖q‖ · bound plus 5e-7 · (1 + k-th score), no more, no less', () => {
    // ‖q‖ = 1, bound 2: the k-th score must reach t = 2 · (1 + 1e-5) + 5e-7 · (1 + t)
    const q = [0.6, 0.8];
    const t = (2 * (1 + 1e-5) + 5e-7) / (1 - 5e-7);
    expect(boundHolds(2, q, 2, [9, t + 1e-9])).toBe(true);
    expect(boundHolds(2, q, 2, [9, t - 1e-9])).toBe(false);
    // only the first k hits count, the k-th being the smallest of them whatever the order
    expect(boundHolds(2, q, 2, [t - 1e-9, 9, 9])).toBe(false);
    expect(boundHolds(2, q, 1, [9, 0])).toBe(true);
    // k < 1 asks nothing a search could answer
    expect(boundHolds(2, q, 0, [9])).toBe(false);
  });

  it('the probe carries a whitelisted field only when doc values are what its filter kind matches', () => {
    const mappings = new Map([
      ['category', { type: 'keyword' }],
      ['brand', { type: 'keyword', normalizer: 'lowercase' }],
      ['name', { type: 'text' }],
      ['available', { type: 'boolean' }],
      ['price', { type: 'float' }],
      ['stock', { type: 'long', docValues: false }],
      ['created_at', { type: 'date' }],
      ['rating', { type: 'scaled_float' }],
    ]);
    const kinds = probeColumnKinds(
      {
        keyword: ['category', 'brand', 'name', 'tags'],
        boolean: ['available', 'price'],
        range: ['price', 'stock', 'created_at', 'rating'],
      },
      mappings,
    );
    expect([...kinds]).toEqual([
      ['category', 'keyword'],
      ['available', 'boolean'],
      ['price', 'range'],
    ]);
  });

  it('filters are evaluated on the columns as Elasticsearch evaluates the clauses: all must hold, any value of a row may match', () => {
    const columns = new Map([
      ['tags', { kind: 'keyword' as const, values: [['a', 'b'], ['c'], undefined] }],
      ['available', { kind: 'boolean' as const, values: [[true], [false], [true]] }],
      ['price', { kind: 'range' as const, values: [[10], [20, 5], undefined] }],
    ]);
    const rows = (f: Partial<Filters>) => {
      const p = filterPredicate({ terms: {}, booleans: {}, ranges: {}, ...f }, columns);
      return p === null || p === undefined ? p : [0, 1, 2].filter(p);
    };
    expect(rows({})).toBeNull();
    expect(rows({ terms: { tags: [] } })).toBeNull();
    expect(rows({ terms: { tags: ['b', 'c'] } })).toEqual([0, 1]);
    expect(rows({ booleans: { available: true } })).toEqual([0, 2]);
    expect(rows({ ranges: { price: { gte: 6, lte: 10 } } })).toEqual([0]);
    expect(rows({ ranges: { price: { lte: 5 } } })).toEqual([1]);
    expect(rows({ terms: { tags: ['a', 'c'] }, booleans: { available: false } })).toEqual([1]);
    // a field the columns do not carry, or carry as another kind: no predicate, so no bound
    expect(rows({ terms: { brand: ['x'] } })).toBeUndefined();
    expect(rows({ terms: { available: ['true'] } })).toBeUndefined();
  });

  it('the plan bounds exact and routes ann to the bounded search only for user → item mips requests whose filters the probe can evaluate', () => {
    const items = catalogue(2000, 7, 1).map((it, i) => ({ ...it, fields: { category: [`c${i % 2}`] } }));
    const probe = buildNormProbe(K, items, new Map([['category', 'keyword' as const]]));
    const vector = Array.from({ length: K }, (_, d) => (d % 2 ? 1 : -0.5));
    const plan = (
      mode: 'exact' | 'ann',
      filters: Partial<Filters>,
      more: { exclude?: Set<string>; max?: number; space?: 'mips' | 'cosine' } = {},
    ) =>
      planVectorSearch({
        space: more.space ?? 'mips',
        req: { mode, k: 10, filters: { terms: {}, booleans: {}, ranges: {}, ...filters } },
        vector,
        exclude: 'exclude' in more ? more.exclude : new Set(),
        probe: () => probe,
        annExactMaxScored: more.max ?? 10_000,
      });
    expect(plan('exact', {}).minNorm).toBeGreaterThan(0);
    expect(plan('exact', { terms: { category: ['c1'] } }).minNorm).toBeGreaterThan(0);
    expect(plan('exact', { terms: { brand: ['x'] } }).minNorm).toBeUndefined();
    expect(plan('exact', {}, { exclude: undefined }).minNorm).toBeUndefined();
    expect(plan('exact', {}, { space: 'cosine' }).minNorm).toBeUndefined();
    expect(plan('ann', { terms: { category: ['c1'] } })).toMatchObject({ mode: 'exact' });
    expect(plan('ann', { terms: { category: ['c1'] } }).minNorm).toBeGreaterThan(0);
    for (const graph of [plan('ann', {}, { max: 0 }), plan('ann', { terms: { brand: ['x'] } })]) {
      expect(graph.mode).toBe('ann');
      expect(graph.minNorm).toBeUndefined();
    }
  });

  it('counts the items a bounded search scores: exactly when every kept item is in the probe, else from the catalogue norm percentiles and the share of probe items passing the filter', () => {
    const uniform = { total: 1000, percentiles: Array.from({ length: 101 }, (_, i) => i / 100) };
    expect(longerThan(uniform, 0)).toBe(1000);
    expect(longerThan(uniform, 0.9)).toBe(100);
    expect(longerThan(uniform, 0.905)).toBe(95);
    expect(longerThan(uniform, 2)).toBe(0);
    // the whole catalogue in the probe: exact counts, with and without a filter
    const items = catalogue(3000, 9, 1).map((it, i) => ({ ...it, fields: { category: [`c${i % 3}`] } }));
    const kinds = new Map([['category', 'keyword' as const]]);
    const whole = buildNormProbe(K, items, kinds);
    const q = Array.from({ length: K }, (_, d) => (d % 3 ? 0.5 : -1));
    const accept = filterPredicate({ terms: { category: ['c1'] }, booleans: {}, ranges: {} }, whole.columns)!;
    const b = normBound(whole, q, 10, new Set(), accept)!;
    expect(b.scored).toBe(
      items.filter((it) => it.norm >= b.minNorm && it.fields.category[0] === 'c1').length,
    );
    expect(normBound(whole, q, 10, new Set())!.scored).toBe(
      items.filter((it) => it.norm >= normBound(whole, q, 10, new Set())!.minNorm).length,
    );
    // a probe of the 10,000 longest of 40,000 items: a bound below its shortest item is estimated
    const big = catalogue(40_000, 10, 0.3).map((it, i) => ({ ...it, fields: { category: [`c${i % 16}`] } }));
    const sorted = big.map((it) => it.norm).sort((x, y) => x - y);
    const distribution = {
      total: big.length,
      percentiles: Array.from(
        { length: 101 },
        (_, p) => sorted[Math.min(sorted.length - 1, Math.round((p / 100) * (sorted.length - 1)))]!,
      ),
    };
    const probe = buildNormProbe(
      K,
      [...big].sort((x, y) => y.norm - x.norm).slice(0, PROBE_SIZE),
      kinds,
      distribution,
    );
    const narrow = filterPredicate({ terms: { category: ['c5'] }, booleans: {}, ranges: {} }, probe.columns)!;
    const rng = createRng(11);
    let estimated = 0;
    for (let t = 0; t < 60; t++) {
      const v = Array.from({ length: K }, () => rng.uniform(-1, 1));
      const bound = normBound(probe, v, 10, new Set(), narrow);
      if (!bound || bound.kept !== undefined) continue;
      estimated++;
      const truth = big.filter((it) => it.norm >= bound.minNorm && it.fields.category[0] === 'c5').length;
      expect(bound.scored! / truth).toBeGreaterThan(0.8);
      expect(bound.scored! / truth).toBeLessThan(1.25);
      expect(annAnsweredByBound(bound, truth * 2)).toBe(true);
      expect(annAnsweredByBound(bound, Math.floor(truth / 2))).toBe(false);
    }
    expect(estimated).toBeGreaterThan(10);
  });
});
