import { describe, expect, it } from 'vitest';
import type { AlsParams } from '../../src/types/index.ts';
import { AlsModel, buildCsr } from '../../src/als/index.ts';
import {
  alsScorer,
  evaluateRanking,
  gridSearch,
  holdoutMask,
  plantedInteractions,
  plantedToInteractions,
  popularHead,
  popularityBaseline,
  randomSplit,
  rankingMetricsAtK,
  splitToMatrices,
  temporalSplit,
  type Interaction,
} from '../../src/train/evaluate/index.ts';

const LOG2_3 = Math.log2(3);

describe('rankingMetricsAtK (hand-computed)', () => {
  it('two hits out of three relevant in a list of five', () => {
    // hits at ranks 1 and 3
    const m = rankingMetricsAtK([1, 2, 3, 4, 5], new Set([1, 3, 6]), 5);
    expect(m.precision).toBeCloseTo(2 / 5, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    // DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) + 1/log2(4) ≈ 2.1309
    expect(m.ndcg).toBeCloseTo(1.5 / (1 + 1 / LOG2_3 + 0.5), 12);
    expect(m.ndcg).toBeCloseTo(0.70392, 5);
    // AP = (1/1 + 2/3) / min(5, 3)
    expect(m.ap).toBeCloseTo((1 + 2 / 3) / 3, 12);
  });

  it('single relevant item at rank 3', () => {
    const m = rankingMetricsAtK([7, 8, 9], new Set([9]), 3);
    expect(m.precision).toBeCloseTo(1 / 3, 12);
    expect(m.recall).toBe(1);
    expect(m.ndcg).toBeCloseTo(0.5, 12); // 1/log2(4) over the ideal 1
    expect(m.ap).toBeCloseTo(1 / 3, 12);
  });

  it('perfect list, empty hits, and only the first k count', () => {
    expect(rankingMetricsAtK([4, 2], new Set([2, 4]), 2)).toEqual({
      precision: 1,
      recall: 1,
      ndcg: 1,
      ap: 1,
    });
    expect(rankingMetricsAtK([1, 2], new Set([3]), 2)).toEqual({ precision: 0, recall: 0, ndcg: 0, ap: 0 });
    const cut = rankingMetricsAtK([1, 2, 3], new Set([3]), 2);
    expect(cut.recall).toBe(0);
    // short list: precision still divides by k
    expect(rankingMetricsAtK([5], new Set([5]), 4).precision).toBe(0.25);
  });

  it('more relevant items than k: a perfect top k is nDCG 1 and AP 1 (the ideal is min(k, |rel|) deep)', () => {
    // eight held-out items, a list of three that are all relevant: nothing could be better at k = 3
    const relevant = new Set([1, 2, 3, 4, 5, 6, 7, 8]);
    const m = rankingMetricsAtK([1, 2, 3], relevant, 3);
    expect(m.ndcg).toBe(1);
    expect(m.ap).toBe(1);
    expect(m.recall).toBeCloseTo(3 / 8, 12);
    // one hit at rank 2 of k = 3: DCG 1/log2(3) over the three-deep ideal, AP (1/2) / 3
    const one = rankingMetricsAtK([9, 4, 10], relevant, 3);
    expect(one.ndcg).toBeCloseTo(1 / LOG2_3 / (1 + 1 / LOG2_3 + 0.5), 12);
    expect(one.ap).toBeCloseTo(0.5 / 3, 12);
  });
});

describe('evaluateRanking', () => {
  // 3 users × 5 items; a fixed scorer ranks item 0 > 1 > 2 > 3 > 4 for everybody.
  const train = buildCsr(
    [
      { userId: 'u0', itemId: 'i0', weight: 1 },
      { userId: 'u1', itemId: 'i1', weight: 1 },
      { userId: 'u1', itemId: 'i2', weight: 1 },
      { userId: 'u2', itemId: 'i4', weight: 1 },
    ],
    { itemIds: ['i0', 'i1', 'i2', 'i3', 'i4'] },
  );
  const test = buildCsr(
    [
      { userId: 'u0', itemId: 'i1', weight: 1 },
      { userId: 'u0', itemId: 'i3', weight: 1 },
      { userId: 'u1', itemId: 'i0', weight: 1 },
    ],
    { userIds: train.userIds, itemIds: train.itemIds, unknown: 'drop' },
  );
  const fixed = (_u: number, out: Float64Array): void => out.set([5, 4, 3, 2, 1]);

  it('averages over users with test items, excluding train items from the ranking', () => {
    const m = evaluateRanking(fixed, train, test, { k: 2 });
    // u0: train {0} excluded → [1, 2], relevant {1, 3}: P 1/2, R 1/2, nDCG 1/(1 + 1/log2 3), AP 1/2
    // u1: train {1, 2} excluded → [0, 3], relevant {0}: P 1/2, R 1, nDCG 1, AP 1
    // u2: no test items → not evaluated
    expect(m.users).toBe(2);
    expect(m.k).toBe(2);
    expect(m.precision).toBeCloseTo(0.5, 12);
    expect(m.recall).toBeCloseTo(0.75, 12);
    expect(m.ndcg).toBeCloseTo((1 / (1 + 1 / LOG2_3) + 1) / 2, 12);
    expect(m.map).toBeCloseTo(0.75, 12);
    expect(m.coverage).toBeCloseTo(4 / 5, 12); // items 0, 1, 2, 3 shown
  });

  it('popularity bias: share of the recommended slots taken by the most popular train items', () => {
    // train popularity: i0, i1, i2, i4 one user each, i3 none; ties go to the lower index
    expect([...popularHead(train, 0.2)]).toEqual([1, 0, 0, 0, 0]);
    // lists: u0 [1, 2], u1 [0, 3] → with head {0}: 1 of 4 slots; with head {0, 1}: 2 of 4
    expect(evaluateRanking(fixed, train, test, { k: 2, headShare: 0.2 }).popularity_bias).toBeCloseTo(
      1 / 4,
      12,
    );
    expect(evaluateRanking(fixed, train, test, { k: 2, headShare: 0.4 }).popularity_bias).toBeCloseTo(
      2 / 4,
      12,
    );
    // default head = top 1 %, at least one item
    expect(evaluateRanking(fixed, train, test, { k: 2 }).popularity_bias).toBeCloseTo(1 / 4, 12);
  });

  it('popularity baseline ranks by number of train users', () => {
    const tr = buildCsr(
      [
        { userId: 'a', itemId: 'x', weight: 5 },
        { userId: 'a', itemId: 'y', weight: 1 },
        { userId: 'b', itemId: 'y', weight: 1 },
        { userId: 'c', itemId: 'y', weight: 1 },
        { userId: 'c', itemId: 'z', weight: 1 },
        { userId: 'b', itemId: 'z', weight: 1 },
        { userId: 'd', itemId: 'w', weight: 1 },
      ],
      { itemIds: ['w', 'x', 'y', 'z', 'v'] },
    );
    const out = new Float64Array(5);
    popularityBaseline(tr)(0, out);
    expect([...out]).toEqual([1, 1, 3, 2, 0]);
    const te = buildCsr([{ userId: 'd', itemId: 'y', weight: 1 }], {
      userIds: tr.userIds,
      itemIds: tr.itemIds,
      unknown: 'drop',
    });
    const m = evaluateRanking(popularityBaseline(tr), tr, te, { k: 1 });
    expect(m.users).toBe(1);
    expect(m.precision).toBe(1); // d's top unseen item is y
  });
});

describe('splits', () => {
  const rows: Interaction[] = [
    { userId: 'a', itemId: 'p', weight: 1, lastTs: 3 },
    { userId: 'a', itemId: 'q', weight: 1, lastTs: '1970-01-01T00:00:00.004Z' },
    { userId: 'b', itemId: 'p', weight: 1, lastTs: 10 },
    { userId: 'a', itemId: 'r', weight: 1, lastTs: new Date(1) },
    { userId: 'c', itemId: 'p', weight: 1, lastTs: 1 },
    { userId: 'a', itemId: 's', weight: 1, lastTs: 2 },
    { userId: 'b', itemId: 'q', weight: 1, lastTs: 20 },
  ];
  const items = (xs: Interaction[]): string[] => xs.map((r) => `${r.userId}:${r.itemId}`).sort();

  it('temporalSplit holds out the latest interactions per user', () => {
    const s = temporalSplit(rows, 1);
    expect(items(s.test)).toEqual(['a:q']); // b (2 rows) would keep < 2 in train; c has 1
    expect(s.train).toHaveLength(6);
    expect(items(temporalSplit(rows, 1, { minTrain: 1 }).test)).toEqual(['a:q', 'b:q']);
    expect(items(temporalSplit(rows, 2).test)).toEqual(['a:p', 'a:q']);
    expect(items(temporalSplit(rows, 0.5).test)).toEqual(['a:p', 'a:q']); // round(4 × 0.5) = 2
    expect(items(temporalSplit(rows, 0.1).test)).toEqual(['a:q']); // at least one
    expect(items(temporalSplit(rows, 3).test)).toEqual([]); // a would keep 1 < 2
    expect(() => temporalSplit(rows, 1.5)).toThrow(RangeError);
    expect(() => temporalSplit(rows, 0)).toThrow(RangeError);
    expect(() => temporalSplit([{ userId: 'a', itemId: 'b', weight: 1, lastTs: 'soon' }], 1)).toThrow(
      RangeError,
    );
  });

  it('randomSplit is seeded and holds out the requested count per user', () => {
    const d = plantedInteractions({ nUsers: 50, nItems: 40, rank: 2, meanPerUser: 8, seed: 3 });
    const all = plantedToInteractions(d);
    const s1 = randomSplit(all, 3, 42);
    const s2 = randomSplit(all, 3, 42);
    const s3 = randomSplit(all, 3, 43);
    expect(items(s1.test)).toEqual(items(s2.test));
    expect(items(s1.test)).not.toEqual(items(s3.test));
    expect(s1.train.length + s1.test.length).toBe(all.length);
    const perUser = new Map<string, number>();
    for (const r of all) perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + 1);
    const heldOut = new Map<string, number>();
    for (const r of s1.test) heldOut.set(r.userId, (heldOut.get(r.userId) ?? 0) + 1);
    for (const [u, n] of perUser) expect(heldOut.get(u) ?? 0).toBe(n - 3 >= 2 ? 3 : 0);
  });

  it('holdoutMask works on index arrays', () => {
    const mask = holdoutMask([0, 0, 0, 1, 1, 1], 2, [5, 9, 1, 1, 1, 1], 1);
    expect([...mask]).toEqual([0, 1, 0, 0, 0, 1]); // ties: the later row counts as later
  });

  it('splitToMatrices aligns ids and drops test-only items', () => {
    const { train, test } = splitToMatrices({
      train: [rows[0]!, rows[2]!],
      test: [
        rows[1]!,
        { userId: 'a', itemId: 'p', weight: 2, lastTs: 0 },
        { userId: 'b', itemId: 'new', weight: 1, lastTs: 0 },
      ],
    });
    expect(test.userIds).toEqual(train.userIds);
    expect(test.itemIds).toEqual(train.itemIds);
    expect(test.indptr[test.nUsers]).toBe(1); // only a:p survives (q and new are unknown items)
  });
});

