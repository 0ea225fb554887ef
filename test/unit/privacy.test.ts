import { describe, expect, it } from 'vitest';
import type { ModelArtifact } from '../../src/model/artifacts.ts';
import { dropRow, withoutItem, withoutUser } from '../../src/privacy/artifacts.ts';
import { privacyJobId } from '../../src/privacy/jobs.ts';
import { tombstoneExpiry } from '../../src/privacy/tombstones.ts';
import { droppedBy, subjectHash } from '../../src/repositories/tombstones.ts';
import { tableFromRows, tableRows } from '../../src/train/ratings-table.ts';
import { withoutTombstoned } from '../../src/train/tombstoned.ts';

const DAY = 86_400_000;

function artifact(): ModelArtifact {
  return {
    modelId: 'm1',
    factors: 2,
    userIds: ['a', 'b', 'c'],
    itemIds: ['x', 'y'],
    userFactors: Float32Array.from([1, 2, 3, 4, 5, 6]),
    itemFactors: Float32Array.from([7, 8, 9, 10]),
    recentItems: { a: ['x'], b: ['y'], c: ['x', 'y'] },
    popularity: { x: 2, y: 1 },
    exam: {
      userIds: ['b', 'c'],
      itemIds: ['y', 'x'],
      userFactors: Float32Array.from([30, 40, 50, 60]),
      itemFactors: Float32Array.from([90, 100, 70, 80]),
    },
  };
}

describe('artefact scrub', () => {
  it('drops exactly the row of the id and keeps the others in order', () => {
    const r = dropRow(['a', 'b', 'c'], Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 'b')!;
    expect(r.ids).toEqual(['a', 'c']);
    expect([...r.rows]).toEqual([1, 2, 5, 6]);
    expect(dropRow(['a'], Float32Array.from([1, 2]), 2, 'z')).toBeUndefined();
  });

  it('removes a user from the served factors, the exam factors and the recent items', () => {
    const a = withoutUser(artifact(), 'b')!;
    expect(a.userIds).toEqual(['a', 'c']);
    expect([...a.userFactors]).toEqual([1, 2, 5, 6]);
    expect(a.exam!.userIds).toEqual(['c']);
    expect([...a.exam!.userFactors]).toEqual([50, 60]);
    expect(a.recentItems).toEqual({ a: ['x'], c: ['x', 'y'] });
    expect(a.itemIds).toEqual(['x', 'y']);
    expect(withoutUser(artifact(), 'nobody')).toBeUndefined();
  });

  it('removes an item from the factors, the exam factors and the popularity', () => {
    const a = withoutItem(artifact(), 'x')!;
    expect(a.itemIds).toEqual(['y']);
    expect([...a.itemFactors]).toEqual([9, 10]);
    expect(a.exam!.itemIds).toEqual(['y']);
    expect([...a.exam!.itemFactors]).toEqual([90, 100]);
    expect(a.popularity).toEqual({ y: 1 });
  });
});

describe('tombstones', () => {
  it('expire after the longest retention + segment time of the topics, never when one keeps records forever', () => {
    const at = new Date(Date.UTC(2026, 0, 1));
    const r = (retentionMs: number, segmentMs: number) => ({
      topic: 't',
      retentionMs,
      segmentMs,
      source: 'broker' as const,
    });
    expect(tombstoneExpiry(at, [r(7 * DAY, 7 * DAY), r(3 * DAY, DAY)])!.getTime()).toBe(
      at.getTime() + 14 * DAY,
    );
    expect(tombstoneExpiry(at, [r(7 * DAY, 7 * DAY), r(-1, DAY)])).toBeNull();
  });

  it('drop a message produced at or before the forget, keep one produced after', () => {
    const hit = { atMs: 1_000, dropEvents: true };
    expect(droppedBy(hit, 999)).toBe(true);
    expect(droppedBy(hit, 1_000)).toBe(true);
    expect(droppedBy(hit, 1_001)).toBe(false);
    expect(droppedBy({ atMs: 1_000, dropEvents: false }, 0)).toBe(false);
    expect(droppedBy(undefined, 0)).toBe(false);
  });

  it('hash the id with its kind: a user and an item of the same id are different subjects', () => {
    expect(subjectHash('user', 'x')).not.toBe(subjectHash('item', 'x'));
    expect(subjectHash('user', 'x')).toMatch(/^[0-9a-f]{64}$/);
    expect(subjectHash('user', 'alice-42')).not.toContain('alice');
  });

  it("training skips a forgotten user's pairs up to the forget and every pair of a removed item", () => {
    const rows = [
      { userId: 'gone', itemId: 'i1', weight: 1, lastTs: 500 },
      { userId: 'gone', itemId: 'i2', weight: 1, lastTs: 1_500 },
      { userId: 'kept', itemId: 'i1', weight: 1, lastTs: 500 },
      { userId: 'kept', itemId: 'removed', weight: 1, lastTs: 500 },
    ];
    let dropped = -1;
    const out = withoutTombstoned(
      tableFromRows(rows),
      {
        user: new Map([[subjectHash('user', 'gone'), { atMs: 1_000, dropEvents: true }]]),
        item: new Map([[subjectHash('item', 'removed'), { atMs: 0, dropEvents: false }]]),
      },
      (n) => (dropped = n),
    );
    expect(tableRows(out).map((r) => `${r.userId}/${r.itemId}`)).toEqual(['gone/i2', 'kept/i1']);
    expect(dropped).toBe(2);
  });
});

describe('privacy job ids', () => {
  it('are the same for the same request and differ by operation and subject', () => {
    const s = subjectHash('user', 'u1');
    expect(privacyJobId('forget_user', s)).toBe(privacyJobId('forget_user', s));
    expect(privacyJobId('forget_user', s)).toMatch(/^forget-[0-9a-f]{32}$/);
    expect(privacyJobId('forget_user', s)).not.toBe(privacyJobId('merge_user', s));
    expect(privacyJobId('forget_user', s)).not.toBe(privacyJobId('forget_user', subjectHash('user', 'u2')));
  });
});
