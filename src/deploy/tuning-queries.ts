// The query vectors a deploy samples from its own factors: to decide the user → item graph and the
// norm head (./graph-plan.ts) and to tune ann on the built index (./ann-record.ts).

import type { Space } from '../query/search-body.ts';
import { sampleIndices } from './ann-tuning.ts';
import type { DeployInput } from './types.ts';

/** Item ids and their factors, ids.length × factors row-major. */
export interface ItemRows {
  ids: string[];
  factors: Float32Array;
}

export interface TuningQuery {
  vector: number[];
  exclude?: string[];
}

/**
 * Query vectors sampled for ann tuning: users' factors (mips) or items' own (cosine), zero rows left
 * out. 256: per-query graph recall is heavy-tailed at 1M items, and 64 missed the tail (ann-tuning.ts
 * CLIMB_QUERIES), and the exact top k of 256 queries stays a small share of a 1M deploy (bench/deploy).
 */
const TUNING_SAMPLE = 256;
export function tuningQueries(
  space: Space,
  ids: string[],
  flat: Float32Array,
  k: number,
  phase = 0,
  seen?: Map<string, string[]>,
): TuningQuery[] {
  const out: TuningQuery[] = [];
  for (const r of sampleIndices(ids.length, TUNING_SAMPLE, phase)) {
    const v = flat.subarray(r * k, (r + 1) * k);
    // excluded as serving excludes them: a similar-items seed, a user's seen items (exclude_seen)
    const exclude = space === 'cosine' ? [ids[r]!] : (seen?.get(ids[r]!) ?? []);
    if (v.some((x) => x !== 0)) out.push({ vector: Array.from(v), ...(exclude.length ? { exclude } : {}) });
  }
  return out;
}

/**
 * The mips sample: users' factors, or the items' own when the model has no users. The norm head is
 * chosen on another sample (phase 0.5) than the one tuning measures recall on, so the recall the
 * model document reports is not measured on the users the head was fitted to.
 */
export function mipsQueries(input: DeployInput, items: ItemRows, phase = 0): TuningQuery[] {
  return input.userIds.length
    ? tuningQueries('mips', input.userIds, input.userFactors, input.factors, phase, input.recentItems)
    : tuningQueries('mips', items.ids, items.factors, input.factors, phase);
}
