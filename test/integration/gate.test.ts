import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/demo/generate.ts';
import { ratingRules } from '../../src/events/rating.ts';
import { artifactStore, loadArtifact } from '../../src/model/artifacts.ts';
import { runTraining } from '../../src/release/run.ts';
import { setup } from '../../src/setup/index.ts';
import { splitToMatrices, temporalSplit } from '../../src/train/evaluate/index.ts';
import { scoreLiveOnExam } from '../../src/train/live-exam.ts';
import { filterMinInteractions, readRatingsByScan } from '../../src/train/ratings.ts';
import { loadDirect, testContext } from './harness.ts';

const ctx = testContext('gate', { als: { factors: 16, iterations: 8, threads: 1 } });
const { es, names } = ctx;

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await loadDirect(
    ctx,
    generateDataset({
      users: 300,
      items: 250,
      days: 28,
      seed: 11,
      events: 25_000,
      malformedFraction: 0,
      startDate: '2025-03-01T00:00:00Z',
    }),
  );
});

afterAll(() => ctx.dispose());

describe('fair gate', () => {
  it('scores the live model on the candidate’s holdout: a worse candidate is refused on that one exam', async () => {
    const live = await runTraining(ctx, { trigger: 'test' });
    expect(live.status).toBe('live');
    const ownNdcg = live.metrics!.ndcg;

    // a month later: the same shop with 60 new users; every user's latest interactions (the next holdout) are new
    await loadDirect(
      ctx,
      generateDataset({
        users: 360,
        items: 250,
        days: 28,
        seed: 12,
        events: 25_000,
        malformedFraction: 0,
        startDate: '2025-04-01T00:00:00Z',
      }),
    );
    const worse = await runTraining(ctx, {
      trigger: 'test',
      params: { factors: 2, iterations: 1, regularization: 50 },
    });
    expect(worse.status).toBe('candidate');
    const gate = worse.gate!;
    expect(gate.passed).toBe(false);
    expect(gate.exam).toBe('candidate_holdout');
    expect(gate.live_model_id).toBe(live.modelId);
    expect(gate.live_factors).toBe('exam');
    expect(gate.candidate_ndcg).toBe(worse.metrics!.ndcg);
    expect(gate.candidate_ndcg).toBeLessThan(gate.live_ndcg! * (1 - ctx.config.gate.tolerance));
    expect(gate.reason).toMatch(/below the live model .* on this holdout|does not beat the popularity/);
    // the live number is a new exam, not the one from the live model's own run
    expect(gate.live_ndcg).not.toBeCloseTo(ownNdcg, 6);
    expect(gate.live_own_ndcg).toBe(ownNdcg);
    // the 60 new users are unknown to the live model (served its popularity), the rest scored by its factors
    expect(gate.live_coverage!.users_unknown).toBeGreaterThanOrEqual(30);
    expect(gate.live_coverage!.users_scored).toBeGreaterThan(200);

    // re-scoring the live model's kept factors on the split this run evaluated on gives the recorded number
    const t = ctx.config.training;
    const rows = filterMinInteractions(
      await readRatingsByScan(ctx.repos.events, { rules: ratingRules(ctx.config) }),
      t.minUserInteractions,
      t.minItemInteractions,
    );
    const exam = splitToMatrices(temporalSplit(rows, 0.2));
    expect(exam.test.nUsers).toBeGreaterThan(0);
    const a = await loadArtifact(artifactStore(ctx), live.modelId);
    const again = scoreLiveOnExam(exam, { factors: a.factors, model: a.exam!, popularity: a.popularity });
    expect(again.metrics.ndcg).toBeCloseTo(gate.live_ndcg!, 10);
    expect(again.coverage).toEqual(gate.live_coverage);

    const doc = await ctx.repos.models.get(worse.modelId);
    expect(doc?.gate).toMatchObject({
      passed: false,
      exam: 'candidate_holdout',
      candidate_ndcg: gate.candidate_ndcg,
      baseline_ndcg: gate.baseline_ndcg,
      live_model_id: live.modelId,
      live_ndcg: gate.live_ndcg,
    });
  });
});
