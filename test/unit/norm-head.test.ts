import { describe, expect, it } from 'vitest';
import { exactTopK } from '../../src/deploy/ann-tuning.ts';
import { chooseNormHead, HEAD_MAX_SHARE, inNormHead, rowNorms } from '../../src/deploy/norm-head.ts';
import { createRng } from '../../src/random/rng.ts';
import { spreadFactors } from '../support/spread-factors.ts';
import { vectorSearchBody } from '../../src/query/search-body.ts';
import { DEFAULT_QUERY_OPTIONS } from '../../src/query/types.ts';

const K = 8;

const factors = (n: number, seed: number, spread: number) => spreadFactors(n, K, seed, spread);

const queries = (n: number, seed: number) => {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Array.from({ length: K }, () => rng.uniform(-1, 1)));
};

describe('norm head', () => {
  it('with widely spread norms, holds the longest items that cover the sampled true top-k, and few of them', () => {
    const items = factors(20_000, 1, 1.5);
    const qs = queries(64, 2);
    const head = chooseNormHead(items, K, qs, 10)!;
    expect(head).toBeDefined();
    expect(head.items).toBeGreaterThan(0);
    expect(head.items / 20_000).not.toBeGreaterThan(HEAD_MAX_SHARE);
    const norms = rowNorms(items, K);
    // exactly the items at least min_norm long, and inNormHead agrees with the stored threshold
    let n = 0;
    for (let i = 0; i < 20_000; i++) {
      const mine = inNormHead(items.subarray(i * K, (i + 1) * K), head);
      expect(mine).toBe(norms[i]! >= head.min_norm);
      if (mine) n++;
    }
    expect(n).toBe(head.items);
    const truth = exactTopK(items, K, qs, 10).flat();
    const covered = truth.filter((r) => norms[r]! >= head.min_norm).length / truth.length;
    expect(covered).toBeGreaterThanOrEqual(0.95);
  });

  it('generalises to users it was not chosen on', () => {
    const items = factors(20_000, 1, 1.5);
    const head = chooseNormHead(items, K, queries(64, 2), 10)!;
    const norms = rowNorms(items, K);
    const truth = exactTopK(items, K, queries(64, 3), 10).flat();
    expect(truth.filter((r) => norms[r]! >= head.min_norm).length / truth.length).toBeGreaterThan(0.85);
  });

  it('is absent when the true top-k do not concentrate among the longest items', () => {
    // norms that barely vary: the top-k spread over the whole catalogue by angle
    expect(chooseNormHead(factors(20_000, 1, 0), K, queries(64, 2), 10)).toBeUndefined();
    expect(chooseNormHead(factors(100, 1, 1.5), K, [], 10)).toBeUndefined();
    // a head that would be too many items for the per-request brute force
    const wide = factors(20_000, 1, 1.5);
    const head = chooseNormHead(wide, K, queries(64, 2), 10)!;
    expect(chooseNormHead(wide, K, queries(64, 2), 10, { maxItems: head.items - 1 })).toBeUndefined();
  });

  it('never holds an item without a factor', () => {
    const items = factors(2000, 1, 1.5);
    items.fill(0, 0, K);
    const head = chooseNormHead(items, K, queries(16, 2), 10, { maxShare: 1, coverage: 1 })!;
    expect(inNormHead(items.subarray(0, K), head)).toBe(false);
    expect(inNormHead(items.subarray(0, K), undefined)).toBe(false);
  });

  it('a mips ann body with a norm head adds brute force over the head beside the graph, under the same filters', () => {
    const filters = { terms: { category: ['c1'] }, booleans: {}, ranges: {} };
    const body = vectorSearchBody(
      {
        space: 'mips',
        mode: 'ann',
        k: 10,
        vector: [1, 2],
        filters,
        exclude: ['x'],
        numCandidates: 200,
        normHead: true,
      },
      DEFAULT_QUERY_OPTIONS,
    );
    const [graph, head] = body.knn as Array<{
      field: string;
      k: number;
      num_candidates: number;
      filter: unknown[];
      rescore_vector?: unknown;
    }>;
    expect(graph).toMatchObject({
      field: 'factor',
      k: 10,
      num_candidates: 200,
      rescore_vector: { oversample: 5 },
    });
    expect(head).toMatchObject({ field: 'factor_exact', k: 10, num_candidates: 10 });
    expect(head!.rescore_vector).toBeUndefined();
    expect(head!.filter).toEqual([...graph!.filter, { term: { norm_head: true } }]);
    // exact mode, cosine and a model without a head: one clause as before
    for (const input of [
      { mode: 'exact' as const, space: 'mips' as const },
      { mode: 'ann' as const, space: 'cosine' as const },
    ]) {
      expect(
        Array.isArray(
          vectorSearchBody(
            { ...input, k: 10, vector: [1, 2], filters, exclude: [], normHead: true },
            DEFAULT_QUERY_OPTIONS,
          ).knn,
        ),
      ).toBe(false);
    }
    expect(
      Array.isArray(
        vectorSearchBody(
          { space: 'mips', mode: 'ann', k: 10, vector: [1, 2], filters, exclude: [] },
          DEFAULT_QUERY_OPTIONS,
        ).knn,
      ),
    ).toBe(false);
  });
});
