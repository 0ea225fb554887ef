import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/index.ts';
import type { AppContext } from '../../src/app/context.ts';
import { settingsEnv } from './harness.ts';

// `recsys` commands as real child processes, each its own "machine" (its own working directory and
// environment). bin/recsys.js runs the CLI in its own process (tsx registered in-process, no fork),
// so a signal sent to the child reaches the command itself.

const CLI = path.join(PROJECT_ROOT, 'bin', 'recsys.js');

/** The environment of a child on the test's prefixes and cluster, plus `extra`. */
export function childEnv(ctx: AppContext, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return {
    ...env,
    RECSYS_INDEX_PREFIX: ctx.config.indexPrefix,
    RECSYS_TOPIC_PREFIX: ctx.config.topicPrefix,
    LOG_LEVEL: 'warn',
    // the harness's roomy request budgets, unless the test gives a settings file of its own
    ...settingsEnv({}),
    ...extra,
  };
}

export interface CliChild {
  proc: ChildProcess;
  /** stdout and stderr so far */
  output(): string;
  /** resolves with the exit code (null when killed by a signal) */
  exited: Promise<number | null>;
  /** signal (SIGTERM by default) and wait for the exit; a no-op once exited */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnCli(args: string[], opts: { env: Record<string, string>; cwd: string }): CliChild {
  const proc = spawn(process.execPath, [CLI, ...args], {
    env: opts.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (c) => {
      code = c;
      resolve(c);
    }),
  );
  return {
    proc,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM') {
      if (code !== undefined) return;
      proc.kill(signal);
      await exited;
    },
  };
}

/** Runs a command to its end; fails with its output when it exits non-zero. */
export async function runCli(
  args: string[],
  opts: { env: Record<string, string>; cwd: string },
): Promise<string> {
  const child = spawnCli(args, opts);
  const code = await child.exited;
  if (code !== 0) throw new Error(`recsys ${args.join(' ')} exited ${code}:\n${child.output().slice(-4000)}`);
  return child.output();
}

/** `recsys serve` on a free port; resolves with its base URL once it listens. */
export async function startApi(opts: {
  env: Record<string, string>;
  cwd: string;
}): Promise<CliChild & { url: string }> {
  const child = spawnCli(['serve'], { ...opts, env: { ...opts.env, PORT: '0' } });
  const deadline = Date.now() + 120_000;
  let url: string | undefined;
  while (!(url = /API listening on (http:\/\/\S+)/.exec(child.output())?.[1])) {
    if (child.proc.exitCode !== null || Date.now() > deadline) {
      await child.stop('SIGKILL');
      throw new Error(`recsys serve did not start listening:\n${child.output().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ...child, url: url! };
}
