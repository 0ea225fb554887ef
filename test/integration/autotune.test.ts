import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlsModel } from '../../src/als/index.ts';
import { alsParams } from '../../src/config/als-params.ts';
import { generateDataset } from '../../src/demo/generate.ts';
import { ratingRules } from '../../src/events/rating.ts';
import { runTraining } from '../../src/release/run.ts';
import { setup } from '../../src/setup/index.ts';
import {
  alsScorer,
  evaluateRanking,
  gridPoints,
  plantedInteractions,
  type SearchSpace,
} from '../../src/train/evaluate/index.ts';
import { scanRatingsTable } from '../../src/train/ratings.ts';
import { filterTable, holdoutOf, subTable, tableMatrix } from '../../src/train/ratings-table.ts';
import { validationSplit } from '../../src/train/autotune.ts';
import type { SettingsOverrides } from '../../src/config/index.ts';
import { testContext } from './harness.ts';

// No [als] factors / regularization / alpha / weighting: nothing is pinned. One thread: the
// machine is shared. A test-sized grid (the tuner and the reference grid search the same one).
const settings: SettingsOverrides = { tune: { mode: 'auto' }, als: { threads: 1 } };
const space: SearchSpace = {
  factors: [8, 16, 32],
  regularization: [0.1, 1, 10, 50],
  alpha: [0.3, 1, 3, 10],
  weighting: ['linear', 'log', 'bm25', 'tfidf'],
};
const run = { trigger: 'test' as const, deploy: false, tuneSpace: space };

type Ctx = ReturnType<typeof testContext>;
type Ev = {
  event_id: string;
  user_id: string;
  item_id: string;
  event_type: string;
  timestamp: string;
  weight?: number;
};

async function load(ctx: Ctx, events: Ev[]): Promise<void> {
  const ops = events.flatMap((e) => [
    { create: { _index: ctx.names.eventsIndex(new Date(e.timestamp)), _id: e.event_id } },
    e,
  ]);
  for (let i = 0; i < ops.length; i += 10_000) {
    const r = await ctx.es.bulk({ operations: ops.slice(i, i + 10_000) });
    expect(r.errors).toBe(false);
  }
  await ctx.es.indices.refresh({ index: ctx.names.eventsPattern });
}

/** Planted explicit 1–5 star ratings as `rating` events; `offset` shifts user ids so a second batch adds users. */
function ratingEvents(seed: number, offset: number, nUsers: number): Ev[] {
  const d = plantedInteractions({
    nUsers,
    nItems: 200,
    rank: 6,
    meanPerUser: 18,
    seed,
    startMs: Date.UTC(2025, 0, 1),
    spanMs: 60 * 86_400_000,
  });
  return Array.from(d.users, (u, j) => ({
    event_id: `r${seed}-${j}`,
    user_id: `u${u + offset}`,
    item_id: `i${d.items[j]}`,
    event_type: 'rating',
    weight: d.weights[j]!,
    timestamp: new Date(d.ts[j]!).toISOString(),
  }));
}

/**
 * What a full grid search finds on the split the run evaluated on (same reader, same temporal
 * split): every grid point trained on the validation's train part and scored on the validation
 * (as `recsys tune` does), the best one trained on the run's training part and scored on its
 * holdout — the tuner's pick gets exactly the same treatment from runTraining.
 */
async function gridBest(ctx: Ctx): Promise<number> {
  const t = ctx.config.training;
  const table = filterTable(
    await scanRatingsTable(ctx.repos.events, { rules: ratingRules(ctx.config) }),
    t.minUserInteractions,
    t.minItemInteractions,
  );
  const mask = holdoutOf(table, 0.2);
  const v = validationSplit(subTable(table, mask, 0), 0.2, 42);
  let best = { ndcg: -1, point: gridPoints(space)[0]! };
  for (const p of gridPoints(space)) {
    const model = await AlsModel.fit(v.train, { ...alsParams(ctx.config.als), ...p });
    const ndcg = evaluateRanking(alsScorer(model), v.train, v.validation, { k: 10 }).ndcg;
    if (ndcg > best.ndcg) best = { ndcg, point: p };
  }
  const train = tableMatrix(subTable(table, mask, 0));
  const test = tableMatrix(subTable(table, mask, 1), train);
  return evaluateRanking(
    alsScorer(await AlsModel.fit(train, { ...alsParams(ctx.config.als), ...best.point })),
    train,
    test,
    {
      k: 10,
    },
  ).ndcg;
}

