import type { AlsParams } from '../types/index.ts';
import { createScratch, solveSingleRow } from './kernels.ts';

/**
 * The ALS user step for one user against fixed item factors (online fold-in):
 * x = (YᵀY + λI + Yᵀ(C_u − I)Y)⁻¹ YᵀC_u p(u), solved exactly by Cholesky.
 * `YtY` is gramian(itemFactors, k) — compute it once per model, not per user.
 * Duplicate item indices are summed; non-positive ratings are ignored.
 */
export function foldInUser(
  itemFactors: Float32Array,
  YtY: Float64Array,
  itemIndices: ArrayLike<number>,
  ratings: ArrayLike<number>,
  params: Pick<AlsParams, 'factors' | 'regularization' | 'alpha'>,
): Float32Array {
  const k = params.factors;
  if (YtY.length !== k * k) throw new RangeError(`foldInUser: YtY must be ${k}×${k}`);
  if (itemIndices.length !== ratings.length)
    throw new RangeError('foldInUser: itemIndices and ratings differ in length');
  const nItems = Math.floor(itemFactors.length / k);
  const merged = new Map<number, number>();
  for (let j = 0; j < itemIndices.length; j++) {
    const i = itemIndices[j]!;
    if (!Number.isInteger(i) || i < 0 || i >= nItems)
      throw new RangeError(`foldInUser: item index ${i} out of range`);
    merged.set(i, (merged.get(i) ?? 0) + ratings[j]!);
  }
  const idx: number[] = [];
  const val: number[] = [];
  for (const [i, r] of merged) {
    if (r > 0) {
      idx.push(i);
      val.push(r);
    }
  }
  const out = new Float32Array(k);
  if (idx.length === 0) return out;
  return solveSingleRow(
    Int32Array.from(idx),
    Float32Array.from(val),
    itemFactors,
    YtY,
    k,
    params.regularization,
    params.alpha,
    out,
    createScratch(k, idx.length),
  );
}
