// What an artefact serves besides the factors, from the training table: each user's items newest
// first (exclude_seen) and recent weighted popularity. Its outputs are keyed by id (the artefact's
// shape); the pass over the pairs itself holds no object per pair.

import { pairCount, type RatingsTable } from './ratings-table.ts';

/**
 * What serving needs besides the factors: each user's items newest first (at most `perUser`,
 * served as exclude_seen) and the items' summed weight over the last `days` days, measured from
 * the newest event when the data is older than that.
 */
export function servingExtras(t: RatingsTable, now: number, perUser: number, days: number) {
  const nnz = pairCount(t);
  let newest = 0;
  for (let j = 0; j < nnz; j++) if (t.lastTs[j]! > newest) newest = t.lastTs[j]!;
  const cut = Math.min(now, newest) - days * 86_400_000;
  const itemPop = new Float64Array(t.itemIds.length);
  const itemHas = new Uint8Array(t.itemIds.length);
  const recent = new Map<string, string[]>();
  let order = new Int32Array(0);
  for (let u = 0; u < t.userIds.length; u++) {
    const s = t.indptr[u]!;
    const len = t.indptr[u + 1]! - s;
    if (order.length < len) order = new Int32Array(len * 2);
    const o = order.subarray(0, len);
    for (let q = 0; q < len; q++) {
      const j = s + q;
      o[q] = j;
      if (t.lastTs[j]! >= cut) {
        itemPop[t.items[j]!]! += t.weights[j]!;
        itemHas[t.items[j]!] = 1;
      }
    }
    // newest first, ties in item order (a stable sort of the rows, as before)
    o.sort((a, b) => t.lastTs[b]! - t.lastTs[a]! || a - b);
    const list = new Array<string>(Math.min(perUser, len));
    for (let q = 0; q < list.length; q++) list[q] = t.itemIds[t.items[o[q]!]!]!;
    recent.set(t.userIds[u]!, list);
  }
  const popularity = new Map<string, number>();
  for (let i = 0; i < t.itemIds.length; i++) if (itemHas[i]) popularity.set(t.itemIds[i]!, itemPop[i]!);
  return { recent, popularity };
}
