import { describe, expect, it } from 'vitest';
import {
  escapeXml,
  formatNumber,
  groupedBarChart,
  lineChart,
  logTicks,
  niceTicks,
  scatterChart,
} from '../../src/report/svg.ts';

const count = (svg: string, re: RegExp): number => (svg.match(re) ?? []).length;
/** cx/cy or x/y/height of the marks, as numbers */
const attr = (svg: string, cls: string, name: string): number[] =>
  [...svg.matchAll(new RegExp(`class="${cls}"[^>]*?\\b${name}="([-0-9.]+)"`, 'g'))].map((m) => Number(m[1]));

describe('svg ticks and labels', () => {
  it('nice ticks are round steps covering the range', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 47)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(niceTicks(0.013, 0.061, 4)).toEqual([0, 0.02, 0.04, 0.06, 0.08]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });

  it('log ticks: powers of ten, with 2 and 5 on narrow ranges', () => {
    expect(logTicks(0.1, 1000)).toEqual([0.1, 1, 10, 100, 1000]);
    expect(logTicks(1, 20)).toEqual([1, 2, 5, 10, 20]);
  });

  it('formats and escapes', () => {
    expect(formatNumber(0.123456)).toBe('0.123');
    expect(formatNumber(12345)).toBe('12.3k');
    expect(formatNumber(2)).toBe('2');
    expect(escapeXml(`a<b & "c"`)).toBe('a&lt;b &amp; &quot;c&quot;');
  });
});

describe('lineChart', () => {
  const svg = lineChart(
    [
      {
        name: 'loss',
        points: [
          { x: 2, y: 5 },
          { x: 1, y: 10 },
          { x: 3, y: 2 },
        ],
      },
      {
        name: 'other <x>',
        points: [
          { x: 1, y: 1 },
          { x: 2, y: Number.NaN },
        ],
      },
    ],
    { title: 'Loss & more', xLabel: 'iteration', yLabel: 'loss' },
  );

  it('draws one polyline per series and one point per finite datum', () => {
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg).toContain('data-chart="line"');
    expect(count(svg, /<polyline class="line"/g)).toBe(2);
    expect(count(svg, /class="point"/g)).toBe(4);
    expect(svg).toContain('Loss &amp; more');
    expect(svg).toContain('other &lt;x&gt;');
  });

  it('maps larger y higher up (smaller pixel y) and sorts the line by x', () => {
    const ys = attr(svg, 'point', 'cy').slice(0, 3); // series 0 sorted by x: y = 10, 5, 2
    expect(ys[0]!).toBeLessThan(ys[1]!);
    expect(ys[1]!).toBeLessThan(ys[2]!);
    const xs = attr(svg, 'point', 'cx').slice(0, 3);
    expect(xs[0]!).toBeLessThan(xs[1]!);
  });

  it('every mark stays inside the view box', () => {
    for (const v of [...attr(svg, 'point', 'cx'), ...attr(svg, 'point', 'cy')]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(560);
    }
  });

  it('no finite data → a visible note, not an empty frame', () => {
    const empty = lineChart([{ name: 'a', points: [{ x: 1, y: Number.NaN }] }], { title: 't' });
    expect(empty).toContain('class="no-data"');
    expect(count(empty, /class="point"/g)).toBe(0);
  });
});

describe('scatterChart', () => {
  it('log x drops non-positive points and orders the rest', () => {
    const svg = scatterChart(
      [
        {
          name: 'rung 0',
          points: [
            { x: 0.1, y: 0.2 },
            { x: 0, y: 0.3 },
          ],
        },
        { name: 'rung 1', points: [{ x: 10, y: 0.25, label: 'α=10' }] },
      ],
      { title: 'trials', xScale: 'log' },
    );
    expect(svg).toContain('data-chart="scatter"');
    expect(count(svg, /class="point"/g)).toBe(2);
    const xs = attr(svg, 'point', 'cx');
    expect(xs[0]!).toBeLessThan(xs[1]!);
    expect(svg).toContain('<title>α=10</title>');
    expect(count(svg, /class="legend"/g)).toBe(1);
  });
});

describe('groupedBarChart', () => {
  const svg = groupedBarChart(
    ['P@10', 'nDCG@10'],
    [
      { name: 'model', values: [0.2, 0.4] },
      { name: 'popularity', values: [0.1, null] },
    ],
    { title: 'metrics' },
  );

  it('one bar per present value, heights proportional to the values from a zero baseline', () => {
    expect(count(svg, /class="bar"/g)).toBe(3);
    const h = attr(svg, 'bar', 'height');
    expect(h[1]! / h[0]!).toBeCloseTo(2, 1);
    expect(h[2]! / h[0]!).toBeCloseTo(0.5, 1);
    expect(svg).toContain('data-group="nDCG@10" data-value="0.4"');
  });

  it('negative values hang below the zero line', () => {
    const neg = groupedBarChart(
      ['a'],
      [
        { name: 's', values: [-1] },
        { name: 't', values: [1] },
      ],
      { title: 'n' },
    );
    const y = attr(neg, 'bar', 'y');
    expect(y[0]!).toBeGreaterThan(y[1]!);
  });
});
