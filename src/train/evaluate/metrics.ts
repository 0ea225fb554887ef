import type { RankingMetrics, RatingsMatrix } from '../../types/index.ts';
import type { AlsModel } from '../../als/model.ts';
import { scoreAll, topKFromScores } from '../../als/recommend.ts';

/** Writes a score for every item (length nItems) for user index `user`; higher = better. */
export type Scorer = (user: number, out: Float64Array) => void;

export interface UserRankingMetrics {
  precision: number;
  recall: number;
  ndcg: number;
  /** average precision at k, normalised by min(k, |relevant|) */
  ap: number;
}

/**
 * Binary-relevance metrics of one ranked list (best first, only the first k entries count):
 * precision = hits / k; recall = hits / |rel|; nDCG = Σ_hits 1/log2(rank + 1) over the ideal
 * Σ_{r ≤ min(k,|rel|)} 1/log2(r + 1); AP = Σ_hits precision@rank / min(k, |rel|).
 */
export function rankingMetricsAtK(
  ranked: ArrayLike<number>,
  relevant: ReadonlySet<number>,
  k: number,
): UserRankingMetrics {
  if (relevant.size === 0) return { precision: 0, recall: 0, ndcg: 0, ap: 0 };
  const n = Math.min(k, ranked.length);
  let hits = 0;
  let dcg = 0;
  let apSum = 0;
  for (let r = 0; r < n; r++) {
    if (relevant.has(ranked[r]!)) {
      hits++;
      dcg += 1 / Math.log2(r + 2);
      apSum += hits / (r + 1);
    }
  }
  const ideal = Math.min(k, relevant.size);
  let idcg = 0;
  for (let r = 0; r < ideal; r++) idcg += 1 / Math.log2(r + 2);
  return { precision: hits / k, recall: hits / relevant.size, ndcg: dcg / idcg, ap: apSum / ideal };
}

export interface EvaluateOptions {
  /** list length, default 10 */
  k?: number;
  /** the head whose share of the lists is the popularity bias, as a fraction of items (0.01) */
  headShare?: number;
}

/** Items interacted with by train users, per item (the popularity the baseline ranks by). */
export function trainPopularity(train: RatingsMatrix): Float64Array {
  const counts = new Float64Array(train.nItems);
  const nnz = train.indptr[train.nUsers]!;
  for (let j = 0; j < nnz; j++) counts[train.indices[j]!]! += 1;
  return counts;
}

/**
 * The ⌈share · nItems⌉ (at least one) most popular train items, ties to the lower index as the
 * popularity baseline breaks them, as a 0/1 mask.
 */
export function popularHead(train: RatingsMatrix, share = 0.01): Uint8Array {
  const counts = trainPopularity(train);
  const n = Math.min(train.nItems, Math.max(1, Math.ceil(share * train.nItems)));
  const order = Array.from({ length: train.nItems }, (_, i) => i).sort(
    (a, b) => counts[b]! - counts[a]! || a - b,
  );
  const head = new Uint8Array(train.nItems);
  for (let r = 0; r < n; r++) head[order[r]!] = 1;
  return head;
}

/**
 * Mean ranking metrics over the users that have at least one test item. Each user's train
 * items are excluded from their ranking. Coverage = distinct items recommended to anyone / nItems;
 * popularity bias = recommended slots holding a head item (top 1 % by train popularity) / all
 * recommended slots, so a model that only echoes the best sellers scores near 1.
 */
export function evaluateRanking(
  scorer: Scorer,
  train: RatingsMatrix,
  test: RatingsMatrix,
  options: EvaluateOptions = {},
): RankingMetrics {
  const k = options.k ?? 10;
  const nItems = train.nItems;
  if (test.nItems > nItems)
    throw new RangeError('test matrix has more items than train: build it on the train ids');
  const scores = new Float64Array(nItems);
  const excluded = new Uint8Array(nItems);
  const shown = new Uint8Array(nItems);
  const head = popularHead(train, options.headShare ?? 0.01);
  let slots = 0;
  let headSlots = 0;
  const isExcluded = (i: number): boolean => excluded[i] === 1;
  let users = 0;
  let precision = 0;
  let recall = 0;
  let ndcg = 0;
  let map = 0;
  const rows = Math.min(test.nUsers, train.nUsers);
  for (let u = 0; u < rows; u++) {
    const ts = test.indptr[u]!;
    const te = test.indptr[u + 1]!;
    if (te === ts) continue;
    const relevant = new Set<number>();
    for (let j = ts; j < te; j++) relevant.add(test.indices[j]!);
    const rs = train.indptr[u]!;
    const re = train.indptr[u + 1]!;
    for (let j = rs; j < re; j++) excluded[train.indices[j]!] = 1;
    scorer(u, scores);
    const top = topKFromScores(scores, k, isExcluded);
    for (let j = rs; j < re; j++) excluded[train.indices[j]!] = 0;
    const ranked = top.map((t) => t.index);
    for (const i of ranked) {
      shown[i] = 1;
      headSlots += head[i]!;
    }
    slots += ranked.length;
    const m = rankingMetricsAtK(ranked, relevant, k);
    users++;
    precision += m.precision;
    recall += m.recall;
    ndcg += m.ndcg;
    map += m.ap;
  }
  let covered = 0;
  for (let i = 0; i < nItems; i++) covered += shown[i]!;
  const d = Math.max(1, users);
  return {
    k,
    precision: precision / d,
    recall: recall / d,
    ndcg: ndcg / d,
    map: map / d,
    coverage: nItems === 0 ? 0 : covered / nItems,
    popularity_bias: slots === 0 ? 0 : headSlots / slots,
    users,
  };
}

/** Scores xᵤᵀyᵢ from a trained (or in-training) model. */
export function alsScorer(model: Pick<AlsModel, 'factors' | 'userFactors' | 'itemFactors'>): Scorer {
  const k = model.factors;
  return (user, out) => {
    scoreAll(model.userFactors.subarray(user * k, (user + 1) * k), model.itemFactors, out);
  };
}

/**
 * Most-popular baseline: every user gets the items ranked by how many train users interacted
 * with them (ties: lower index first).
 */
export function popularityBaseline(train: RatingsMatrix): Scorer {
  const counts = trainPopularity(train);
  return (_user, out) => out.set(counts);
}
