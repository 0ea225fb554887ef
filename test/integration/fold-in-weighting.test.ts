import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCsr, gramian, itemLengthNorms, recalculateUser } from '../../src/als/index.ts';
import { generateDataset } from '../../src/demo/generate.ts';
import { ratingRules } from '../../src/events/rating.ts';
import { artifactStore, loadArtifact } from '../../src/model/artifacts.ts';
import { LiveModelResolver } from '../../src/model/live-model.ts';
import { refreshUser } from '../../src/online/user-refresh.ts';
import { runTraining } from '../../src/release/run.ts';
import { setup } from '../../src/setup/index.ts';
import { filterMinInteractions, readRatingsByScan } from '../../src/train/ratings.ts';
import { loadDirect, testContext } from './harness.ts';

// bm25 (the one scheme that needs per-item data at fold-in time), a 14-day window and a 7-day half-life
const ctx = testContext('foldw', {
  als: { factors: 8, iterations: 5, threads: 1, weighting: 'bm25' },
  training: { windowDays: 14, halfLifeDays: 7 },
});
const { es, names } = ctx;
const data = generateDataset({
  users: 200,
  items: 150,
  days: 28,
  seed: 4,
  events: 12_000,
  malformedFraction: 0,
});
const now = Date.parse(data.events.at(-1)!.timestamp) + 3_600_000;

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await loadDirect(ctx, data);
});

afterAll(() => ctx.dispose());

describe('fold-in rates and weights like training', () => {
  it('an online vector is the user step of the model’s own weighting, on ratings with the training window and decay', async () => {
    const run = await runTraining(ctx, { trigger: 'test', now });
    expect(run.status).toBe('live');
    expect(run.params?.['weighting']).toBe('bm25');
    const resolver = new LiveModelResolver(ctx.repos, names, ctx.log);
    const model = (await resolver.fresh())!;
    const fm = (await resolver.foldInModel(model.modelId, { regularization: 1, alpha: 1 }))!;
    expect(fm.weighting).toBe('bm25');

    // training's view: the same reader, window and decay, aggregated per pair, at the same `now`
    const t = ctx.config.training;
    const rows = filterMinInteractions(
      await readRatingsByScan(ctx.repos.events, { rules: ratingRules(ctx.config), now }),
      t.minUserInteractions,
      t.minItemInteractions,
    );
    const full = buildCsr(rows);
    expect(fm.nItems).toBe(full.nItems);
    const norms = itemLengthNorms(full);
    const a = await loadArtifact(artifactStore(ctx), model.modelId);
    // a user with events both inside and outside the 14-day window
    const windowStart = now - 14 * 86_400_000;
    const user = data.users
      .map((u) => u.user_id)
      .find((u) => {
        const ts = data.events.filter((e) => e.user_id === u).map((e) => Date.parse(e.timestamp));
        return ts.some((x) => x < windowStart) && ts.filter((x) => x >= windowStart).length >= 5;
      })!;
    expect(user).toBeDefined();
    const mine = rows.filter((r) => r.userId === user);
    const k = a.factors;
    const rated = mine.map((r) => {
      const i = a.itemIds.indexOf(r.itemId);
      return {
        factor: a.itemFactors.subarray(i * k, (i + 1) * k),
        rating: r.weight,
        weightNorm: norms[full.itemIds.indexOf(r.itemId)]!,
      };
    });
    // the artefact's own YᵀY, not the one the deploy wrote
    const yty = gramian(a.itemFactors, k);
    const expected = (scheme: 'bm25' | 'linear') =>
      recalculateUser({ ...fm, weighting: scheme, nItems: full.nItems, yty }, rated)!;

    expect(
      await refreshUser(
        { repos: ctx.repos, rules: ratingRules(ctx.config), history: 500, seen: 50 },
        model,
        fm,
        user,
        [],
        now,
      ),
    ).toBe(true);
    const got = (await ctx.repos.users.vector(model.usersIndex, user))!.factor!;
    const want = expected('bm25');
    const dist = (x: ArrayLike<number>) => Math.hypot(...Array.from(want, (w, i) => w - x[i]!));
    expect(dist(got)).toBeLessThan(1e-4 * Math.hypot(...want));
    // the control: linear weights (what fold-in did before it used the model's scheme) give another vector
    expect(dist(expected('linear'))).toBeGreaterThan(1e-2 * Math.hypot(...want));
  });
});
