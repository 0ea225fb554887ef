// One candidate model: read ratings → split → ALS → evaluate against popularity → refit on
// everything → factors saved as the model's artefact. No registry writes and no deploy: the
// release step decides what the result means.

import type { AppContext } from '../app/context.ts';
import { alsParams } from '../config/als-params.ts';
import { ratingRules } from '../events/rating.ts';
import { AlsModel } from '../als/index.ts';
import { artifactStore, saveArtifact } from '../model/artifacts.ts';
import type { AlsParams, RankingMetrics, RatingsMatrix } from '../types/index.ts';
import { autotune, type TuningRecord } from './autotune.ts';
import type { SearchSpace } from './evaluate/index.ts';
import { SkipLog, type SkipSummary } from '../types/skipped.ts';
import { alsScorer, evaluateRanking, popularityBaseline } from './evaluate/index.ts';
import {
  compositeRatingsTable,
  scanRatingsTable,
  type ReadFootprint,
  type RatingsTableReader,
} from './ratings.ts';
import {
  filterTable,
  holdoutOf,
  pairCount,
  subTable,
  tableMatrix,
  withoutTimes,
  type RatingsTable,
} from './ratings-table.ts';
import { servingExtras } from './serving-extras.ts';
import { withoutTombstoned } from './tombstoned.ts';

export interface CandidateOptions {
  modelId: string;
  params?: Partial<AlsParams>;
  reader?: 'scan' | 'composite';
  split?: 'temporal' | 'random';
  /** per-user holdout: count ≥ 1 or fraction in (0, 1) */
  holdout?: number;
  /** retrain on all interactions (train + holdout) for serving: the served model sees the newest data */
  refit?: boolean;
  /** the tuner's grid (default DEFAULT_SPACE); [tune] mode decides whether it is searched */
  tuneSpace?: SearchSpace;
  onProgress?: (phase: string, detail?: Record<string, unknown>) => void;
  /** replaces the event-store reader (tests inject failures with it) */
  readRatings?: RatingsTableReader;
  now?: number;
  /** filled as phases finish, so a failed run still records how far it got */
  timings?: Record<string, number>;
  counts?: Record<string, number>;
  /** where skipped rows are counted (events with refused ids), filled as the read goes */
  skipped?: SkipLog;
}

export interface Candidate {
  modelId: string;
  params: AlsParams;
  /** where the params came from (autotune) */
  tuning: TuningRecord;
  /** the exam: the train and holdout matrices the metrics were computed on (the gate re-scores the live model on them) */
  exam: { train: RatingsMatrix; test: RatingsMatrix };
  metrics: RankingMetrics;
  baseline: RankingMetrics;
  loss: number[];
  /** the model to serve (refit on everything unless refit is off), with its user and item ids */
  served: AlsModel;
  recentItems: Map<string, string[]>;
  popularity: Map<string, number>;
  /** where the artefact is: `<artifacts index>/<model_id>` */
  artifact: string;
  counts: Record<string, number>;
  timings: Record<string, number>;
  /** rows skipped instead of failing the run (counts.skipped_rows is their total) */
  skipped: SkipSummary;
}

const RECENT_PER_USER = 200;
const POPULARITY_DAYS = 30;

/** The run's holdout split: the training part (the tuner carves its validation from it) and the exam's matrices. */
function examSplit(
  table: RatingsTable,
  holdout: number,
  seed: number | undefined,
): { trainPart?: RatingsTable; train: RatingsMatrix; test: RatingsMatrix } {
  const mask = holdoutOf(table, holdout, seed);
  const trainPart = subTable(table, mask, 0);
  const train = tableMatrix(trainPart);
  return { trainPart, train, test: tableMatrix(subTable(table, mask, 1), train) };
}

/** The data window a run reads, as recorded on its model document. */
export function dataWindow(ctx: AppContext, now: number): Record<string, unknown> {
  const t = ctx.config.training;
  return {
    window_days: t.windowDays,
    half_life_days: t.halfLifeDays,
    min_user_interactions: t.minUserInteractions,
    min_item_interactions: t.minItemInteractions,
    read_at: new Date(now).toISOString(),
  };
}

