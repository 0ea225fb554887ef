// Time buckets of the event store and the served-list log. One index per bucket, one shard each:
// coarse enough that years of history fit a node's shard budget (monthly: 120 indices for ten
// years), fine enough that retention drops whole indices and a training window opens only the
// buckets it needs. Names sort chronologically within one granularity.

export type BucketGranularity = 'day' | 'week' | 'month' | 'year';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Monday 00:00 UTC of the ISO week containing `date`, and its ISO week-year and number. */
function isoWeek(date: Date): { year: number; week: number; start: number } {
  const day = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
  const dow = (new Date(day).getUTCDay() + 6) % 7; // Monday = 0
  const start = day - dow * 86_400_000;
  const thursday = new Date(start + 3 * 86_400_000);
  const year = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
  return { year, week, start };
}

/** The bucket label of an instant: 2026.11.23 (day), 2026.w48 (week), 2026.11 (month), 2026 (year). */
export function bucketOf(date: Date, g: BucketGranularity): string {
  const y = pad(date.getUTCFullYear(), 4);
  switch (g) {
    case 'day':
      return `${y}.${pad(date.getUTCMonth() + 1)}.${pad(date.getUTCDate())}`;
    case 'week': {
      const w = isoWeek(date);
      return `${pad(w.year, 4)}.w${pad(w.week)}`;
    }
    case 'month':
      return `${y}.${pad(date.getUTCMonth() + 1)}`;
    case 'year':
      return y;
  }
}

/** [start, end) in epoch ms of a bucket label of any granularity, or undefined for a label that is not one. */
export function bucketRange(
  label: string,
): { start: number; end: number; granularity: BucketGranularity } | undefined {
  let m = /^(\d{4})\.(\d{2})\.(\d{2})$/.exec(label);
  if (m) {
    const start = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!);
    return { start, end: start + 86_400_000, granularity: 'day' };
  }
  m = /^(\d{4})\.w(\d{2})$/.exec(label);
  if (m) {
    // the Monday of ISO week 1 is the Monday on or before 4 January
    const w1 = isoWeek(new Date(Date.UTC(+m[1]!, 0, 4))).start;
    const start = w1 + (+m[2]! - 1) * 7 * 86_400_000;
    return { start, end: start + 7 * 86_400_000, granularity: 'week' };
  }
  m = /^(\d{4})\.(\d{2})$/.exec(label);
  if (m)
    return { start: Date.UTC(+m[1]!, +m[2]! - 1, 1), end: Date.UTC(+m[1]!, +m[2]!, 1), granularity: 'month' };
  m = /^(\d{4})$/.exec(label);
  if (m) return { start: Date.UTC(+m[1]!, 0, 1), end: Date.UTC(+m[1]! + 1, 0, 1), granularity: 'year' };
  return undefined;
}
