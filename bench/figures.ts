// The benchmarks' figures files (bench/figures/<bench>[-<variant>].json): their schema, reading
// them back, and docs/benchmarks.md rendered from them. Benches write the files (bench/record.ts);
// nobody edits the page by hand, so the published figures are always what a bench printed.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatLikeTree } from '../scripts/format-like-tree.ts';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIGURES_DIR = path.join(REPO_ROOT, 'bench', 'figures');
export const BENCHMARKS_DOC = path.join(REPO_ROOT, 'docs', 'benchmarks.md');

const Cell = Type.Union([Type.String(), Type.Number(), Type.Null()]);

export const FiguresTableSchema = Type.Object(
  {
    title: Type.String(),
    columns: Type.Array(Type.String(), { minItems: 1 }),
    rows: Type.Array(Type.Array(Cell)),
    /** what the ratio column compares with, by name: "scalar JS loop", "target ≥ 50,000 events/s" */
    reference: Type.Optional(Type.String()),
    /** the column holding the ratio to the reference */
    ratio: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const MachineSchema = Type.Object(
  {
    // null: not recorded (figures imported from prose that did not name it)
    cpu: Type.Union([Type.String(), Type.Null()]),
    cores: Type.Union([Type.Integer(), Type.Null()]),
    memory_gib: Type.Union([Type.Number(), Type.Null()]),
    node: Type.Union([Type.String(), Type.Null()]),
    os: Type.Union([Type.String(), Type.Null()]),
    /** 1, 5 and 15 minute load averages when the bench finished: the machine is shared */
    load_average: Type.Optional(Type.Array(Type.Number())),
  },
  { additionalProperties: false },
);

export const FiguresSchema = Type.Object(
  {
    bench: Type.String({ pattern: '^[a-z][a-z0-9-]*$' }),
    variant: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]*$' })),
    title: Type.String(),
    command: Type.String(),
    date: Type.String(),
    machine: MachineSchema,
    /** present only when the bench did not write the file itself, saying where the figures came from */
    source: Type.Optional(Type.String()),
    tables: Type.Array(FiguresTableSchema, { minItems: 1 }),
    notes: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

export type FiguresTable = Static<typeof FiguresTableSchema>;
export type Machine = Static<typeof MachineSchema>;
export type Figures = Static<typeof FiguresSchema>;

/** The file a bench's figures live in. */
export function figuresFileName(bench: string, variant?: string): string {
  return `${bench}${variant ? `-${variant}` : ''}.json`;
}

/** Throws naming the file and the first schema violation; also checks each row's width and the ratio column. */
export function checkFigures(value: unknown, file: string): Figures {
  const first = [...Value.Errors(FiguresSchema, value)][0];
  if (first) throw new Error(`${file}: ${first.path || '/'} ${first.message}`);
  const f = value as Figures;
  if (path.basename(file) !== figuresFileName(f.bench, f.variant))
    throw new Error(
      `${file}: bench "${f.bench}"${f.variant ? ` variant "${f.variant}"` : ''} belongs in ${figuresFileName(f.bench, f.variant)}`,
    );
  if (Number.isNaN(Date.parse(f.date))) throw new Error(`${file}: date ${f.date} is not ISO 8601`);
  for (const t of f.tables) {
    const bad = t.rows.findIndex((r) => r.length !== t.columns.length);
    if (bad >= 0)
      throw new Error(
        `${file}: table "${t.title}" row ${bad} has ${t.rows[bad]!.length} cells for ${t.columns.length} columns`,
      );
    if (t.ratio !== undefined && !t.columns.includes(t.ratio))
      throw new Error(`${file}: table "${t.title}" names ratio column "${t.ratio}", which it does not have`);
    if (t.ratio !== undefined && t.reference === undefined)
      throw new Error(`${file}: table "${t.title}" has a ratio but no named reference`);
  }
  return f;
}

/** Every figures file of a directory, checked. */
export function loadFigures(dir = FIGURES_DIR): Figures[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => checkFigures(JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as unknown, f));
}

/** The data's path through the system, then the pure computations: the page reads top to bottom. */
const ORDER = [
  'ingest',
  'backfill',
  'ratings',
  'retention',
  'freshness',
  'train',
  'tune',
  'deploy',
  'query',
  'probe',
];

function order(a: Figures, b: Figures): number {
  const rank = (f: Figures) => (ORDER.includes(f.bench) ? ORDER.indexOf(f.bench) : ORDER.length);
  return (
    rank(a) - rank(b) ||
    a.bench.localeCompare(b.bench) ||
    (a.variant ?? '').localeCompare(b.variant ?? '', 'en', { numeric: true })
  );
}

const id = (f: Figures) => `${f.bench}${f.variant ? `-${f.variant}` : ''}`;

function cell(c: string | number | null): string {
  if (c === null) return '–';
  const s = typeof c === 'number' ? c.toLocaleString('en-US', { maximumFractionDigits: 4 }) : c;
  return s.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function machine(m: Machine): string {
  const parts = [
    m.cpu,
    m.cores === null ? null : `${m.cores} cores`,
    m.memory_gib === null ? null : `${m.memory_gib} GiB`,
    m.node === null ? null : `Node ${m.node}`,
    m.os,
  ].filter((p): p is string => p !== null);
  const load = m.load_average ? `; load average ${m.load_average.map((l) => l.toFixed(2)).join(' / ')}` : '';
  return `${parts.length ? parts.join(', ') : 'not recorded'}${load}`;
}

function table(t: FiguresTable): string[] {
  const out = [`**${t.title}**`, ''];
  out.push(`| ${t.columns.map(cell).join(' | ')} |`, `|${t.columns.map(() => ' --- ').join('|')}|`);
  for (const r of t.rows) out.push(`| ${r.map(cell).join(' | ')} |`);
  if (t.reference !== undefined)
    out.push(
      '',
      `Reference: ${t.reference}${t.ratio !== undefined ? ` (ratio in column "${t.ratio}")` : ''}.`,
    );
  return [...out, ''];
}

/** docs/benchmarks.md as markdown, before formatting. Pure: the same files give the same page. */
export function renderBenchmarks(all: readonly Figures[]): string {
  const figs = [...all].sort(order);
  const out = [
    '<!-- Generated by `npm run bench:docs` from bench/figures/*.json: do not edit by hand. -->',
    '',
    '# Benchmarks',
    '',
    'Each benchmark under `bench/` writes its figures to `bench/figures/<bench>.json` when it finishes',
    '(the exact command, the date, the machine, the table it printed); this page is rendered from those',
    'files by `npm run bench:docs`, and a unit test fails when it differs from them. Commit a figures',
    'file together with the change it measures; earlier figures are in the history of `bench/figures/`',
    '(`git log -p bench/figures/`).',
    '',
    'The machine named with each run is shared: Elasticsearch, Kafka, the API and the load generator all',
    'run on it, so latencies are what a laptop-sized node does, not what a cluster does, and runs on',
    'different days differ by more than some of the effects they measure. Compare within one run.',
    '',
    '| benchmark | date | figures |',
    '| --- | --- | --- |',
    ...figs.map(
      (f) =>
        `| [${id(f)}](#${id(f)}) | ${f.date.slice(0, 10)} | ${f.source ? 'imported (see Source)' : 'written by the bench'} |`,
    ),
    '',
  ];
  for (const f of figs) {
    out.push(`## ${id(f)}`, '', f.title, '');
    out.push(`- Command: \`${f.command}\``, `- Date: ${f.date}`, `- Machine: ${machine(f.machine)}`);
    if (f.source) out.push(`- Source: ${f.source}`);
    out.push('');
    for (const t of f.tables) out.push(...table(t));
    if (f.notes?.length) out.push(...f.notes.map((n) => `- ${n}`), '');
  }
  return out.join('\n');
}

/** The page as committed: rendered, then formatted with the repository's prettier settings. */
export async function renderBenchmarksDoc(all: readonly Figures[], file = BENCHMARKS_DOC): Promise<string> {
  return formatLikeTree(file, renderBenchmarks(all));
}
