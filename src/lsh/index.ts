// Sign-random-projection LSH: seeded hyperplanes, bucket terms, MIPS
// augmentation and (L, b) tuning. See the header of each module.
export { Rng, createRng, hash32 } from '../random/rng.ts';
export {
  PROJECTION_STREAM,
  createProjections,
  deserializeProjections,
  serializeProjections,
  validateLshParams,
} from './projections.ts';
export {
  LshHasher,
  candidateProbability,
  codeToTerm,
  tableCollisionProbability,
  type SerializedLsh,
  type Vector,
} from './hasher.ts';
export {
  augmentItemForMips,
  augmentItemsForMips,
  augmentQueryForMips,
  maxNorm,
  normalizeVector,
  rowCount,
  toFlat,
  vectorNorm,
  type VectorSet,
} from './mips.ts';
export {
  DEFAULT_LSH_GRID,
  chooseLshParams,
  evaluateLshGrid,
  type LshChoice,
  type LshGridRow,
  type LshGridSetting,
  type LshMode,
  type LshTuneOptions,
} from './tune.ts';
export { ModelHashers, type ModelLsh } from './model-hashers.ts';
