// TLS and credentials for real, and least privilege: one Elasticsearch node with security on (HTTPS
// from a CA made here, client certificates required, the `elastic` bootstrap password from the
// keystore, then API keys) and one Kafka broker with SSL, mTLS and SASL_SSL listeners, both started
// by the project's own local infrastructure code, once for this file.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, loadConfig, type Config } from '../../src/config/index.ts';
import { createContext, type AppContext } from '../../src/app/context.ts';
import { createEsClient, createKafka, createProducer } from '../../src/infra/clients.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { startIngest } from '../../src/ingest/service.ts';
import { startOnline } from '../../src/online/service.ts';
import { startServer } from '../../src/api/app.ts';
import { runTraining } from '../../src/release/run.ts';
import { EventProducer } from '../../src/ingest/producer.ts';
import { namesFor } from '../../src/config/names.ts';
import { esRoles, PROCESSES, type RecsysProcess } from '../../src/setup/roles.ts';
import { removeDeployment } from '../../src/setup/teardown.ts';
import { generateDataset, itemMetadata } from '../../src/demo/generate.ts';
import {
  ES_BOOTSTRAP_PASSWORD,
  KAFKA_PORTS,
  SASL_USERS,
  SECURED_ES_PORT,
  startSecuredNodes,
  stopSecuredNodes,
  type TestPki,
} from './secured-nodes.ts';
import { waitUntil } from './wait.ts';

const ES_URL = `https://127.0.0.1:${SECURED_ES_PORT}`;
const base = loadConfig({ file: null });
let nodes: Awaited<ReturnType<typeof startSecuredNodes>> | undefined;
let pki: TestPki;

/** The environment a process gets: nothing from the runner's ES_/KAFKA_ variables. */
function envWith(vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(ES_|KAFKA_|RECSYS_|API_KEYS)/.test(k)) env[k] = v;
  return { ...env, RECSYS_LOCAL_DIR: base.localDir, LOG_LEVEL: 'warn', ...vars };
}

function esEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ES_URL,
    ES_CA_FILE: pki.ca,
    ES_CLIENT_CERT_FILE: pki.clientCert,
    ES_CLIENT_KEY_FILE: pki.clientKey,
    ...extra,
  };
}

const elasticEnv = () => esEnv({ ES_USERNAME: 'elastic', ES_PASSWORD: ES_BOOTSTRAP_PASSWORD });

function kafkaSaslEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: `127.0.0.1:${KAFKA_PORTS.saslSsl}`,
    KAFKA_CA_FILE: pki.ca,
    KAFKA_SASL_MECHANISM: 'scram-sha-256',
    KAFKA_SASL_USERNAME: SASL_USERS.scram[0],
    KAFKA_SASL_PASSWORD: SASL_USERS.scram[1],
    ...extra,
  };
}

function configOf(vars: Record<string, string>): Config {
  return loadConfig({ env: envWith(vars), file: null, overrides: { tune: { mode: 'off' } } });
}

function without(vars: Record<string, string>, ...names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).filter(([k]) => !names.includes(k)));
}

/** `recsys <args>` as a separate process; bounded, so a hang fails instead of waiting forever. */
function cli(args: string[], vars: Record<string, string>) {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin/recsys.js'), ...args], {
    env: envWith(vars),
    encoding: 'utf8',
    timeout: 120_000,
  });
  const errLines = (r.stderr ?? '').split('\n').filter((l) => l.trim() !== '');
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', errLines };
}

/** One line naming the setting, exit code 2, no stack trace. */
function expectOneLine(r: ReturnType<typeof cli>, setting: string): void {
  expect(r.signal).toBeNull();
  expect(r.errLines).toHaveLength(1);
  expect(r.errLines[0]).toMatch(new RegExp(`^Cannot connect: ${setting}\\b`));
  expect(r.status).toBe(2);
}

