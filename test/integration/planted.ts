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
}

/** A deployable model with seeded random factors (never zero), items i0…, users u0…. */
export function plantedModel(modelId: string, seed: number, shape: PlantedShape): DeployInput {
  const rng = createRng(seed);
  const factor = () => rng.uniform(0.05, 1) * (rng.chance(0.5) ? 1 : -1);
  const itemIds = Array.from({ length: shape.items }, (_, i) => `i${i}`);
  const userIds = Array.from({ length: shape.users }, (_, u) => `u${u}`);
  return {
    modelId,
    factors: shape.factors,
    itemIds,
    itemFactors: Float32Array.from({ length: shape.items * shape.factors }, factor),
    userIds,
    userFactors: Float32Array.from({ length: shape.users * shape.factors }, factor),
    ...(shape.extras
      ? { recentItems: new Map(userIds.map((u, i) => [u, [`i${i}`]])), popularity: new Map(itemIds.map((id, i) => [id, shape.items - i])) }
      : {}),
    lsh: { tables: shape.lsh?.tables ?? 2, bits: shape.lsh?.bits ?? 4, seed: 3 },
  };
}
