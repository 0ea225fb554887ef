// Rows a training run must not learn from: a forgotten user's interactions up to the forget (their
// events are deleted from the store; this catches any that came back in between), and every
// interaction with a removed item (its events stay in the store as the users' history).

import { subjectHash, type SubjectKind, type TombstoneHit } from '../repositories/tombstones.ts';
import { pairCount, subTable, type RatingsTable } from './ratings-table.ts';

/** The table without tombstoned pairs (the same table when none is); `onDropped` hears how many went. */
export function withoutTombstoned(
  t: RatingsTable,
  tombstones: Record<SubjectKind, ReadonlyMap<string, TombstoneHit>>,
  onDropped?: (pairs: number) => void,
): RatingsTable {
  if (!tombstones.user.size && !tombstones.item.size) {
    onDropped?.(0);
    return t;
  }
  // each distinct id hashed once
  const itemGone = new Uint8Array(t.itemIds.length);
  if (tombstones.item.size)
    t.itemIds.forEach((id, i) => (itemGone[i] = tombstones.item.has(subjectHash('item', id)) ? 1 : 0));
  const keep = new Uint8Array(pairCount(t));
  let dropped = 0;
  for (let u = 0; u < t.userIds.length; u++) {
    const hit = tombstones.user.size ? tombstones.user.get(subjectHash('user', t.userIds[u]!)) : undefined;
    for (let j = t.indptr[u]!; j < t.indptr[u + 1]!; j++) {
      // a pair whose newest event came after the forget is the user's new history
      const gone = itemGone[t.items[j]!] === 1 || (hit !== undefined && t.lastTs[j]! <= hit.atMs);
      keep[j] = gone ? 0 : 1;
      if (gone) dropped++;
    }
  }
  onDropped?.(dropped);
  return dropped ? subTable(t, keep) : t;
}
