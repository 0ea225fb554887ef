import { describe, expect, it } from 'vitest';
import { renderModelReport, type ReportModel } from '../../src/report/index.ts';

const metrics = (ndcg: number, bias: number) => ({
  k: 10,
  precision: ndcg / 2,
  recall: ndcg,
  ndcg,
  map: ndcg / 3,
  coverage: 0.4,
  popularity_bias: bias,
  users: 120,
});
const charts = (html: string) =>
  [...html.matchAll(/<svg [^>]*data-chart="(\w+)"[^>]*aria-label="([^"]*)"/g)].map((m) => ({
    kind: m[1]!,
    title: m[2]!,
  }));
/** the <section id=…> … </section> part */
const part = (html: string, id: string) =>
  html.slice(
    html.indexOf(`<section id="${id}"`),
    html.indexOf('</section>', html.indexOf(`<section id="${id}"`)),
  );

const model: ReportModel = {
  model_id: 'm-new',
  status: 'live',
  created_at: '2026-12-01T10:00:00Z',
  params: { factors: 16, regularization: 1, alpha: 10, iterations: 4 },
  counts: { users: 300, items: 200, interactions: 9000, train_interactions: 7000, test_interactions: 2000 },
  timings: { read_seconds: 1.2, train_seconds: 3.4 },
  metrics: metrics(0.3, 0.12),
  baseline_metrics: metrics(0.1, 0.95),
  gate: { passed: true, reason: 'beats popularity <and> live', live_model_id: 'm-old', live_ndcg: 0.25 },
  loss: [100, 60, 50, 45],
};

describe('renderModelReport', () => {
  it('one self-contained page: loss, metrics vs popularity vs previous, coverage, bias, timings', () => {
    const html = renderModelReport({
      model,
      previous: { model_id: 'm-old', metrics: metrics(0.25, 0.3) },
      generatedAt: 'now',
    });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    expect(charts(html).map((c) => c.kind)).toEqual(['line', 'bar', 'bar', 'bar', 'bar']);
    expect(part(html, 'loss').match(/class="point"/g)).toHaveLength(4);
    // 4 ranking metrics × 3 contenders
    expect(part(html, 'metrics').match(/class="bar"/g)).toHaveLength(12);
    expect(part(html, 'metrics')).toContain('previous live m-old');
    // bias bars: head share and the rest, per contender
    const bias = part(html, 'coverage');
    expect(bias).toContain('data-group="from the top 1 % items" data-value="0.95"');
    expect(bias).toContain('data-group="from the other 99 %" data-value="0.88"');
    expect(html).toContain('beats popularity &lt;and&gt; live');
    expect(html).toContain('+200.0 %'); // nDCG lift over popularity
    expect(part(html, 'tuning')).toContain('No tuning trials');
  });

  it('tuning trials: one scatter per varying numeric parameter, points by rung, best named', () => {
    const trials = [
      { params: { alpha: 0.5, regularization: 10, weighting: 'log' }, ndcg: 0.2, iterations: 2, rung: 0 },
      { params: { alpha: 10, regularization: 1, weighting: 'log' }, ndcg: 0.1, iterations: 2, rung: 0 },
      { params: { alpha: 40, regularization: 0.1, weighting: 'linear' }, ndcg: 0.05, iterations: 2, rung: 0 },
      { params: { alpha: 0.5, regularization: 10, weighting: 'log' }, ndcg: 0.31, iterations: 8, rung: 1 },
    ];
    const html = renderModelReport({
      model: {
        ...model,
        tuning: {
          source: 'search',
          search_id: 's1',
          validation_ndcg: 0.31,
          budget_seconds: 30,
          used_seconds: 12.5,
          trials,
        },
      },
    });
    const t = part(html, 'tuning');
    const scatters = charts(t).filter((c) => c.kind === 'scatter');
    expect(scatters.map((c) => c.title)).toEqual([
      'validation nDCG@10 vs α (confidence scale)',
      'validation nDCG@10 vs λ (regularisation)',
    ]);
    expect(t.match(/class="point"/g)).toHaveLength(8);
    expect(t).toContain('data-series="rung 1"');
    expect(t).toContain('(log scale)');
    expect(t).toContain('12.5 s of 30 s');
    expect(t).toContain(
      'Best trial: alpha = 0.5, regularization = 10, weighting = log → validation nDCG@10 0.3100',
    );
  });

  it('an old or failed run (only an id and an error) still renders, with notes instead of charts', () => {
    const html = renderModelReport({ model: { model_id: 'm-fail', status: 'failed', error: 'read failed' } });
    expect(html).toContain('read failed');
    expect(html.match(/class="no-data"/g)!.length).toBeGreaterThanOrEqual(4);
    expect(html).not.toContain('NaN');
    expect(html).toContain('No model was live');
  });
});
