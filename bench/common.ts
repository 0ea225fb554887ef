// Shared by the benchmarks: a context under its own throw-away prefix, and its removal.
import { createRequire } from 'node:module';
import { createContext, type AppContext } from '../src/app/context.ts';
import { loadConfig, settingsFileEnv, type SettingsOverrides } from '../src/config/index.ts';
import { removeDeployment } from '../src/setup/teardown.ts';

/**
 * A context under its own prefix: `settings` override the settings file (./recsys.toml or
 * RECSYS_CONFIG), `env` adds deployment variables to the process environment.
 */
export function benchContext(
  name: string,
  settings: SettingsOverrides = {},
  env: Record<string, string | undefined> = {},
): AppContext & { tag: string } {
  const tag = `bench-${name}-${Date.now().toString(36)}-`;
  const ctx = createContext(
    loadConfig({
      env: { ...process.env, RECSYS_INDEX_PREFIX: tag, RECSYS_TOPIC_PREFIX: tag, LOG_LEVEL: 'warn', ...env },
      overrides: settings,
    }),
  );
  return { ...ctx, tag };
}

/** The environment that gives a child process these settings (src/config/settings-file.ts). */
export function settingsEnv(name: string, settings: SettingsOverrides): { RECSYS_CONFIG: string } {
  return settingsFileEnv(`bench-${name}`, settings);
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

interface AutocannonResult {
  requests: { total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
interface AutocannonInstance {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
type Autocannon = (
  opts: Record<string, unknown>,
  cb: (err: Error | null, res: AutocannonResult) => void,
) => AutocannonInstance;

export interface LoadResult {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  non2xx: number;
  errors: number;
  requests: number;
}

/**
 * GET load on loopback with autocannon: `connections` at once for `seconds`, each request's path
 * from `nextPath()`. Latencies of 2xx answers only; req/s = 2xx answers per second.
 */
export async function httpLoad(
  url: string,
  opts: { connections: number; seconds: number; nextPath: () => string },
): Promise<LoadResult> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const latencies: number[] = [];
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const inst = autocannon(
      {
        url,
        connections: opts.connections,
        duration: opts.seconds,
        requests: [
          { method: 'GET', setupRequest: (req: { path: string }) => ({ ...req, path: opts.nextPath() }) },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    inst.on('response', (_c, status, _b, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
  latencies.sort((x, y) => x - y);
  return {
    rps: latencies.length / result.duration,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    requests: result.requests.total,
  };
}

/**
 * Writes events straight into their event-store buckets (no Kafka, no ledger: a benchmark's
 * fixture, not the ingest path), two bulk requests in flight; stops after `limit` events.
 */
export async function loadEventsDirect(
  ctx: AppContext,
  events: Iterable<{ event_id: string; timestamp: string }>,
  opts: { limit?: number; onProgress?: (n: number) => void } = {},
): Promise<number> {
  const { es, names } = ctx;
  const limit = opts.limit ?? Infinity;
  let ops: unknown[] = [];
  let n = 0;
  const inflight = new Set<Promise<void>>();
  const send = (body: unknown[]) =>
    es
      .bulk({ operations: body, filter_path: 'errors,items.*.error' }, { requestTimeout: 600_000 })
      .then((r) => {
        if (r.errors)
          throw new Error(
            `bulk load refused documents: ${JSON.stringify(r.items.find((i) => Object.values(i)[0]?.error))}`,
          );
      });
  for (const e of events) {
    if (n >= limit) break;
    ops.push({ create: { _index: names.eventsIndex(new Date(e.timestamp)), _id: e.event_id } }, e);
    n++;
    if (ops.length >= 20_000) {
      const p = send(ops);
      inflight.add(p);
      void p.finally(() => inflight.delete(p)).catch(() => undefined);
      ops = [];
      if (inflight.size >= 2) await Promise.race(inflight);
      opts.onProgress?.(n);
    }
  }
  if (ops.length) await send(ops);
  await Promise.all(inflight);
  return n;
}
