// Small, dependency-free SVG charts for self-contained HTML reports: pure functions from data to
// an <svg> string. Every chart is an <svg class="chart" data-chart="line|bar|scatter"> whose data
// marks carry class="point" (line and scatter) or class="bar" with data-* values, so a test (or a
// person reading the DOM) can count what was drawn. Empty or non-finite data renders a visible
// "no data" note rather than an empty or broken frame.

export interface XY {
  x: number;
  y: number;
  /** tooltip text (a <title> child of the mark) */
  label?: string;
}

export interface Series {
  name: string;
  points: XY[];
  /** CSS colour; defaults to the palette by series position */
  color?: string;
}

export interface BarSeries {
  name: string;
  /** one value per group; null or non-finite = no bar */
  values: Array<number | null>;
  color?: string;
}

export interface ChartOptions {
  title: string;
  width?: number;
  height?: number;
  xLabel?: string;
  yLabel?: string;
  /** axis scales (log needs positive values; non-positive points are dropped) */
  xScale?: 'linear' | 'log';
  yScale?: 'linear' | 'log';
  /** force the y range to include these values (e.g. 0 for bars or shares) */
  yInclude?: number[];
  /** tick label formatter for y (default: compact number) */
  yFormat?: (v: number) => string;
  xFormat?: (v: number) => string;
}

/** Colour-blind-safe palette (Okabe & Ito). */
export const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#F0E442',
  '#000000',
];

const MARGIN = { top: 34, right: 16, bottom: 46, left: 58 };
const LEGEND_ROW = 18;

export function escapeXml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** Compact number for labels: 3 significant digits, no trailing zeros, k/M suffixes. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6) return `${trim((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${trim((v / 1e3).toPrecision(3))}k`;
  if (a === 0) return '0';
  if (a < 1e-3) return v.toExponential(1);
  return trim(v.toPrecision(3));
}

function trim(s: string): string {
  return s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s;
}

/** Round-numbered ticks (1, 2, 5 × 10ⁿ) enclosing [min, max], about `count` steps. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  if (min > max) [min, max] = [max, min];
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  // the ticks enclose the data, so the first and last ones frame the axis
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  for (let i = first; i <= last; i++) out.push(Number((i * step).toPrecision(12)));
  return out;
}

/** Powers of ten (and 2·, 5· when the range is narrow) within [min, max], min > 0. */
export function logTicks(min: number, max: number): number[] {
  if (!(min > 0) || !(max > 0)) return [];
  if (min > max) [min, max] = [max, min];
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const mults = hi - lo <= 2 ? [1, 2, 5] : [1];
  const out: number[] = [];
  for (let e = lo; e <= hi; e++) {
    for (const m of mults) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) out.push(v);
    }
  }
  return out.length ? out : [min, max];
}

interface Scale {
  map(v: number): number;
  ticks: number[];
}

/** A scale from the data domain onto [r0, r1] (pixels); pads a degenerate domain. */
function makeScale(
  values: number[],
  kind: 'linear' | 'log',
  r0: number,
  r1: number,
  include: number[] = [],
): Scale {
  const vs = [...values, ...include].filter((v) => Number.isFinite(v) && (kind === 'linear' || v > 0));
  let lo = Math.min(...vs);
  let hi = Math.max(...vs);
  if (kind === 'log') {
    if (lo === hi) {
      lo /= 2;
      hi *= 2;
    }
    // a little room at both ends, so extreme points do not sit on the axis
    const pad = (Math.log10(hi) - Math.log10(lo)) * 0.04;
    const l0 = Math.log10(lo) - pad;
    const l1 = Math.log10(hi) + pad;
    return { map: (v) => r0 + ((Math.log10(v) - l0) / (l1 - l0)) * (r1 - r0), ticks: logTicks(lo, hi) };
  }
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const ticks = niceTicks(lo, hi);
  lo = Math.min(lo, ticks[0]!);
  hi = Math.max(hi, ticks[ticks.length - 1]!);
  return { map: (v) => r0 + ((v - lo) / (hi - lo)) * (r1 - r0), ticks };
}

