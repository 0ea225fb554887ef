import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createContext } from '../../app/context.ts';
import { modelLifecycle } from '../../model/lifecycle.ts';
import { modelReport } from '../../release/report.ts';

export function registerReportCommand(program: Command): void {
  program
    .command('report <model_id>')
    .description('write the run report of a model: one self-contained HTML file with charts')
    .option('--out <file>', 'output file (default report-<model_id>.html)')
    .action(async (modelId: string, opts: { out?: string }) => {
      const ctx = createContext();
      try {
        const lifecycle = modelLifecycle(ctx);
        const html = await modelReport((id) => lifecycle.getPublic(id), modelId);
        if (!html) {
          console.error(`model ${modelId} does not exist`);
          process.exitCode = 1;
          return;
        }
        const out = path.resolve(opts.out ?? `report-${modelId}.html`);
        writeFileSync(out, html);
        console.log(`wrote ${out} (${(html.length / 1024).toFixed(0)} KiB)`);
      } finally {
        await ctx.close();
      }
    });
}
