import type { AppContext } from '../infra/context.ts';
import { deployModel, type DeployReport } from '../deploy/index.ts';
import { getModel, liveModelId, newModelId, putModel, updateModel } from '../repositories/models.ts';
import type { AlsParams, RankingMetrics } from '../types/index.ts';
import { buildCsr, trainAls } from '../als/index.ts';
import { saveArtifact } from '../model/artifacts.ts';
import { alsScorer, evaluateRanking, popularityBaseline, randomSplit, splitToMatrices, temporalSplit, type Interaction } from '../train/evaluate/index.ts';
import { evaluateGate, type GateResult } from '../train/gate.ts';
import { filterMinInteractions, readRatingsByComposite, readRatingsByScan, type RatingsReader } from '../train/ratings.ts';

export interface TrainRunOptions {
  trigger?: 'cli' | 'schedule' | 'api' | 'demo' | 'test';
  modelId?: string;
  params?: Partial<AlsParams>;
  reader?: 'scan' | 'composite';
  split?: 'temporal' | 'random';
  /** per-user holdout: count ≥ 1 or fraction in (0, 1) */
  holdout?: number;
  /** deploy when the gate passes */
  deploy?: boolean;
  /** retrain on all interactions (train + holdout) before deploying: the served model sees the newest data */
  refit?: boolean;
  onProgress?: (phase: string, detail?: Record<string, unknown>) => void;
  /** replaces the event-store reader (tests use it to inject failures) */
  readRatings?: RatingsReader;
}

export interface TrainRunResult {
  modelId: string;
  status: 'candidate' | 'live' | 'failed';
  metrics?: RankingMetrics;
  baseline?: RankingMetrics;
  gate?: GateResult;
  deploy?: DeployReport;
  loss?: number[];
  timings: Record<string, number>;
  counts: Record<string, number>;
  error?: string;
}

const RECENT_PER_USER = 200;
const POPULARITY_DAYS = 30;

/** Items each user touched, newest first (served as exclude_seen) and recent weighted popularity. */
function servingExtras(rows: Interaction[], now: number) {
  const byUser = new Map<string, Interaction[]>();
  const popularity = new Map<string, number>();
  const since = now - POPULARITY_DAYS * 86_400_000;
  const newest = rows.reduce((m, r) => Math.max(m, Number(r.lastTs)), 0);
  // the sample data (and an idle shop) may be older than 30 days: measure from its newest event
  const cut = Math.min(since, newest - POPULARITY_DAYS * 86_400_000);
  for (const r of rows) {
    const list = byUser.get(r.userId) ?? [];
    list.push(r);
    byUser.set(r.userId, list);
    if (Number(r.lastTs) >= cut) popularity.set(r.itemId, (popularity.get(r.itemId) ?? 0) + r.weight);
  }
  const recent = new Map<string, string[]>();
  for (const [u, list] of byUser) recent.set(u, list.sort((a, b) => Number(b.lastTs) - Number(a.lastTs)).slice(0, RECENT_PER_USER).map((r) => r.itemId));
  return { recent, popularity };
}

/**
 * One training run: read ratings → split → ALS → evaluate against popularity → registry →
 * gate → (refit and) deploy. Every outcome, including failure, is recorded on the model doc;
 * a failure never touches the live model.
 */
