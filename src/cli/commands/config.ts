import type { Command } from 'commander';
import { loadSettings } from '../../config/index.ts';
import { renderExampleConfig } from '../../config/docs.ts';
import { renderEffectiveConfig } from '../../config/explain.ts';

export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description(
      'print every effective setting, its value and its source (default, file, env, override); secrets masked',
    )
    .option('--example', 'print the commented example settings file (every setting at its default) instead')
    .action((o: { example?: boolean }) => {
      process.stdout.write(o.example ? renderExampleConfig() : renderEffectiveConfig(loadSettings()));
    });
}
