import type { Command } from 'commander';
import { startServer } from '../../api/app.ts';
import { createRegistry } from '../../infra/metrics.ts';
import { createContext } from '../../app/context.ts';
import { stopOnSignal } from '../shutdown.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('REST API: recommendations, similar items, events, metadata, admin, /health, /metrics')
    .action(async () => {
      const ctx = createContext();
      const server = await startServer({ ctx, registry: createRegistry() });
      console.log(`API listening on ${server.url} (OpenAPI at ${server.url}/openapi.json)`);
      await stopOnSignal(
        async () => {
          await server.close();
          await ctx.close();
        },
        { log: ctx.log, graceMs: ctx.config.shutdownGraceSeconds * 1000 },
      );
    });
}
