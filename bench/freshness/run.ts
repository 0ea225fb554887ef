// What the stream buys, at two sizes: `recsys evaluate-freshness --size small` (seconds) and
// `--size large` (minutes on two shared cores), each through Kafka, recsys ingest and the event
// store. Extra arguments go to both runs (e.g. --retrain 1,3,7 or --store memory). Reports (JSON,
// HTML) land in bench/freshness/results/.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/index.ts';

const cli = path.join(PROJECT_ROOT, 'src', 'cli', 'index.ts');
const extra = process.argv.slice(2);
const seconds: Record<string, number> = {};
for (const size of ['small', 'large']) {
  console.log(`\n=== evaluate-freshness --size ${size} ${extra.join(' ')}`);
  const t0 = performance.now();
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
}
console.log(
  `\nwall time: small ${seconds['small']!.toFixed(0)} s, large ${seconds['large']!.toFixed(0)} s (${(seconds['large']! / seconds['small']!).toFixed(1)}× the small run)`,
);
