import type { AppContext } from '../infra/context.ts';
import { newModelId } from '../repositories/models.ts';
import type { AlsParams } from '../types/index.ts';
import { gridSearch, splitToMatrices, temporalSplit, type AlsGrid, type GridResult } from './evaluate/index.ts';
import { filterMinInteractions, readRatingsByScan } from './ratings.ts';

export interface TuneOptions {
  grid: AlsGrid;
  /** per-user holdout for test and, inside the rest, for validation */
  holdout?: number;
  onResult?: (r: GridResult) => void;
}

/**
 * Hyperparameter search on a validation split that never sees the test interactions: the latest
 * `holdout` of each user is set aside as test, the latest `holdout` of the rest is the validation
 * set the grid is scored on. Every grid point is recorded in the `tuning` index under one run id.
 */
export async function runTuning(ctx: AppContext, opts: TuneOptions): Promise<{ runId: string; results: GridResult[] }> {
  const { es, names, config } = ctx;
  const t = config.train;
  const rows = filterMinInteractions(
    await readRatingsByScan(es, names, { weights: config.events.weights, windowDays: t.windowDays, halfLifeDays: t.halfLifeDays }),
    t.minUserInteractions,
    t.minItemInteractions,
  );
  const holdout = opts.holdout ?? 0.2;
  const { train: rest } = temporalSplit(rows, holdout);
  const { train, test: validation } = splitToMatrices(temporalSplit(rest, holdout));
  const base: AlsParams = { factors: t.factors, regularization: t.regularization, alpha: t.alpha, iterations: t.iterations, solver: t.solver, cgSteps: 3, seed: 42, threads: t.threads };
  const runId = `tune-${newModelId()}`;
  const index = names.tuning;
  const results = await gridSearch(train, validation, opts.grid, base, { k: 10, onResult: opts.onResult });
  const now = new Date().toISOString();
  await es.bulk({
    refresh: 'wait_for',
    operations: results.flatMap((r, rank) => [{ index: { _index: index } }, { run_id: runId, rank: rank + 1, created_at: now, params: r.params, metrics: r.metrics, train_seconds: r.trainSeconds, loss: r.loss }]),
  });
  return { runId, results };
}
