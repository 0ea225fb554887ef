import type { RatingsMatrix } from '../types/index.ts';

export interface RatingTriple {
  userId: string;
  itemId: string;
  weight: number;
}

export interface BuildCsrOptions {
  /** Fixed id → index mapping to start from (e.g. the training matrix's ids). */
  userIds?: readonly string[];
  itemIds?: readonly string[];
  /**
   * What to do with ids missing from the given lists: `append` them (default) or `drop` the
   * triple (e.g. to build a test matrix aligned with a training matrix).
   */
  unknown?: 'append' | 'drop';
}

/**
 * Turns (userId, itemId, weight) triples into a user × item CSR matrix. Duplicate pairs are
 * summed; pairs whose summed weight is not > 0 are dropped; indices are sorted within each row.
 */
export function buildCsr(triples: Iterable<RatingTriple>, options: BuildCsrOptions = {}): RatingsMatrix {
  const unknown = options.unknown ?? 'append';
  const userIds = [...(options.userIds ?? [])];
  const itemIds = [...(options.itemIds ?? [])];
  const userIndex = new Map<string, number>();
  const itemIndex = new Map<string, number>();
  userIds.forEach((id, i) => userIndex.set(id, i));
  itemIds.forEach((id, i) => itemIndex.set(id, i));

  const us: number[] = [];
  const is: number[] = [];
  const ws: number[] = [];
  for (const t of triples) {
    let u = userIndex.get(t.userId);
    let i = itemIndex.get(t.itemId);
    if (u === undefined || i === undefined) {
      if (unknown === 'drop') continue;
      if (u === undefined) {
        u = userIds.length;
        userIds.push(t.userId);
        userIndex.set(t.userId, u);
      }
      if (i === undefined) {
        i = itemIds.length;
        itemIds.push(t.itemId);
        itemIndex.set(t.itemId, i);
      }
    }
    us.push(u);
    is.push(i);
    ws.push(t.weight);
  }
  const m = csrFromCoo(userIds.length, itemIds.length, us, is, ws);
  return { ...m, userIds, itemIds };
}

/** Index-level CSR construction from COO arrays (sums duplicates, drops non-positive sums). */
export function csrFromCoo(
  nRows: number,
  nCols: number,
  rows: ArrayLike<number>,
  cols: ArrayLike<number>,
  vals: ArrayLike<number>,
): { nUsers: number; nItems: number; indptr: Int32Array; indices: Int32Array; data: Float32Array } {
  const n = rows.length;
  // counting sort by row
  const counts = new Int32Array(nRows + 1);
  for (let j = 0; j < n; j++) counts[(rows[j] as number) + 1]!++;
  for (let r = 0; r < nRows; r++) counts[r + 1]! += counts[r]!;
  const pos = counts.slice(0, nRows);
  const tmpCols = new Int32Array(n);
  const tmpVals = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const r = rows[j] as number;
    const p = pos[r]!++;
    tmpCols[p] = cols[j] as number;
    tmpVals[p] = vals[j] as number;
  }
  // sort each row by column, merge duplicates, drop non-positive
  const indptr = new Int32Array(nRows + 1);
  const indices = new Int32Array(n);
  const data = new Float32Array(n);
  let out = 0;
  const order: number[] = [];
  for (let r = 0; r < nRows; r++) {
    const start = counts[r]!;
    const end = counts[r + 1]!;
    order.length = 0;
    for (let p = start; p < end; p++) order.push(p);
    order.sort((a, b) => tmpCols[a]! - tmpCols[b]!);
    let q = 0;
    while (q < order.length) {
      const c = tmpCols[order[q]!]!;
      let w = 0;
      while (q < order.length && tmpCols[order[q]!] === c) w += tmpVals[order[q++]!]!;
      if (w > 0) {
        indices[out] = c;
        data[out] = w;
        out++;
      }
    }
    indptr[r + 1] = out;
  }
  return {
    nUsers: nRows,
    nItems: nCols,
    indptr,
    indices: indices.slice(0, out),
    data: data.slice(0, out),
  };
}

/**
 * Transpose of a CSR matrix (item × user), as a RatingsMatrix whose "users" are the items.
 * Indices come out sorted because rows are visited in order.
 */
export function transposeCsr(m: RatingsMatrix): RatingsMatrix {
  const { nUsers, nItems, indptr, indices, data } = m;
  const nnz = indptr[nUsers]!;
  const tIndptr = new Int32Array(nItems + 1);
  for (let j = 0; j < nnz; j++) tIndptr[indices[j]! + 1]!++;
  for (let i = 0; i < nItems; i++) tIndptr[i + 1]! += tIndptr[i]!;
  const pos = tIndptr.slice(0, nItems);
  const tIndices = new Int32Array(nnz);
  const tData = new Float32Array(nnz);
  for (let u = 0; u < nUsers; u++) {
    for (let j = indptr[u]!; j < indptr[u + 1]!; j++) {
      const p = pos[indices[j]!]!++;
      tIndices[p] = u;
      tData[p] = data[j]!;
    }
  }
  return {
    nUsers: nItems,
    nItems: nUsers,
    indptr: tIndptr,
    indices: tIndices,
    data: tData,
    userIds: m.itemIds,
    itemIds: m.userIds,
  };
}
