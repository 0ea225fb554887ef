// What `npm test` needs beyond Node, Maven and a JDK, brought by the test command itself so that a
// fresh machine passes with nothing installed by hand: headless Chromium renders the run report in
// test/integration/report.test.ts. On a machine where we may install packages (root with apt-get),
// it is installed from the distribution; elsewhere the run stops with one line saying what to install.
import { spawnSync } from 'node:child_process';
import { CHROMIUM_NAMES } from '../test/support/chromium.ts';

function runs(bin: string): boolean {
  return spawnSync(bin, ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

function aptInstall(pkg: string): boolean {
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) {
    return false;
  }
  console.log(`── installing ${pkg} (apt-get) for the report render test`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  if (update.status !== 0) return false;
  return spawnSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'inherit', env }).status === 0;
}

/** Makes headless Chromium available (CHROMIUM names a binary of your own), or exits with the reason. */
export function ensureChromium(): void {
  const given = process.env['CHROMIUM'];
  if (given ? runs(given) : CHROMIUM_NAMES.some(runs)) return;
  if (!given && aptInstall('chromium') && runs('chromium')) return;
  console.error(
    `npm test needs headless Chromium for the report render test: install it (apt-get install -y chromium) or set CHROMIUM to a Chromium binary`,
  );
  process.exit(1);
}
