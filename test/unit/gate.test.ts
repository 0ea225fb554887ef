import { describe, expect, it } from 'vitest';
import type { RankingMetrics } from '../../src/types/index.ts';
import { evaluateGate } from '../../src/train/gate.ts';

function metrics(ndcg: number): RankingMetrics {
  return { k: 10, precision: 0, recall: 0, ndcg, map: 0, coverage: 0, popularity_bias: 0 } as RankingMetrics;
}

const live = { modelId: 'm-live', ndcg: 0.4 };
const tolerance = 0.05;

describe('the release gate', () => {
  it('refuses a candidate that beats popularity but falls more than the tolerance below the live model', () => {
    // popularity 0.1 < candidate 0.3 < live · (1 − tolerance) = 0.38
    const g = evaluateGate({ candidate: metrics(0.3), baseline: metrics(0.1), live, tolerance });
    expect(g.passed).toBe(false);
    expect(g.reason).toMatch(/more than 5\.0% below the live model m-live \(0\.4000 on this holdout\)/);
    expect(g.live_model_id).toBe('m-live');
    expect(g.live_ndcg).toBe(0.4);
  });

  it('passes a candidate within the tolerance below the live model, and one above it', () => {
    // 0.381 ≥ 0.38: within the tolerance
    expect(evaluateGate({ candidate: metrics(0.381), baseline: metrics(0.1), live, tolerance }).passed).toBe(
      true,
    );
    expect(evaluateGate({ candidate: metrics(0.5), baseline: metrics(0.1), live, tolerance }).passed).toBe(
      true,
    );
    // the bound is live · (1 − tolerance), not live − tolerance: 0.36 is within 0.05 of 0.4 but 10 % below it
    expect(evaluateGate({ candidate: metrics(0.36), baseline: metrics(0.1), live, tolerance }).passed).toBe(
      false,
    );
  });

  it('refuses a candidate that does not beat popularity, even with no live model and even when tied', () => {
    const tied = evaluateGate({ candidate: metrics(0.2), baseline: metrics(0.2), tolerance });
    expect(tied.passed).toBe(false);
    expect(tied.reason).toMatch(/does not beat the popularity baseline/);
    const below = evaluateGate({ candidate: metrics(0.15), baseline: metrics(0.2), live, tolerance });
    expect(below.passed).toBe(false);
    expect(below.reason).toMatch(/popularity/);
  });

  it('with no live model, beating popularity is enough; the exam of the live number is named', () => {
    const first = evaluateGate({ candidate: metrics(0.21), baseline: metrics(0.2), tolerance });
    expect(first.passed).toBe(true);
    expect(first.live_model_id).toBeUndefined();
    const own = evaluateGate({
      candidate: metrics(0.3),
      baseline: metrics(0.1),
      live,
      tolerance,
      exam: 'live_own_holdout',
    });
    expect(own.exam).toBe('live_own_holdout');
    expect(own.reason).toMatch(/on its own run's holdout/);
  });

  it('a candidate exactly at live · (1 − tolerance) passes: the bound itself is within tolerance', () => {
    // 0.5 · (1 − 0.5) = 0.25 exactly in floating point
    const g = evaluateGate({
      candidate: metrics(0.25),
      baseline: metrics(0.1),
      live: { modelId: 'm', ndcg: 0.5 },
      tolerance: 0.5,
    });
    expect(g.passed).toBe(true);
  });

  it('says why it passed, naming the live model only when there is one', () => {
    const withLive = evaluateGate({ candidate: metrics(0.39), baseline: metrics(0.1), live, tolerance });
    expect(withLive.reason).toBe(
      'nDCG@10 0.3900 beats popularity 0.1000 and is within tolerance of live m-live (0.4000 on this holdout)',
    );
    const alone = evaluateGate({ candidate: metrics(0.39), baseline: metrics(0.1), tolerance });
    expect(alone.reason).toBe('nDCG@10 0.3900 beats popularity 0.1000');
  });

  it("records the live model's exam details when given, and leaves them out when not", () => {
    const coverage = { users_scored: 90, users_unknown: 10 } as never;
    const full = evaluateGate({
      candidate: metrics(0.39),
      baseline: metrics(0.1),
      live: { ...live, coverage, factors: 'exam', ownNdcg: 0 },
      tolerance,
    });
    expect(full).toMatchObject({ live_coverage: coverage, live_factors: 'exam', live_own_ndcg: 0 });
    const bare = evaluateGate({ candidate: metrics(0.39), baseline: metrics(0.1), live, tolerance });
    expect(Object.keys(bare)).not.toContain('live_coverage');
    expect(Object.keys(bare)).not.toContain('live_factors');
    expect(Object.keys(bare)).not.toContain('live_own_ndcg');
  });

  it('names a live model that could not sit the exam in the record and the reason, never silently', () => {
    const fallback = { modelId: 'm-live', why: 'its artefact is not in the artefact store' };
    const own = evaluateGate({
      candidate: metrics(0.5),
      baseline: metrics(0.1),
      live,
      exam: 'live_own_holdout',
      fallback,
      tolerance,
    });
    expect(own.passed).toBe(true);
    expect(own.exam).toBe('live_own_holdout');
    expect(own.fallback).toBe(fallback.why);
    expect(own.reason).toBe(
      "nDCG@10 0.5000 beats popularity 0.1000 and is within tolerance of live m-live (0.4000 on its own run's holdout); the live model m-live was not re-scored on this holdout: its artefact is not in the artefact store, so it is compared by its own run's nDCG",
    );
    // no nDCG of its own either: popularity is the only comparison, and the record still names the live model
    const none = evaluateGate({ candidate: metrics(0.05), baseline: metrics(0.1), fallback, tolerance });
    expect(none.passed).toBe(false);
    expect(none.live_model_id).toBe('m-live');
    expect(none.live_ndcg).toBeUndefined();
    expect(none.reason).toMatch(
      /does not beat the popularity baseline 0\.1000; the live model m-live was not re-scored on this holdout: its artefact is not in the artefact store, so only popularity was compared$/,
    );
    const below = evaluateGate({
      candidate: metrics(0.3),
      baseline: metrics(0.1),
      live,
      fallback,
      tolerance,
    });
    expect(below.reason).toMatch(/below the live model m-live .*; the live model m-live was not re-scored/);
    expect(
      evaluateGate({ candidate: metrics(0.5), baseline: metrics(0.1), live, tolerance }).fallback,
    ).toBeUndefined();
  });
});
