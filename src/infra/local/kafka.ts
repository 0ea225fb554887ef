import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { PROJECT_ROOT } from '../../config/index.ts';
import type { Logger } from '../logger.ts';
import { pickJdk } from './java.ts';
import { execFileAsync, isAlive, readPid, startDetached, stopByPidFile, waitFor } from './process.ts';

/**
 * Kafka 4.1.1: kafkajs 2.2.4 produces, consumes in groups and commits against it (checked by
 * test/integration/infra.test.ts). The version lives in scripts/kafka/pom.xml too.
 */
export const KAFKA_VERSION = '4.1.1';
const BROKER = '127.0.0.1:9092';

/** Where a local broker listens; another pair runs a second, private one (a test that restarts it). */
export interface KafkaPorts {
  broker: number;
  controller: number;
}
const DEFAULT_PORTS: KafkaPorts = { broker: 9092, controller: 9093 };
const CLUSTER_ID = 'c2VlZC1yZWNzeXMtbG9jYWw'; // fixed base64 uuid: one local cluster per folder

export interface KafkaPaths {
  base: string;
  libs: string;
  data: string;
  logs: string;
  props: string;
  log4j: string;
  pidFile: string;
}

export function kafkaPaths(localDir: string): KafkaPaths {
  const base = path.join(localDir, 'kafka');
  return {
    base,
    libs: path.join(base, `kafka-${KAFKA_VERSION}`, 'libs'),
    data: path.join(base, 'data'),
    logs: path.join(base, 'logs'),
    props: path.join(base, 'server.properties'),
    log4j: path.join(base, 'log4j2.yaml'),
    pidFile: path.join(base, 'kafka.pid'),
  };
}

/** True when something accepts TCP on the broker port. */
export function portOpen(hostPort = BROKER, timeoutMs = 1000): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const s = net.connect({ host, port: Number(port) });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Brokers answering a metadata request (not just an open port). */
export async function probeKafka(brokers = [BROKER]): Promise<number | undefined> {
  if (!(await portOpen(brokers[0]))) return undefined;
  const admin = new Kafka({
    brokers,
    clientId: 'recsys-probe',
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const { brokers: list } = await admin.describeCluster();
    return list.length;
  } catch {
    return undefined;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function download(p: KafkaPaths, log: Logger): Promise<void> {
  if (existsSync(p.libs) && readdirSync(p.libs).some((f) => f.startsWith(`kafka_2.13-${KAFKA_VERSION}`)))
    return;
  log.info({ version: KAFKA_VERSION }, 'downloading Kafka and its dependencies from Maven Central (once)');
  mkdirSync(p.libs, { recursive: true });
  await execFileAsync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      path.join(PROJECT_ROOT, 'scripts', 'kafka', 'pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${p.libs}`,
      '-DincludeScope=runtime',
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
}

function writeConfig(p: KafkaPaths, ports: KafkaPorts): void {
  writeFileSync(
    p.props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${ports.controller}`,
      `listeners=PLAINTEXT://127.0.0.1:${ports.broker},CONTROLLER://127.0.0.1:${ports.controller}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${ports.broker}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${p.data}`,
      'num.partitions=3',
      // A single broker: internal topics must have replication factor 1 or groups never get a coordinator.
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      // Topics come from `recsys setup` with their configured partition counts.
      'auto.create.topics.enable=false',
      'delete.topic.enable=true',
      '',
    ].join('\n'),
  );
  writeFileSync(
    p.log4j,
    [
      'Configuration:',
      '  Appenders:',
      '    RollingFile:',
      '      name: F',
      `      fileName: ${path.join(p.logs, 'server.log')}`,
      `      filePattern: ${path.join(p.logs, 'server.log.%i')}`,
      '      PatternLayout: { pattern: "[%d] %p %m (%c)%n" }',
      '      Policies: { SizeBasedTriggeringPolicy: { size: 50MB } }',
      '      DefaultRolloverStrategy: { max: 3 }',
      '  Loggers:',
      '    Root: { level: INFO, AppenderRef: [{ ref: F }] }',
      '',
    ].join('\n'),
  );
}

export async function startLocalKafka(
  localDir: string,
  log: Logger,
  heap = '1g',
  ports: KafkaPorts = DEFAULT_PORTS,
): Promise<{ version: string; reused: boolean; seconds: number }> {
  const started = Date.now();
  const broker = `127.0.0.1:${ports.broker}`;
  if (await probeKafka([broker]))
    return {
      version: localKafkaVersion(localDir) ?? 'unknown (not started by us)',
      reused: true,
      seconds: 0,
    };
  const p = kafkaPaths(localDir);
  await download(p, log);
  for (const d of [p.data, p.logs]) mkdirSync(d, { recursive: true });
  writeConfig(p, ports);
  const jdk = pickJdk(17);
  const java = path.join(jdk.home, 'bin', 'java');
  const cp = `${p.libs}/*`;
  if (!existsSync(path.join(p.data, 'meta.properties'))) {
    log.info('formatting KRaft storage');
    await execFileAsync(java, [
      '-cp',
      cp,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      CLUSTER_ID,
      '-c',
      p.props,
      '--standalone',
      '--ignore-formatted',
    ]);
  }
  log.info({ jdk: jdk.home }, 'starting Kafka (KRaft, broker+controller)');
  startDetached(
    java,
    [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      `-Dlog4j2.configurationFile=${p.log4j}`,
      '-cp',
      cp,
      'kafka.Kafka',
      p.props,
    ],
    {
      logFile: path.join(p.logs, 'stdout.log'),
      pidFile: p.pidFile,
    },
  );
  await waitFor(`Kafka on ${broker}`, () => probeKafka([broker]), 120_000, 500).catch((e: Error) => {
    throw new Error(`${e.message}; see ${p.logs}/server.log`);
  });
  return { version: KAFKA_VERSION, reused: false, seconds: (Date.now() - started) / 1000 };
}

export async function stopLocalKafka(localDir: string): Promise<'stopped' | 'not-running'> {
  return stopByPidFile(kafkaPaths(localDir).pidFile, 60_000);
}

export function localKafkaPid(localDir: string): number | undefined {
  const pid = readPid(kafkaPaths(localDir).pidFile);
  return pid && isAlive(pid) ? pid : undefined;
}

export function localKafkaVersion(localDir: string): string | undefined {
  return existsSync(kafkaPaths(localDir).libs) ? KAFKA_VERSION : undefined;
}
