// Shared by the benchmarks: a context under its own throw-away prefix, and its removal.
import { createContext, type AppContext } from '../src/app/context.ts';
import { loadConfig } from '../src/config/index.ts';
import { removeDeployment } from '../src/setup/teardown.ts';

export function benchContext(name: string, env: Record<string, string | undefined> = {}): AppContext & { tag: string } {
  const tag = `bench-${name}-${Date.now().toString(36)}-`;
  const ctx = createContext(loadConfig({ ...process.env, RECSYS_INDEX_PREFIX: tag, RECSYS_TOPIC_PREFIX: tag, LOG_LEVEL: 'warn', ...env }));
  return { ...ctx, tag };
}

/** Deletes the benchmark's indices (unless kept for inspection) and topics, then closes the clients. */
export async function disposeBench(ctx: AppContext & { tag: string }, keepIndices = false): Promise<void> {
  await removeDeployment(ctx.es, ctx.kafka, ctx.config, { keepIndices });
  await ctx.close();
}

/** The p-th percentile of an ascending array (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
