import type { AlsParams, RankingMetrics, RatingsMatrix } from '../../types/index.ts';
import { AlsModel } from '../../als/model.ts';
import { alsScorer, evaluateRanking } from './metrics.ts';

export interface AlsGrid {
  factors?: number[];
  regularization?: number[];
  alpha?: number[];
  iterations?: number[];
}

export interface GridResult {
  params: AlsParams;
  metrics: RankingMetrics;
  /** training time up to this iteration count (loss evaluation excluded) */
  trainSeconds: number;
  /** training loss after the last iteration */
  loss: number;
}

export interface GridSearchOptions {
  /** metric cut-off, default 10 */
  k?: number;
  onResult?: (result: GridResult) => void;
}

/**
 * Evaluates every combination of the grid (missing axes take baseParams' value) on the
 * validation matrix, which must share the train matrix's id mapping. For each
 * (factors, regularization, alpha) one model is trained for max(iterations) and scored at each
 * requested iteration count, so the iterations axis costs no extra training.
 * Returns all results, best nDCG@k first.
 */
export async function gridSearch(
  train: RatingsMatrix,
  validation: RatingsMatrix,
  grid: AlsGrid,
  baseParams: AlsParams,
  options: GridSearchOptions = {},
): Promise<GridResult[]> {
  const k = options.k ?? 10;
  const axis = (v: number[] | undefined, d: number): number[] => (v && v.length > 0 ? [...new Set(v)] : [d]);
  const iterations = axis(grid.iterations, baseParams.iterations).sort((a, b) => a - b);
  if (iterations.some((n) => !Number.isInteger(n) || n < 1))
    throw new RangeError('gridSearch: iterations must be integers ≥ 1');
  const wanted = new Set(iterations);
  const maxIter = iterations[iterations.length - 1]!;
  const results: GridResult[] = [];
  for (const factors of axis(grid.factors, baseParams.factors)) {
    for (const regularization of axis(grid.regularization, baseParams.regularization)) {
      for (const alpha of axis(grid.alpha, baseParams.alpha)) {
        const params: AlsParams = { ...baseParams, factors, regularization, alpha, iterations: maxIter };
        let elapsed = 0;
        const record = (iters: number, loss: number, model: Parameters<typeof alsScorer>[0]): void => {
          const metrics = evaluateRanking(alsScorer(model), train, validation, { k });
          const result: GridResult = {
            params: { ...params, iterations: iters },
            metrics,
            trainSeconds: elapsed,
            loss,
          };
          results.push(result);
          options.onResult?.(result);
        };
        await AlsModel.fit(train, params, {
          onIteration: (info) => {
            elapsed += info.seconds;
            if (wanted.has(info.iteration)) {
              record(info.iteration, info.loss, {
                factors,
                userFactors: info.userFactors,
                itemFactors: info.itemFactors,
              });
            }
          },
        });
      }
    }
  }
  return results.sort((a, b) => b.metrics.ndcg - a.metrics.ndcg);
}