// Least privilege: one file-realm user per process holding only its role (see EsSecurity on why
// not API keys), on the indices of this prefix.
const prefix = `t-roles-${randomBytes(3).toString('hex')}-`;
const common = { RECSYS_INDEX_PREFIX: prefix, RECSYS_TOPIC_PREFIX: prefix, KAFKA_PARTITIONS: '1' };
const roleOf = (p: RecsysProcess) => `recsys-${p}`;
const passwordOf = (p: RecsysProcess) => `${p}-secret-1`;
const roles = esRoles(namesFor(loadConfig({ env: envWith(common), file: null })));

beforeAll(async () => {
  nodes = await startSecuredNodes(base, createLogger('warn'), {
    roles: Object.fromEntries(PROCESSES.map((p) => [roleOf(p), roles[p]])),
    users: PROCESSES.map((p) => ({ name: roleOf(p), password: passwordOf(p), roles: [roleOf(p)] })),
  });
  pki = nodes.pki;
}, 600_000);

afterAll(async () => {
  if (nodes) await stopSecuredNodes(nodes);
}, 180_000);

/** A message through a new topic and back, over the connection a config describes. */
async function roundTrip(config: Config): Promise<string> {
  const kafka = createKafka(config, createLogger('silent'));
  const topic = `rt-${randomBytes(4).toString('hex')}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
  });
  await admin.disconnect();
  const producer = createProducer(kafka, 'reliable');
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'k', value: `hello ${topic}` }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: `${topic}-g` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let got: string | undefined;
  await consumer.run({
    eachMessage: async ({ message }) => {
      got = message.value?.toString();
    },
  });
  try {
    await waitUntil('the message comes back', async () => got !== undefined, 60_000);
  } finally {
    await consumer.disconnect();
  }
  return got!;
}

describe('Elasticsearch over HTTPS with a private CA and credentials', () => {
  it('connects with the CA file, a client certificate and the bootstrap password', () => {
    const r = cli(['check'], { ...elasticEnv(), ...kafkaSaslEnv() });
    expect(r.errLines).toEqual([]);
    expect(r.stdout).toMatch(/elasticsearch: ok \(elastic\)/);
    expect(r.status).toBe(0);
  });

  it('connects with the CA fingerprint instead of the file', async () => {
    const vars = without(
      esEnv({ ES_CA_FINGERPRINT: pki.caFingerprint, ES_USERNAME: 'elastic' }),
      'ES_CA_FILE',
    );
    const es = createEsClient(configOf({ ...vars, ES_PASSWORD: ES_BOOTSTRAP_PASSWORD }));
    try {
      expect((await es.security.authenticate()).username).toBe('elastic');
    } finally {
      await es.close();
    }
    const wrong = { ...vars, ES_PASSWORD: ES_BOOTSTRAP_PASSWORD, ES_CA_FINGERPRINT: 'AB'.repeat(32) };
    expectOneLine(cli(['check'], { ...wrong, ...kafkaSaslEnv() }), 'ES_CA_FINGERPRINT');
  });

  it('a wrong CA, a wrong password, plain http and no client certificate each stop `recsys check` with one line', () => {
    const kafka = kafkaSaslEnv();
    const wrongCa = esEnv({ ES_CA_FILE: pki.otherCa, ES_USERNAME: 'elastic', ES_PASSWORD: 'x' });
    expectOneLine(cli(['check'], { ...wrongCa, ...kafka }), 'ES_CA_FILE');
    const wrongPassword = esEnv({ ES_USERNAME: 'elastic', ES_PASSWORD: 'wrong-password' });
    expectOneLine(cli(['check'], { ...wrongPassword, ...kafka }), 'ES_PASSWORD');
    const plain = { ES_URL: `http://127.0.0.1:${SECURED_ES_PORT}`, ES_USERNAME: 'elastic', ES_PASSWORD: 'x' };
    expectOneLine(cli(['check'], { ...plain, ...kafka }), 'ES_URL');
    // an API key is sent as one: a key the cluster does not know is refused by name
    expectOneLine(cli(['check'], { ...esEnv({ ES_API_KEY: 'bm8tc3VjaDprZXk=' }), ...kafka }), 'ES_API_KEY');
    const noCert = without(elasticEnv(), 'ES_CLIENT_CERT_FILE', 'ES_CLIENT_KEY_FILE');
    expectOneLine(cli(['check'], { ...noCert, ...kafka }), 'ES_CLIENT_CERT_FILE');
  });
});

