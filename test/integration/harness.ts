import { randomBytes } from 'node:crypto';
import { loadConfig, settingsFileEnv, type Config, type SettingsOverrides } from '../../src/config/index.ts';
import type { Client } from '@elastic/elasticsearch';
import { createContext, type AppContext } from '../../src/app/context.ts';
import { createRepositories } from '../../src/repositories/index.ts';
import { removeDeployment } from '../../src/setup/teardown.ts';
import { itemMetadata, type DemoItem } from '../../src/demo/generate.ts';

/**
 * Request budgets ([serving] *_deadline_ms) suit an interactive page, not a cold first request on a
 * shared test machine: tests about something else get room (deadlines.test.ts runs with the defaults).
 */
const ROOMY_BUDGETS = { deadlineMs: 15_000, writeDeadlineMs: 15_000, adminDeadlineMs: 60_000 };

/**
 * A context on the real ES and Kafka with its own index prefix and topic prefix, so test files
 * never see each other's data. `settings` override the defaults (no settings file is read, so a
 * developer's ./recsys.toml never changes a test); `env` adds deployment variables.
 * `dispose` deletes everything under the prefix.
 */
export function testContext(
  label: string,
  settings: SettingsOverrides = {},
  env: Record<string, string> = {},
): AppContext & { dispose(): Promise<void> } {
  const id = `${label}-${randomBytes(3).toString('hex')}`.toLowerCase();
  const config: Config = loadConfig({
    env: {
      ...process.env,
      RECSYS_INDEX_PREFIX: `t-${id}-`,
      RECSYS_TOPIC_PREFIX: `t-${id}-`,
      LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
      KAFKA_PARTITIONS: '3',
      ...env,
    },
    file: null,
    // a test about something else trains with what it configures; tuning tests turn the tuner on
    overrides: {
      ...settings,
      tune: { mode: 'off', ...settings.tune },
      serving: { ...ROOMY_BUDGETS, ...settings.serving },
    },
  });
  const ctx = createContext(config);
  return {
    ...ctx,
    async dispose() {
      await removeDeployment(ctx.es, ctx.kafka, ctx.config);
      await ctx.close();
    },
  };
}

/** The environment that gives a child process these settings (src/config/settings-file.ts), with the same roomy request budgets. */
export function settingsEnv(settings: SettingsOverrides): { RECSYS_CONFIG: string } {
  return settingsFileEnv('test', { ...settings, serving: { ...ROOMY_BUDGETS, ...settings.serving } });
}

/** The same context talking to Elasticsearch through another client (a proxy that cuts or throttles it). */
export function onClient<T extends AppContext>(ctx: T, es: Client): T {
  return {
    ...ctx,
    es,
    repos: createRepositories(es, ctx.names, { filterFields: ctx.config.serving.filterFields }),
  };
}

/**
 * Writes a generated catalogue and its events straight into the store, as the ingest sink would
 * (one create per event into its bucket) but around its validation, then makes them searchable.
 * Any refused row fails the test.
 */
export async function loadDirect(
  ctx: AppContext,
  data: { items: readonly DemoItem[]; events: ReadonlyArray<{ event_id: string; timestamp: string }> },
): Promise<void> {
  const { es, names } = ctx;
  const ops: object[] = [];
  for (const item of data.items)
    ops.push({ index: { _index: names.itemMetadata, _id: item.item_id } }, itemMetadata(item));
  for (const e of data.events)
    ops.push({ create: { _index: names.eventsIndex(new Date(e.timestamp)), _id: e.event_id } }, e);
  for (let i = 0; i < ops.length; i += 10_000) {
    const r = await es.bulk({ operations: ops.slice(i, i + 10_000), filter_path: 'errors,items.*.error' });
    if (r.errors)
      throw new Error(
        `loadDirect: the store refused rows: ${JSON.stringify(r.items.find((it) => Object.values(it)[0]?.error))}`,
      );
  }
  await es.indices.refresh({ index: `${names.eventsPattern},${names.itemMetadata}` });
}

/** Runs fn(0 … n−1) with at most `concurrency` calls in flight; results in index order. */
export async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}
