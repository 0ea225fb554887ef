import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import { ES_VERSIONS } from '../../src/infra/local/index.ts';
import { setup } from '../../src/setup/index.ts';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import { testContext } from './harness.ts';
import { waitForGroupCommittedToEnd } from './kafka-wait.ts';
import { waitUntil } from './wait.ts';

const ctx = testContext('infra');

afterAll(() => ctx.dispose());

describe('Elasticsearch', () => {
  it('answers and reports the version the client was built for', async () => {
    const info = await ctx.es.nodes.info({ node_id: '_local', filter_path: 'nodes.*.version' });
    const version = Object.values(info.nodes ?? {})[0]?.version ?? '';
    if (ctx.config.es.local) expect(version).toBe(ctx.config.es.localVersion);
    // a major the client speaks to: 8.x natively, 9.x through compatible-with=8
    expect(ES_VERSIONS.map((v) => v.split('.')[0])).toContain(version.split('.')[0]);
  });

  it('finds the nearest vectors with dense_vector + knn, in order', async () => {
    const index = `${ctx.config.indexPrefix}knn-check`;
    await ctx.es.indices.create({
      index,
      mappings: {
        properties: {
          v: {
            type: 'dense_vector',
            dims: 3,
            similarity: 'cosine',
            index: true,
            index_options: { type: 'hnsw' },
          },
        },
      },
    });
    const docs = {
      east: [1, 0, 0],
      north: [0, 1, 0],
      up: [0, 0, 1],
      northeast: [1, 1, 0],
      mostlyEast: [1, 0.1, 0],
    };
    await ctx.es.bulk({
      refresh: true,
      operations: Object.entries(docs).flatMap(([id, v]) => [{ index: { _index: index, _id: id } }, { v }]),
    });
    const res = await ctx.es.search({
      index,
      knn: { field: 'v', query_vector: [1, 0.05, 0], k: 3, num_candidates: 10 },
      _source: false,
    });
    expect(res.hits.hits.map((h) => h._id)).toEqual(['mostlyEast', 'east', 'northeast']);
  });
});

describe('Kafka with kafkajs', () => {
  const topic = `${ctx.config.topicPrefix}roundtrip`;
  const groupId = `${ctx.config.topicPrefix}roundtrip-group`;

  beforeAll(async () => {
    const admin = ctx.kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    });
    await admin.disconnect();
  });

  const PARTITIONS = [0, 1, 2];

  /** One marker per partition, after everything already in it. */
  async function produceMarkers(marker: string): Promise<void> {
    const producer = ctx.kafka.producer({
      idempotent: true,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: PARTITIONS.map((partition) => ({ partition, value: `${marker}:${partition}` })),
    });
    await producer.disconnect();
  }

  /**
   * Runs the group until it has read `marker` on every partition; returns what it read before the
   * markers. A message re-read after a restart sits before the marker of its partition, so it shows
   * up here without waiting "a little longer". Disconnects only once the group has committed the
   * log end, so the commit is what the next consumer starts from.
   */
  async function consumeUntilMarkers(marker: string): Promise<string[]> {
    const seen: string[] = [];
    const markers = new Set<string>();
    const consumer = ctx.kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const v = message.value!.toString();
          if (v.startsWith(`${marker}:`)) markers.add(v);
          else seen.push(v);
        },
      });
      await waitUntil(
        `marker ${marker} read on every partition`,
        async () => markers.size === PARTITIONS.length,
        60_000,
        100,
      );
      await waitForGroupCommittedToEnd(ctx.kafka, groupId, topic);
    } finally {
      await consumer.disconnect();
    }
    return seen;
  }

  it('produces 1,000 messages, a group reads exactly those, commits, and a restart reads none again', async () => {
    const producer = ctx.kafka.producer({
      idempotent: true,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const sent = Array.from({ length: 1000 }, (_, i) => `m${i}`);
    await producer.send({
      topic,
      acks: -1,
      messages: sent.map((value, i) => ({ key: `k${i % 37}`, value })),
    });
    await producer.disconnect();

    await produceMarkers('end-1');
    const first = await consumeUntilMarkers('end-1');
    expect(first.length).toBe(1000);
    expect(new Set(first)).toEqual(new Set(sent));

    await produceMarkers('end-2');
    const second = await consumeUntilMarkers('end-2');
    expect(second).toEqual([]);
  });
});

describe('setup', () => {
  it('is idempotent: a second run creates nothing and fails on nothing', async () => {
    const first = await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
    expect(first.indicesCreated).toEqual(expect.arrayContaining([ctx.names.itemMetadata, ctx.names.models]));
    expect(first.topicsCreated).toEqual([
      ctx.names.topics.events,
      ctx.names.topics.dlq,
      ctx.names.topics.recommendations,
    ]);
    const second = await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
    expect(second.indicesCreated).toEqual([]);
    expect(second.topicsCreated).toEqual([]);
    expect(second.indicesExisting.length).toBe(first.indicesCreated.length);
    const tpl = await ctx.es.indices.getIndexTemplate({ name: ctx.names.eventsTemplate });
    expect(tpl.index_templates[0]?.index_template.index_patterns).toEqual([
      `${ctx.config.indexPrefix}events-*`,
    ]);
  });
});

describe('config', () => {
  const env = (vars: Record<string, string>) => ({ env: vars, file: null });
  it('names the bad variable or setting', () => {
    expect(() => loadConfig(env({ PORT: 'eighty' }))).toThrowError(ConfigError);
    expect(() => loadConfig(env({ PORT: 'eighty' }))).toThrowError(/PORT/);
    expect(() => loadConfig(env({ ES_URL: 'not a url' }))).toThrowError(/ES_URL/);
    expect(() => loadConfig(env({ KAFKA_BROKERS: 'a:1,,b:2' }))).toThrowError(/KAFKA_BROKERS/);
    expect(() =>
      loadConfig({ ...env({}), overrides: { events: { weights: { purchase: -1 } } } }),
    ).toThrowError(/\[events\.weights\] purchase/);
    expect(() => loadConfig({ ...env({}), overrides: { als: { solver: 'sgd' as 'cg' } } })).toThrowError(
      /\[als\] solver/,
    );
  });

  it('selects external clusters when ES_URL / KAFKA_BROKERS are set', () => {
    const c = loadConfig(env({ ES_URL: 'https://es.example:9200', KAFKA_BROKERS: 'k1:9092,k2:9092' }));
    expect(c.es.local).toBe(false);
    expect(c.kafka.local).toBe(false);
    expect(c.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
  });
});
