import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs to stderr, so stdout stays free for command output. */
export function createLogger(level = 'info', name = 'recsys'): Logger {
  return pino({ name, level }, pino.destination(2));
}
