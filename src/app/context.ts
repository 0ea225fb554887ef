// The application context: built once at start (CLI command, API server, test, benchmark) from the
// validated configuration and passed down. Domain modules read ctx.repos, never a raw client:
// `es` is here for setup/teardown and for tests that inspect the cluster.

import type { Client } from '@elastic/elasticsearch';
import type { Kafka } from 'kafkajs';
import { loadConfig, unknownEnvWarning, type Config } from '../config/index.ts';
import { namesFor, type Names } from '../config/names.ts';
import { createEsClient, createKafka } from '../infra/clients.ts';
import { createLogger, type Logger } from '../infra/logger.ts';
import { createRepositories, type Repositories } from '../repositories/index.ts';

export interface AppContext {
  config: Config;
  names: Names;
  log: Logger;
  es: Client;
  kafka: Kafka;
  repos: Repositories;
  close(): Promise<void>;
}

export function createContext(config: Config = loadConfig()): AppContext {
  const log = createLogger(config.logLevel);
  const unknownEnv = unknownEnvWarning(process.env);
  if (unknownEnv) log.warn(unknownEnv);
  const es = createEsClient(config);
  const kafka = createKafka(config, log);
  const names = namesFor(config);
  return {
    config,
    names,
    log,
    es,
    kafka,
    repos: createRepositories(es, names, { filterFields: config.serving.filterFields }),
    close: () => es.close(),
  };
}
