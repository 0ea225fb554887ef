import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CompressionTypes, type Producer } from 'kafkajs';
import { PROJECT_ROOT } from '../../src/config/index.ts';
import { generateDataset, itemMetadata } from '../../src/demo/generate.ts';
import { createProducer } from '../../src/infra/clients.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { startIngest } from '../../src/ingest/service.ts';
import { createRng } from '../../src/random/rng.ts';
import { runTraining } from '../../src/release/run.ts';
import { artifactPath } from '../../src/model/artifacts.ts';
import {
  binaryPoison,
  eventIdCounts,
  freshDeployment,
  groupLag,
  groupMembers,
  readDlq,
  sha256,
  storedEvents,
  type Ctx,
  type ReadLetter,
} from './hostile-support.ts';
import {
  committedOffsets,
  endOffsets,
  waitForGroupAssigned,
  waitForGroupCommittedToEnd,
} from './kafka-wait.ts';
import { settingsEnv } from './harness.ts';
import { waitUntil } from './wait.ts';

// Poison messages on the events topic (poison-proof pipeline issue, findings 1 and 2): one oversized
// message used to make an oversized dead letter, the broker refused it with a non-retriable error,
// and the consumer died with the message at the head of its partition, stalling it for good.

const PARTITIONS = 3;
/** the local broker's default message.max.bytes */
const BROKER_MAX_MESSAGE_BYTES = 1_048_588;

async function reliableProducer(ctx: Ctx, defer: (fn: () => Promise<void>) => void): Promise<Producer> {
  const producer = createProducer(ctx.kafka, 'reliable');
  await producer.connect();
  defer(() => producer.disconnect());
  return producer;
}

/** ~`bytes` of plain text (words from a small vocabulary, seeded), as the field of an otherwise valid event. */
function bigTextEvent(bytes: number): string {
  const words = [
    'alpha',
    'bravo',
    'charlie',
    'delta',
    'echo',
    'foxtrot',
    'golf',
    'hotel',
    'india',
    'juliet',
    'kilo',
    'lima',
    'mike',
    'november',
    'oscar',
    'papa',
  ];
  const rng = createRng(7);
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const w = words[Math.floor(rng.next() * words.length)]!;
    parts.push(w);
    n += w.length + 1;
  }
  return JSON.stringify({
    event_id: 'poison-text',
    user_id: 'u-poison',
    item_id: 'i-poison',
    event_type: 'click',
    timestamp: new Date().toISOString(),
    context: { referrer: parts.join(' ') },
  });
}

function expectBoundedLetter(
  letter: ReadLetter | undefined,
  poison: Buffer,
  at: { partition: number; offset: string },
): void {
  expect(letter, `letter for the poison at ${at.partition}/${at.offset}`).toBeDefined();
  const l = letter!;
  expect(l.source.partition).toBe(at.partition);
  expect(l.source.offset).toBe(at.offset);
  expect(l.original_truncated).toBe(true);
  expect(l.original_bytes).toBe(poison.length);
  expect(l.original_sha256).toBe(sha256(poison));
  // what the letter keeps of the payload is its beginning
  const kept =
    l.original_encoding === 'base64' ? Buffer.from(l.original, 'base64') : Buffer.from(l.original, 'utf8');
  expect(kept.length).toBeGreaterThan(0);
  expect(kept.length).toBeLessThan(poison.length);
  expect(poison.subarray(0, kept.length).equals(kept)).toBe(true);
  // the whole letter, as stored on the DLQ, is far below the broker's limit
  expect(l.recordBytes).toBeLessThan(128 * 1024);
}