const ratings = testContext('autotune-r', settings);
const shop = testContext('autotune-d', settings);

beforeAll(async () => {
  for (const ctx of [ratings, shop]) await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
  await load(ratings, ratingEvents(21, 0, 300));
  const demo = generateDataset({
    users: 300,
    items: 200,
    days: 28,
    seed: 5,
    events: 15_000,
    malformedFraction: 0,
  });
  await load(shop, demo.events);
});

afterAll(async () => {
  await ratings.dispose();
  await shop.dispose();
});

describe('autotune', () => {
  it('planted explicit ratings: the first run searches and lands within 3 % of the full grid; the next reuses; grown data searches again', async () => {
    expect(ratings.config.tune.pinned).toEqual([]);
    const first = await runTraining(ratings, run);
    expect(first.status).toBe('candidate');
    expect(first.tuning?.source).toBe('search');
    expect(first.tuning?.reason).toMatch(/no tuned parameters/);
    const best = await gridBest(ratings);
    expect(first.metrics!.ndcg).toBeGreaterThanOrEqual(0.97 * best);
    // the configured point was screened first; survivors went on to more sweeps
    const tuning = first.tuning!;
    const configured = alsParams(ratings.config.als);
    expect(tuning.trials![0]).toMatchObject({
      params: { factors: configured.factors, alpha: configured.alpha, weighting: configured.weighting },
      rung: 0,
    });
    expect(tuning.trials!.length).toBeGreaterThan(3);
    expect(new Set(tuning.trials!.map((x) => x.iterations)).size).toBeGreaterThan(1);
    const doc = await ratings.repos.models.get(first.modelId);
    expect(doc?.tuning?.source).toBe('search');
    expect(doc?.tuning?.search_id).toBe(tuning.search_id);
    expect(doc?.params?.['weighting']).toBe(first.params!['weighting']);
    expect(doc?.params?.['alpha']).toBe(first.params!['alpha']);

    const second = await runTraining(ratings, run);
    expect(second.tuning?.source).toBe('reused');
    expect(second.tuning?.search_id).toBe(tuning.search_id);
    expect(second.tuning?.trials).toBeUndefined();
    for (const p of ['factors', 'regularization', 'alpha', 'weighting'])
      expect(second.params![p]).toEqual(first.params![p]);

    // as many new users again: the interactions more than double ([tune] growth_factor 2)
    await load(ratings, ratingEvents(22, 1000, 320));
    const third = await runTraining(ratings, run);
    expect(third.tuning?.source).toBe('search');
    expect(third.tuning?.reason).toMatch(/grew/);
    expect(third.tuning?.search_id).not.toBe(tuning.search_id);
  });

  it('demo shop events: the first run lands within 3 % of the full grid; pinned parameters win over the reused winner', async () => {
    const first = await runTraining(shop, run);
    expect(first.tuning?.source).toBe('search');
    expect(first.metrics!.ndcg).toBeGreaterThanOrEqual(0.97 * (await gridBest(shop)));

    // same indices, α and weighting pinned in the settings: the stored search is reused for k and λ only
    const pinned = testContext(
      'autotune-p',
      { ...settings, als: { ...settings.als, alpha: 2, weighting: 'log' } },
      { RECSYS_INDEX_PREFIX: shop.config.indexPrefix },
    );
    try {
      expect(pinned.config.tune.pinned).toEqual(['alpha', 'weighting']);
      const r = await runTraining(pinned, run);
      expect(r.tuning?.source).toBe('reused');
      expect(r.params).toMatchObject({
        factors: first.params!['factors'],
        regularization: first.params!['regularization'],
        alpha: 2,
        weighting: 'log',
      });
      const all = await runTraining(pinned, { ...run, params: { factors: 8, regularization: 1 } });
      expect(all.tuning?.source).toBe('config');
      expect(all.params).toMatchObject({ factors: 8, regularization: 1, alpha: 2, weighting: 'log' });
    } finally {
      await pinned.close();
    }
  });
});
