import { createProducer } from '../infra/clients.ts';
import { type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import type { Logger } from '../infra/logger.ts';
import type { IngestMetrics } from '../infra/metrics.ts';
import { StoreAbortedError, type SinkDoc } from '../repositories/bulk-store.ts';
import type { DocumentWriter } from '../repositories/documents.ts';
import { deadLetter, sendDeadLetters, type DeadLetter } from './dead-letter.ts';

export interface Rejection {
  origin: number;
  reason: string;
  field?: string;
  message: string;
}

/** Turns one partition's batch into documents to store and messages to reject. */
export type BatchTransform = (messages: KafkaMessage[], partition: number) => Promise<{ docs: SinkDoc[]; rejected: Rejection[] }>;

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
}

/**
 * A consumer group that stores a topic in Elasticsearch, at least once, made exactly-once in
 * effect by deterministic `_id`s. Offsets of a batch are committed only after every message of it
 * is stored, a known duplicate, or acknowledged on the dead-letter topic.
 */
export class KafkaToEsSink {
  private consumer?: Consumer;
  private producer?: Producer;
  private stopping = false;
  private stopDeadline = Infinity;
  private readonly log: Logger;

  constructor(
    private readonly deps: SinkDeps,
    private readonly opts: SinkOptions,
  ) {
    this.log = deps.log.child({ sink: opts.name });
  }

  async start(): Promise<void> {
    const { kafka } = this.deps;
    this.producer = createProducer(kafka, 'reliable');
    await this.producer.connect();
    this.consumer = kafka.consumer({
      groupId: this.opts.groupId,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 4 * 1024 * 1024,
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: this.opts.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: true,
      // commit on every commitOffsetsIfNecessary() call, i.e. right after a batch is safely stored
      autoCommitThreshold: 1,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 6,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.log.info({ topic: this.opts.topic, groupId: this.opts.groupId }, 'consuming');
  }

  /** Finishes the batch in hand, commits, disconnects. A batch ES cannot take is left uncommitted after the grace period. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopDeadline = Date.now() + (this.opts.shutdownGraceMs ?? 30_000);
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
    this.log.info('stopped');
  }

  private async handleBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { metrics } = this.deps;
    const topic = batch.topic;
    const timer = metrics.batchSeconds.startTimer({ topic });
    metrics.consumed.inc({ topic }, batch.messages.length);
    for (let start = 0; start < batch.messages.length; start += this.opts.bulkSize) {
      if (!isRunning() || isStale()) return;
      const messages = batch.messages.slice(start, start + this.opts.bulkSize);
      const { docs, rejected } = await this.opts.transform(messages, batch.partition);
      let outcome;
      try {
        outcome = await this.deps.documents.storeAll(docs, {
          initialMs: 200,
          maxMs: 10_000,
          onWait: async () => {
            metrics.esUnavailable.set(1);
            await heartbeat();
          },
          shouldAbort: () => this.stopping && Date.now() > this.stopDeadline,
        }, this.log);
      } catch (e) {
        if (e instanceof StoreAbortedError) {
          this.log.warn({ partition: batch.partition, firstOffset: messages[0]?.offset }, 'shutdown while ES unavailable: batch left uncommitted for redelivery');
          return;
        }
        throw e;
      }
      metrics.esUnavailable.set(0);
      metrics.indexed.inc({ topic }, outcome.written);
      metrics.duplicates.inc({ topic }, outcome.duplicates);
      if (outcome.retriedItems) metrics.retried.inc({ topic, reason: 'bulk_item' }, outcome.retriedItems);

      const letters: DeadLetter[] = [
        ...rejected.map((r) => deadLetter(topic, batch.partition, messages[r.origin]!, { reason: r.reason, field: r.field, message: r.message })),
        ...outcome.failures.map((f) => deadLetter(topic, batch.partition, messages[f.origin]!, { reason: f.reason, message: f.message })),
      ];
      // one dead letter per message, even if a message produced several failing docs
      const unique = [...new Map(letters.map((l) => [l.source.offset, l])).values()];
      await sendDeadLetters(this.producer!, this.opts.dlqTopic, unique);
      for (const l of unique) metrics.deadLettered.inc({ topic, reason: l.error.reason });

      resolveOffset(messages[messages.length - 1]!.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
    timer();
  }
}