describe('Kafka over TLS with a private CA', () => {
  it('SSL with the CA file', async () => {
    const config = configOf({ KAFKA_BROKERS: `127.0.0.1:${KAFKA_PORTS.ssl}`, KAFKA_CA_FILE: pki.ca });
    expect(config.kafka.ssl).toBe(true); // implied by the CA file
    expect(await roundTrip(config)).toMatch(/^hello /);
  });

  it('mTLS: a client certificate where the listener requires one; without it, one line', async () => {
    const vars = {
      KAFKA_BROKERS: `127.0.0.1:${KAFKA_PORTS.mtls}`,
      KAFKA_CA_FILE: pki.ca,
      KAFKA_CLIENT_CERT_FILE: pki.clientCert,
      KAFKA_CLIENT_KEY_FILE: pki.clientKey,
    };
    expect(await roundTrip(configOf(vars))).toMatch(/^hello /);
    const noCert = without(vars, 'KAFKA_CLIENT_CERT_FILE', 'KAFKA_CLIENT_KEY_FILE');
    expectOneLine(cli(['check'], { ...elasticEnv(), ...noCert }), 'KAFKA_CLIENT_CERT_FILE');
  });

  it.each([
    ['plain', SASL_USERS.plain],
    ['scram-sha-256', SASL_USERS.scram],
    ['scram-sha-512', SASL_USERS.scram],
  ] as const)('SASL_SSL with %s', async (mechanism, [user, password]) => {
    const config = configOf(
      kafkaSaslEnv({
        KAFKA_SASL_MECHANISM: mechanism,
        KAFKA_SASL_USERNAME: user,
        KAFKA_SASL_PASSWORD: password,
      }),
    );
    expect(await roundTrip(config)).toMatch(/^hello /);
  });

  it('a wrong CA, a wrong password and a plaintext client on the TLS port each stop `recsys check` with one line', () => {
    const es = elasticEnv();
    expectOneLine(
      cli(['check'], { ...es, ...kafkaSaslEnv({ KAFKA_CA_FILE: pki.otherCa }) }),
      'KAFKA_CA_FILE',
    );
    expectOneLine(
      cli(['check'], { ...es, ...kafkaSaslEnv({ KAFKA_SASL_PASSWORD: 'wrong' }) }),
      'KAFKA_SASL_PASSWORD',
    );
    expectOneLine(cli(['check'], { ...es, KAFKA_BROKERS: `127.0.0.1:${KAFKA_PORTS.ssl}` }), 'KAFKA_SSL');
  });
});