describe('gridSearch', () => {
  const d = plantedInteractions({
    nUsers: 150,
    nItems: 100,
    rank: 4,
    meanPerUser: 20,
    seed: 9,
    popularityExponent: 0.5,
    signal: 3,
  });
  const { train, test } = splitToMatrices(temporalSplit(plantedToInteractions(d), 4));
  const baseParams: AlsParams = {
    factors: 4,
    regularization: 0.1,
    alpha: 1,
    iterations: 5,
    solver: 'cholesky',
    cgSteps: 3,
    seed: 1,
    threads: 1,
  };

  it('evaluates every combination and sorts by nDCG', async () => {
    const seen: number[] = [];
    const results = await gridSearch(
      train,
      test,
      { factors: [2, 6], regularization: [0.1, 10], iterations: [2, 6] },
      baseParams,
      { onResult: (r) => seen.push(r.params.iterations) },
    );
    expect(results).toHaveLength(8);
    expect(seen).toHaveLength(8);
    const combos = new Set(
      results.map((r) => `${r.params.factors}/${r.params.regularization}/${r.params.iterations}`),
    );
    expect(combos.size).toBe(8);
    for (let i = 1; i < results.length; i++)
      expect(results[i]!.metrics.ndcg).toBeLessThanOrEqual(results[i - 1]!.metrics.ndcg);
    for (const r of results) expect(r.params.alpha).toBe(1);

    // a result at an intermediate iteration count equals training that many iterations
    const r2 = results.find(
      (r) => r.params.factors === 6 && r.params.regularization === 0.1 && r.params.iterations === 2,
    )!;
    const model = await AlsModel.fit(train, r2.params);
    expect(evaluateRanking(alsScorer(model), train, test)).toEqual(r2.metrics);
    expect(r2.loss).toBe(model.loss.at(-1));
    await expect(gridSearch(train, test, { iterations: [0] }, baseParams)).rejects.toThrow(RangeError);
  });
});
