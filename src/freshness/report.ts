// What a replay prints and writes: the per-step table (as steps finish), the summary (overall, by
// user kind, cost) and a self-contained HTML report with per-step curves as inline SVG (no script,
// no external asset: it opens from a CI artefact or a mail attachment).

import { escapeXml as esc, lineChart } from '../report/svg.ts';
import { USER_KINDS, type ReplayResult, type StepResult } from './replay.ts';

const f3 = (x: number): string => x.toFixed(3);
const int = (x: number): string => Math.round(x).toLocaleString('en-US');

export function stepHeader(variants: readonly string[]): string[] {
  const head = `${'step'.padStart(4)}  ${'cut-off'.padEnd(10)}  ${'users'.padStart(6)}  ${'pairs'.padStart(6)}  ${'retrain'.padEnd(7)}`;
  return [
    `${head}  ${variants.map((v) => v.padEnd(15)).join('  ')}`,
    `${' '.repeat(head.length)}  ${variants.map(() => 'nDCG   recall '.padEnd(15)).join('  ')}`,
  ];
}

export function stepLine(s: StepResult, variants: readonly string[]): string {
  const cells = variants.map((v) => `${f3(s.variants[v]!.ndcg)}  ${f3(s.variants[v]!.recall)}`.padEnd(15));
  return `${String(s.step).padStart(4)}  ${s.cutoff.slice(0, 10)}  ${String(s.users).padStart(6)}  ${String(s.interactions).padStart(6)}  ${(s.retrained.join(',') || '-').padEnd(7)}  ${cells.join('  ')}`;
}

/** The overall table (micro average over every scored (user, step) list), by user kind, and the cost of each variant. */
export function summaryLines(r: ReplayResult): string[] {
  const out: string[] = [];
  const w = Math.max(...r.variants.map((v) => v.length), 7);
  const o = r.overall[r.variants[0]!]!;
  out.push(
    `overall: ${int(o.users)} scored lists over ${r.steps.length} steps (${r.steps.reduce((a, s) => a + s.interactions, 0).toLocaleString('en-US')} new user–item pairs); nDCG@${r.settings.k} by user kind (lists)`,
  );
  out.push(
    `${'variant'.padEnd(w)}  nDCG@${r.settings.k}  recall@${r.settings.k}  ${USER_KINDS.map((k) => `${k} (${int(o.byKind[k].users)})`.padStart(18)).join('')}`,
  );
  for (const v of r.variants) {
    const m = r.overall[v]!;
    out.push(
      `${v.padEnd(w)}  ${f3(m.ndcg).padStart(7)}  ${f3(m.recall).padStart(9)}  ${USER_KINDS.map((k) => f3(m.byKind[k].ndcg).padStart(18)).join('')}`,
    );
  }
  out.push('');
  out.push(
    `cost: train s = event-store read (measured) + ALS; fold-in = the ES requests src/online/user-refresh.ts makes per update (search + mget + index)`,
  );
  out.push(
    `${'variant'.padEnd(w)}  retrains  read RTs  read docs  read s  train s  fold-ins  fold-in RTs  fold-in docs  fold-in s`,
  );
  for (const v of r.variants) {
    const c = r.cost[v]!;
    out.push(
      `${v.padEnd(w)}  ${String(c.retrains).padStart(8)}  ${int(c.readRoundTrips).padStart(8)}  ${int(c.readDocs).padStart(9)}  ${c.readSeconds.toFixed(1).padStart(6)}  ${c.trainSeconds.toFixed(1).padStart(7)}  ${int(c.foldIns).padStart(8)}  ${int(c.foldInRoundTrips).padStart(11)}  ${int(c.foldInDocsRead).padStart(12)}  ${c.foldInSeconds.toFixed(1).padStart(9)}`,
    );
  }
  return out;
}

