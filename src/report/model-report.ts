// A training run as one self-contained HTML page (inline CSS and SVG, no scripts, no external
// resources), so it can be mailed, archived next to the artefact or served by the admin API as is.
// Pure: the caller loads the documents. Every field but the id is optional, because documents of
// older runs (and failed runs) lack most of them; a missing part renders as a short note.

import { createHash } from 'node:crypto';
import type { RankingMetrics } from '../types/index.ts';
import {
  escapeXml,
  formatNumber,
  groupedBarChart,
  lineChart,
  PALETTE,
  scatterChart,
  type BarSeries,
  type Series,
} from './svg.ts';

export interface ReportTrial {
  params: Record<string, number | string>;
  ndcg: number;
  iterations?: number;
  rung?: number;
}

/** The parts of a models document the report reads (structurally a subset of ModelDoc). */
export interface ReportModel {
  model_id: string;
  status?: string;
  status_reason?: string;
  trigger?: string;
  created_at?: string;
  finished_at?: string;
  live_at?: string;
  error?: string;
  params?: Record<string, unknown>;
  data_window?: Record<string, unknown>;
  counts?: Record<string, number>;
  timings?: Record<string, number>;
  metrics?: Partial<RankingMetrics>;
  baseline_metrics?: Partial<RankingMetrics>;
  gate?: {
    passed?: boolean;
    reason?: string;
    exam?: string;
    candidate_ndcg?: number;
    baseline_ndcg?: number;
    live_model_id?: string;
    live_ndcg?: number;
  };
  tuning?: {
    source?: string;
    search_id?: string;
    validation_ndcg?: number;
    budget_seconds?: number;
    used_seconds?: number;
    reason?: string;
    trials?: ReportTrial[];
  };
  loss?: number[];
}

export interface ReportInput {
  model: ReportModel;
  /** the model that was live when this one was evaluated (the gate's comparison) */
  previous?: ReportModel;
  /** tuning trials when they are not on the model document */
  trials?: ReportTrial[];
  /** ISO time stamp printed in the footer */
  generatedAt?: string;
}

const RANKING: Array<[keyof RankingMetrics, string]> = [
  ['precision', 'P@10'],
  ['recall', 'R@10'],
  ['ndcg', 'nDCG@10'],
  ['map', 'MAP@10'],
];

