import { describe, expect, it } from 'vitest';
import { bucketOf, bucketRange, type BucketGranularity } from '../../src/config/buckets.ts';

describe('event-store time buckets', () => {
  const at = (s: string) => new Date(s);
  it.each([
    ['day', '2026-11-23T23:59:59Z', '2026.11.23'],
    ['month', '2026-11-23T10:00:00Z', '2026.11'],
    ['year', '1997-03-01T00:00:00Z', '1997'],
    ['week', '2026-11-23T10:00:00Z', '2026.w48'],
    // ISO weeks: 1 Jan 2021 (a Friday) belongs to week 53 of 2020
    ['week', '2021-01-01T00:00:00Z', '2020.w53'],
    ['month', '1970-01-01T00:00:00Z', '1970.01'],
  ] as Array<[BucketGranularity, string, string]>)('%s bucket of %s is %s', (g, t, label) => {
    expect(bucketOf(at(t), g)).toBe(label);
  });

  it.each(['day', 'week', 'month', 'year'] as BucketGranularity[])(
    'every instant lies in the range of its %s bucket, and ranges tile time',
    (g) => {
      let previousEnd: number | undefined;
      for (
        let t = Date.parse('2019-12-20T00:00:00Z');
        t < Date.parse('2021-01-20T00:00:00Z');
        t += 6 * 3_600_000 + 17_000
      ) {
        const label = bucketOf(new Date(t), g);
        const r = bucketRange(label)!;
        expect(r.granularity).toBe(g);
        expect(t).toBeGreaterThanOrEqual(r.start);
        expect(t).toBeLessThan(r.end);
        if (previousEnd !== undefined && r.start >= previousEnd) expect(r.start).toBe(previousEnd);
        previousEnd = Math.max(previousEnd ?? 0, r.end);
      }
    },
  );

  it('ten years of monthly buckets stay within the documented shard budget of 150', () => {
    const labels = new Set<string>();
    for (let t = Date.parse('2016-11-23T00:00:00Z'); t <= Date.parse('2026-11-23T00:00:00Z'); t += 86_400_000)
      labels.add(bucketOf(new Date(t), 'month'));
    expect(labels.size).toBeLessThanOrEqual(150);
  });

  it('labels that are not buckets are refused', () => {
    expect(bucketRange('2026.13.99x')).toBeUndefined();
    expect(bucketRange('migrate-tmp')).toBeUndefined();
  });
});
