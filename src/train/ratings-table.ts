// The training window as columns: one CSR-shaped table of aggregated (user, item) ratings with
// each pair's latest event time. Users and items are numbered in id order and each user's items
// ascend, so the same data gives the same table however a sliced scan interleaved it (the
// matrix's ids, the split's tie-breaks and ALS's seeded start all follow this order). Filtering,
// splitting, the matrices ALS trains on and the serving extras all work on it without an object
// or a Map per pair.

import { createRng, uniformSource } from '../random/rng.ts';
import type { RatingsMatrix } from '../types/index.ts';
import { holdoutMask, type Interaction } from './evaluate/split.ts';
import { PairAggregator, rankOf } from './pair-aggregator.ts';
import { sortRowsByColumn } from './sort-rows.ts';

export interface RatingsTable {
  /** ascending */
  userIds: string[];
  /** ascending */
  itemIds: string[];
  /** length users + 1; user u's pairs are [indptr[u], indptr[u+1]) */
  indptr: Int32Array;
  /** item number per pair, ascending within a user */
  items: Int32Array;
  /**
   * r_ui > 0: the user's rated events of the item, summed in float64 in arrival order
   * (events/rating.ts), kept at the float32 precision ALS trains on, so the matrix shares it
   */
  weights: Float32Array;
  /** epoch ms of the pair's latest event */
  lastTs: Float64Array;
}

/** Pairs in the table. */
export function pairCount(t: RatingsTable): number {
  return t.indptr[t.userIds.length]!;
}

/** user number per pair */
export function pairUsers(t: RatingsTable): Int32Array {
  const users = new Int32Array(pairCount(t));
  for (let u = 0; u < t.userIds.length; u++) users.fill(u, t.indptr[u]!, t.indptr[u + 1]!);
  return users;
}

function toMs(ts: number | string | Date): number {
  if (typeof ts === 'number') return ts;
  const ms = ts instanceof Date ? ts.getTime() : Date.parse(ts);
  if (Number.isNaN(ms)) throw new RangeError(`invalid timestamp: ${String(ts)}`);
  return ms;
}

/** The table of aggregated rows (duplicates summed, ids not checked: the rows are trusted). */
export function tableFromRows(rows: Iterable<Interaction>): RatingsTable {
  const agg = new PairAggregator();
  for (const r of rows)
    agg.addPair(agg.users.intern(r.userId), agg.items.intern(r.itemId), r.weight, toMs(r.lastTs));
  return agg.table();
}

/** The table as rows (small data: tests, the freshness replay). */
export function tableRows(t: RatingsTable): Interaction[] {
  const out: Interaction[] = [];
  for (let u = 0; u < t.userIds.length; u++)
    for (let j = t.indptr[u]!; j < t.indptr[u + 1]!; j++)
      out.push({
        userId: t.userIds[u]!,
        itemId: t.itemIds[t.items[j]!]!,
        weight: t.weights[j]!,
        lastTs: t.lastTs[j]!,
      });
  return out;
}

/** The pairs with keep[j] === want, users and items without a pair left dropped. */
export function subTable(t: RatingsTable, keep: Uint8Array, want = 1): RatingsTable {
  const nUsers = t.userIds.length;
  let nnz = 0;
  const itemUsed = new Uint8Array(t.itemIds.length);
  for (let j = 0; j < keep.length; j++)
    if (keep[j] === want) {
      nnz++;
      itemUsed[t.items[j]!] = 1;
    }
  const itemNew = new Int32Array(t.itemIds.length);
  const itemIds: string[] = [];
  for (let i = 0; i < t.itemIds.length; i++) {
    itemNew[i] = itemIds.length;
    if (itemUsed[i]) itemIds.push(t.itemIds[i]!);
  }
  const userIds: string[] = [];
  const indptr = new Int32Array(nUsers + 1);
  const items = new Int32Array(nnz);
  const weights = new Float32Array(nnz);
  const lastTs = new Float64Array(nnz);
  let out = 0;
  for (let u = 0; u < nUsers; u++) {
    const before = out;
    for (let j = t.indptr[u]!; j < t.indptr[u + 1]!; j++) {
      if (keep[j] !== want) continue;
      items[out] = itemNew[t.items[j]!]!;
      weights[out] = t.weights[j]!;
      lastTs[out] = t.lastTs[j]!;
      out++;
    }
    if (out > before) {
      userIds.push(t.userIds[u]!);
      indptr[userIds.length] = out;
    }
  }
  return { userIds, itemIds, indptr: indptr.slice(0, userIds.length + 1), items, weights, lastTs };
}

/** Drops users and items with fewer distinct partners than the minimums, repeated until stable. */
export function filterTable(t: RatingsTable, minUser: number, minItem: number): RatingsTable {
  if (minUser <= 1 && minItem <= 1) return t;
  const nUsers = t.userIds.length;
  const nnz = pairCount(t);
  const keep = new Uint8Array(nnz).fill(1);
  const userDeg = new Int32Array(nUsers);
  const itemDeg = new Int32Array(t.itemIds.length);
  for (;;) {
    userDeg.fill(0);
    itemDeg.fill(0);
    for (let u = 0; u < nUsers; u++)
      for (let j = t.indptr[u]!; j < t.indptr[u + 1]!; j++)
        if (keep[j]) {
          userDeg[u]!++;
          itemDeg[t.items[j]!]!++;
        }
    let dropped = 0;
    for (let u = 0; u < nUsers; u++)
      for (let j = t.indptr[u]!; j < t.indptr[u + 1]!; j++)
        if (keep[j] && (userDeg[u]! < minUser || itemDeg[t.items[j]!]! < minItem)) {
          keep[j] = 0;
          dropped++;
        }
    if (dropped === 0) break;
  }
  return subTable(t, keep);
}

