// Summing rated events per (user, item) without an object per pair: user and item ids interned
// once (id-interner.ts), each pair a row of four chunked typed columns (user, item, weight sum,
// latest time) found through an open-addressing table of row numbers. Chunks never move, so
// growing costs no copy of the columns, only a rehash of the 4-byte slots. table() hands the
// result over as the canonical columnar table (ratings-table.ts), freeing the columns as it goes.

import { idProblem } from '../types/ids.ts';
import type { SkipLog } from '../types/skipped.ts';
import { hashId, IdInterner } from './id-interner.ts';
import { sortRowsByColumn } from './sort-rows.ts';
import type { RatingsTable } from './ratings-table.ts';

const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const LOW = CHUNK - 1;
const MAX_LOAD = 0.75;
/** CSR offsets are Int32Array (and the ALS engine's memory is 32-bit): the table's hard ceiling */
export const MAX_PAIRS = 2 ** 31 - 1;

function pairHash(u: number, i: number): number {
  let h = Math.imul(u, 0x9e3779b1) ^ Math.imul(i ^ 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h;
}

export class PairAggregator {
  readonly users = new IdInterner();
  readonly items = new IdInterner();
  /** events (or bucketed events) offered, skipped ones included */
  events = 0;
  private slots = new Uint32Array(1 << 12);
  private mask = (1 << 12) - 1;
  private n = 0;
  private u: Int32Array[] = [];
  private i: Int32Array[] = [];
  private w: Float64Array[] = [];
  private ts: Float64Array[] = [];

  constructor(private readonly skipped?: SkipLog) {}

  /** distinct (user, item) pairs so far */
  get pairs(): number {
    return this.n;
  }

  /** One event (or a bucket of `events` events) of a pair; refused ids are skipped and counted. */
  add(userId: string, itemId: string, weight: number, ts: number, events = 1): void {
    this.events += events;
    const uh = hashId(userId);
    let u = this.users.find(userId, uh);
    if (u < 0) {
      // an id is checked once, when first seen: a refused one is never interned, so it is checked
      // (and counted) again each time it recurs
      const problem = idProblem(userId);
      if (problem)
        return this.skipped?.add('events', 'invalid_user_id', userId, `user_id ${problem}`, events);
    }
    const ih = hashId(itemId);
    let i = this.items.find(itemId, ih);
    if (i < 0) {
      const problem = idProblem(itemId);
      if (problem)
        return this.skipped?.add('events', 'invalid_item_id', itemId, `item_id ${problem}`, events);
      i = this.items.insert(itemId, ih);
    }
    if (u < 0) u = this.users.insert(userId, uh);
    this.addPair(u, i, weight, ts);
  }

  /** Adds to pair (u, i) of already interned ids: the sum runs in arrival order, as a rating's does. */
  addPair(u: number, i: number, weight: number, ts: number): void {
    const mask = this.mask;
    const slots = this.slots;
    for (let p = (pairHash(u, i) & mask) >>> 0; ; p = ((p + 1) & mask) >>> 0) {
      const slot = slots[p]!;
      if (slot === 0) {
        this.append(p, u, i, weight, ts);
        return;
      }
      const row = slot - 1;
      const c = row >>> CHUNK_BITS;
      const o = row & LOW;
      if (this.u[c]![o] === u && this.i[c]![o] === i) {
        this.w[c]![o]! += weight;
        if (ts > this.ts[c]![o]!) this.ts[c]![o] = ts;
        return;
      }
    }
  }

  /** Bytes held: ids, slots and columns (what a pair and an id cost while reading). */
  bytes(): number {
    return (
      this.users.bytes() +
      this.items.bytes() +
      this.slots.byteLength +
      this.u.length * CHUNK * (4 + 4 + 8 + 8)
    );
  }

  private append(p: number, u: number, i: number, weight: number, ts: number): void {
    if (this.n >= MAX_PAIRS) throw new RangeError(`more than ${MAX_PAIRS} distinct (user, item) pairs`);
    const row = this.n++;
    const c = row >>> CHUNK_BITS;
    const o = row & LOW;
    if (o === 0) {
      this.u.push(new Int32Array(CHUNK));
      this.i.push(new Int32Array(CHUNK));
      this.w.push(new Float64Array(CHUNK));
      this.ts.push(new Float64Array(CHUNK));
    }
    this.u[c]![o] = u;
    this.i[c]![o] = i;
    this.w[c]![o] = weight;
    this.ts[c]![o] = ts;
    this.slots[p] = row + 1;
    if (this.n > (this.mask + 1) * MAX_LOAD) this.rehash();
  }

  private rehash(): void {
    const size = (this.mask + 1) * 2;
    const slots = new Uint32Array(size);
    const mask = size - 1;
    for (let row = 0; row < this.n; row++) {
      const c = row >>> CHUNK_BITS;
      const o = row & LOW;
      let p = (pairHash(this.u[c]![o]!, this.i[c]![o]!) & mask) >>> 0;
      while (slots[p] !== 0) p = ((p + 1) & mask) >>> 0;
      slots[p] = row + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }

  /**
   * The canonical table: users and items numbered in id order, each user's items ascending,
   * pairs whose sum is not > 0 dropped. Consumes the aggregator: each column is scattered into
   * place and released before the next, so the peak is the table plus one column.
   */
  table(): RatingsTable {
    this.slots = new Uint32Array(0);
    const userIds = this.users.ids();
    const itemIds = this.items.ids();
    const userRank = rankOf(userIds);
    const itemRank = rankOf(itemIds);
    const nUsersAll = userIds.length;
    const n = this.n;
    const keep = (c: number, o: number) => this.w[c]![o]! > 0;

    // users that keep at least one pair, renumbered in id order
    const counts = new Int32Array(nUsersAll + 1);
    const itemUsed = new Uint8Array(itemIds.length);
    for (let row = 0; row < n; row++) {
      const c = row >>> CHUNK_BITS;
      const o = row & LOW;
      if (!keep(c, o)) continue;
      counts[userRank[this.u[c]![o]!]! + 1]!++;
      itemUsed[this.i[c]![o]!] = 1;
    }
    const { ids: keptUsers, remap: userNew } = compactRanks(userIds, userRank, (r) => counts[r + 1]! > 0);
    const { ids: keptItems, remap: itemNew } = compactRanks(itemIds, itemRank, (r, j) => itemUsed[j] === 1);
    const nUsers = keptUsers.length;
    const indptr = new Int32Array(nUsers + 1);
    for (let r = 0, k = 0; r < nUsersAll; r++) if (counts[r + 1]! > 0) indptr[++k] = counts[r + 1]!;
    for (let k = 0; k < nUsers; k++) indptr[k + 1]! += indptr[k]!;
    const nnz = indptr[nUsers]!;

    // where each row goes (-1: dropped); then each column scattered, its chunks released
    const dest = new Int32Array(n);
    const pos = indptr.slice(0, nUsers);
    for (let c = 0; c < this.u.length; c++) {
      const uc = this.u[c]!;
      for (let o = 0; o < CHUNK && (c << CHUNK_BITS) + o < n; o++)
        dest[(c << CHUNK_BITS) + o] = keep(c, o) ? pos[userNew[uc[o]!]!]!++ : -1;
    }
    this.u = [];
    const items = new Int32Array(nnz);
    scatter(this.i, dest, n, (d, v) => (items[d] = itemNew[v]!));
    this.i = [];
    const weights = new Float32Array(nnz);
    scatter(this.w, dest, n, (d, v) => (weights[d] = v));
    this.w = [];
    const lastTs = new Float64Array(nnz);
    scatter(this.ts, dest, n, (d, v) => (lastTs[d] = v));
    this.ts = [];
    this.n = 0;
    sortRowsByColumn(indptr, items, weights, lastTs);
    return { userIds: keptUsers, itemIds: keptItems, indptr, items, weights, lastTs };
  }
}

function scatter(
  chunks: ArrayLike<number>[],
  dest: Int32Array,
  n: number,
  put: (d: number, v: number) => void,
): void {
  for (let c = 0; c < chunks.length; c++) {
    const col = chunks[c]!;
    const base = c << CHUNK_BITS;
    const end = Math.min(CHUNK, n - base);
    for (let o = 0; o < end; o++) {
      const d = dest[base + o]!;
      if (d >= 0) put(d, col[o]!);
    }
    chunks[c] = new Int32Array(0); // released as soon as it is scattered
  }
}

/** rank[j] = position of ids[j] in ascending (UTF-16 code unit) order. */
export function rankOf(ids: readonly string[]): Int32Array {
  const order = new Int32Array(ids.length);
  for (let j = 0; j < ids.length; j++) order[j] = j;
  order.sort((a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0));
  const rank = new Int32Array(ids.length);
  for (let r = 0; r < order.length; r++) rank[order[r]!] = r;
  return rank;
}

/** The kept ids in rank order and remap[j] = new number of id j (-1 when dropped). */
function compactRanks(
  ids: readonly string[],
  rank: Int32Array,
  kept: (rank: number, j: number) => boolean,
): { ids: string[]; remap: Int32Array } {
  const byRank = new Int32Array(ids.length);
  for (let j = 0; j < ids.length; j++) byRank[rank[j]!] = j;
  const remap = new Int32Array(ids.length).fill(-1);
  const out: string[] = [];
  for (let r = 0; r < ids.length; r++) {
    const j = byRank[r]!;
    if (!kept(r, j)) continue;
    remap[j] = out.length;
    out.push(ids[j]!);
  }
  return { ids: out, remap };
}
