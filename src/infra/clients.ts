import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Client } from '@elastic/elasticsearch';
import { Kafka, Partitioners, logLevel, type KafkaConfig, type Producer } from 'kafkajs';
import type { Config } from '../config/index.ts';
import { kafkajsLogCreator } from './kafka-log.ts';
import type { Logger } from './logger.ts';

export const LOCAL_ES_URL = 'http://127.0.0.1:9200';
export const LOCAL_KAFKA_BROKERS = ['127.0.0.1:9092'];

/** `limits`: the startup check asks once, briefly, where the services retry. */
export function createEsClient(
  config: Config,
  limits: { requestTimeout?: number; maxRetries?: number } = {},
): Client {
  const { url, cloudId, username, password, apiKey } = config.es;
  return new Client({
    ...(cloudId ? { cloud: { id: cloudId } } : { node: url ?? LOCAL_ES_URL }),
    auth: apiKey ? { apiKey } : username ? { username, password: password ?? '' } : undefined,
    tls: esTls(config),
    // the client compares it with the SHA-256 of the CA certificate in the chain the server sends
    caFingerprint: config.es.caFingerprint ? fingerprintWithColons(config.es.caFingerprint) : undefined,
    requestTimeout: limits.requestTimeout ?? 60_000,
    maxRetries: limits.maxRetries ?? 3,
  });
}

/** Node TLS options for Elasticsearch, or undefined for the system's CAs and no client certificate. */
export function esTls(config: Config): TlsOptions | undefined {
  const { caFile, caFingerprint, clientCert } = config.es;
  if (!caFile && !caFingerprint && !clientCert) return undefined;
  return {
    ca: caFile ? readFileSync(caFile) : undefined,
    // a fingerprint alone: the client checks the chain's CA against it instead of against known CAs
    ...(caFingerprint && !caFile ? { rejectUnauthorized: false } : {}),
    cert: clientCert ? readFileSync(clientCert.certFile) : undefined,
    key: clientCert ? readFileSync(clientCert.keyFile) : undefined,
  };
}

/** Node TLS options for Kafka; `true` for TLS with the system's CAs; false for plaintext. */
export function kafkaTls(config: Config): TlsOptions | boolean {
  const { ssl, caFile, clientCert } = config.kafka;
  if (!ssl) return false;
  if (!caFile && !clientCert) return true;
  return {
    ca: caFile ? [readFileSync(caFile, 'utf8')] : undefined,
    cert: clientCert ? readFileSync(clientCert.certFile, 'utf8') : undefined,
    key: clientCert ? readFileSync(clientCert.keyFile, 'utf8') : undefined,
  };
}

/** AA:BB:... upper case, the form the client compares against. */
export function fingerprintWithColons(hex: string): string {
  const bare = hex.replace(/:/g, '').toUpperCase();
  return bare.match(/../g)!.join(':');
}

export function createKafka(config: Config, logger?: Logger): Kafka {
  const k = config.kafka;
  const kafkaConfig: KafkaConfig = {
    clientId: k.clientId,
    brokers: k.brokers ?? LOCAL_KAFKA_BROKERS,
    ssl: kafkaTls(config),
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
