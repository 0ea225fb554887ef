import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Client } from '@elastic/elasticsearch';
import { PROJECT_ROOT } from '../../src/config/index.ts';
import { LOCAL_ES_URL } from '../../src/infra/clients.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { consumerLag } from '../../src/infra/consumer-groups.ts';
import { EventProducer } from '../../src/ingest/producer.ts';
import { startIngest } from '../../src/ingest/service.ts';
import { setup } from '../../src/setup/index.ts';
import { onClient, settingsEnv, testContext } from './harness.ts';
import { startTcpProxy } from './tcp-proxy.ts';
import { topicSize } from './kafka-wait.ts';
import { waitUntil } from './wait.ts';

const TYPES = ['page_view', 'click', 'add_to_cart', 'like', 'purchase'];
const DAY0 = Date.parse('2026-10-01T00:00:00Z');

function validEvent(n: number, runTag: string) {
  return {
    event_id: `${runTag}-${n}`,
    user_id: `u${n % 500}`,
    item_id: `i${(n * 7) % 1000}`,
    event_type: TYPES[n % TYPES.length]!,
    // spread over 5 days so several daily indices are written
    timestamp:
      n % 2 ? new Date(DAY0 + (n % 5) * 86_400_000 + n).toISOString() : DAY0 + (n % 5) * 86_400_000 + n,
    context: { device: n % 3 ? 'mobile' : 'desktop', referrer: 'search' },
  };
}

/** 100 invalid messages of six kinds, each refused before Elasticsearch sees it. */
function invalidMessages(runTag: string): Array<{ key: string; value: string; kind: string }> {
  const out: Array<{ key: string; value: string; kind: string }> = [];
  const base = (i: number) => validEvent(1_000_000 + i, runTag);
  for (let i = 0; i < 20; i++)
    out.push({ kind: 'invalid_json', key: 'bad', value: `{"user_id": "u1", oops ${i}` });
  for (let i = 0; i < 15; i++) {
    const { user_id: _u, ...e } = base(i);
    out.push({ kind: 'schema:user_id', key: 'bad', value: JSON.stringify(e) });
  }
  for (let i = 0; i < 15; i++)
    out.push({
      kind: 'schema:timestamp',
      key: 'bad',
      value: JSON.stringify({ ...base(100 + i), timestamp: 'yesterday-ish' }),
    });
  for (let i = 0; i < 15; i++)
    out.push({
      kind: 'schema:event_type',
      key: 'bad',
      value: JSON.stringify({ ...base(200 + i), event_type: 'teleport' }),
    });
  for (let i = 0; i < 15; i++)
    out.push({ kind: 'schema:weight', key: 'bad', value: JSON.stringify({ ...base(300 + i), weight: -2 }) });
  // an object under a keyword field: once stored-then-refused by the mapping, now refused by the schema
  for (let i = 0; i < 20; i++)
    out.push({
      kind: 'schema:context.device',
      key: 'bad',
      value: JSON.stringify({ ...base(400 + i), context: { device: { brand: 'x' } } }),
    });
  return out;
}

type Letter = {
  error: { reason: string; field?: string; message: string };
  original: string;
  source: { partition: number; offset: string };
};

/**
 * Each test runs on its own topics, group and event indices (fresh prefix + setup), so counts,
 * lag and dead letters are that test's alone, whatever ran before it. Removed when the test ends.
 */