function px(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function colorOf(i: number, c?: string): string {
  return c ?? PALETTE[i % PALETTE.length]!;
}

interface Frame {
  width: number;
  height: number;
  /** plot area */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

function frame(opts: ChartOptions, legendRows: number): Frame {
  const width = opts.width ?? 560;
  const height = opts.height ?? 320;
  return {
    width,
    height,
    x0: MARGIN.left,
    x1: width - MARGIN.right,
    y0: MARGIN.top + legendRows * LEGEND_ROW + (legendRows ? 6 : 0),
    y1: height - MARGIN.bottom,
  };
}

function open(kind: string, f: Frame, opts: ChartOptions): string {
  const t = escapeXml(opts.title);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="${kind}" role="img" aria-label="${t}" ` +
    `width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" font-family="system-ui, sans-serif" font-size="11">` +
    `<title>${t}</title>` +
    `<text x="${f.width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="600">${t}</text>`
  );
}

function noData(kind: string, opts: ChartOptions): string {
  const f = frame(opts, 0);
  return (
    open(kind, f, opts) +
    `<text class="no-data" x="${f.width / 2}" y="${f.height / 2}" text-anchor="middle" fill="#777">no data</text></svg>`
  );
}

function legend(names: Array<{ name: string; color: string }>, f: Frame): string {
  if (names.length < 2) return '';
  let x = f.x0;
  let row = 0;
  let out = '<g class="legend">';
  for (const { name, color } of names) {
    const w = 22 + name.length * 6.5;
    if (x + w > f.x1 && x > f.x0) {
      row++;
      x = f.x0;
    }
    // rows sit between the title (baseline 18) and the plot area
    const y = MARGIN.top + 6 + row * LEGEND_ROW;
    out += `<rect x="${px(x)}" y="${y - 9}" width="12" height="10" fill="${color}"/>`;
    out += `<text x="${px(x + 16)}" y="${y}">${escapeXml(name)}</text>`;
    x += w + 10;
  }
  return out + '</g>';
}

function legendRows(names: string[], width: number): number {
  if (names.length < 2) return 0;
  let x = MARGIN.left;
  let rows = 1;
  for (const n of names) {
    const w = 22 + n.length * 6.5;
    if (x + w > width - MARGIN.right && x > MARGIN.left) {
      rows++;
      x = MARGIN.left;
    }
    x += w + 10;
  }
  return rows;
}

function yAxis(ys: Scale, f: Frame, opts: ChartOptions): string {
  const fmt = opts.yFormat ?? formatNumber;
  let out = '<g class="y-axis">';
  for (const t of ys.ticks) {
    const y = px(ys.map(t));
    out += `<line x1="${f.x0}" x2="${f.x1}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`;
    out += `<text x="${f.x0 - 6}" y="${y}" dy="0.32em" text-anchor="end" fill="#444">${escapeXml(fmt(t))}</text>`;
  }
  out += `<line x1="${f.x0}" x2="${f.x0}" y1="${f.y0}" y2="${f.y1}" stroke="#888"/>`;
  if (opts.yLabel) {
    const cy = (f.y0 + f.y1) / 2;
    out += `<text x="14" y="${px(cy)}" transform="rotate(-90 14 ${px(cy)})" text-anchor="middle" fill="#333">${escapeXml(opts.yLabel)}</text>`;
  }
  return out + '</g>';
}

function xAxis(xs: Scale, f: Frame, opts: ChartOptions): string {
  const fmt = opts.xFormat ?? formatNumber;
  let out = '<g class="x-axis">';
  out += `<line x1="${f.x0}" x2="${f.x1}" y1="${f.y1}" y2="${f.y1}" stroke="#888"/>`;
  for (const t of xs.ticks) {
    const x = px(xs.map(t));
    out += `<line x1="${x}" x2="${x}" y1="${f.y1}" y2="${f.y1 + 4}" stroke="#888"/>`;
    out += `<text x="${x}" y="${f.y1 + 16}" text-anchor="middle" fill="#444">${escapeXml(fmt(t))}</text>`;
  }
  if (opts.xLabel)
    out += `<text x="${px((f.x0 + f.x1) / 2)}" y="${f.height - 8}" text-anchor="middle" fill="#333">${escapeXml(opts.xLabel)}</text>`;
  return out + '</g>';
}

function usable(p: XY, opts: ChartOptions): boolean {
  return (
    Number.isFinite(p.x) &&
    Number.isFinite(p.y) &&
    (opts.xScale !== 'log' || p.x > 0) &&
    (opts.yScale !== 'log' || p.y > 0)
  );
}

function mark(cls: string, x: number, y: number, r: number, color: string, p: XY, extra = ''): string {
  const tip = p.label ?? `${formatNumber(p.x)}, ${formatNumber(p.y)}`;
  return (
    `<circle class="${cls}" cx="${px(x)}" cy="${px(y)}" r="${r}" fill="${color}"${extra} ` +
    `data-x="${p.x}" data-y="${p.y}"><title>${escapeXml(tip)}</title></circle>`
  );
}

/** Shared frame for line and scatter charts. */
function xyChart(kind: 'line' | 'scatter', input: Series[], opts: ChartOptions): string {
  const series = input.map((s, i) => ({
    ...s,
    color: colorOf(i, s.color),
    points: s.points.filter((p) => usable(p, opts)),
  }));
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return noData(kind, opts);
  const f = frame(
    opts,
    legendRows(
      series.map((s) => s.name),
      opts.width ?? 560,
    ),
  );
  const xs = makeScale(
    all.map((p) => p.x),
    opts.xScale ?? 'linear',
    f.x0 + 6,
    f.x1 - 6,
  );
  const ys = makeScale(
    all.map((p) => p.y),
    opts.yScale ?? 'linear',
    f.y1 - 4,
    f.y0 + 4,
    opts.yInclude,
  );
  let out = open(kind, f, opts) + yAxis(ys, f, opts) + xAxis(xs, f, opts);
  series.forEach((s, i) => {
    out += `<g class="series" data-series="${escapeXml(s.name)}" data-index="${i}">`;
    if (kind === 'line') {
      const pts = [...s.points].sort((a, b) => a.x - b.x);
      const d = pts.map((p) => `${px(xs.map(p.x))},${px(ys.map(p.y))}`).join(' ');
      out += `<polyline class="line" points="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
      // markers only where they stay readable; the points keep their data-* either way
      const r = pts.length <= 40 ? 2.5 : 0.8;
      for (const p of pts) out += mark('point', xs.map(p.x), ys.map(p.y), r, s.color, p);
    } else {
      for (const p of s.points)
        out += mark('point', xs.map(p.x), ys.map(p.y), 4, s.color, p, ' fill-opacity="0.75" stroke="#fff"');
    }
    out += '</g>';
  });
  return out + legend(series, f) + '</svg>';
}

/** Line chart: one polyline per series (points sorted by x), each point a marked circle. */
export function lineChart(series: Series[], opts: ChartOptions): string {
  return xyChart('line', series, opts);
}

/** Scatter chart: one circle per point, series by colour (e.g. tuning trials by rung). */
export function scatterChart(series: Series[], opts: ChartOptions): string {
  return xyChart('scatter', series, opts);
}

/**
 * Grouped bar chart: one group per label along x, one bar per series within a group. The y range
 * always includes 0 (bars start at zero); missing values leave a gap.
 */
export function groupedBarChart(groups: string[], input: BarSeries[], opts: ChartOptions): string {
  const series = input.map((s, i) => ({ ...s, color: colorOf(i, s.color) }));
  const values = series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  if (groups.length === 0 || values.length === 0) return noData('bar', opts);
  const f = frame(
    opts,
    legendRows(
      series.map((s) => s.name),
      opts.width ?? 560,
    ),
  );
  const ys = makeScale(values, 'linear', f.y1, f.y0 + 4, [0, ...(opts.yInclude ?? [])]);
  const fmt = opts.yFormat ?? formatNumber;
  let out = open('bar', f, opts) + yAxis(ys, f, opts);
  const groupW = (f.x1 - f.x0) / groups.length;
  const barW = Math.max(2, (groupW * 0.8) / Math.max(1, series.length));
  const zero = ys.map(0);
  out += '<g class="x-axis">';
  out += `<line x1="${f.x0}" x2="${f.x1}" y1="${px(zero)}" y2="${px(zero)}" stroke="#888"/>`;
  groups.forEach((g, gi) => {
    out += `<text x="${px(f.x0 + groupW * (gi + 0.5))}" y="${f.y1 + 16}" text-anchor="middle" fill="#333">${escapeXml(g)}</text>`;
  });
  if (opts.xLabel)
    out += `<text x="${px((f.x0 + f.x1) / 2)}" y="${f.height - 8}" text-anchor="middle" fill="#333">${escapeXml(opts.xLabel)}</text>`;
  out += '</g>';
  series.forEach((s, si) => {
    out += `<g class="series" data-series="${escapeXml(s.name)}" data-index="${si}">`;
    groups.forEach((g, gi) => {
      const v = s.values[gi];
      if (v === null || v === undefined || !Number.isFinite(v)) return;
      const x = f.x0 + groupW * gi + groupW * 0.1 + barW * si;
      const y = ys.map(v);
      const top = Math.min(y, zero);
      const h = Math.max(0.5, Math.abs(zero - y));
      out +=
        `<rect class="bar" x="${px(x)}" y="${px(top)}" width="${px(barW - 1)}" height="${px(h)}" fill="${s.color}" ` +
        `data-group="${escapeXml(g)}" data-value="${v}"><title>${escapeXml(`${s.name} · ${g}: ${fmt(v)}`)}</title></rect>`;
    });
    out += '</g>';
  });
  return out + legend(series, f) + '</svg>';
}