export async function trainCandidate(ctx: AppContext, opts: CandidateOptions): Promise<Candidate> {
  const { config } = ctx;
  const t = config.training;
  const progress = opts.onProgress ?? (() => undefined);
  const configured = alsParams(config.als, opts.params);
  const now = opts.now ?? Date.now();
  const timings = opts.timings ?? {};
  const counts = opts.counts ?? {};
  const skipped = opts.skipped ?? new SkipLog();
  let phaseStart = Date.now();
  const phase = (name: string) => {
    timings[name] = (Date.now() - phaseStart) / 1000;
    phaseStart = Date.now();
  };

  progress('read');
  const reader = opts.readRatings ?? (opts.reader === 'composite' ? compositeRatingsTable : scanRatingsTable);
  const footprint: ReadFootprint = { events: 0, pairs: 0, bytes: 0 };
  // read straight into the filter: the unfiltered table is not kept for the rest of the run
  const tombstones = await ctx.repos.tombstones.active();
  let table: RatingsTable | undefined = filterTable(
    withoutTombstoned(
      await reader(ctx.repos.events, {
        rules: ratingRules(config),
        now,
        slices: t.readSlices,
        skipped,
        footprint,
      }),
      tombstones,
      (pairs) => (counts['tombstoned_rows'] = pairs),
    ),
    t.minUserInteractions,
    t.minItemInteractions,
  );
  counts['skipped_rows'] = skipped.total;
  if (skipped.total)
    ctx.log.warn(
      { modelId: opts.modelId, skipped: skipped.summary().by_reason },
      'events with refused ids skipped',
    );
  if (footprint.pairs)
    ctx.log.info(
      {
        modelId: opts.modelId,
        events: footprint.events,
        pairs: footprint.pairs,
        bytes_per_event: Math.round(footprint.bytes / Math.max(1, footprint.events)),
        bytes_per_pair: Math.round(footprint.bytes / footprint.pairs),
      },
      'ratings read',
    );
  counts['interactions'] = pairCount(table);
  phase('read_seconds');
  if (pairCount(table) === 0) throw new Error('the event store holds no interactions in the training window');

  const holdout = opts.holdout ?? 0.2;
  const exam = examSplit(table, holdout, opts.split === 'random' ? configured.seed : undefined);
  const { train, test } = exam;
  counts['users'] = train.nUsers;
  counts['items'] = train.nItems;
  counts['train_interactions'] = train.indptr[train.nUsers]!;
  counts['test_interactions'] = test.indptr[test.nUsers]!;
  const extras = servingExtras(table, now, RECENT_PER_USER, POPULARITY_DAYS);
  table = withoutTimes(table);
  phase('split_seconds');

  const { params, tuning } = await autotune(ctx, exam.trainPart!, {
    base: configured,
    overrides: opts.params,
    rules: ratingRules(config),
    holdout,
    now,
    space: opts.tuneSpace,
    onProgress: progress,
  });
  // the tuner was the training part's last reader: the fits need only the matrices
  exam.trainPart = undefined;
  if (tuning.source === 'search') phase('tune_seconds');
  progress('params', { ...params, tuning: tuning.source });

  progress('train', { users: train.nUsers, items: train.nItems, nnz: counts['train_interactions'] });
  const model = await AlsModel.fit(train, params, {
    onIteration: (it) =>
      progress('iteration', {
        iteration: it.iteration,
        of: params.iterations,
        loss: it.loss,
        seconds: it.seconds,
      }),
  });
  phase('train_seconds');

  progress('evaluate');
  const metrics = evaluateRanking(alsScorer(model), train, test, { k: 10 });
  const baseline = evaluateRanking(popularityBaseline(train), train, test, { k: 10 });
  phase('evaluate_seconds');

  let served = model;
  if (opts.refit ?? true) {
    progress('refit');
    const all = tableMatrix(table);
    // the refit is the table's last reader: its matrix is all the fit needs
    table = undefined;
    served = await AlsModel.fit(all, params);
    phase('refit_seconds');
  }
  counts['served_items'] = served.nItems;
  await saveArtifact(artifactStore(ctx), {
    modelId: opts.modelId,
    factors: params.factors,
    userIds: served.userIds,
    itemIds: served.itemIds,
    itemFactors: served.itemFactors,
    userFactors: served.userFactors,
    recentItems: Object.fromEntries(extras.recent),
    popularity: Object.fromEntries(extras.popularity),
    // the evaluated (pre-refit) factors: they never saw this holdout, so a later run's gate can
    // re-score them on its own holdout without the leak the refit factors would bring
    exam: {
      userIds: train.userIds,
      itemIds: train.itemIds,
      userFactors: model.userFactors,
      itemFactors: model.itemFactors,
    },
  });
  phase('save_seconds');
  const artifact = `${ctx.names.artifacts}/${opts.modelId}`;
  return {
    modelId: opts.modelId,
    params,
    tuning,
    exam: { train, test },
    metrics,
    baseline,
    loss: model.loss,
    served,
    recentItems: extras.recent,
    popularity: extras.popularity,
    artifact,
    counts,
    timings,
    skipped: skipped.summary(),
  };
}