describe('1. one oversized message does not kill ingest', () => {
  it('800 KB binary and ~2 MB gzip text: dead-lettered as bounded letters, valid events on every partition stored, group alive at lag 0, training still deploys', async () => {
    const { ctx, defer } = await freshDeployment('hbig', { als: { factors: 16, iterations: 8, threads: 1 } });
    const { names, kafka } = ctx;
    const topic = names.topics.events;
    const ingest = await startIngest(ctx, createRegistry(false), { lagIntervalMs: 1000 });
    defer(() => ingest.stop());
    const producer = await reliableProducer(ctx, defer);
    await waitForGroupAssigned(kafka, names.groups.ingest, topic, 90_000);

    // the poison, straight to partitions 0 and 1
    const binary = binaryPoison(800 * 1024);
    const text = Buffer.from(bigTextEvent(2 * 1024 * 1024));
    expect(text.length).toBeGreaterThan(2 * 1024 * 1024);
    expect(text.length).toBeGreaterThan(BROKER_MAX_MESSAGE_BYTES); // only compressed does it get onto the topic
    expect(gzipSync(text).length).toBeLessThan(BROKER_MAX_MESSAGE_BYTES / 2);
    const [binAt] = await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'poison-binary', value: binary, partition: 0 }],
    });
    const [textAt] = await producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: [{ key: 'poison-text', value: text, partition: 1 }],
    });
    const binOffset = binAt!.baseOffset!;
    const textOffset = textAt!.baseOffset!;

    // then enough valid events to train on, each user's events in one partition, users over all partitions
    const data = generateDataset({
      users: 300,
      items: 250,
      days: 28,
      seed: 31,
      events: 25_000,
      malformedFraction: 0,
    });
    const userIndex = new Map(data.users.map((u, i) => [u.user_id, i]));
    const messages = data.events.map((e) => ({
      key: e.user_id,
      value: JSON.stringify(e),
      partition: userIndex.get(e.user_id)! % PARTITIONS,
    }));
    for (let p = 0; p < PARTITIONS; p++) expect(messages.some((m) => m.partition === p)).toBe(true);
    // the first 30 (10 per partition) go first, and must be searchable with the poison ahead of them
    const firstPerPartition = Array.from({ length: PARTITIONS }, (_, p) =>
      messages.filter((m) => m.partition === p).slice(0, 10),
    ).flat();
    await producer.send({ topic, acks: -1, messages: firstPerPartition });
    const firstIds = firstPerPartition.map((m) => (JSON.parse(m.value) as { event_id: string }).event_id);
    await waitUntil(
      'the 30 valid events behind the poison are searchable',
      async () => [...(await eventIdCounts(ctx, firstIds)).values()].filter((c) => c === 1).length === 30,
      60_000,
      100,
    );

    const first = new Set(firstIds);
    const rest = messages.filter((m) => !first.has((JSON.parse(m.value) as { event_id: string }).event_id));
    for (let i = 0; i < rest.length; i += 5_000)
      await producer.send({ topic, acks: -1, messages: rest.slice(i, i + 5_000) });
    await waitUntil(
      `all ${data.events.length} valid events stored`,
      async () => (await storedEvents(ctx)) === data.events.length,
      150_000,
      500,
    );

    // the group is alive, read everything and committed it
    await waitForGroupCommittedToEnd(kafka, names.groups.ingest, topic, 90_000);
    expect(await groupLag(kafka, names.groups.ingest, topic)).toBe(0);
    expect(await groupMembers(kafka, names.groups.ingest)).toBeGreaterThanOrEqual(1);
    const ends = await endOffsets(kafka, topic);
    const committed = await committedOffsets(kafka, names.groups.ingest, topic);
    for (let p = 0; p < PARTITIONS; p++) expect(committed.get(p)).toBe(ends.get(p));

    // both poison messages are dead letters, once each, bounded, with their real size and hash
    const letters = await readDlq(ctx);
    expect(letters).toHaveLength(2);
    const binLetter = letters.find((l) => l.source.key === 'poison-binary');
    const textLetter = letters.find((l) => l.source.key === 'poison-text');
    expectBoundedLetter(binLetter, binary, { partition: 0, offset: binOffset });
    expect(binLetter!.original_encoding).toBe('base64');
    // both are over ingest's 256 KiB bound for one message: refused on the buffer, before parsing
    expect(binLetter!.error.reason).toBe('too_large');
    expectBoundedLetter(textLetter, text, { partition: 1, offset: textOffset });
    expect(textLetter!.original_encoding).toBe('utf8');
    expect(textLetter!.error.reason).toBe('too_large');
    expect(await storedEvents(ctx)).toBe(data.events.length);

    // a training run over the window the poison sits in succeeds and goes live
    const meta = await ctx.repos.metadata.upsertItems(
      data.items.map((i) => itemMetadata(i) as unknown as Record<string, unknown>),
      { refresh: 'wait_for' },
    );
    expect(meta.upserted).toBe(data.items.length);
    const modelId = `mbig-${Date.now().toString(36)}`;
    defer(() => rmSync(artifactPath(ctx.config.modelDir, modelId), { recursive: true, force: true }));
    const run = await runTraining(ctx, { modelId, params: { factors: 16, iterations: 8 }, trigger: 'test' });
    expect(run.error).toBeUndefined();
    expect(run.status).toBe('live');
    expect(run.modelId).toBe(modelId);
    expect(run.counts['interactions']).toBeGreaterThan(1000);
  });
});

