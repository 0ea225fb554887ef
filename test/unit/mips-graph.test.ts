import { describe, expect, it } from 'vitest';
import { exactTopK } from '../../src/deploy/ann-tuning.ts';
import { chooseMipsGraph, ROUTED_SHARE } from '../../src/deploy/mips-graph.ts';
import { rowNorms } from '../../src/deploy/norm-head.ts';
import { createRng } from '../../src/random/rng.ts';
import { spreadFactors } from '../support/spread-factors.ts';

const K = 8;
const N = 40_000;

const factors = (n: number, seed: number, spread: number) => spreadFactors(n, K, seed, spread);
const ids = (n: number) => Array.from({ length: n }, (_, i) => `i${i}`);
const queries = (n: number, seed: number) => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => ({ vector: Array.from({ length: K }, () => rng.uniform(-1, 1)) }));
};

describe('whether a model needs the user → item graph', () => {
  it('skips it when norms spread widely: the bounded exact search scores few items for nearly every user', () => {
    const c = chooseMipsGraph(ids(N), factors(N, 1, 1.5), K, queries(64, 2), 10, 2_000);
    expect(c.graph).toBe(false);
    expect(c.bound.routed_share).toBeGreaterThanOrEqual(ROUTED_SHARE);
    expect(c.bound.scored_p90).toBeLessThanOrEqual(2_000);
    expect(c.bound.scored_p50).toBeLessThanOrEqual(c.bound.scored_p90);
    expect(c.bound).toMatchObject({ sample: 64, max_scored: 2_000 });
  });

  it('builds it when norms are narrow: the bound keeps most of the catalogue', () => {
    const c = chooseMipsGraph(ids(N), factors(N, 3, 0), K, queries(64, 4), 10, 2_000);
    expect(c.graph).toBe(true);
    expect(c.bound.routed_share).toBeLessThan(ROUTED_SHARE);
    expect(c.bound.scored_p50).toBeGreaterThan(2_000);
  });

  it('counts every item a true top-10 item could be: the scored items reach down to the shortest true top-10 item', () => {
    const items = factors(N, 5, 1);
    const qs = queries(32, 6);
    const norms = rowNorms(items, K);
    const sorted = Array.from(norms).sort((a, b) => b - a);
    // the scored count covers, for each query, every item at least as long as its shortest true top-10 item
    const needed = exactTopK(
      items,
      K,
      qs.map((q) => q.vector),
      10,
    ).map((rows) => {
      const shortest = Math.min(...rows.map((r) => norms[r]!));
      return sorted.filter((x) => x >= shortest).length;
    });
    const c = chooseMipsGraph(ids(N), items, K, qs, 10, N);
    const neededSorted = [...needed].sort((a, b) => a - b);
    expect(c.bound.scored_p50).toBeGreaterThanOrEqual(neededSorted[Math.ceil(0.5 * needed.length) - 1]!);
    expect(c.bound.scored_p90).toBeGreaterThanOrEqual(neededSorted[Math.ceil(0.9 * needed.length) - 1]!);
  });

  it('excluded items loosen the bound (fewer long items left to set it), and [serving] ann_exact_max_scored 0 always builds the graph', () => {
    const items = factors(N, 7, 1.5);
    const qs = queries(32, 8);
    const top = exactTopK(
      items,
      K,
      qs.map((q) => q.vector),
      10,
    );
    const plain = chooseMipsGraph(ids(N), items, K, qs, 10, 2_000);
    const excluding = chooseMipsGraph(
      ids(N),
      items,
      K,
      qs.map((q, j) => ({ ...q, exclude: top[j]!.map((r) => `i${r}`) })),
      10,
      2_000,
    );
    expect(excluding.bound.scored_p50).toBeGreaterThanOrEqual(plain.bound.scored_p50);
    expect(excluding.bound.scored_p90).toBeGreaterThan(plain.bound.scored_p90);
    expect(chooseMipsGraph(ids(N), items, K, qs, 10, 0).graph).toBe(true);
  });
});
