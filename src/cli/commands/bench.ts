import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { PROJECT_ROOT } from '../../config/index.ts';

const BENCHES = ['ingest', 'ratings', 'backfill', 'train', 'deploy', 'query', 'retention', 'freshness'];

export function registerBenchCommand(program: Command): void {
  program
    .command('bench <name> [args...]')
    .description(`run a benchmark under bench/ (${BENCHES.join(', ')}); extra args are passed through`)
    .allowUnknownOption()
    .action((name: string, args: string[]) => {
      const script = path.join(PROJECT_ROOT, 'bench', name, 'run.ts');
      if (!BENCHES.includes(name) || !existsSync(script))
        throw new Error(`unknown benchmark "${name}" (have: ${BENCHES.join(', ')})`);
      const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
        stdio: 'inherit',
        cwd: PROJECT_ROOT,
      });
      process.exitCode = r.status ?? 1;
    });
}
