/**
 * Implicit-feedback ALS (Hu, Koren & Volinsky 2008). Pure code: no Elasticsearch or Kafka.
 */
export { trainAls, splitRows } from './train.ts';
export type { AlsIterationInfo, AlsIterationCallback } from './train.ts';
export { buildCsr, csrFromCoo, transposeCsr } from './csr.ts';
export type { RatingTriple, BuildCsrOptions } from './csr.ts';
export { gramian, choleskyInPlace, choleskySolveInPlace } from './kernels.ts';
export { foldInUser } from './foldin.ts';
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