/** nDCG or recall per step, one line per variant: the project's one chart module, x = the step's cut-off day. */
function stepChart(
  title: string,
  xLabels: readonly string[],
  series: ReadonlyArray<{ name: string; values: readonly number[] }>,
): string {
  return lineChart(
    series.map((s) => ({
      name: s.name,
      points: s.values.map((v, i) => ({ x: i, y: v, label: `${s.name} ${xLabels[i]}: ${v.toFixed(3)}` })),
    })),
    { title, xLabel: 'step (cut-off, MM-DD)', yInclude: [0], xFormat: (i) => xLabels[Math.round(i)] ?? '' },
  );
}

function table(head: string[], rows: string[][]): string {
  return `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</table>`;
}

export function renderHtml(r: ReplayResult, title: string, notes: readonly string[] = []): string {
  const labels = r.steps.map((s) => s.cutoff.slice(5, 10));
  const slowest = Math.max(...r.settings.retrainEvery);
  const marks = r.steps.filter((s) => s.retrained.includes(slowest)).map((s) => s.step);
  const curve = (metric: 'ndcg' | 'recall') =>
    r.variants.map((v) => ({ name: v, values: r.steps.map((s) => s.variants[v]![metric]) }));
  const kinds = USER_KINDS.map((k) =>
    stepChart(
      `nDCG@${r.settings.k} per step: ${k} users`,
      labels,
      r.variants.map((v) => ({ name: v, values: r.steps.map((s) => s.variants[v]!.byKind[k].ndcg) })),
    ),
  );
  const overall = table(
    [
      'variant',
      `nDCG@${r.settings.k}`,
      `recall@${r.settings.k}`,
      ...USER_KINDS.map((k) => `nDCG ${k} (${r.overall[r.variants[0]!]!.byKind[k].users})`),
    ],
    r.variants.map((v) => [
      v,
      f3(r.overall[v]!.ndcg),
      f3(r.overall[v]!.recall),
      ...USER_KINDS.map((k) => f3(r.overall[v]!.byKind[k].ndcg)),
    ]),
  );
  const cost = table(
    [
      'variant',
      'retrains',
      'read round trips',
      'read docs',
      'read s',
      'train s (read + ALS)',
      'fold-ins',
      'fold-in round trips',
      'fold-in docs',
      'fold-in s',
    ],
    r.variants.map((v) => {
      const c = r.cost[v]!;
      return [
        v,
        String(c.retrains),
        int(c.readRoundTrips),
        int(c.readDocs),
        c.readSeconds.toFixed(1),
        c.trainSeconds.toFixed(1),
        int(c.foldIns),
        int(c.foldInRoundTrips),
        int(c.foldInDocsRead),
        c.foldInSeconds.toFixed(1),
      ];
    }),
  );
  const steps = table(
    [
      'step',
      'cut-off',
      'users',
      'pairs',
      'retrained',
      ...r.variants.flatMap((v) => [`${v} nDCG`, `${v} recall`]),
    ],
    r.steps.map((s) => [
      String(s.step),
      s.cutoff.slice(0, 10),
      String(s.users),
      String(s.interactions),
      s.retrained.join(',') || '-',
      ...r.variants.flatMap((v) => [f3(s.variants[v]!.ndcg), f3(s.variants[v]!.recall)]),
    ]),
  );
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>body{font-family:sans-serif;margin:24px;max-width:1000px}table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}</style></head><body>
<h1>${esc(title)}</h1>
<p>${esc(`${r.settings.events.toLocaleString('en-US')} events ${r.settings.first.slice(0, 10)} – ${r.settings.last.slice(0, 10)}; ${r.steps.length} steps of ${r.settings.stepMs / 3_600_000} h after a ${r.settings.warmupSteps}-step warm-up; retrain every ${r.settings.retrainEvery.join(' / ')} steps; k = ${r.settings.factors} factors; retrains every ${slowest} steps at steps ${marks.join(', ') || '–'}.`)}</p>
${notes.map((n) => `<p>${esc(n)}</p>`).join('\n')}
<h2>Overall</h2>${overall}
<h2>Cost</h2>${cost}
<h2>Per step</h2>
${stepChart(`nDCG@${r.settings.k} per step`, labels, curve('ndcg'))}
${stepChart(`recall@${r.settings.k} per step`, labels, curve('recall'))}
${kinds.join('\n')}
${steps}
</body></html>
`;
}
