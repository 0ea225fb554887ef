// Dead letters: the evidence of what was refused, sized to fit the broker. A letter carries the
// reason, where the message came from (topic, partition, offset, key, time), the payload's size and
// SHA-256, and as much of the payload as fits the budget (whole when it fits). An 800 KB binary
// message once produced a 1.1 MB letter (base64 of the whole original), the broker refused it with
// a non-retriable error, and the consumer died with the message at the head of its partition.

import { createHash } from 'node:crypto';
import type { KafkaMessage, Producer } from 'kafkajs';
import {
  isRetriable,
  RetriesExhaustedError,
  RetryAbortedError,
  withRetry,
  type RetryPolicy,
} from './retry.ts';

export interface DeadLetter {
  error: { reason: string; field?: string; message: string };
  /** the payload as consumed (utf-8, or base64 when it was not valid utf-8), possibly truncated */
  original: string;
  original_encoding: 'utf8' | 'base64';
  /** true when `original` holds only the first part of the payload */
  original_truncated: boolean;
  original_bytes: number;
  original_sha256: string;
  source: { topic: string; partition: number; offset: string; key?: string; timestamp: string };
  failed_at: string;
}

/** Default payload budget per letter; the sink lowers it to fit the dead-letter topic's max.message.bytes. */
export const DEFAULT_ORIGINAL_BUDGET = 64 * 1024;
/** Room kept for the letter's other fields and Kafka's record overhead. */
const ENVELOPE_BYTES = 8 * 1024;
const MAX_KEY_CHARS = 512;
const MAX_MESSAGE_CHARS = 1024;

/** The payload budget that keeps a whole letter under a topic's message limit. */
export function originalBudget(maxMessageBytes: number): number {
  return Math.max(0, Math.min(DEFAULT_ORIGINAL_BUDGET, Math.floor((maxMessageBytes - ENVELOPE_BYTES) * 0.7)));
}

export function deadLetter(
  topic: string,
  partition: number,
  message: KafkaMessage,
  error: DeadLetter['error'],
  budget = DEFAULT_ORIGINAL_BUDGET,
): DeadLetter {
  const raw = message.value ?? Buffer.alloc(0);
  const text = raw.toString('utf8');
  const isUtf8 = Buffer.from(text, 'utf8').equals(raw);
  let original: string;
  let truncated = false;
  if (isUtf8) {
    // cut on a character boundary: decoding a byte-truncated copy drops a split last character
    original =
      raw.length > budget
        ? raw
            .subarray(0, budget)
            .toString('utf8')
            .replace(/\uFFFD$/, '')
        : text;
    truncated = raw.length > budget;
  } else {
    const take = Math.floor((budget * 3) / 4);
    original = raw.subarray(0, take).toString('base64');
    truncated = raw.length > take;
  }
  const key = message.key?.toString('utf8');
  return {
    error: { ...error, message: error.message.slice(0, MAX_MESSAGE_CHARS) },
    original,
    original_encoding: isUtf8 ? 'utf8' : 'base64',
    original_truncated: truncated,
    original_bytes: raw.length,
    original_sha256: createHash('sha256').update(raw).digest('hex'),
    source: {
      topic,
      partition,
      offset: message.offset,
      ...(key !== undefined ? { key: key.slice(0, MAX_KEY_CHARS) } : {}),
      timestamp: message.timestamp,
    },
    failed_at: new Date().toISOString(),
  };
}

/** The same letter without any of the payload: what is sent when even a truncated one is refused. */
export function minimalLetter(l: DeadLetter): DeadLetter {
  return { ...l, original: '', original_truncated: l.original_bytes > 0 };
}

export interface DeadLetterSendOptions {
  /** retries of a retriable send failure (leader change, timeout); default a minute */
  retry?: Partial<RetryPolicy>;
  /** called while waiting between attempts (the consumer's heartbeat) */
  onWait?: () => Promise<void>;
  onDowngrade?: (letters: number, error: unknown) => void;
}

/**
 * Sends dead letters and waits for all in-sync replicas before the caller may commit offsets.
 * A retriable failure is retried; a refusal (e.g. the letters are still too large for the topic)
 * is answered by sending each letter without its payload. Only a topic that takes not even those
 * makes this throw, and then the batch stays uncommitted and is redelivered: a letter is never
 * dropped silently.
 */
export async function sendDeadLetters(
  producer: Producer,
  dlqTopic: string,
  letters: DeadLetter[],
  opts: DeadLetterSendOptions = {},
): Promise<void> {
  if (!letters.length) return;
  const policy: RetryPolicy = {
    initialMs: 200,
    maxMs: 5_000,
    deadlineMs: 60_000,
    label: `dead letters to ${dlqTopic}`,
    ...(opts.onWait ? { onWait: () => opts.onWait!() } : {}),
    ...opts.retry,
  };
  const send = (batch: DeadLetter[]) =>
    withRetry(
      () =>
        producer.send({
          topic: dlqTopic,
          acks: -1,
          messages: batch.map((l) => ({
            key: l.source.key ?? null,
            value: JSON.stringify(l),
            headers: { reason: l.error.reason },
          })),
        }),
      policy,
    );
  try {
    await send(letters);
  } catch (e) {
    // an outage (retries ran out) is not cured by smaller letters: the batch waits for redelivery
    if (e instanceof RetriesExhaustedError || e instanceof RetryAbortedError || isRetriable(e)) throw e;
    opts.onDowngrade?.(letters.length, e);
    // one at a time, so one unsendable letter cannot hold back the others
    for (const l of letters) await send([minimalLetter(l)]);
  }
}
