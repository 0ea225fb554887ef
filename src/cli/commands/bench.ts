import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { PROJECT_ROOT } from '../../config/index.ts';
import { ValidationError } from '../../errors/index.ts';

const BENCH_DIR = path.join(PROJECT_ROOT, 'bench');

/** Every bench/<name>/run.ts: the folder is the list, so a new benchmark needs no second entry here. */
function benches(): string[] {
  if (!existsSync(BENCH_DIR)) return [];
  return readdirSync(BENCH_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(BENCH_DIR, d.name, 'run.ts')))
    .map((d) => d.name)
    .sort();
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench <name> [args...]')
    .description(`run a benchmark under bench/ (${benches().join(', ')}); extra args are passed through`)
    .allowUnknownOption()
    .action((name: string, args: string[]) => {
      const known = benches();
      if (!known.includes(name))
        throw new ValidationError(`unknown benchmark "${name}" (have: ${known.join(', ')})`);
      const script = path.join(BENCH_DIR, name, 'run.ts');
      const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
        stdio: 'inherit',
        cwd: PROJECT_ROOT,
      });
      process.exitCode = r.status ?? 1;
    });
}
