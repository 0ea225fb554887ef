import { Client } from '@elastic/elasticsearch';
import { Kafka, Partitioners, logLevel, type KafkaConfig, type Producer } from 'kafkajs';
import type { Config } from '../config/index.ts';
import { kafkajsLogCreator } from './kafka-log.ts';
import type { Logger } from './logger.ts';

export const LOCAL_ES_URL = 'http://127.0.0.1:9200';
export const LOCAL_KAFKA_BROKERS = ['127.0.0.1:9092'];

export function createEsClient(config: Config): Client {
  const { url, username, password, apiKey } = config.es;
  return new Client({
    node: url ?? LOCAL_ES_URL,
    auth: apiKey ? { apiKey } : username ? { username, password: password ?? '' } : undefined,
    requestTimeout: 60_000,
    maxRetries: 3,
  });
}

export function createKafka(config: Config, logger?: Logger): Kafka {
  const k = config.kafka;
  const kafkaConfig: KafkaConfig = {
    clientId: k.clientId,
    brokers: k.brokers ?? LOCAL_KAFKA_BROKERS,
    ssl: k.ssl,
    sasl: k.sasl as KafkaConfig['sasl'],
    retry: { retries: 8, initialRetryTime: 200 },
    logLevel: logLevel.WARN,
    logCreator: logger ? kafkajsLogCreator(logger) : undefined,
  };
  return new Kafka(kafkaConfig);
}

/**
 * The two kinds of producer the system uses, configured in one place.
 * - `reliable`: events and dead letters: idempotent, one request in flight (ordering per key),
 *   acks from all in-sync replicas; the client's retries (createKafka) apply.
 * - `best_effort`: served-list logging: a record that cannot go out within seconds is counted as
 *   lost rather than retried for minutes, so a slow broker never backs up the API.
 * Both key by the default (murmur2) partitioner, the Java client's, so keys land where other
 * producers of the same topic put them.
 */
export function createProducer(kafka: Kafka, kind: 'reliable' | 'best_effort'): Producer {
  if (kind === 'reliable')
    return kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  return kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 2, initialRetryTime: 200 },
  });
}
