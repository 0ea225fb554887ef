import type { Kafka, Producer } from 'kafkajs';
import { createProducer } from '../infra/clients.ts';
import type { StoredEvent } from '../events/schema.ts';

/**
 * Produces validated events keyed by user_id (one user's events stay ordered in one partition),
 * idempotent and acknowledged by all in-sync replicas.
 */
export class EventProducer {
  private readonly producer: Producer;
  private connected?: Promise<void>;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
  ) {
    this.producer = createProducer(kafka, 'reliable');
  }

  connect(): Promise<void> {
    this.connected ??= this.producer.connect();
    return this.connected;
  }

  async send(events: StoredEvent[]): Promise<void> {
    if (!events.length) return;
    await this.connect();
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })),
    });
  }

  /** Raw payloads (e.g. replays, tests, malformed samples) exactly as given. */
  async sendRaw(messages: Array<{ key: string | null; value: string }>): Promise<void> {
    if (!messages.length) return;
    await this.connect();
    await this.producer.send({ topic: this.topic, acks: -1, messages });
  }

  async disconnect(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
    this.connected = undefined;
  }
}
