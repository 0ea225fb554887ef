/** Offline evaluation of recommenders: holdout splits, ranking metrics, baselines, grid search. Pure code. */
export { temporalSplit, randomSplit, holdoutMask, splitToMatrices } from './split.ts';
export type { Interaction, Split, SplitOptions } from './split.ts';
export {
  rankingMetricsAtK,
  evaluateRanking,
  alsScorer,
  popularityBaseline,
  popularHead,
  trainPopularity,
} from './metrics.ts';
export type { Scorer, UserRankingMetrics, EvaluateOptions } from './metrics.ts';
export { gridSearch } from './grid.ts';
export type { AlsGrid, GridResult, GridSearchOptions } from './grid.ts';
export { plantedInteractions, plantedToInteractions } from './synthetic.ts';
export type { PlantedOptions, PlantedData } from './synthetic.ts';
export { successiveHalving, gridPoints, pointKey, scorePoint, trialWork, sampleRows } from './halving.ts';
export type { SearchSpace, SearchPoint, Trial, HalvingOptions, HalvingResult } from './halving.ts';
