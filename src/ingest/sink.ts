import { createProducer } from '../infra/clients.ts';
import type { EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from '../infra/logger.ts';
import type { IngestMetrics } from '../infra/metrics.ts';
import {
  StoreAbortedError,
  type RetryPolicy,
  type SinkDoc,
  type StoreOutcome,
} from '../repositories/bulk-store.ts';
import type { DocumentWriter } from '../repositories/documents.ts';
import { isTransient } from '../infra/retry.ts';
import {
  SupervisedConsumer,
  type ConsumerMetrics,
  type ConsumerStatus,
} from '../infra/supervised-consumer.ts';
import {
  deadLetter,
  DEFAULT_ORIGINAL_BUDGET,
  originalBudget,
  sendDeadLetters,
  type DeadLetter,
} from '../infra/dead-letter.ts';

export interface Rejection {
  origin: number;
  reason: string;
  field?: string;
  message: string;
}

/**
 * Turns one partition's batch into documents to store and messages to reject, and optionally what
 * to do once they are stored (before the offsets are committed; a transient failure there holds
 * the batch for redelivery like a failed write, so it must be idempotent).
 */
export type BatchTransform = (
  messages: KafkaMessage[],
  partition: number,
  /** how a read the transform makes waits out an unavailable cluster: as the write does, batch in hand */
  hold?: HoldPolicy,
) => Promise<{ docs: SinkDoc[]; rejected: Rejection[]; settle?: (outcome: StoreOutcome) => Promise<void> }>;

/** The sink's wait for Elasticsearch, for a transform's own reads (retry with these, unbounded). */
export type HoldPolicy = Pick<RetryPolicy, 'initialMs' | 'maxMs' | 'onWait' | 'shouldAbort'>;

/** Bytes fetched per partition and round (kafkajs maxBytesPerPartition). */
const PARTITION_FETCH_BYTES = 4 * 1024 * 1024;

export interface SinkOptions {
  name: string;
  topic: string;
  groupId: string;
  dlqTopic: string;
  transform: BatchTransform;
  bulkSize: number;
  /** how long a shutdown waits for a batch that cannot be stored (ES down) before abandoning it uncommitted */
  shutdownGraceMs?: number;
  partitionsConsumedConcurrently?: number;
  fromBeginning?: boolean;
}

export interface SinkDeps {
  documents: DocumentWriter;
  kafka: Kafka;
  log: Logger;
  metrics: IngestMetrics;
  consumerMetrics?: ConsumerMetrics;
}

/**
 * A consumer group that stores a topic in Elasticsearch, at least once, made exactly-once in
 * effect by deterministic `_id`s. Offsets of a batch are committed only after every message of it
 * is stored, a known duplicate, or acknowledged on the dead-letter topic.
 *
 * No single message can stop it: a chunk that fails for a reason other than an unavailable
 * cluster is processed again message by message, and the message that still fails is
 * dead-lettered (reason `unprocessable`). Dead letters are sized to the topic's message limit. If
 * the member crashes anyway, the supervisor restarts it.
 */
export class KafkaToEsSink {
  private consumer?: SupervisedConsumer;
  private producer?: Producer;
  private stopping = false;
  private stopDeadline = Infinity;
  private budget = DEFAULT_ORIGINAL_BUDGET;
  private readonly log: Logger;

  constructor(
    private readonly deps: SinkDeps,
    private readonly opts: SinkOptions,
  ) {
    this.log = deps.log.child({ sink: opts.name });
  }

  async start(): Promise<void> {
    const { kafka } = this.deps;
    this.budget = await dlqBudget(kafka, this.opts.dlqTopic, this.log);
    this.producer = createProducer(kafka, 'reliable');
    await this.producer.connect();
    const inFlight = this.opts.partitionsConsumedConcurrently ?? 6;
    this.consumer = new SupervisedConsumer(
      kafka,
      {
        name: this.opts.name,
        groupId: this.opts.groupId,
        topic: this.opts.topic,
        fromBeginning: this.opts.fromBeginning ?? true,
        // kafkajs fetches, hands every partition's batch to a worker and fetches again only when all are
        // done; its default 10 MB per fetch held only a few partitions' 4 MiB, so most workers sat idle
        // (bench/ingest prints the chunks in flight). One fetch now has room for every partition in flight.
        consumer: {
          sessionTimeout: 30_000,
          heartbeatInterval: 3_000,
          maxWaitTimeInMs: 100,
          maxBytesPerPartition: PARTITION_FETCH_BYTES,
          maxBytes: PARTITION_FETCH_BYTES * inFlight,
        },
        run: {
          autoCommit: true,
          // commit on every commitOffsetsIfNecessary() call, i.e. right after a batch is safely stored
          autoCommitThreshold: 1,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: inFlight,
          eachBatch: (payload) => this.handleBatch(payload),
        },
        onFetch: (ms) =>
          this.deps.metrics.phaseSeconds.inc({ topic: this.opts.topic, phase: 'kafka_fetch' }, ms / 1000),
      },
      this.log,
      this.deps.consumerMetrics,
    );
    await this.consumer.start();
    this.log.info(
      { topic: this.opts.topic, groupId: this.opts.groupId, deadLetterPayloadBudget: this.budget },
      'consuming',
    );
  }

  status(): ConsumerStatus | undefined {
    return this.consumer?.snapshot();
  }

  /** Finishes the batch in hand, commits, disconnects. A batch ES cannot take is left uncommitted after the grace period. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopDeadline = Date.now() + (this.opts.shutdownGraceMs ?? 30_000);
    await this.consumer?.stop();
    await this.producer?.disconnect();
    this.log.info('stopped');
  }

  private async handleBatch({
    batch,
    resolveOffset,
    heartbeat,
    commitOffsetsIfNecessary,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> {
    const { metrics } = this.deps;
    const topic = batch.topic;
    const timer = metrics.batchSeconds.startTimer({ topic });
    metrics.consumed.inc({ topic }, batch.messages.length);
    for (let start = 0; start < batch.messages.length; start += this.opts.bulkSize) {
      if (!isRunning() || isStale()) return;
      const messages = batch.messages.slice(start, start + this.opts.bulkSize);
      let handled: boolean;
      try {
        handled = await this.handleChunk(topic, batch.partition, messages, heartbeat);
      } catch (e) {
        // an unavailable cluster or broker: the chunk waits for redelivery; anything else is a
        // message we cannot process: find it by taking the chunk apart
        if (this.stopping || isTransient(e)) throw e;
        this.log.warn(
          { partition: batch.partition, firstOffset: messages[0]?.offset, err: (e as Error).message },
          'chunk failed; processing its messages one by one',
        );
        handled = true;
        for (const m of messages) {
          try {
            if (!(await this.handleChunk(topic, batch.partition, [m], heartbeat))) return;
          } catch (e2) {
            if (this.stopping || isTransient(e2)) throw e2;
            const letter = deadLetter(
              topic,
              batch.partition,
              m,
              { reason: 'unprocessable', message: (e2 as Error).message },
              this.budget,
            );
            await this.sendLetters([letter], heartbeat);
            metrics.deadLettered.inc({ topic, reason: 'unprocessable' });
          }
        }
      }
      if (!handled) return;
      const committing = performance.now();
      resolveOffset(messages[messages.length - 1]!.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
      this.phase(topic, 'commit', committing);
      metrics.chunks.inc({ topic });
    }
    timer();
  }

  /** Stores one chunk and dead-letters its rejects; false when a shutdown abandoned it uncommitted. */
  private async handleChunk(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    heartbeat: () => Promise<void>,
  ): Promise<boolean> {
    const { metrics } = this.deps;
    const hold: HoldPolicy = {
      initialMs: 200,
      maxMs: 10_000,
      onWait: async () => {
        metrics.esUnavailable.set(1);
        await heartbeat();
      },
      shouldAbort: () => this.stopping && Date.now() > this.stopDeadline,
    };
    let outcome;
    let transformed;
    try {
      const transforming = performance.now();
      transformed = await this.opts.transform(messages, partition, hold);
      this.phase(topic, 'transform', transforming);
      outcome = await this.deps.documents.storeAll(transformed.docs, hold, this.log);
    } catch (e) {
      if (e instanceof StoreAbortedError) {
        this.log.warn(
          { partition, firstOffset: messages[0]?.offset },
          'shutdown while ES unavailable: batch left uncommitted for redelivery',
        );
        return false;
      }
      throw e;
    }
    metrics.esUnavailable.set(0);
    metrics.indexed.inc({ topic }, outcome.written);
    metrics.duplicates.inc({ topic }, outcome.duplicates);
    if (outcome.retriedItems) metrics.retried.inc({ topic, reason: 'bulk_item' }, outcome.retriedItems);
    for (const [phase, ms] of Object.entries(outcome.phases))
      metrics.phaseSeconds.inc({ topic, phase }, ms / 1000);
    const settling = performance.now();
    const { rejected, settle } = transformed;
    await settle?.(outcome);
    this.phase(topic, 'settle', settling);

    const letters: DeadLetter[] = [
      ...rejected.map((r) =>
        deadLetter(
          topic,
          partition,
          messages[r.origin]!,
          { reason: r.reason, field: r.field, message: r.message },
          this.budget,
        ),
      ),
      ...outcome.failures.map((f) =>
        deadLetter(
          topic,
          partition,
          messages[f.origin]!,
          { reason: f.reason, message: f.message },
          this.budget,
        ),
      ),
    ];
    // one dead letter per message, even if a message produced several failing docs
    const unique = [...new Map(letters.map((l) => [l.source.offset, l])).values()];
    const lettering = performance.now();
    await this.sendLetters(unique, heartbeat);
    this.phase(topic, 'dead_letters', lettering);
    for (const l of unique) metrics.deadLettered.inc({ topic, reason: l.error.reason });
    return true;
  }

  /** Adds the wall time since `since` (performance.now()) to a step's total. */
  private phase(topic: string, phase: string, since: number): void {
    this.deps.metrics.phaseSeconds.inc({ topic, phase }, (performance.now() - since) / 1000);
  }

  private sendLetters(letters: DeadLetter[], heartbeat: () => Promise<void>): Promise<void> {
    return sendDeadLetters(this.producer!, this.opts.dlqTopic, letters, {
      onWait: heartbeat,
      onDowngrade: (n, e) =>
        this.log.warn(
          { letters: n, err: (e as Error).message },
          'dead letters refused by the broker; sending them without their payload',
        ),
    });
  }
}

/** The payload budget for the dead-letter topic, from its max.message.bytes (1 MiB when it cannot be read). */
async function dlqBudget(kafka: Kafka, topic: string, log: Logger): Promise<number> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const r = await admin.describeConfigs({
      resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['max.message.bytes'] }],
      includeSynonyms: false,
    });
    const value = Number(
      r.resources[0]?.configEntries.find((c) => c.configName === 'max.message.bytes')?.configValue,
    );
    return originalBudget(Number.isFinite(value) && value > 0 ? value : 1_048_588);
  } catch (e) {
    log.warn(
      { topic, err: (e as Error).message },
      "could not read the dead-letter topic's max.message.bytes; assuming 1 MiB",
    );
    return originalBudget(1_048_588);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
