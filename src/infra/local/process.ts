import { execFile, spawn } from 'node:child_process';
import { openSync, readFileSync, existsSync, writeFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';

export const execFileAsync = promisify(execFile);

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Starts a long-running process detached from ours, output to a log file, pid recorded. */
export function startDetached(
  cmd: string,
  args: string[],
  opts: { logFile: string; pidFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): number {
  const out = openSync(opts.logFile, 'a');
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  child.unref();
  if (!child.pid) throw new Error(`could not start ${cmd}`);
  writeFileSync(opts.pidFile, String(child.pid));
  return child.pid;
}

/** SIGTERM by recorded pid, wait, then SIGKILL: never kills by process name. */
export async function stopByPidFile(pidFile: string, timeoutMs = 60_000): Promise<'stopped' | 'not-running'> {
  const pid = readPid(pidFile);
  if (!pid || !isAlive(pid)) {
    rmSync(pidFile, { force: true });
    return 'not-running';
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(250);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(100);
  rmSync(pidFile, { force: true });
  return 'stopped';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}
