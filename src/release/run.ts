// A release: train → evaluate → gate → deploy. The one place that connects a training run to a
// deploy; training and deploy know nothing of each other. Every outcome, failure included, is
// recorded through the model lifecycle, and a failure never touches the live model.

import type { AppContext } from '../app/context.ts';
import { alsParams } from '../config/als-params.ts';
import { deployModel, type DeployReport } from '../deploy/index.ts';
import { modelLifecycle, newModelId, type ModelLifecycle } from '../model/lifecycle.ts';
import { ArtifactMissingError, artifactStore, loadArtifact, type ArtifactStore } from '../model/artifacts.ts';
import type { ModelDoc } from '../repositories/models.ts';
import type { TuningRecord } from '../train/autotune.ts';
import { dataWindow, trainCandidate, type Candidate, type CandidateOptions } from '../train/candidate.ts';
import { evaluateGate, type GateInput, type GateResult } from '../train/gate.ts';
import { scoreLiveOnExam } from '../train/live-exam.ts';
import type { Logger } from '../infra/logger.ts';
import type { RankingMetrics } from '../types/index.ts';
import { SkipLog, type SkipSummary } from '../types/skipped.ts';

export interface TrainRunOptions extends Omit<CandidateOptions, 'modelId'> {
  trigger?: 'cli' | 'schedule' | 'api' | 'demo' | 'test';
  modelId?: string;
  /** deploy when the gate passes */
  deploy?: boolean;
  /** ... as a staged version (kept, not live) for an online experiment */
  stage?: boolean;
  lifecycle?: ModelLifecycle;
}

export interface TrainRunResult {
  modelId: string;
  status: 'candidate' | 'staged' | 'live' | 'failed';
  metrics?: RankingMetrics;
  baseline?: RankingMetrics;
  gate?: GateResult;
  /** the parameters trained with and where they came from */
  params?: Record<string, unknown>;
  tuning?: TuningRecord;
  deploy?: DeployReport;
  loss?: number[];
  timings: Record<string, number>;
  /** counts.skipped_rows: events skipped by the read (refused ids); deploy.skippedItems/Users: documents skipped by the deploy */
  counts: Record<string, number>;
  /** what the training read skipped, by reason, with examples (also on the model document) */
  skipped: SkipSummary;
  error?: string;
}

