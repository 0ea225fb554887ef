import type { Config } from '../../config/index.ts';
import type { Logger } from '../logger.ts';
import {
  ES_VERSION,
  defaultEsNode,
  esNodeUrl,
  localEsPid,
  probeEs,
  startLocalEs,
  stopLocalEs,
} from './elasticsearch.ts';
import {
  KAFKA_VERSION,
  defaultKafkaNode,
  localKafkaPid,
  localKafkaVersion,
  probeKafka,
  startLocalKafka,
  stopLocalKafka,
} from './kafka.ts';
import { LOCAL_ES_URL, LOCAL_KAFKA_BROKERS, createEsClient, createKafka } from '../clients.ts';

export { ES_VERSION, KAFKA_VERSION };
export { ES_VERSIONS, ES8_VERSION } from '../../config/es-versions.ts';

export interface ServiceStatus {
  service: 'elasticsearch' | 'kafka';
  where: string;
  managed: 'local' | 'external';
  running: boolean;
  version?: string;
  pid?: number;
  detail?: string;
}

/** The local node ES_LOCAL_VERSION names, on 127.0.0.1:9200. */
export function localEsNode(config: Config) {
  return defaultEsNode(config.localDir, config.es.localVersion);
}

/** Brings up whichever of ES/Kafka is local (ES_URL / KAFKA_BROKERS unset); external ones are left alone. */
export async function infraUp(config: Config, log: Logger): Promise<ServiceStatus[]> {
  // One after the other: on two cores, starting both JVMs at once slows each more than it saves.
  const out: ServiceStatus[] = [];
  if (config.es.local) {
    const es = await startLocalEs(localEsNode(config), log);
    log.info({ ...es }, es.reused ? 'Elasticsearch already running, reused' : 'Elasticsearch started');
    if (es.version !== config.es.localVersion)
      log.warn(
        { running: es.version, wanted: config.es.localVersion },
        'the local Elasticsearch is another version than ES_LOCAL_VERSION: `recsys infra down`, then `up`, to switch (each major keeps its own data folder)',
      );
  }
  if (config.kafka.local) {
    const k = await startLocalKafka(defaultKafkaNode(config.localDir), log);
    log.info({ ...k }, k.reused ? 'Kafka already running, reused' : 'Kafka started');
  }
  out.push(...(await infraStatus(config)));
  return out;
}

export async function infraDown(config: Config, log: Logger): Promise<void> {
  if (config.kafka.local)
    log.info({ kafka: await stopLocalKafka(defaultKafkaNode(config.localDir)) }, 'kafka');
  if (config.es.local) log.info({ elasticsearch: await stopLocalEs(localEsNode(config)) }, 'elasticsearch');
}

export async function infraStatus(config: Config): Promise<ServiceStatus[]> {
  const esUrl =
    config.es.url ?? (config.es.cloudId ? `cloud id ${config.es.cloudId.split(':')[0]}` : LOCAL_ES_URL);
  const brokers = config.kafka.brokers ?? LOCAL_KAFKA_BROKERS;
  const esVersion = config.es.local
    ? await probeEs(esNodeUrl(localEsNode(config)))
    : await probeExternalEs(config);
  const kafkaBrokers = config.kafka.local ? await probeKafka() : await probeExternalKafka(config);
  return [
    {
      service: 'elasticsearch',
      where: esUrl,
      managed: config.es.local ? 'local' : 'external',
      running: Boolean(esVersion),
      version: esVersion,
      pid: config.es.local ? localEsPid(localEsNode(config)) : undefined,
      detail: config.es.local ? undefined : 'external cluster (ES_URL); not managed by infra',
    },
    {
      service: 'kafka',
      where: brokers.join(','),
      managed: config.kafka.local ? 'local' : 'external',
      running: Boolean(kafkaBrokers),
      version:
        config.kafka.local && kafkaBrokers ? localKafkaVersion(defaultKafkaNode(config.localDir)) : undefined,
      pid: config.kafka.local ? localKafkaPid(defaultKafkaNode(config.localDir)) : undefined,
      detail: kafkaBrokers
        ? `${kafkaBrokers} broker(s)${config.kafka.local ? ', KRaft' : ', external (KAFKA_BROKERS), not managed by infra'}`
        : undefined,
    },
  ];
}

async function probeExternalEs(config: Config): Promise<string | undefined> {
  const es = createEsClient(config);
  try {
    const info = await es.nodes.info({ node_id: '_local', filter_path: 'nodes.*.version' });
    return Object.values(info.nodes ?? {})[0]?.version;
  } catch {
    return undefined;
  } finally {
    await es.close();
  }
}

async function probeExternalKafka(config: Config): Promise<number | undefined> {
  const admin = createKafka(config).admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length;
  } catch {
    return undefined;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