describe('least privilege: each process as a user holding only its role', () => {
  const contexts: AppContext[] = [];
  const contextFor = (p: RecsysProcess) => {
    const es = esEnv({ ES_USERNAME: roleOf(p), ES_PASSWORD: passwordOf(p) });
    const ctx = createContext(configOf({ ...es, ...kafkaSaslEnv(), ...common }));
    contexts.push(ctx);
    return ctx;
  };

  afterAll(async () => {
    if (!nodes) return;
    const admin = contextFor('admin');
    await removeDeployment(admin.es, admin.kafka, admin.config).catch(() => undefined);
    for (const c of contexts) await c.close();
  });

  it('setup (admin), catalogue (api), ingest, train, serve and fold-in each work with their own role', async () => {
    const admin = esEnv({ ES_USERNAME: roleOf('admin'), ES_PASSWORD: passwordOf('admin') });
    const setupRun = cli(['setup'], { ...admin, ...kafkaSaslEnv(), ...common });
    expect(setupRun.errLines).toEqual([]);
    expect(setupRun.status).toBe(0);

    const data = generateDataset({
      users: 200,
      items: 120,
      events: 6000,
      days: 14,
      seed: 3,
      startDate: new Date(Date.now() - 14 * 86_400_000),
    });
    const api = contextFor('api');
    const upserted = await api.repos.metadata.upsertItems(
      data.items.map((i) => itemMetadata(i) as unknown as Record<string, unknown>),
      { refresh: 'wait_for' },
    );
    expect(upserted.errors).toEqual([]);

    const ingestCtx = contextFor('ingest');
    const producer = new EventProducer(ingestCtx.kafka, ingestCtx.names.topics.events);
    const messages = data.events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) }));
    for (let i = 0; i < messages.length; i += 2000) await producer.sendRaw(messages.slice(i, i + 2000));
    await producer.disconnect();
    const ingest = await startIngest(ingestCtx, createRegistry(false));
    const trainer = contextFor('trainer');
    try {
      await waitUntil(
        `${data.events.length} events stored by the ingest key`,
        async () => (await trainer.repos.events.countAfterRefresh()) === data.events.length,
        180_000,
      );
    } finally {
      await ingest.stop();
    }

    const trained = await runTraining(trainer, { trigger: 'test' });
    expect(trained.status).toBe('live');

    const server = await startServer({
      ctx: api,
      registry: createRegistry(false),
      port: 0,
      host: '127.0.0.1',
    });
    try {
      const user = data.events[0]!.user_id;
      const res = await fetch(`${server.url}/v1/users/${encodeURIComponent(user)}/recommendations?k=5`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: unknown[] };
      expect(body.items).toHaveLength(5);
    } finally {
      await server.close();
    }

    // a user the model has never seen: only the online process can give them a vector
    const onlineCtx = contextFor('online');
    const online = await startOnline(onlineCtx, createRegistry(false), { fromBeginning: true });
    try {
      const fresh = new EventProducer(onlineCtx.kafka, onlineCtx.names.topics.events);
      await fresh.sendRaw([
        {
          key: 'fresh-user',
          value: JSON.stringify({
            event_id: 'fresh-1',
            user_id: 'fresh-user',
            item_id: data.events[0]!.item_id,
            event_type: 'purchase',
            timestamp: new Date().toISOString(),
          }),
        },
      ]);
      await fresh.disconnect();
      await waitUntil(
        'the online key folded the new user in',
        async () =>
          (await onlineCtx.repos.users.vector(onlineCtx.names.usersAlias, 'fresh-user')) !== undefined,
        120_000,
      );
    } finally {
      await online.stop();
    }
  });

  it("the API's role cannot write events or delete indices", async () => {
    const api = contextFor('api');
    const bucket = api.names.eventsIndex(new Date());
    // the admin's role can, and so the bucket exists: the refusals below are the api role's doing
    const admin = contextFor('admin');
    await admin.es.index({ index: bucket, id: 'allowed', document: { user_id: 'u', item_id: 'i' } });
    const forbidden = { meta: { statusCode: 403 } };
    await expect(
      api.es.index({ index: bucket, id: 'forged', document: { user_id: 'u', item_id: 'i' } }),
    ).rejects.toMatchObject(forbidden);
    await expect(api.es.delete({ index: bucket, id: 'allowed' })).rejects.toMatchObject(forbidden);
    await expect(api.es.indices.delete({ index: api.names.itemMetadata })).rejects.toMatchObject(forbidden);
    await expect(api.es.indices.delete({ index: api.names.itemsPattern })).rejects.toMatchObject(forbidden);
    await admin.es.delete({ index: bucket, id: 'allowed' });
  });
});