export async function runTraining(ctx: AppContext, opts: TrainRunOptions = {}): Promise<TrainRunResult> {
  const { config, log } = ctx;
  const lifecycle = opts.lifecycle ?? modelLifecycle(ctx);
  const modelId = opts.modelId ?? newModelId();
  const now = opts.now ?? Date.now();
  const progress = opts.onProgress ?? (() => undefined);
  const timings: Record<string, number> = {};
  const counts: Record<string, number> = {};
  const skipped = new SkipLog();
  // a deploy that died in an earlier run (or anywhere) is recovered before this one starts
  await lifecycle
    .recoverInterruptedDeploys()
    .catch((e: Error) =>
      log.error({ err: e.message }, 'could not recover interrupted deploys; training anyway'),
    );
  await lifecycle.register({
    model_id: modelId,
    trigger: opts.trigger ?? 'cli',
    params: { ...alsParams(config.als, opts.params) },
    data_window: dataWindow(ctx, now),
  });
  try {
    const c = await trainCandidate(ctx, { ...opts, modelId, now, timings, counts, skipped });
    const live = await lifecycle.liveModel();
    const gate = evaluateGate({
      candidate: c.metrics,
      baseline: c.baseline,
      ...(await liveOnExam(artifactStore(ctx), live, c, log)),
      tolerance: config.gate.tolerance,
    });
    log.info({ modelId, metrics: c.metrics, baseline: c.baseline, gate }, 'evaluated');
    const willDeploy = gate.passed && (opts.deploy ?? true);
    await lifecycle.recordCandidate(
      modelId,
      {
        status_reason: gate.passed ? 'gate passed' : gate.reason,
        params: { ...c.params },
        tuning: c.tuning,
        metrics: c.metrics,
        baseline_metrics: c.baseline,
        gate,
        loss: c.loss,
        counts,
        skipped: c.skipped,
        timings: { ...timings },
        artifact: c.artifact,
      },
      willDeploy,
    );

    let deploy: DeployReport | undefined;
    if (willDeploy) {
      progress('deploy');
      const started = Date.now();
      const s = c.served;
      deploy = await deployModel(
        ctx,
        {
          modelId,
          factors: c.params.factors,
          userIds: s.userIds,
          itemIds: s.itemIds,
          itemFactors: s.itemFactors,
          userFactors: s.userFactors,
          recentItems: c.recentItems,
          popularity: c.popularity,
          ...(s.itemNorms ? { itemNorms: s.itemNorms } : {}),
        },
        {
          lifecycle,
          stage: opts.stage ?? false,
          onProgress: (p, done, total) => progress('deploy_progress', { phase: p, done, total }),
        },
      );
      timings['deploy_seconds'] = (Date.now() - started) / 1000;
      await lifecycle.annotate(modelId, { timings: { ...timings } });
    }
    return {
      modelId,
      status: deploy ? (deploy.staged ? 'staged' : 'live') : 'candidate',
      metrics: c.metrics,
      baseline: c.baseline,
      gate,
      params: { ...c.params },
      tuning: c.tuning,
      deploy,
      loss: c.loss,
      timings,
      counts,
      skipped: c.skipped,
    };
  } catch (e) {
    const error = (e as Error).message;
    log.error({ modelId, err: error }, 'training run failed; live model untouched');
    await lifecycle.recordFailure(modelId, error, {
      timings,
      counts,
      ...(skipped.total ? { skipped: skipped.summary() } : {}),
    });
    return { modelId, status: 'failed', error, timings, counts, skipped: skipped.summary() };
  }
}

/**
 * The live model's side of the gate: its kept factors re-scored on this candidate's holdout. Only
 * when its artefact cannot be read (never written, pruned, or the store failing) does the gate fall
 * back to the live model's own-run nDCG; the record then says so and why (gate.fallback).
 */
async function liveOnExam(
  store: ArtifactStore,
  live: ModelDoc | undefined,
  c: Candidate,
  log: Logger,
): Promise<Pick<GateInput, 'live' | 'exam' | 'fallback'>> {
  if (!live) return {};
  const fallback = (why: string): Pick<GateInput, 'live' | 'exam' | 'fallback'> => {
    log.warn({ liveModelId: live.model_id, why }, 'the live model cannot sit this exam');
    const f = { modelId: live.model_id, why };
    return live.metrics
      ? { exam: 'live_own_holdout', live: { modelId: live.model_id, ndcg: live.metrics.ndcg }, fallback: f }
      : { fallback: f };
  };
  let a;
  try {
    a = await loadArtifact(store, live.model_id);
  } catch (e) {
    return fallback(
      e instanceof ArtifactMissingError
        ? 'its artefact is not in the artefact store'
        : `its artefact could not be read (${(e as Error).message})`,
    );
  }
  const model = a.exam ?? {
    userIds: a.userIds,
    itemIds: a.itemIds,
    userFactors: a.userFactors,
    itemFactors: a.itemFactors,
  };
  let scored;
  try {
    scored = scoreLiveOnExam(c.exam, { factors: a.factors, model, popularity: a.popularity });
  } catch (e) {
    return fallback(`its factors could not be scored (${(e as Error).message})`);
  }
  const { metrics, coverage } = scored;
  return {
    exam: 'candidate_holdout',
    live: {
      modelId: live.model_id,
      ndcg: metrics.ndcg,
      coverage,
      factors: a.exam ? 'exam' : 'served',
      ...(live.metrics ? { ownNdcg: live.metrics.ndcg } : {}),
    },
  };
}
