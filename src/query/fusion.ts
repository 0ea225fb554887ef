// Reciprocal rank fusion (Cormack, Clarke & Büttcher 2009): score(d) = Σ_lists 1 / (k + rank_d),
// rank from 1, a list that misses d adds nothing. Only ranks count, so BM25 (≈ 8) and a dot
// product (≈ 1) get an equal say whatever their scales. Pure; the search-plus-recommend path
// fuses the knn and the text list of one _msearch with it.
//
// Equal scores within a list share the best rank of their run ("1224" competition ranking): a
// broad word matches many items with the very same BM25, and their order within the list is
// only Elasticsearch's tiebreak, not information, so it must not outweigh the other list.

export interface Ranked {
  id: string;
  score: number;
}

export interface Fused {
  id: string;
  /** Σ 1 / (k + rank) */
  score: number;
  /** 1-based rank of the item in each input list (undefined where it is absent) */
  ranks: Array<number | undefined>;
}

/** Competition ranks of a list sorted best first: equal scores get the rank of the first of them. */
export function competitionRanks(list: readonly Ranked[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < list.length; i++)
    out.push(i > 0 && list[i]!.score === list[i - 1]!.score ? out[i - 1]! : i + 1);
  return out;
}

/**
 * Fuses lists (each best first, ids unique within a list) into the top `size` by RRF score;
 * ties go to the better best rank, then to the id, so the order is deterministic.
 */
export function reciprocalRankFusion(
  lists: ReadonlyArray<readonly Ranked[]>,
  k: number,
  size = Infinity,
): Fused[] {
  if (!(k >= 0)) throw new RangeError('the RRF constant must be ≥ 0');
  const byId = new Map<string, Fused>();
  lists.forEach((list, li) => {
    const ranks = competitionRanks(list);
    list.forEach((d, i) => {
      let f = byId.get(d.id);
      if (!f)
        byId.set(
          d.id,
          (f = { id: d.id, score: 0, ranks: new Array<number | undefined>(lists.length).fill(undefined) }),
        );
      if (f.ranks[li] !== undefined) return; // a repeated id keeps its first (best) rank
      f.ranks[li] = ranks[i]!;
      f.score += 1 / (k + ranks[i]!);
    });
  });
  const best = (f: Fused) => Math.min(...f.ranks.map((r) => r ?? Infinity));
  return [...byId.values()]
    .sort((a, b) => b.score - a.score || best(a) - best(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, size);
}
