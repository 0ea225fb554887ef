// What the stream buys, at two sizes: `recsys evaluate-freshness --size small` (seconds) and
// `--size large` (minutes on two shared cores), each through Kafka, recsys ingest and the event
// store. Extra arguments go to both runs (e.g. --retrain 1,3,7 or --store memory). Reports (JSON,
// HTML) land in bench/freshness/results/.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/index.ts';
import { USER_KINDS, type ReplayResult } from '../../src/freshness/replay.ts';
import { recordFigures, round } from '../record.ts';
import type { FiguresTable } from '../figures.ts';

const cli = path.join(PROJECT_ROOT, 'src', 'cli', 'index.ts');
const extra = process.argv.slice(2);
const outAt = extra.indexOf('--out');
const outDir =
  outAt >= 0 && extra[outAt + 1]
    ? extra[outAt + 1]!
    : path.join(PROJECT_ROOT, 'bench', 'freshness', 'results');
const seconds: Record<string, number> = {};
const tables: FiguresTable[] = [];
for (const size of ['small', 'large']) {
  console.log(`\n=== evaluate-freshness --size ${size} ${extra.join(' ')}`);
  const t0 = performance.now();
  const started = Date.now();
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', cli, 'evaluate-freshness', '--size', size, ...extra],
    { stdio: 'inherit', cwd: PROJECT_ROOT },
  );
  seconds[size] = (performance.now() - t0) / 1000;
  if (r.status !== 0) {
    console.error(`evaluate-freshness --size ${size} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
  const report = newestReport(extra.includes('--input') ? 'input' : size, started);
  if (report) tables.push(summaryTable(size, report, seconds[size]!));
}
console.log(
  `\nwall time: small ${seconds['small']!.toFixed(0)} s, large ${seconds['large']!.toFixed(0)} s (${(seconds['large']! / seconds['small']!).toFixed(1)}× the small run)`,
);
if (tables.length)
  await recordFigures({
    bench: 'freshness',
    title:
      'what the stream buys: prequential replay of a drifting shop through Kafka → ingest → event store, scoring the next step’s new user–item pairs before revealing them; batch retraining every N steps vs weekly + online fold-in vs recent popularity',
    tables,
  });

/** The JSON report evaluate-freshness wrote for this run (it names files freshness-<size>-<time>.json). */
function newestReport(label: string, since: number): { result: ReplayResult; events: number } | undefined {
  const files = readdirSync(outDir)
    .filter((f) => f.startsWith(`freshness-${label}-`) && f.endsWith('.json'))
    .map((f) => path.join(outDir, f))
    .filter((f) => statSync(f).mtimeMs >= since)
    .sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs);
  if (!files[0]) return undefined;
  const r = JSON.parse(readFileSync(files[0], 'utf8')) as { result: ReplayResult };
  return { result: r.result, events: r.result.settings.events };
}

function summaryTable(
  size: string,
  { result: r, events }: { result: ReplayResult; events: number },
  secs: number,
): FiguresTable {
  const k = r.settings.k;
  const first = r.overall[r.variants[0]!]!;
  return {
    title: `${size}: ${events.toLocaleString('en')} events, ${r.steps.length} steps; nDCG@${k} overall and by user kind (scored lists); ${secs.toFixed(0)} s wall`,
    columns: [
      'variant',
      `nDCG@${k}`,
      `recall@${k}`,
      ...USER_KINDS.map(
        (kind) => `${kind.replace('_', ' ')} (${first.byKind[kind].users.toLocaleString('en')})`,
      ),
      'retrains',
      'training read (docs)',
      'fold-ins (ES requests)',
    ],
    rows: r.variants.map((v) => {
      const m = r.overall[v]!;
      const c = r.cost[v]!;
      return [
        v,
        round(m.ndcg, 3),
        round(m.recall, 3),
        ...USER_KINDS.map((kind) => round(m.byKind[kind].ndcg, 3)),
        c.retrains || null,
        c.readDocs || null,
        c.foldIns ? `${c.foldIns.toLocaleString('en')} (${c.foldInRoundTrips.toLocaleString('en')})` : null,
      ];
    }),
  };
}