/** Compared lists: this run, the popularity baseline of this run, the previous live model. */
function contenders(
  input: ReportInput,
): Array<{ name: string; metrics: Partial<RankingMetrics> | undefined }> {
  const out: Array<{ name: string; metrics: Partial<RankingMetrics> | undefined }> = [
    { name: 'this model', metrics: input.model.metrics },
    { name: 'popularity', metrics: input.model.baseline_metrics },
  ];
  if (input.previous)
    out.push({ name: `previous live ${input.previous.model_id}`, metrics: input.previous.metrics });
  return out;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function fmt(v: unknown, digits = 4): string {
  const n = num(v);
  return n === null ? '–' : Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(digits);
}

function pct(v: unknown): string {
  const n = num(v);
  return n === null ? '–' : `${(n * 100).toFixed(1)} %`;
}

function text(v: unknown): string {
  if (v === undefined || v === null || v === '') return '–';
  if (typeof v === 'object' && !Array.isArray(v)) {
    return Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${escapeXml(k)} ${text(x)}`)
      .join(' · ');
  }
  return escapeXml(typeof v === 'object' ? JSON.stringify(v) : String(v));
}

function table(rows: Array<[string, string]>): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function section(id: string, title: string, body: string, note?: string): string {
  return `<section id="${id}"><h2>${escapeXml(title)}</h2>${note ? `<p class="note">${note}</p>` : ''}${body}</section>`;
}

function lossSection(m: ReportModel): string {
  const loss = m.loss ?? [];
  const series: Series[] = [
    {
      name: 'loss',
      points: loss.map((y, i) => ({ x: i + 1, y, label: `iteration ${i + 1}: ${formatNumber(y)}` })),
    },
  ];
  const drop =
    loss.length >= 2 && loss[0]! > 0
      ? `Loss fell ${pct(1 - loss[loss.length - 1]! / loss[0]!)} from the first to the last of ${loss.length} iterations.`
      : undefined;
  return section(
    'loss',
    'Training loss per iteration',
    lineChart(series, {
      title: 'ALS loss (weighted squared error + regularisation)',
      xLabel: 'iteration',
      yLabel: 'loss',
      width: 720,
    }),
    drop,
  );
}

function metricsSection(input: ReportInput): string {
  const cs = contenders(input);
  const bars: BarSeries[] = cs.map((c) => ({
    name: c.name,
    values: RANKING.map(([key]) => num(c.metrics?.[key])),
  }));
  const chart = groupedBarChart(
    RANKING.map(([, l]) => l),
    bars,
    { title: 'Ranking quality on the holdout (top 10)', yLabel: 'score', width: 720 },
  );
  const head = `<tr><th></th>${[...RANKING.map(([, l]) => l), 'coverage', 'top-1 % share', 'users'].map((h) => `<th>${h}</th>`).join('')}</tr>`;
  const rows = cs
    .map(
      (c) =>
        `<tr><th>${escapeXml(c.name)}</th>${RANKING.map(([key]) => `<td>${fmt(c.metrics?.[key])}</td>`).join('')}<td>${pct(c.metrics?.coverage)}</td><td>${pct(c.metrics?.popularity_bias)}</td><td>${fmt(c.metrics?.users)}</td></tr>`,
    )
    .join('');
  const note = input.previous
    ? 'The previous live model’s figures come from its own run (its own holdout) unless the gate below re-scored it on this run’s holdout.'
    : 'No model was live when this run was evaluated, so there is nothing earlier to compare with.';
  return section(
    'metrics',
    'Metrics vs popularity vs the previous live model',
    `${chart}<table class="grid">${head}${rows}</table>`,
    note,
  );
}

function coverageAndBiasSection(input: ReportInput): string {
  const cs = contenders(input);
  const coverage = groupedBarChart(
    ['catalogue coverage'],
    cs.map((c) => ({ name: c.name, values: [num(c.metrics?.coverage)] })),
    { title: 'Catalogue coverage', width: 420, yFormat: (v) => `${Math.round(v * 100)} %`, yInclude: [0] },
  );
  const bias = groupedBarChart(
    ['from the top 1 % items', 'from the other 99 %'],
    cs.map((c) => {
      const b = num(c.metrics?.popularity_bias);
      return { name: c.name, values: [b, b === null ? null : 1 - b] };
    }),
    {
      title: 'Popularity bias: top-10 slots by source',
      width: 420,
      yFormat: (v) => `${Math.round(v * 100)} %`,
      yInclude: [0, 1],
    },
  );
  return section(
    'coverage',
    'Coverage and popularity bias',
    `<div class="row">${coverage}${bias}</div>`,
    'Both are measured on the holdout users’ top-10 lists: coverage is the share of the catalogue recommended to anyone. A recommender that ignored popularity would put about 1 % of its slots on the top 1 % items; the popularity baseline puts nearly all of them there.',
  );
}

/** Numeric trial parameters that vary across trials, the usual ALS knobs first. */
function varyingParams(trials: ReportTrial[]): string[] {
  const keys = [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
  const order = ['alpha', 'regularization', 'factors', 'iterations'];
  keys.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
  return keys.filter((k) => {
    const vs = trials
      .map((t) => t.params[k])
      .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    return vs.length >= 2 && new Set(vs).size >= 2;
  });
}

const PARAM_LABEL: Record<string, string> = {
  alpha: 'α (confidence scale)',
  regularization: 'λ (regularisation)',
  factors: 'factors',
};

function tuningSection(input: ReportInput): string {
  const tuning = input.model.tuning;
  const trials = (input.trials ?? tuning?.trials ?? []).filter((t) => num(t.ndcg) !== null);
  const facts = table([
    [
      'parameters from',
      text(tuning?.source ?? (tuning ? undefined : 'configuration or defaults (no tuning record)')),
    ],
    ['search id', text(tuning?.search_id)],
    ['validation nDCG@10', fmt(tuning?.validation_ndcg)],
    [
      'budget used',
      tuning?.budget_seconds !== undefined || tuning?.used_seconds !== undefined
        ? `${fmt(tuning?.used_seconds, 1)} s of ${fmt(tuning?.budget_seconds, 1)} s`
        : '–',
    ],
    ['why', text(tuning?.reason)],
    ['trials', String(trials.length)],
  ]);
  if (!trials.length)
    return section('tuning', 'Tuning landscape', facts, 'No tuning trials are recorded for this run.');
  const rungs = [...new Set(trials.map((t) => t.rung ?? 0))].sort((a, b) => a - b);
  const best = trials.reduce((a, b) => (b.ndcg > a.ndcg ? b : a));
  const charts = varyingParams(trials)
    .slice(0, 4)
    .map((key) => {
      const vs = trials.map((t) => t.params[key]).filter((v): v is number => typeof v === 'number' && v > 0);
      const log = vs.length === trials.length && Math.max(...vs) / Math.min(...vs) >= 20;
      const series: Series[] = rungs.map((r, i) => ({
        name: rungs.length > 1 ? `rung ${r}` : 'trials',
        color: PALETTE[i % PALETTE.length],
        points: trials
          .filter((t) => (t.rung ?? 0) === r && typeof t.params[key] === 'number')
          .map((t) => ({
            x: t.params[key] as number,
            y: t.ndcg,
            label: `${Object.entries(t.params)
              .map(([k, v]) => `${k}=${v}`)
              .join(
                ', ',
              )} → nDCG ${formatNumber(t.ndcg)}${t.iterations ? ` (${t.iterations} it.)` : ''}${t === best ? ' · best' : ''}`,
          })),
      }));
      return scatterChart(series, {
        title: `validation nDCG@10 vs ${PARAM_LABEL[key] ?? key}`,
        xLabel: `${PARAM_LABEL[key] ?? key}${log ? ' (log scale)' : ''}`,
        yLabel: 'nDCG@10',
        xScale: log ? 'log' : 'linear',
        width: 420,
      });
    });
  const bestLine = `Best trial: ${escapeXml(
    Object.entries(best.params)
      .map(([k, v]) => `${k} = ${v}`)
      .join(', '),
  )} → validation nDCG@10 ${fmt(best.ndcg)}.`;
  return section('tuning', 'Tuning landscape', `${facts}<div class="row">${charts.join('')}</div>`, bestLine);
}

function timingsSection(m: ReportModel): string {
  const entries = Object.entries(m.timings ?? {}).filter(([, v]) => num(v) !== null);
  const chart = groupedBarChart(
    entries.map(([k]) => k.replace(/_seconds$/, '')),
    [{ name: 'seconds', values: entries.map(([, v]) => v) }],
    { title: 'Where the run’s time went (seconds)', width: 720, height: 260 },
  );
  return section('timings', 'Timings', chart);
}

function gateRows(m: ReportModel): Array<[string, string]> {
  const g = m.gate;
  if (!g) return [['gate', '–']];
  const verdict =
    g.passed === undefined
      ? '–'
      : g.passed
        ? '<span class="ok">passed</span>'
        : '<span class="bad">held back</span>';
  const rows: Array<[string, string]> = [['gate', `${verdict} ${text(g.reason)}`]];
  if (g.exam) rows.push(['gate exam', text(g.exam)]);
  if (g.candidate_ndcg !== undefined || g.live_ndcg !== undefined) {
    rows.push([
      'gate nDCG@10',
      `candidate ${fmt(g.candidate_ndcg ?? m.metrics?.ndcg)} · popularity ${fmt(g.baseline_ndcg ?? m.baseline_metrics?.ndcg)} · live ${text(g.live_model_id)} ${fmt(g.live_ndcg)}`,
    ]);
  }
  return rows;
}

function summary(input: ReportInput): string {
  const m = input.model;
  const p = m.params ?? {};
  const c = m.counts ?? {};
  const lift =
    num(m.metrics?.ndcg) !== null && num(m.baseline_metrics?.ndcg)
      ? (m.metrics!.ndcg! / m.baseline_metrics!.ndcg! - 1) * 100
      : null;
  const left = table([
    ['status', `${text(m.status)}${m.status_reason ? ` — ${text(m.status_reason)}` : ''}`],
    ['trigger', text(m.trigger)],
    ['created', text(m.created_at)],
    ['finished', text(m.finished_at)],
    ['live since', text(m.live_at)],
    ...gateRows(m),
    ...(m.error ? ([['error', `<span class="bad">${text(m.error)}</span>`]] as Array<[string, string]>) : []),
  ]);
  const right = table([
    ['factors · λ · α', `${text(p['factors'])} · ${text(p['regularization'])} · ${text(p['alpha'])}`],
    ['iterations', text(p['iterations'])],
    ...(p['weighting'] !== undefined
      ? ([['weighting', text(p['weighting'])]] as Array<[string, string]>)
      : []),
    ['users · items', `${fmt(c['users'])} · ${fmt(c['items'])}`],
    [
      'interactions (train / test)',
      `${fmt(c['interactions'])} (${fmt(c['train_interactions'])} / ${fmt(c['test_interactions'])})`,
    ],
    ['data window', text(m.data_window)],
    ['nDCG@10 vs popularity', lift === null ? '–' : `${lift >= 0 ? '+' : ''}${lift.toFixed(1)} %`],
  ]);
  return `<div class="row">${left}${right}</div>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:0;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0 0 8px}
section{background:#fff;border:1px solid #e2e4e8;border-radius:6px;padding:16px;margin:16px 0}
.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
table{border-collapse:collapse}table.kv th{text-align:left;font-weight:500;color:#555;padding:2px 12px 2px 0;vertical-align:top}
table.kv td{padding:2px 12px 2px 0;max-width:420px;overflow-wrap:anywhere}
table.grid{margin-top:10px}table.grid th,table.grid td{border-bottom:1px solid #eee;padding:4px 10px;text-align:right}
table.grid th:first-child{text-align:left}
.note{color:#555;margin:0 0 8px}.ok{color:#00795a;font-weight:600}.bad{color:#b3261e;font-weight:600}
svg.chart{background:#fff;max-width:100%;height:auto}footer{color:#777;font-size:12px}
`;

/**
 * The Content-Security-Policy the report is served with: nothing may load or run but its own
 * stylesheet (by hash), so even a payload that slipped past escaping could not execute or send.
 */
export const REPORT_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(CSS).digest('base64')}'`,
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The whole report as one HTML document. */
export function renderModelReport(input: ReportInput): string {
  const m = input.model;
  const id = escapeXml(m.model_id);
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Model ${id} — run report</title><style>${CSS}</style></head><body><main>`,
    `<h1>Model ${id}</h1>`,
    summary(input),
    lossSection(m),
    metricsSection(input),
    coverageAndBiasSection(input),
    tuningSection(input),
    timingsSection(m),
    `<footer>recsys run report${input.generatedAt ? ` · generated ${escapeXml(input.generatedAt)}` : ''}</footer>`,
    '</main></body></html>',
  ].join('\n');
}