describe('2. a poison message at the head of a partition survives a SIGKILL of the consumer', () => {
  it('ingest (child process) killed with the poison unread at the head of partition 0, restarted: one dead letter, the events after it stored exactly once, committed to the end', async () => {
    const { ctx, defer } = await freshDeployment('hkill');
    const { names, kafka } = ctx;
    const topic = names.topics.events;
    const producer = await reliableProducer(ctx, defer);
    const env = {
      ...process.env,
      RECSYS_INDEX_PREFIX: ctx.config.indexPrefix,
      RECSYS_TOPIC_PREFIX: ctx.config.topicPrefix,
      INGEST_METRICS_PORT: '0',
      ...settingsEnv({ ingest: { batchSize: 500 } }),
      LOG_LEVEL: 'warn',
    };
    // node itself (not the tsx wrapper, which forks) so the signals reach the consumer process
    const start = (): ChildProcess =>
      spawn(
        process.execPath,
        ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'cli', 'index.ts'), 'ingest'],
        { env, stdio: 'ignore', cwd: PROJECT_ROOT },
      );
    const exited = (c: ChildProcess) =>
      new Promise<void>((r) =>
        c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()),
      );
    let child = start();
    defer(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
    });
    const now = Date.now();
    const event = (id: string, n: number) => ({
      key: `u${n}`,
      value: JSON.stringify({
        event_id: id,
        user_id: `u${n}`,
        item_id: `i${n % 7}`,
        event_type: 'click',
        timestamp: new Date(now - 60_000 + n).toISOString(),
      }),
      partition: n % PARTITIONS,
    });

    // the child consumes: a first round is stored and committed
    await waitForGroupAssigned(kafka, names.groups.ingest, topic, 90_000);
    const warm = Array.from({ length: 30 }, (_, n) => event(`warm-${n}`, n));
    await producer.send({ topic, acks: -1, messages: warm });
    await waitUntil('the first 30 stored', async () => (await storedEvents(ctx)) === 30, 90_000);
    await waitForGroupCommittedToEnd(kafka, names.groups.ingest, topic, 90_000);

    // frozen, it holds the partitions; the poison lands at the head of partition 0, valid events behind it everywhere
    child.kill('SIGSTOP');
    const poison = binaryPoison(800 * 1024);
    const [at] = await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'poison-binary', value: poison, partition: 0 }],
    });
    const after = Array.from({ length: 60 }, (_, n) => event(`after-${n}`, n));
    await producer.send({ topic, acks: -1, messages: after });
    expect((await committedOffsets(kafka, names.groups.ingest, topic)).get(0)).toBe(Number(at!.baseOffset)); // the poison is the head
    child.kill('SIGKILL');
    await exited(child);
    expect(child.signalCode).toBe('SIGKILL');
    expect(await storedEvents(ctx)).toBe(30);

    child = start();
    await waitUntil(
      'the 60 events behind the poison stored',
      async () => (await storedEvents(ctx)) === 90,
      150_000,
      250,
    );
    await waitForGroupCommittedToEnd(kafka, names.groups.ingest, topic, 90_000);
    expect(await groupLag(kafka, names.groups.ingest, topic)).toBe(0);
    expect(await groupMembers(kafka, names.groups.ingest)).toBeGreaterThanOrEqual(1);

    const counts = await eventIdCounts(
      ctx,
      [...warm, ...after].map((m) => (JSON.parse(m.value) as { event_id: string }).event_id),
    );
    expect(counts.size).toBe(90);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(await storedEvents(ctx)).toBe(90);

    const letters = await readDlq(ctx);
    expect(letters).toHaveLength(1);
    expectBoundedLetter(letters[0], poison, { partition: 0, offset: at!.baseOffset! });

    child.kill('SIGTERM');
    await exited(child);
  });
});
