export interface ScoredIndex {
  index: number;
  score: number;
}

/** a ranks strictly before b: higher score, ties broken by lower index (deterministic). */
function before(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa > sb || (sa === sb && ia < ib);
}

/**
 * Top `k` entries of a score vector, best first, skipping excluded indices and NaN scores.
 * O(n log k) with a binary min-heap on typed arrays.
 */
export function topKFromScores(
  scores: ArrayLike<number>,
  k: number,
  exclude?: ReadonlySet<number> | ((index: number) => boolean),
): ScoredIndex[] {
  const n = scores.length;
  const cap = Math.max(0, Math.min(k, n));
  if (cap === 0) return [];
  const isExcluded =
    exclude === undefined ? null : typeof exclude === 'function' ? exclude : (i: number) => exclude.has(i);
  const hs = new Float64Array(cap); // heap of the current best, worst at the root
  const hi = new Int32Array(cap);
  let size = 0;
  const siftDown = (pos: number): void => {
    while (true) {
      const l = 2 * pos + 1;
      if (l >= size) return;
      let w = l;
      const r = l + 1;
      if (r < size && before(hs[w]!, hi[w]!, hs[r]!, hi[r]!)) w = r;
      if (!before(hs[pos]!, hi[pos]!, hs[w]!, hi[w]!)) return;
      const ts = hs[pos]!;
      const ti = hi[pos]!;
      hs[pos] = hs[w]!;
      hi[pos] = hi[w]!;
      hs[w] = ts;
      hi[w] = ti;
      pos = w;
    }
  };
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    if (s !== s) continue; // NaN
    if (isExcluded && isExcluded(i)) continue;
    if (size < cap) {
      let pos = size++;
      hs[pos] = s;
      hi[pos] = i;
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        if (!before(hs[parent]!, hi[parent]!, hs[pos]!, hi[pos]!)) break;
        const ts = hs[pos]!;
        const ti = hi[pos]!;
        hs[pos] = hs[parent]!;
        hi[pos] = hi[parent]!;
        hs[parent] = ts;
        hi[parent] = ti;
        pos = parent;
      }
    } else if (before(s, i, hs[0]!, hi[0]!)) {
      hs[0] = s;
      hi[0] = i;
      siftDown(0);
    }
  }
  const out: ScoredIndex[] = [];
  for (let j = 0; j < size; j++) out.push({ index: hi[j]!, score: hs[j]! });
  out.sort((a, b) => (before(a.score, a.index, b.score, b.index) ? -1 : 1));
  return out;
}

/** Inner-product scores of one vector against every row of a row-major factor matrix. */
export function scoreAll(vec: ArrayLike<number>, factors: Float32Array, out?: Float64Array): Float64Array {
  const k = vec.length;
  const n = Math.floor(factors.length / k);
  const scores = out ?? new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let s = 0;
    for (let a = 0; a < k; a++) s += vec[a]! * factors[o + a]!;
    scores[i] = s;
  }
  return scores;
}

/**
 * Brute-force recommendations: the `k` items with the highest xᵤᵀyᵢ, best first, skipping
 * `excludeSet` (e.g. items the user already consumed). Factor count = userVec.length.
 */
export function recommendTopK(
  userVec: ArrayLike<number>,
  itemFactors: Float32Array,
  k: number,
  excludeSet?: ReadonlySet<number>,
): ScoredIndex[] {
  return topKFromScores(scoreAll(userVec, itemFactors), k, excludeSet);
}
