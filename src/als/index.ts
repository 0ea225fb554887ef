/**
 * Implicit-feedback ALS (Hu, Koren & Volinsky 2008). Pure code: no Elasticsearch or Kafka.
 * AlsModel (model.ts) is the model: fit, recalculateUser, recommend, similarItems, explain.
 */
export { AlsModel, recalculateUser, explainUser } from './model.ts';
export type {
  AlsModelInit,
  AlsModelParams,
  Explanation,
  RatedItem,
  RatedItems,
  UserStepBasis,
} from './model.ts';
export { splitRows } from './fit.ts';
export type { AlsFit, AlsIterationInfo, AlsIterationCallback } from './fit.ts';
export { buildCsr, csrFromCoo, transposeCsr } from './csr.ts';
export type { RatingTriple, BuildCsrOptions } from './csr.ts';
export { gramian, choleskyInPlace, choleskySolveInPlace } from './kernels.ts';
export { recommendTopK, topKFromScores, scoreAll } from './recommend.ts';
export type { ScoredIndex } from './recommend.ts';
export {
  weightMatrix,
  weightRow,
  userIdf,
  itemLengthNorms,
  WEIGHTING_SCHEMES,
  LOG_EPSILON,
  BM25_K1,
  BM25_B,
} from './weighting.ts';
export type { WeightingScheme } from './weighting.ts';
