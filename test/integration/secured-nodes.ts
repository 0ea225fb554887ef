// A secured Elasticsearch node and a TLS Kafka broker for tests, made from the project's own local
// infrastructure code on ports 19251/19351 and 19290-19294, with certificates made here by openssl.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash, X509Certificate } from 'node:crypto';
import type { Config } from '../../src/config/index.ts';
import { startLocalEs, stopLocalEs, type EsNode } from '../../src/infra/local/elasticsearch.ts';
import { startLocalKafka, stopLocalKafka, type KafkaNode } from '../../src/infra/local/kafka.ts';
import type { Logger } from '../../src/infra/logger.ts';

export interface TestPki {
  dir: string;
  ca: string;
  /** a CA that signed nothing here */
  otherCa: string;
  serverCert: string;
  serverKey: string;
  /** server key and certificate in one PEM file (Kafka's PEM key store) */
  serverPem: string;
  clientCert: string;
  clientKey: string;
  /** SHA-256 of the CA certificate, hex with colons */
  caFingerprint: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
  ]);
}

function signed(dir: string, name: string, ca: string, ext: string): void {
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  ]);
  writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ]);
}

/** A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and an unrelated CA. */
export function makePki(dir: string): TestPki {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  // clientAuth too: the infrastructure's readiness probe presents the node's own certificate
  signed(
    dir,
    'server',
    'ca',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  signed(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth\n');
  const f = (n: string) => path.join(dir, n);
  // the server sends its chain up to the CA, as certificates from elasticsearch-certutil do
  const chain = readFileSync(f('server.crt'), 'utf8') + readFileSync(f('ca.crt'), 'utf8');
  writeFileSync(f('server-chain.crt'), chain);
  writeFileSync(f('server.pem'), readFileSync(f('server.key'), 'utf8') + chain);
  const der = new X509Certificate(readFileSync(f('ca.crt'))).raw;
  const hex = createHash('sha256').update(der).digest('hex').toUpperCase();
  return {
    dir,
    ca: f('ca.crt'),
    otherCa: f('other-ca.crt'),
    serverCert: f('server-chain.crt'),
    serverKey: f('server.key'),
    serverPem: f('server.pem'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    caFingerprint: hex.match(/../g)!.join(':'),
  };
}

export const SECURED_ES_PORT = 19251;
export const ES_BOOTSTRAP_PASSWORD = 'bootstrap-secret-1';

/** File-realm roles and users for the node (see EsSecurity). */
export interface FileRealm {
  roles: Record<string, unknown>;
  users: Array<{ name: string; password: string; roles: string[] }>;
}

export function securedEsNode(config: Config, pki: TestPki, realm?: FileRealm): EsNode {
  return {
    version: config.es.localVersion,
    dir: path.join(config.localDir, 'test-secured', 'elasticsearch'),
    downloads: path.join(config.localDir, 'downloads'),
    httpPort: SECURED_ES_PORT,
    transportPort: 19351,
    heap: '768m',
    security: {
      caFile: pki.ca,
      certFile: pki.serverCert,
      keyFile: pki.serverKey,
      bootstrapPassword: ES_BOOTSTRAP_PASSWORD,
      requireClientCert: true,
      ...realm,
    },
  };
}

/** Listener ports of the test broker. */
export const KAFKA_PORTS = { plaintext: 19291, ssl: 19292, mtls: 19293, saslSsl: 19294 } as const;
export const SASL_USERS = { plain: ['alice', 'alice-secret'], scram: ['bob', 'bob-secret'] } as const;

export function tlsKafkaNode(config: Config, pki: TestPki): KafkaNode {
  const [plainUser, plainPassword] = SASL_USERS.plain;
  const [scramUser, scramPassword] = SASL_USERS.scram;
  return {
    localDir: config.localDir,
    dir: path.join(config.localDir, 'test-secured', 'kafka'),
    controllerPort: 19290,
    heap: '512m',
    listeners: [
      { name: 'PLAINTEXT', port: KAFKA_PORTS.plaintext, protocol: 'PLAINTEXT' },
      { name: 'SSL', port: KAFKA_PORTS.ssl, protocol: 'SSL' },
      { name: 'MTLS', port: KAFKA_PORTS.mtls, protocol: 'SSL' },
      { name: 'SASL_SSL', port: KAFKA_PORTS.saslSsl, protocol: 'SASL_SSL' },
    ],
    extraProps: [
      'ssl.keystore.type=PEM',
      `ssl.keystore.location=${pki.serverPem}`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${pki.ca}`,
      'listener.name.ssl.ssl.client.auth=none',
      'listener.name.mtls.ssl.client.auth=required',
      'listener.name.sasl_ssl.ssl.client.auth=none',
      'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      `listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${plainUser}="${plainPassword}";`,
      'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    ],
    // SCRAM credentials live in the cluster metadata: written when the storage is formatted
    formatArgs: [
      '--add-scram',
      `SCRAM-SHA-256=[name=${scramUser},password=${scramPassword}]`,
      '--add-scram',
      `SCRAM-SHA-512=[name=${scramUser},password=${scramPassword}]`,
    ],
  };
}

/** Fresh nodes: anything left from an earlier run is stopped and its data removed first. */
export async function startSecuredNodes(
  config: Config,
  log: Logger,
  realm?: FileRealm,
): Promise<{ pki: TestPki; es: EsNode; kafka: KafkaNode }> {
  const base = path.join(config.localDir, 'test-secured');
  // stopping needs only the folders: no certificate is read
  const none = {} as TestPki;
  const leftover = securedEsNode(config, none);
  await Promise.all([stopLocalEs(leftover), stopLocalKafka(tlsKafkaNode(config, none))]);
  for (const d of ['pki', 'kafka']) rmSync(path.join(base, d), { recursive: true, force: true });
  // keep the unpacked distribution, drop data and keystore
  for (const d of ['data-8', 'data-9', 'logs', 'run'])
    rmSync(path.join(leftover.dir, d), { recursive: true, force: true });
  rmSync(path.join(leftover.dir, `elasticsearch-${leftover.version}`, 'config', 'elasticsearch.keystore'), {
    force: true,
  });
  const pki = makePki(path.join(base, 'pki'));
  const es = securedEsNode(config, pki, realm);
  const kafka = tlsKafkaNode(config, pki);
  await startLocalKafka(kafka, log);
  await startLocalEs(es, log);
  return { pki, es, kafka };
}

export async function stopSecuredNodes(nodes: { es: EsNode; kafka: KafkaNode }): Promise<void> {
  await Promise.all([stopLocalEs(nodes.es), stopLocalKafka(nodes.kafka)]);
}