export async function runTraining(ctx: AppContext, opts: TrainRunOptions = {}): Promise<TrainRunResult> {
  const { es, names, config, log } = ctx;
  const progress = opts.onProgress ?? (() => undefined);
  const modelId = opts.modelId ?? newModelId();
  const t = config.train;
  const params: AlsParams = {
    factors: t.factors,
    regularization: t.regularization,
    alpha: t.alpha,
    iterations: t.iterations,
    solver: t.solver,
    cgSteps: 3,
    seed: 42,
    threads: t.threads,
    ...opts.params,
  };
  const timings: Record<string, number> = {};
  const counts: Record<string, number> = {};
  const started = Date.now();
  let phaseStart = started;
  const phase = (name: string) => {
    timings[name] = (Date.now() - phaseStart) / 1000;
    phaseStart = Date.now();
  };
  const now = Date.now();
  const window = { window_days: t.windowDays, half_life_days: t.halfLifeDays, min_user_interactions: t.minUserInteractions, min_item_interactions: t.minItemInteractions, read_at: new Date(now).toISOString() };
  await putModel(es, names, { model_id: modelId, status: 'training', trigger: opts.trigger ?? 'cli', created_at: new Date(started).toISOString(), params: { ...params }, data_window: window });

  try {
    progress('read');
    const reader = opts.readRatings ?? (opts.reader === 'composite' ? readRatingsByComposite : readRatingsByScan);
    const raw = await reader(es, names, { weights: config.events.weights, windowDays: t.windowDays, halfLifeDays: t.halfLifeDays, now });
    const rows = filterMinInteractions(raw, t.minUserInteractions, t.minItemInteractions);
    counts['interactions'] = rows.length;
    phase('read_seconds');
    if (rows.length === 0) throw new Error('the event store holds no interactions in the training window');

    const holdout = opts.holdout ?? 0.2;
    const split = opts.split === 'random' ? randomSplit(rows, holdout, params.seed) : temporalSplit(rows, holdout);
    const { train, test } = splitToMatrices(split);
    counts['users'] = train.nUsers;
    counts['items'] = train.nItems;
    counts['train_interactions'] = train.indptr[train.nUsers]!;
    counts['test_interactions'] = test.indptr[test.nUsers]!;
    phase('split_seconds');

    progress('train', { users: train.nUsers, items: train.nItems, nnz: counts['train_interactions'] });
    const model = await trainAls(train, params, (it) => progress('iteration', { iteration: it.iteration, of: params.iterations, loss: it.loss, seconds: it.seconds }));
    phase('train_seconds');

    progress('evaluate');
    const metrics = evaluateRanking(alsScorer(model), train, test, { k: 10 });
    const baseline = evaluateRanking(popularityBaseline(train), train, test, { k: 10 });
    phase('evaluate_seconds');

    const liveId = await liveModelId(es, names);
    const live = liveId ? await getModel(es, names, liveId) : undefined;
    const gate = evaluateGate({ candidate: metrics, baseline, live: live?.metrics ? { modelId: liveId!, ndcg: live.metrics.ndcg } : undefined, tolerance: t.gateTolerance });
    log.info({ modelId, metrics, baseline, gate }, 'evaluated');

    let served = model;
    let servedIds = { userIds: train.userIds, itemIds: train.itemIds };
    if (opts.refit ?? true) {
      progress('refit');
      const full = buildCsr(rows);
      served = await trainAls(full, params);
      servedIds = { userIds: full.userIds, itemIds: full.itemIds };
      phase('refit_seconds');
    }
    const extras = servingExtras(rows, now);
    const artifact = saveArtifact(config.modelDir, {
      modelId,
      factors: params.factors,
      ...servedIds,
      itemFactors: served.itemFactors,
      userFactors: served.userFactors,
      recentItems: Object.fromEntries(extras.recent),
      popularity: Object.fromEntries(extras.popularity),
    });
    phase('save_seconds');

    await updateModel(es, names, modelId, {
      status: 'candidate',
      status_reason: gate.passed ? 'gate passed' : gate.reason,
      finished_at: new Date().toISOString(),
      metrics,
      baseline_metrics: baseline,
      gate,
      loss: model.loss,
      counts,
      timings: { ...timings },
      artifact,
    });

    let deploy: DeployReport | undefined;
    if (gate.passed && (opts.deploy ?? true)) {
      progress('deploy');
      deploy = await deployModel(
        ctx,
        { modelId, factors: params.factors, ...servedIds, itemFactors: served.itemFactors, userFactors: served.userFactors, recentItems: extras.recent, popularity: extras.popularity },
        { onProgress: (p, done, total) => progress('deploy_progress', { phase: p, done, total }) },
      );
      phase('deploy_seconds');
      await updateModel(es, names, modelId, { timings: { ...timings } });
    }
    return { modelId, status: deploy ? 'live' : 'candidate', metrics, baseline, gate, deploy, loss: model.loss, timings, counts };
  } catch (e) {
    const error = (e as Error).message;
    log.error({ modelId, err: error }, 'training run failed; live model untouched');
    const current = await getModel(es, names, modelId).catch(() => undefined);
    // a failed deploy has already recorded itself; keep its more precise error
    if (current?.status !== 'failed') await updateModel(es, names, modelId, { status: 'failed', error, finished_at: new Date().toISOString(), timings, counts }).catch(() => undefined);
    return { modelId, status: 'failed', error, timings, counts };
  }
}
