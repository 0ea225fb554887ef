import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config/index.ts';
import { createContext, type AppContext } from '../../src/cli/context.ts';

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
    ...env,
  });
  const ctx = createContext(config);
  return {
    ...ctx,
    async dispose() {
      const p = ctx.config.indexPrefix;
      await ctx.es.indices.delete({ index: `${p}*`, ignore_unavailable: true, expand_wildcards: 'all' }).catch(() => undefined);
      await ctx.es.indices.deleteIndexTemplate({ name: `${p}*` }).catch(() => undefined);
      const admin = ctx.kafka.admin();
      await admin.connect();
      try {
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(ctx.config.topicPrefix));
        if (topics.length) await admin.deleteTopics({ topics });
        const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(ctx.config.topicPrefix));
        if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
      } finally {
        await admin.disconnect();
      }
      await ctx.close();
    },
  };
}
