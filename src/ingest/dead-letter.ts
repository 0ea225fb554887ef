import type { KafkaMessage, Producer } from 'kafkajs';

export interface DeadLetter {
  error: { reason: string; field?: string; message: string };
  /** the payload exactly as consumed (utf-8; base64 when it was not valid utf-8) */
  original: string;
  original_encoding: 'utf8' | 'base64';
  source: { topic: string; partition: number; offset: string; key?: string; timestamp: string };
  failed_at: string;
}

export function deadLetter(topic: string, partition: number, message: KafkaMessage, error: DeadLetter['error']): DeadLetter {
  const raw = message.value ?? Buffer.alloc(0);
  const text = raw.toString('utf8');
  const isUtf8 = Buffer.from(text, 'utf8').equals(raw);
  return {
    error,
    original: isUtf8 ? text : raw.toString('base64'),
    original_encoding: isUtf8 ? 'utf8' : 'base64',
    source: { topic, partition, offset: message.offset, key: message.key?.toString('utf8'), timestamp: message.timestamp },
    failed_at: new Date().toISOString(),
  };
}

/** Sends dead letters and waits for all in-sync replicas before the caller may commit offsets. */
export async function sendDeadLetters(producer: Producer, dlqTopic: string, letters: DeadLetter[]): Promise<void> {
  if (!letters.length) return;
  await producer.send({
    topic: dlqTopic,
    acks: -1,
    messages: letters.map((l) => ({ key: l.source.key ?? null, value: JSON.stringify(l), headers: { reason: l.error.reason } })),
  });
}