/**
 * Per user, the latest interactions by time held out (1 = test): `holdout` ≥ 1 a count per user,
 * 0 < holdout < 1 a fraction; `seed` holds out at random instead (evaluate/split.ts's rules).
 */
export function holdoutOf(t: RatingsTable, holdout: number, seed?: number): Uint8Array {
  let order: Float64Array = t.lastTs;
  if (seed !== undefined) {
    const rand = uniformSource(seed);
    order = new Float64Array(pairCount(t));
    for (let j = 0; j < order.length; j++) order[j] = rand();
  }
  return holdoutMask(pairUsers(t), t.userIds.length, order, holdout);
}

/**
 * Number of each id of `ids` (ascending) in `into` (any order; `intoRank` its ranks by id), -1
 * when absent: a merge, no lookup table.
 */
function alignIds(ids: readonly string[], into: readonly string[], intoRank?: Int32Array): Int32Array {
  const byRank = new Int32Array(into.length);
  for (let b = 0; b < into.length; b++) byRank[intoRank ? intoRank[b]! : b] = b;
  const out = new Int32Array(ids.length).fill(-1);
  for (let a = 0, r = 0; a < ids.length && r < into.length;) {
    const other = into[byRank[r]!]!;
    if (ids[a]! === other) out[a++] = byRank[r++]!;
    else if (ids[a]! < other) a++;
    else r++;
  }
  return out;
}

/**
 * The ratings matrix ALS trains on: users in id order, items numbered in order of first
 * appearance walking the pairs (users ascending, each user's items by id) — the numbering the
 * row-based builder (als/csr.ts) gives the same pairs, so a fit's seeded start, and so its model,
 * stay what they were. With `align` (e.g. the training matrix) its ids are that matrix's and
 * pairs of users or items it lacks are dropped (a test set that must be rankable).
 */
export function tableMatrix(
  t: RatingsTable,
  align?: { userIds: readonly string[]; itemIds: readonly string[] },
): RatingsMatrix {
  const nnz = pairCount(t);
  let userAt: Int32Array;
  let itemAt: Int32Array;
  let userIds: string[];
  let itemIds: string[];
  if (align) {
    userAt = alignIds(t.userIds, align.userIds);
    itemAt = alignIds(t.itemIds, align.itemIds, rankOf(align.itemIds));
    userIds = [...align.userIds];
    itemIds = [...align.itemIds];
  } else {
    userAt = new Int32Array(t.userIds.length);
    for (let u = 0; u < userAt.length; u++) userAt[u] = u;
    itemAt = new Int32Array(t.itemIds.length).fill(-1);
    itemIds = [];
    for (let j = 0; j < nnz; j++) {
      const i = t.items[j]!;
      if (itemAt[i]! < 0) {
        itemAt[i] = itemIds.length;
        itemIds.push(t.itemIds[i]!);
      }
    }
    userIds = t.userIds;
  }
  const nUsers = userIds.length;
  const indptr = new Int32Array(nUsers + 1);
  let kept = 0;
  for (let u = 0; u < t.userIds.length; u++) {
    if (userAt[u]! < 0) continue;
    for (let j = t.indptr[u]!; j < t.indptr[u + 1]!; j++) if (itemAt[t.items[j]!]! >= 0) kept++;
  }
  const indices = new Int32Array(kept);
  const data = new Float32Array(kept);
  let out = 0;
  // the table's users ascend like the target's: walk both
  for (let u = 0, v = 0; v < nUsers; v++) {
    while (u < t.userIds.length && userAt[u]! < v) u++;
    if (u < t.userIds.length && userAt[u] === v) {
      for (let j = t.indptr[u]!; j < t.indptr[u + 1]!; j++) {
        const i = itemAt[t.items[j]!]!;
        if (i < 0) continue;
        indices[out] = i;
        data[out++] = t.weights[j]!;
      }
    }
    indptr[v + 1] = out;
  }
  sortRowsByColumn(indptr, indices, data);
  return { nUsers, nItems: itemIds.length, indptr, indices, data, userIds, itemIds };
}

/** Shuffled (seeded) users of a table, the first `n` kept: the pairs of the others marked 0. */
export function sampleUsers(t: RatingsTable, n: number, seed: number): Uint8Array {
  const keep = new Uint8Array(pairCount(t)).fill(1);
  const nUsers = t.userIds.length;
  if (nUsers <= n) return keep;
  const users = new Int32Array(nUsers);
  for (let u = 0; u < nUsers; u++) users[u] = u;
  const rng = createRng(seed);
  for (let a = nUsers - 1; a > 0; a--) {
    const b = Math.floor(rng.next() * (a + 1));
    const x = users[a]!;
    users[a] = users[b]!;
    users[b] = x;
  }
  for (let q = n; q < nUsers; q++) keep.fill(0, t.indptr[users[q]!]!, t.indptr[users[q]! + 1]!);
  return keep;
}

/**
 * The table without its pairs' times, once the split and the serving extras are done with them:
 * what a fit needs (items and ratings) stays, 8 bytes a pair go. Not to be split again.
 */
export function withoutTimes(t: RatingsTable): RatingsTable {
  return { ...t, lastTs: new Float64Array(0) };
}
