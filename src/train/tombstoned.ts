// Rows a training run must not learn from: a forgotten user's interactions up to the forget (their
// events are deleted from the store; this catches any that came back in between), and every
// interaction with a removed item (its events stay in the store as the users' history).

import { subjectHash, type SubjectKind, type TombstoneHit } from '../repositories/tombstones.ts';
import type { Interaction } from './evaluate/index.ts';

export function withoutTombstoned(
  rows: Interaction[],
  tombstones: Record<SubjectKind, ReadonlyMap<string, TombstoneHit>>,
): Interaction[] {
  if (!tombstones.user.size && !tombstones.item.size) return rows;
  // each distinct id hashed once
  const userHit = new Map<string, TombstoneHit | undefined>();
  const itemGone = new Map<string, boolean>();
  return rows.filter((r) => {
    if (tombstones.item.size) {
      let gone = itemGone.get(r.itemId);
      if (gone === undefined)
        itemGone.set(r.itemId, (gone = tombstones.item.has(subjectHash('item', r.itemId))));
      if (gone) return false;
    }
    if (!tombstones.user.size) return true;
    if (!userHit.has(r.userId)) userHit.set(r.userId, tombstones.user.get(subjectHash('user', r.userId)));
    const hit = userHit.get(r.userId);
    // a pair whose newest event came after the forget is the user's new history
    return !hit || toMs(r.lastTs) > hit.atMs;
  });
}

function toMs(t: Interaction['lastTs']): number {
  return t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : t;
}
