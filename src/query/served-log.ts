// Every served list goes to the recommendations topic (→ recommendations-* via the ingest sink),
// fire-and-forget: records are queued in memory and sent in batches every `lingerMs`, so a slow
// or absent broker never delays or fails a request. Records that cannot be sent (send failure,
// or dropped because the queue is full) are counted through `onFailure` and logged.

import type { Kafka, Producer } from 'kafkajs';
import { createProducer } from '../infra/clients.ts';
import type { ServedRecord } from '../events/served-record.ts';
import type { Logger } from '../infra/logger.ts';

export type { ServedRecord } from '../events/served-record.ts';

export interface ServedLogOptions {
  lingerMs?: number;
  maxQueue?: number;
  maxBatch?: number;
  onFailure?: (records: number) => void;
}

export class ServedLog {
  private readonly producer: Producer;
  private connected?: Promise<void>;
  private queue: Array<{ key: string | null; value: string }> = [];
  private timer?: NodeJS.Timeout;
  private sending?: Promise<void>;
  private lastWarn = 0;
  private closed = false;
  sent = 0;
  failed = 0;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    private readonly log: Logger,
    private readonly opts: ServedLogOptions = {},
  ) {
    this.producer = createProducer(kafka, 'best_effort');
  }

  record(rec: ServedRecord): void {
    if (this.closed) {
      // a request that finished after shutdown (its client had already gone): counted, not warned
      this.failed++;
      this.opts.onFailure?.(1);
      return;
    }
    const max = this.opts.maxQueue ?? 10_000;
    if (this.queue.length >= max) {
      this.queue.shift();
      this.fail(1, 'served-list queue full, dropped the oldest record');
    }
    this.queue.push({ key: rec.user_id ?? rec.seed_item_id ?? null, value: JSON.stringify(rec) });
    this.schedule();
  }

  /** Sends everything queued so far. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.sending) await this.sending;
    if (this.queue.length) {
      this.sending = this.drain().finally(() => (this.sending = undefined));
      await this.sending;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.connected) await this.producer.disconnect().catch(() => undefined);
  }

  private schedule(): void {
    if (this.timer || this.sending) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sending = this.drain().finally(() => {
        this.sending = undefined;
        if (this.queue.length) this.schedule();
      });
    }, this.opts.lingerMs ?? 20);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    const maxBatch = this.opts.maxBatch ?? 1000;
    while (this.queue.length) {
      const batch = this.queue.splice(0, maxBatch);
      try {
        this.connected ??= this.producer.connect().catch((e: unknown) => {
          this.connected = undefined;
          throw e;
        });
        await this.connected;
        await this.producer.send({ topic: this.topic, messages: batch });
        this.sent += batch.length;
      } catch (e) {
        this.fail(batch.length, (e as Error).message);
      }
    }
  }

  private fail(n: number, reason: string): void {
    this.failed += n;
    this.opts.onFailure?.(n);
    const now = Date.now();
    if (now - this.lastWarn > 5_000) {
      this.lastWarn = now;
      this.log.warn(
        { topic: this.topic, records: n, failedTotal: this.failed, reason },
        'could not log served recommendations',
      );
    }
  }
}
