import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config/index.ts';
import type { Client } from '@elastic/elasticsearch';
import { createContext, type AppContext } from '../../src/app/context.ts';
import { createRepositories } from '../../src/repositories/index.ts';
import { removeDeployment } from '../../src/setup/teardown.ts';

/**
 * A context on the real ES and Kafka with its own index prefix and topic prefix, so test files
 * never see each other's data. `dispose` deletes everything under the prefix.
 */
export function testContext(label: string, env: Record<string, string> = {}): AppContext & { dispose(): Promise<void> } {
  const id = `${label}-${randomBytes(3).toString('hex')}`.toLowerCase();
  const config: Config = loadConfig({
    ...process.env,
    RECSYS_INDEX_PREFIX: `t-${id}-`,
    RECSYS_TOPIC_PREFIX: `t-${id}-`,
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
    KAFKA_PARTITIONS: '3',
    // a test about something else trains with what it configures; tuning tests turn the tuner on
    TUNE_MODE: 'off',
    ...env,
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

/** The same context talking to Elasticsearch through another client (a proxy that cuts or throttles it). */
export function onClient<T extends AppContext>(ctx: T, es: Client): T {
  return { ...ctx, es, repos: createRepositories(es, ctx.names, { filterFields: ctx.config.api.filterFields }) };
}
