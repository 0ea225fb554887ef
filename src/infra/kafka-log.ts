// kafkajs logs its own way and at its own levels; this routes it into pino so all output is one JSON
// stream, and sets the level of what a group coordinator says while it is still forming. On a broker
// that has just started, the first consumers are told "the coordinator is loading", "not available"
// or "rebalancing" for a few seconds; kafkajs retries these by itself (and our supervised consumer
// counts every restart), yet logs each at ERROR with a stack trace, which a newcomer reads as a
// failure. Those transient, retried protocol errors go to debug; everything else keeps its level.
import { createRequire } from 'node:module';
import { logLevel } from 'kafkajs';
import type { Logger } from './logger.ts';

interface ProtocolErrorCode {
  type: string;
  retriable: boolean;
  message: string;
}

/** Kafka protocol errors a client meets while a group or topic is still being set up, and retries. */
const TRANSIENT_TYPES = new Set([
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'REBALANCE_IN_PROGRESS',
]);

// kafkajs keeps its protocol error table (type, retriable, message) unexported; its logs carry only
// the message, so the transient messages are read from that table rather than copied here.
const require = createRequire(import.meta.url);
const { errorCodes } = require('kafkajs/src/protocol/error.js') as { errorCodes: ProtocolErrorCode[] };
const TRANSIENT_MESSAGES = errorCodes
  .filter((e) => e.retriable && TRANSIENT_TYPES.has(e.type))
  .map((e) => e.message);

/** True when an error message is one of the retried errors of a forming group or topic. */
export function isTransientKafkaError(text: string): boolean {
  return TRANSIENT_MESSAGES.some((m) => text.includes(m));
}

/** The pino level a kafkajs log line is written at. */
export function kafkajsLogLevel(level: number, message: string, extra: Record<string, unknown>): LevelName {
  if (level === logLevel.ERROR || level === logLevel.WARN) {
    const error = typeof extra['error'] === 'string' ? extra['error'] : '';
    if (isTransientKafkaError(message) || isTransientKafkaError(error)) return 'debug';
    // follows every crash, which the supervised consumer already logs at the level it deserves
    if (message.startsWith('Restarting the consumer in')) return 'debug';
    return level === logLevel.ERROR ? 'error' : 'warn';
  }
  return level === logLevel.INFO ? 'info' : 'debug';
}

type LevelName = 'error' | 'warn' | 'info' | 'debug';

export function kafkajsLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...extra } = log;
      // Our producers retry a bounded number of times on purpose (an API request must not hang);
      // exactly-once comes from event_id as the ES _id, not from Kafka's EoS, so this is noise.
      if (message.startsWith('Limiting retries for the idempotent producer')) return;
      const child = { kafkajs: true, ...extra };
      logger[kafkajsLogLevel(level, message, extra)](child, message);
    };
}
