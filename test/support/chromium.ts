// Headless Chromium for render checks. Missing Chromium is an error, not a skip: a render test
// that silently passes without a browser cannot fail (npm test installs it: scripts/test-tools.ts).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** Names a Chromium binary goes by, tried in order (CHROMIUM overrides them). */
export const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome'];

export async function findChromium(): Promise<string> {
  const given = process.env['CHROMIUM'];
  for (const bin of given ? [given] : CHROMIUM_NAMES) {
    try {
      await run(bin, ['--version'], { timeout: 30_000 });
      return bin;
    } catch {
      // try the next name
    }
  }
  throw new Error(
    `headless Chromium not found (tried ${given ?? CHROMIUM_NAMES.join(', ')}): apt-get install -y chromium, or set CHROMIUM`,
  );
}

async function headless(bin: string, args: string[]): Promise<string> {
  // own profile dir: parallel runs of other tests or people never share a Chromium profile lock
  const profile = mkdtempSync(path.join(tmpdir(), 'recsys-chromium-'));
  try {
    const r = await run(
      bin,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--hide-scrollbars',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return r.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The DOM after Chromium parsed and laid out the page. */
export function dumpDom(bin: string, file: string): Promise<string> {
  return headless(bin, ['--dump-dom', `file://${file}`]);
}

export async function screenshot(
  bin: string,
  file: string,
  out: string,
  width = 1200,
  height = 2800,
): Promise<void> {
  await headless(bin, [`--screenshot=${out}`, `--window-size=${width},${height}`, `file://${file}`]);
}
