import type { RankingMetrics } from '../types/index.ts';

export interface GateInput {
  candidate: RankingMetrics;
  baseline: RankingMetrics;
  live?: { modelId: string; ndcg: number };
  /** max relative nDCG drop vs the live model, e.g. 0.02 = 2 % */
  tolerance: number;
}

export interface GateResult {
  passed: boolean;
  reason: string;
  live_model_id?: string;
  live_ndcg?: number;
}

/** A candidate may go live only if it beats popularity and is not much worse than what serves now. */
export function evaluateGate({ candidate, baseline, live, tolerance }: GateInput): GateResult {
  const c = candidate.ndcg;
  const fmt = (x: number) => x.toFixed(4);
  if (!(c > baseline.ndcg)) {
    return { passed: false, reason: `nDCG@${candidate.k} ${fmt(c)} does not beat the popularity baseline ${fmt(baseline.ndcg)}`, live_model_id: live?.modelId, live_ndcg: live?.ndcg };
  }
  if (live && c < live.ndcg * (1 - tolerance)) {
    return {
      passed: false,
      reason: `nDCG@${candidate.k} ${fmt(c)} is more than ${(tolerance * 100).toFixed(1)}% below the live model ${live.modelId} (${fmt(live.ndcg)})`,
      live_model_id: live.modelId,
      live_ndcg: live.ndcg,
    };
  }
  return {
    passed: true,
    reason: `nDCG@${candidate.k} ${fmt(c)} beats popularity ${fmt(baseline.ndcg)}${live ? ` and is within tolerance of live ${live.modelId} (${fmt(live.ndcg)})` : ''}`,
    live_model_id: live?.modelId,
    live_ndcg: live?.ndcg,
  };
}