async function freshIngest() {
  const ctx = testContext('ingest', { ingest: { batchSize: 1000 } });
  const { es, names } = ctx;
  const producer = new EventProducer(ctx.kafka, names.topics.events);
  // undone last-first when the test ends, pass or fail
  const cleanups: Array<() => Promise<void> | void> = [];
  const defer = (fn: () => Promise<void> | void) => void cleanups.push(fn);
  onTestFinished(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  defer(() => ctx.dispose());
  defer(() => producer.disconnect());
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);

  async function storedCount(): Promise<number> {
    await es.indices.refresh({
      index: names.eventsPattern,
      ignore_unavailable: true,
      allow_no_indices: true,
    });
    return (await es.count({ index: names.eventsPattern, ignore_unavailable: true, allow_no_indices: true }))
      .count;
  }

  /** Exact number of distinct event_ids across all daily indices (composite paging, not HLL). */
  async function distinctIds(): Promise<number> {
    let after: Record<string, string> | undefined;
    let distinct = 0;
    for (;;) {
      const r = await es.search({
        index: names.eventsPattern,
        size: 0,
        aggs: {
          ids: {
            composite: {
              size: 10_000,
              sources: [{ id: { terms: { field: 'event_id' } } }],
              ...(after ? { after } : {}),
            },
          },
        },
      });
      const agg = r.aggregations!['ids'] as {
        buckets: Array<{ doc_count: number }>;
        after_key?: Record<string, string>;
      };
      distinct += agg.buckets.length;
      if (!agg.after_key || agg.buckets.length === 0) return distinct;
      after = agg.after_key;
    }
  }

  async function totalLag(): Promise<number> {
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      return (await consumerLag(admin, names.groups.ingest, names.topics.events)).reduce(
        (a, l) => a + l.lag,
        0,
      );
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Every dead letter written so far. Call once the ingest group has committed everything (lag 0):
   * letters are sent before the offsets of their batch are committed, so the DLQ's log end is then
   * final, and reading up to it shows exactly what is there — no "wait a bit for more".
   */
  async function readDlq(): Promise<Letter[]> {
    const total = await topicSize(ctx.kafka, names.topics.dlq);
    const letters: Letter[] = [];
    const consumer = ctx.kafka.consumer({
      groupId: `${ctx.config.topicPrefix}dlq-reader`,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: names.topics.dlq, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => void letters.push(JSON.parse(message.value!.toString())),
      });
      await waitUntil(`all ${total} dead letters read`, async () => letters.length >= total, 60_000);
    } finally {
      await consumer.disconnect();
    }
    return letters;
  }

  async function produceAll(runTag: string, from: number, to: number, withInvalid: boolean): Promise<void> {
    const valid = [];
    for (let n = from; n < to; n++)
      valid.push({ key: `u${n % 500}`, value: JSON.stringify(validEvent(n, runTag)) });
    const msgs = withInvalid ? [...valid, ...invalidMessages(runTag)] : valid;
    // interleave invalid messages through the stream rather than at the end
    msgs.sort(
      (a, b) => ((a.value.length * 31 + a.key.length) % 97) - ((b.value.length * 31 + b.key.length) % 97),
    );
    for (let i = 0; i < msgs.length; i += 2000) await producer.sendRaw(msgs.slice(i, i + 2000));
  }

  /** startIngest on this prefix, stopped when the test ends (or earlier by the test). */
  async function ingest(es2 = es) {
    const registry = createRegistry(false);
    const svc = await startIngest(onClient(ctx, es2), registry, { lagIntervalMs: 1000 });
    let stopped = false;
    const stop = async () => {
      if (!stopped) await svc.stop();
      stopped = true;
    };
    defer(stop);
    return { registry, stop };
  }

  return { ctx, es, names, defer, storedCount, distinctIds, totalLag, readDlq, produceAll, ingest };
}

