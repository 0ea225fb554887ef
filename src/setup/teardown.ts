import type { Client } from '@elastic/elasticsearch';
import type { Kafka } from 'kafkajs';
import type { Config } from '../config/index.ts';

/**
 * Removes everything one deployment owns under its prefixes: indices (unless kept), index
 * templates, topics and consumer groups. For throw-away prefixes (tests, benchmarks, the demo);
 * refuses an empty prefix, which would mean someone's whole cluster.
 */
export async function removeDeployment(
  es: Client,
  kafka: Kafka,
  config: Pick<Config, 'indexPrefix' | 'topicPrefix'>,
  opts: { keepIndices?: boolean } = {},
): Promise<void> {
  const p = config.indexPrefix;
  const t = config.topicPrefix;
  if (!p || !t) throw new Error('refusing to remove a deployment with an empty index or topic prefix');
  if (!opts.keepIndices)
    await es.indices.delete({ index: `${p}*`, ignore_unavailable: true, expand_wildcards: 'all' });
  await es.indices.deleteIndexTemplate({ name: `${p}*` }).catch(() => undefined);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((x) => x.startsWith(t));
    if (topics.length) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(t));
    if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
    // topic deletion is asynchronous in Kafka: wait (bounded) until the names are free again
    for (let i = 0; i < 100 && (await admin.listTopics()).some((x) => topics.includes(x)); i++)
      await new Promise((r) => setTimeout(r, 200));
  } finally {
    await admin.disconnect();
  }
}
