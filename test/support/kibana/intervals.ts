// Date-histogram interval resolution as Kibana's TimeBuckets does it (data plugin, common/search/aggs):
// "auto" = calcAutoIntervalNear(histogram:barTarget, range); any interval that would give more than
// histogram:maxBars buckets is scaled up to calcAutoIntervalLessThan(maxBars, range); the result is
// normalised to an ES expression and sent as calendar_interval (1 unit of m/h/d/w/M/y) or fixed_interval.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** moment's duration valueOf: 30-day months, 365-day years */
const MONTH = 30 * DAY;
const YEAR = 365 * DAY;

export const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: SECOND,
  m: MINUTE,
  h: HOUR,
  d: DAY,
  w: WEEK,
  M: MONTH,
  y: YEAR,
};

/** Kibana's advanced-settings defaults */
export const DEFAULT_BAR_TARGET = 50;
export const DEFAULT_MAX_BARS = 100;

// [bound, interval] pairs, descending (calc_auto_interval.ts)
const BOUNDS: Array<[number, number]> = [
  [Infinity, YEAR],
  [YEAR, MONTH],
  [3 * WEEK, WEEK],
  [WEEK, DAY],
  [24 * HOUR, 12 * HOUR],
  [6 * HOUR, 3 * HOUR],
  [2 * HOUR, HOUR],
  [45 * MINUTE, 30 * MINUTE],
  [20 * MINUTE, 10 * MINUTE],
  [9 * MINUTE, 5 * MINUTE],
  [3 * MINUTE, MINUTE],
  [45 * SECOND, 30 * SECOND],
  [15 * SECOND, 10 * SECOND],
  [7.5 * SECOND, 5 * SECOND],
  [5 * SECOND, SECOND],
  [500, 100],
];

function normalizeMinimum(ms: number): number {
  return Number.isNaN(ms) ? 0 : Math.max(Math.floor(ms), 1);
}

export function calcAutoIntervalNear(targetBuckets: number, durationMs: number): number {
  const per = durationMs / targetBuckets;
  const lower = BOUNDS.findIndex(([bound]) => bound <= per);
  if (lower > 0) return BOUNDS[lower - 1]![1];
  return normalizeMinimum(per);
}

export function calcAutoIntervalLessThan(maxBuckets: number, durationMs: number): number {
  const per = durationMs / maxBuckets;
  for (const [, interval] of BOUNDS) if (interval <= per) return interval;
  return normalizeMinimum(per);
}

// moment's duration.as(unit) for a duration built from milliseconds (months/years via days)
const AS: Array<[string, (ms: number) => number]> = [
  ['y', (ms) => ((ms / DAY) * 4800) / 146097 / 12],
  ['M', (ms) => ((ms / DAY) * 4800) / 146097],
  ['w', (ms) => ms / WEEK],
  ['d', (ms) => ms / DAY],
  ['h', (ms) => ms / HOUR],
  ['m', (ms) => ms / MINUTE],
  ['s', (ms) => ms / SECOND],
  ['ms', (ms) => ms],
];

/** convertDurationToNormalizedEsInterval: the largest unit that divides the duration evenly. */
export function normalizedEsInterval(ms: number): string {
  for (let i = 0; i < AS.length; i++) {
    const [unit, as] = AS[i]!;
    const val = as(ms);
    if (val >= 1 && Math.floor(val) === val) {
      if (i <= 1 && val !== 1) continue; // years/months only as 1y / 1M
      return `${val}${unit}`;
    }
  }
  return `${ms}ms`;
}

export function parseInterval(expr: string): { value: number; unit: string; ms: number } {
  const m = /^([1-9][0-9]*)(ms|s|m|h|d|w|M|y)$/.exec(expr.trim());
  if (!m) throw new Error(`invalid interval "${expr}"`);
  const value = Number(m[1]);
  const unit = m[2]!;
  return { value, unit, ms: value * UNIT_MS[unit]! };
}

/** dateHistogramInterval: calendar for 1 unit of m/h/d/w/M/y, fixed otherwise. */
export function esIntervalParam(expr: string): { calendar_interval: string } | { fixed_interval: string } {
  const { value, unit } = parseInterval(expr);
  if (['w', 'M', 'y'].includes(unit)) {
    if (value !== 1) throw new Error(`calendar interval "${expr}" must be 1 unit`);
    return { calendar_interval: expr };
  }
  if (['m', 'h', 'd'].includes(unit) && value === 1) return { calendar_interval: expr };
  return { fixed_interval: expr };
}

export interface ResolvedInterval {
  /** what the Lens column asks for ("auto", "1d", …) */
  requested: string;
  /** ES expression actually sent */
  expression: string;
  ms: number;
  /** true when the requested interval gave more than maxBars buckets and was widened */
  scaled: boolean;
  param: { calendar_interval: string } | { fixed_interval: string };
}

export function resolveInterval(
  requested: string,
  rangeMs: number,
  barTarget = DEFAULT_BAR_TARGET,
  maxBars = DEFAULT_MAX_BARS,
): ResolvedInterval {
  let ms: number;
  let expression: string;
  if (requested === 'auto') {
    ms = calcAutoIntervalNear(barTarget, rangeMs);
    expression = normalizedEsInterval(ms);
  } else {
    ms = parseInterval(requested).ms;
    expression = requested;
  }
  const min = calcAutoIntervalLessThan(maxBars, rangeMs);
  const scaled = ms < min;
  if (scaled) {
    ms = min;
    expression = normalizedEsInterval(min);
  }
  return { requested, expression, ms, scaled, param: esIntervalParam(expression) };
}
