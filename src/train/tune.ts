import type { AppContext } from '../app/context.ts';
import { alsParams } from '../config/als-params.ts';
import { ratingRules } from '../events/rating.ts';
import { newModelId } from '../model/lifecycle.ts';
import { gridSearch, type AlsGrid, type GridResult } from './evaluate/index.ts';
import { scanRatingsTable } from './ratings.ts';
import { filterTable, holdoutOf, subTable, tableMatrix } from './ratings-table.ts';

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
export async function runTuning(
  ctx: AppContext,
  opts: TuneOptions,
): Promise<{ runId: string; results: GridResult[] }> {
  const { config } = ctx;
  const t = config.training;
  const table = filterTable(
    await scanRatingsTable(ctx.repos.events, { rules: ratingRules(config) }),
    t.minUserInteractions,
    t.minItemInteractions,
  );
  const holdout = opts.holdout ?? 0.2;
  const rest = subTable(table, holdoutOf(table, holdout), 0);
  const validationMask = holdoutOf(rest, holdout);
  const train = tableMatrix(subTable(rest, validationMask, 0));
  const validation = tableMatrix(subTable(rest, validationMask, 1), train);
  const base = alsParams(config.als);
  const runId = `tune-${newModelId()}`;
  const results = await gridSearch(train, validation, opts.grid, base, { k: 10, onResult: opts.onResult });
  await ctx.repos.tuning.record(
    runId,
    results.map((r) => ({
      params: r.params,
      metrics: r.metrics,
      train_seconds: r.trainSeconds,
      loss: r.loss,
    })),
  );
  return { runId, results };
}
