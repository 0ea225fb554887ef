// What every bench calls when it finishes: its figures, with the exact command, the date and the
// machine, written to bench/figures/<bench>[-<variant>].json for `npm run bench:docs` to publish.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatLikeTree } from '../scripts/format-like-tree.ts';
import {
  checkFigures,
  FIGURES_DIR,
  figuresFileName,
  REPO_ROOT,
  type Figures,
  type FiguresTable,
  type Machine,
} from './figures.ts';

/**
 * Environment variables that change what a bench measures, recorded in front of the command so it
 * can be run again as it was: algorithm settings live in the settings file RECSYS_CONFIG names (the
 * only other variables are deployment settings: hosts, credentials, prefixes). Never credentials.
 */
const RECORDED_ENV = /^(?:RECSYS_CONFIG|KAFKA_PARTITIONS|KAFKA_REPLICATION_FACTOR)$/;

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The command line that ran this process, as one would type it from the repository root. */
export function commandLine(
  argv: readonly string[] = process.argv,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const script = path.relative(REPO_ROOT, path.resolve(argv[1] ?? ''));
  const vars = Object.keys(env)
    .filter((k) => RECORDED_ENV.test(k))
    .sort()
    .map((k) => `${k}=${quote(env[k] ?? '')}`);
  return [...vars, 'npx', 'tsx', script, ...argv.slice(2).map(quote)].join(' ');
}

export function thisMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? null,
    cores: cpus.length,
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    load_average: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export interface BenchFigures {
  /** the folder under bench/ */
  bench: string;
  /** a separate file for a shape of the bench published beside the default (e.g. train's 10m size) */
  variant?: string;
  /** what it measures, in one line */
  title: string;
  tables: FiguresTable[];
  notes?: string[];
}

/** Writes the figures file (prettier-formatted, as the tree is) and returns its path. */
export async function recordFigures(f: BenchFigures, dir = FIGURES_DIR): Promise<string> {
  const file = path.join(dir, figuresFileName(f.bench, f.variant));
  const figures: Figures = checkFigures(
    {
      bench: f.bench,
      ...(f.variant ? { variant: f.variant } : {}),
      title: f.title,
      command: commandLine(),
      date: new Date().toISOString(),
      machine: thisMachine(),
      tables: f.tables,
      ...(f.notes?.length ? { notes: f.notes } : {}),
    },
    file,
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, await formatLikeTree(file, JSON.stringify(figures)));
  console.log(`\nfigures written to ${path.relative(REPO_ROOT, file)} (publish with npm run bench:docs)`);
  return file;
}

/** A number rounded to `digits` decimals, for a figures cell. */
export function round(x: number, digits = 1): number {
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}
