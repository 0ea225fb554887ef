import type { RankingMetrics } from '../types/index.ts';
import type { LiveCoverage } from './live-exam.ts';

export interface GateInput {
  candidate: RankingMetrics;
  baseline: RankingMetrics;
  /** the live model, with its nDCG on the same exam as the candidate's (see live-exam.ts) */
  live?: {
    modelId: string;
    ndcg: number;
    coverage?: LiveCoverage;
    factors?: 'exam' | 'served';
    ownNdcg?: number;
  };
  /**
   * which exam the live nDCG comes from: the candidate's holdout (re-scored), or — only when the
   * live model's factors cannot be read — the live model's own run
   */
  exam?: 'candidate_holdout' | 'live_own_holdout';
  /**
   * the live model could not sit the candidate's exam (its artefact is missing or unreadable):
   * which model and why. Recorded and named in the reason, never silent; without `live` the
   * candidate is compared with popularity only.
   */
  fallback?: { modelId: string; why: string };
  /** max relative nDCG drop vs the live model, e.g. 0.02 = 2 % */
  tolerance: number;
}

export interface GateResult {
  passed: boolean;
  reason: string;
  exam: 'candidate_holdout' | 'live_own_holdout';
  candidate_ndcg: number;
  baseline_ndcg: number;
  live_model_id?: string;
  live_ndcg?: number;
  live_coverage?: LiveCoverage;
  /** which of the live model's factors sat the exam: the evaluated ones (never saw this holdout) or, for older artefacts, the served refit */
  live_factors?: 'exam' | 'served';
  /** the live model's nDCG from its own run (a different holdout), for comparison only */
  live_own_ndcg?: number;
  /** why the live model was not re-scored on this holdout (GateInput.fallback) */
  fallback?: string;
}

/** A candidate may go live only if it beats popularity and is not much worse than what serves now. */
export function evaluateGate({
  candidate,
  baseline,
  live,
  tolerance,
  exam = 'candidate_holdout',
  fallback,
}: GateInput): GateResult {
  const c = candidate.ndcg;
  const fmt = (x: number) => x.toFixed(4);
  const record = {
    exam,
    candidate_ndcg: c,
    baseline_ndcg: baseline.ndcg,
    ...(live
      ? {
          live_model_id: live.modelId,
          live_ndcg: live.ndcg,
          ...(live.coverage ? { live_coverage: live.coverage } : {}),
          ...(live.factors ? { live_factors: live.factors } : {}),
          ...(live.ownNdcg !== undefined ? { live_own_ndcg: live.ownNdcg } : {}),
        }
      : fallback
        ? { live_model_id: fallback.modelId }
        : {}),
    ...(fallback ? { fallback: fallback.why } : {}),
  };
  const unfair = fallback
    ? `; the live model ${fallback.modelId} was not re-scored on this holdout: ${fallback.why}${live ? ", so it is compared by its own run's nDCG" : ', so only popularity was compared'}`
    : '';
  const on = exam === 'candidate_holdout' ? 'on this holdout' : "on its own run's holdout";
  if (!(c > baseline.ndcg)) {
    return {
      passed: false,
      reason: `nDCG@${candidate.k} ${fmt(c)} does not beat the popularity baseline ${fmt(baseline.ndcg)}${unfair}`,
      ...record,
    };
  }
  if (live && c < live.ndcg * (1 - tolerance)) {
    return {
      passed: false,
      reason: `nDCG@${candidate.k} ${fmt(c)} is more than ${(tolerance * 100).toFixed(1)}% below the live model ${live.modelId} (${fmt(live.ndcg)} ${on})${unfair}`,
      ...record,
    };
  }
  return {
    passed: true,
    reason: `nDCG@${candidate.k} ${fmt(c)} beats popularity ${fmt(baseline.ndcg)}${live ? ` and is within tolerance of live ${live.modelId} (${fmt(live.ndcg)} ${on})` : ''}${unfair}`,
    ...record,
  };
}
