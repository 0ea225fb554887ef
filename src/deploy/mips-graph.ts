// Whether a model needs the user → item HNSW graph at all, measured on its own factors at deploy.
//
// Serving answers a user → item ann request by the norm-bounded exact search whenever that search
// scores at most [serving] ann_exact_max_scored items (src/query/plan.ts): fewer vectors than the graph
// visits, and recall 1. On factors ALS trains, item norms spread over orders of magnitude and the
// bound keeps a few thousand of a million items (1M ALS bench: 0.4 % on average), so every sampled
// request went that way and the graph served nothing, yet building it was about half of the
// deploy (two int8 HNSW graphs over 1M vectors). So deploy runs the serving probe's arithmetic on
// the sampled users first: when the bounded search of at least ROUTED_SHARE of them scores at most
// [serving] ann_exact_max_scored items, the `factor` graph is not built and ann requests are answered by the
// bounded exact search (the model document says `ann.mips.graph: false`, with this measurement).
// Where norms are narrow (the planted bench factors: the bound kept 13.5 %), the graph is built.
// A request the sample did not foresee only costs time: without a graph it is still answered
// exactly, by brute force over the items its bound (or its filter) leaves.

import { buildNormProbe, countAtLeast, minTopKNorm, PROBE_SIZE } from '../model/norm-probe.ts';
import { rowNorms } from './norm-head.ts';

/** The graph is skipped when at least this share of the sampled users' bounded searches is small enough. */
export const ROUTED_SHARE = 0.9;

/** What the model document records under ann.mips.bound. */
export interface MipsBoundSample {
  /** users sampled */
  sample: number;
  /** [serving] ann_exact_max_scored at deploy */
  max_scored: number;
  /** share of them whose bounded exact search scores at most max_scored items */
  routed_share: number;
  /** items the bounded search scores, median and 90th percentile over the sample (no bound: all) */
  scored_p50: number;
  scored_p90: number;
}

export interface MipsGraphChoice {
  graph: boolean;
  bound: MipsBoundSample;
}

const quantile = (sorted: readonly number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

/**
 * Measures, for each sampled user vector, how many items the serving path's norm-bounded exact
 * search would score (the PROBE_SIZE longest items set the bound, as in serving; the count is
 * exact here, from all the norms), and decides whether the MIPS graph is needed.
 */
export function chooseMipsGraph(
  itemIds: readonly string[],
  items: Float32Array,
  dims: number,
  queries: ReadonlyArray<{ vector: ArrayLike<number>; exclude?: readonly string[] }>,
  k: number,
  maxScored: number,
): MipsGraphChoice {
  const norms = rowNorms(items, dims);
  const byNorm = Array.from(norms.keys())
    .filter((i) => norms[i]! > 0)
    .sort((a, b) => norms[b]! - norms[a]!);
  const longest = byNorm
    .slice(0, PROBE_SIZE)
    .map((i) => ({ id: itemIds[i]!, vector: items.subarray(i * dims, (i + 1) * dims) }));
  const probe = buildNormProbe(dims, longest);
  const sortedNorms = Float64Array.from(byNorm, (i) => norms[i]!);
  const scored = queries.map((q) => {
    const minNorm = maxScored > 0 ? minTopKNorm(probe, q.vector, k, new Set(q.exclude ?? [])) : undefined;
    return minNorm === undefined ? byNorm.length : countAtLeast(sortedNorms, minNorm);
  });
  const sorted = [...scored].sort((a, b) => a - b);
  const routed = scored.filter((n) => n <= maxScored).length;
  const bound: MipsBoundSample = {
    sample: scored.length,
    max_scored: maxScored,
    routed_share: scored.length ? routed / scored.length : 0,
    scored_p50: sorted.length ? quantile(sorted, 0.5) : 0,
    scored_p90: sorted.length ? quantile(sorted, 0.9) : 0,
  };
  return { graph: !(scored.length > 0 && maxScored > 0 && bound.routed_share >= ROUTED_SHARE), bound };
}