describe('ingest: Kafka → event store', () => {
  it('stores exactly the 9,900 valid of 10,000 events and dead-letters the 100 invalid with reasons', async () => {
    const { es, names, storedCount, totalLag, readDlq, produceAll, ingest } = await freshIngest();
    await ingest();
    await produceAll('a', 0, 9_900, true);
    await waitUntil('9,900 events stored', async () => (await storedCount()) === 9_900, 120_000);
    await waitUntil('lag 0', async () => (await totalLag()) === 0, 60_000);
    const letters = await readDlq();
    expect(letters).toHaveLength(100);
    const kinds = letters.map((l) =>
      l.error.reason === 'schema'
        ? `schema:${l.error.field}`
        : l.error.reason === 'invalid_json'
          ? 'invalid_json'
          : 'mapping',
    );
    const count = (k: string) => kinds.filter((x) => x === k).length;
    expect(count('invalid_json')).toBe(20);
    expect(count('schema:user_id')).toBe(15);
    expect(count('schema:timestamp')).toBe(15);
    expect(count('schema:event_type')).toBe(15);
    expect(count('schema:weight')).toBe(15);
    expect(count('schema:context.device')).toBe(20);
    for (const l of letters) {
      expect(l.error.message.length).toBeGreaterThan(0);
      expect(l.original.length).toBeGreaterThan(0);
      expect(Number(l.source.offset)).toBeGreaterThanOrEqual(0);
    }
    // epoch-ms timestamps were normalised to ISO and routed to their day's index
    const sample = await es.get<{ timestamp: string }>({
      index: names.eventsIndex(new Date(DAY0)),
      id: 'a-0',
    });
    expect(sample._source!.timestamp).toBe(new Date(DAY0).toISOString());
    expect(await storedCount()).toBe(9_900);
  });

  it('replaying the same 10,000 events stores nothing twice', async () => {
    const { storedCount, distinctIds, totalLag, produceAll, ingest } = await freshIngest();
    const svc = await ingest();
    await produceAll('a', 0, 9_900, true);
    await waitUntil('first pass stored (9,900)', async () => (await storedCount()) === 9_900, 120_000);
    await produceAll('a', 0, 9_900, true);
    await waitUntil('replay consumed (lag 0)', async () => (await totalLag()) === 0, 120_000);
    expect(await storedCount()).toBe(9_900);
    expect(await distinctIds()).toBe(9_900);
    await svc.stop();
  });

  it('a consumer killed with SIGKILL mid-stream and restarted ends with the exact count, no duplicates', async () => {
    const { ctx, storedCount, distinctIds, totalLag, produceAll } = await freshIngest();
    const env = {
      ...process.env,
      RECSYS_INDEX_PREFIX: ctx.config.indexPrefix,
      RECSYS_TOPIC_PREFIX: ctx.config.topicPrefix,
      INGEST_METRICS_PORT: '0',
      ...settingsEnv({ ingest: { batchSize: 500 } }),
      LOG_LEVEL: 'warn',
    };
    // node itself (not the tsx wrapper, which forks) so SIGKILL hits the consumer process
    const start = (): ChildProcess =>
      spawn(
        process.execPath,
        ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'cli', 'index.ts'), 'ingest'],
        { env, stdio: 'ignore', cwd: PROJECT_ROOT },
      );
    await produceAll('b', 0, 30_000, false);
    let child = start();
    await waitUntil('some of the events stored', async () => (await storedCount()) > 2_000, 120_000, 100);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const atKill = await storedCount();
    expect(atKill).toBeLessThan(30_000); // really mid-stream
    child = start();
    try {
      await waitUntil('all 30,000 stored', async () => (await storedCount()) === 30_000, 180_000);
      await waitUntil('lag 0', async () => (await totalLag()) === 0, 60_000);
      expect(await storedCount()).toBe(30_000);
      expect(await distinctIds()).toBe(30_000);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

  it('holds and retries while Elasticsearch is unreachable, commits nothing meanwhile, and catches up exactly', async () => {
    const { ctx, defer, storedCount, distinctIds, totalLag, produceAll, ingest } = await freshIngest();
    const proxy = await startTcpProxy({
      host: '127.0.0.1',
      port: Number(new URL(ctx.config.es.url ?? LOCAL_ES_URL).port || 9200),
    });
    const cutEs = new Client({
      node: `http://127.0.0.1:${proxy.port}`,
      requestTimeout: 5_000,
      maxRetries: 0,
    });
    defer(async () => {
      await cutEs.close();
      await proxy.close();
    });
    const svc = await ingest(cutEs);
    defer(() => proxy.restore()); // if the test fails while cut, let the sink finish before it stops
    proxy.cut();
    await produceAll('c', 0, 5_000, false);
    // the sink has a batch in hand that ES refused, and has already tried it again
    const unavailable = async () =>
      (await svc.registry.getSingleMetric('recsys_ingest_es_unavailable')!.get()).values[0]?.value === 1;
    await waitUntil('the sink waits for ES with a batch in hand', unavailable, 60_000, 50);
    const refusedAtFirstWait = proxy.refused;
    await waitUntil(
      'the sink has retried the write',
      async () => proxy.refused > refusedAtFirstWait,
      60_000,
      50,
    );
    expect(await unavailable()).toBe(true);
    expect(await storedCount()).toBe(0);
    expect(await totalLag()).toBe(5_000); // nothing committed while ES was away
    proxy.restore();
    await waitUntil(
      'all 5,000 stored after ES is back',
      async () => (await storedCount()) === 5_000,
      120_000,
    );
    await waitUntil('lag 0', async () => (await totalLag()) === 0, 60_000);
    expect(await distinctIds()).toBe(5_000);
    await svc.stop();
  });
});
