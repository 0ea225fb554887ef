// `npm test`: bring what the tests need (local infrastructure unless ES_URL / KAFKA_BROKERS, headless
// Chromium), then typecheck, lint, check formatting, build, and run the unit and integration projects.
// `npm run test:clusters` (`--clusters`) runs the clusters project instead: the tests that start their
// own nodes or several processes, minutes each (vitest.config.ts). Any failure exits non-zero.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config/index.ts';
import { infraUp } from '../src/infra/local/index.ts';
import { createLogger } from '../src/infra/logger.ts';
import { ensureChromium } from './test-tools.ts';

function run(label: string, cmd: string, args: string[]): void {
  const started = Date.now();
  ensureChromium();
  console.log(`\n── ${label}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) {
    console.error(`── ${label} failed after ${secs}s (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
  console.log(`── ${label} ok in ${secs}s`);
}

const started = Date.now();
const config = loadConfig();
const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
console.log('── infrastructure');
for (const s of await infraUp(config, log)) {
  console.log(`   ${s.service}: ${s.running ? 'running' : 'DOWN'} at ${s.where} ${s.version ?? ''}`);
  if (!s.running) process.exit(1);
}
const clusters = process.argv[2] === '--clusters';
const extra = process.argv.slice(clusters ? 3 : 2);
if (!clusters) {
  run('typecheck', 'npx', ['tsc', '--noEmit', '-p', '.']);
  run('lint', 'npx', ['eslint', '.']);
  run('format', 'npx', ['prettier', '--check', '.']);
  // production runs the compiled build (bin/recsys.js prefers it): it must compile and start
  run('build', 'npm', ['run', '--silent', 'build']);
  run('build starts', process.execPath, ['dist/cli/index.js', '--help']);
}
const projects = (clusters ? ['clusters'] : ['unit', 'integration']).flatMap((p) => ['--project', p]);
const report = path.join(config.localDir, clusters ? 'vitest-report-clusters.json' : 'vitest-report.json');
mkdirSync(config.localDir, { recursive: true });
run('tests', 'npx', [
  'vitest',
  'run',
  ...projects,
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...extra,
]);
if (existsSync(report)) {
  // a plain closing line any CI can read, whatever the reporter prints
  const r = JSON.parse(readFileSync(report, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
  };
  console.log(
    `\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`,
  );
}
console.log(`all checks passed in ${((Date.now() - started) / 1000).toFixed(0)}s`);
