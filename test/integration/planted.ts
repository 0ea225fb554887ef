import type { DeployInput } from '../../src/deploy/index.ts';
import { createRng } from '../../src/random/rng.ts';

export interface PlantedShape {
  factors: number;
  items: number;
  users: number;
  /** LSH tables × bits fixed (no tuning), seed 3 */
  lsh?: { tables: number; bits: number };
  /** user u's recent item is i<u>; item popularity falls with its index */
  extras?: boolean;
  /**
   * Item norms spread log-normally with this σ, as ALS norms do (popular items are long): each
   * item row is scaled by exp(σ · gaussian). 0 or absent: the uniform components as they are.
   */
  normSpread?: number;
}

/** A deployable model with seeded random factors (never zero), items i0…, users u0…. */
export function plantedModel(modelId: string, seed: number, shape: PlantedShape): DeployInput {
  const rng = createRng(seed);
  const factor = () => rng.uniform(0.05, 1) * (rng.chance(0.5) ? 1 : -1);
  const itemIds = Array.from({ length: shape.items }, (_, i) => `i${i}`);
  const userIds = Array.from({ length: shape.users }, (_, u) => `u${u}`);
  const itemFactors = Float32Array.from({ length: shape.items * shape.factors }, factor);
  if (shape.normSpread) {
    for (let i = 0; i < shape.items; i++) {
      const scale = Math.exp(shape.normSpread * rng.gaussian());
      for (let d = 0; d < shape.factors; d++) itemFactors[i * shape.factors + d]! *= scale;
    }
  }
  return {
    modelId,
    factors: shape.factors,
    itemIds,
    itemFactors,
    userIds,
    userFactors: Float32Array.from({ length: shape.users * shape.factors }, factor),
    ...(shape.extras
      ? {
          recentItems: new Map(userIds.map((u, i) => [u, [`i${i}`]])),
          popularity: new Map(itemIds.map((id, i) => [id, shape.items - i])),
        }
      : {}),
    lsh: { tables: shape.lsh?.tables ?? 2, bits: shape.lsh?.bits ?? 4, seed: 3 },
  };
}
