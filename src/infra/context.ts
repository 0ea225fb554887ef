import type { Client } from '@elastic/elasticsearch';
import type { Kafka } from 'kafkajs';
import { loadConfig, type Config } from '../config/index.ts';
import { namesFor, type Names } from '../config/names.ts';
import { createEsClient, createKafka } from './clients.ts';
import { createLogger, type Logger } from './logger.ts';

/** What every command needs, built once from the validated environment. */
export interface AppContext {
  config: Config;
  names: Names;
  log: Logger;
  es: Client;
  kafka: Kafka;
  close(): Promise<void>;
}

export function createContext(config: Config = loadConfig()): AppContext {
  const log = createLogger(config.logLevel);
  const es = createEsClient(config);
  const kafka = createKafka(config, log);
  return {
    config,
    names: namesFor(config),
    log,
    es,
    kafka,
    close: () => es.close(),
  };
}
