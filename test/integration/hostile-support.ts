// Helpers shared by the hostile-input suite (hostile-*.test.ts): a fresh deployment per test, the
// dead-letter topic read to its end, raw HTTP calls and poison payloads.

import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { onTestFinished } from 'vitest';
import type { Kafka } from 'kafkajs';
import { setup } from '../../src/setup/index.ts';
import { consumerLag } from '../../src/infra/consumer-groups.ts';
import type { SettingsOverrides } from '../../src/config/index.ts';
import { testContext } from './harness.ts';
import { topicSize, withAdmin } from './kafka-wait.ts';
import { waitUntil } from './wait.ts';
import type { DeadLetter } from '../../src/infra/dead-letter.ts';

export type Ctx = ReturnType<typeof testContext>;

/** A context with mappings and topics set up, removed (last-first with `defer`red cleanups) when the test ends. */
export async function freshDeployment(label: string, settings: SettingsOverrides = {}) {
  const ctx = testContext(label, settings);
  const cleanups: Array<() => Promise<void> | void> = [];
  const defer = (fn: () => Promise<void> | void) => void cleanups.push(fn);
  onTestFinished(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  defer(() => ctx.dispose());
  await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
  return { ctx, defer };
}

export type Letter = DeadLetter;

/** A dead letter with the size of its Kafka record value as stored on the topic. */
export type ReadLetter = Letter & { recordBytes: number };

/**
 * Every dead letter on `topic` so far. Call once the sinks have committed to the end of their
 * topics: letters are acknowledged before offsets are committed, so the DLQ's log end is final then.
 */
export async function readDlq(ctx: Ctx, topic = ctx.names.topics.dlq): Promise<ReadLetter[]> {
  const total = await topicSize(ctx.kafka, topic);
  const letters: ReadLetter[] = [];
  if (total === 0) return letters;
  const consumer = ctx.kafka.consumer({
    groupId: `${ctx.config.topicPrefix}dlq-reader-${randomBytes(3).toString('hex')}`,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) =>
        void letters.push({
          ...(JSON.parse(message.value!.toString('utf8')) as Letter),
          recordBytes: message.value!.length,
        }),
    });
    await waitUntil(`all ${total} dead letters read`, async () => letters.length >= total, 60_000);
  } finally {
    await consumer.disconnect();
  }
  return letters;
}

/** Total lag of `groupId` on `topic` (uncommitted partitions count from the log start). */
export async function groupLag(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  return withAdmin(kafka, async (admin) =>
    (await consumerLag(admin, groupId, topic)).reduce((a, l) => a + l.lag, 0),
  );
}

/** Members of `groupId` as the broker reports them. */
export async function groupMembers(kafka: Kafka, groupId: string): Promise<number> {
  return withAdmin(
    kafka,
    async (admin) => (await admin.describeGroups([groupId])).groups[0]?.members.length ?? 0,
  );
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Random bytes that are not valid UTF-8 (checked), i.e. a binary payload. */
export function binaryPoison(bytes: number): Buffer {
  for (let attempt = 0; attempt < 10; attempt++) {
    const b = randomBytes(bytes);
    if (!Buffer.from(b.toString('utf8'), 'utf8').equals(b)) return b;
  }
  throw new Error('could not make a non-UTF-8 payload');
}

/** Events in the store under the prefix (refreshed first). */
export async function storedEvents(ctx: Ctx): Promise<number> {
  const { es, names } = ctx;
  await es.indices.refresh({ index: names.eventsPattern, ignore_unavailable: true, allow_no_indices: true });
  return (await es.count({ index: names.eventsPattern, ignore_unavailable: true, allow_no_indices: true }))
    .count;
}

/** How many stored documents carry each of `ids` as event_id (exactly once = 1 each). */
export async function eventIdCounts(ctx: Ctx, ids: string[]): Promise<Map<string, number>> {
  const { es, names } = ctx;
  await es.indices.refresh({ index: names.eventsPattern, ignore_unavailable: true, allow_no_indices: true });
  const r = await es.search({
    index: names.eventsPattern,
    size: 0,
    query: { terms: { event_id: ids } },
    aggs: { ids: { terms: { field: 'event_id', size: ids.length + 10 } } },
  });
  const buckets = (r.aggregations!['ids'] as { buckets: Array<{ key: string; doc_count: number }> }).buckets;
  return new Map(buckets.map((b) => [b.key, b.doc_count]));
}

export interface Reply {
  status: number;
  text: string;
  body: Record<string, unknown> & { error?: { code: string; message: string; field?: string } };
}

/** One HTTP call; the body is parsed when it is JSON, kept as text either way. */
export async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(url + path, init);
  const text = await res.text();
  let parsed: Reply['body'] = {};
  try {
    parsed = text ? (JSON.parse(text) as Reply['body']) : {};
  } catch {
    parsed = {};
  }
  return { status: res.status, text, body: parsed };
}

/** Anything Elasticsearch would put in an error it returns: none of it may reach a client. */
export const ES_ERROR_TEXT =
  /exception|index_not_found|invalid_index_name|illegal_argument|ResponseError|root_cause|caused_by|elasticsearch/i;

/** A request whose path goes on the wire exactly as given (fetch would resolve `..` segments first). */
export function rawRequest(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method, path, headers, timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
