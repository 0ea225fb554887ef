// Startup check of the two connections: a wrong CA, refused credentials, or a plaintext client on a
// TLS port becomes one line naming the setting to change, instead of a stack trace from deep in a
// client or minutes of retries. Nothing here retries: a misconfiguration does not heal.
import tls from 'node:tls';
import { errors as esErrors } from '@elastic/elasticsearch';
import { Kafka, logLevel } from 'kafkajs';
import { ConfigError, type Config } from '../config/index.ts';
import { createEsClient, kafkaTls, LOCAL_ES_URL, LOCAL_KAFKA_BROKERS } from './clients.ts';

/** A connection that cannot work as configured; the message names the setting. */
export class ConnectionSettingError extends ConfigError {
  constructor(variable: string, message: string) {
    super(variable, message);
    this.name = 'ConnectionSettingError';
    this.message = `Cannot connect: ${variable} ${message}`;
  }
}

const TIMEOUT_MS = 10_000;

/** Node's codes for a certificate chain the client does not trust. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

/** Codes and messages along an error's cause chain (clients wrap the socket's error). */
function chain(e: unknown): { codes: Set<string>; text: string } {
  const codes = new Set<string>();
  const texts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur && depth < 6; depth++) {
    const err = cur as { code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof err.code === 'string') codes.add(err.code);
    if (typeof err.message === 'string') texts.push(err.message);
    cur = err.cause ?? err.originalError;
  }
  return { codes, text: texts.join(' | ') };
}

/** Whether host:port completes a TLS handshake, or at least answers one as a TLS server would. */
export function speaksTls(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port, rejectUnauthorized: false });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(3000, () => done(false));
    socket.once('secureConnect', () => done(true));
    // a TLS alert (e.g. "certificate required") is a TLS server too
    socket.once('error', (e: NodeJS.ErrnoException) => done(/alert|certificate/i.test(e.message)));
  });
}

function hostPort(hostAndPort: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(`tcp://${hostAndPort}`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || defaultPort) };
}

/** Checks Elasticsearch as the processes will reach it; returns who we are there. */
export async function checkElasticsearch(config: Config): Promise<string> {
  const { url, cloudId, apiKey, username } = config.es;
  const where = cloudId ? 'ES_CLOUD_ID' : url ? 'ES_URL' : 'the local Elasticsearch';
  const target = url ?? (cloudId ? 'the Elastic Cloud deployment' : LOCAL_ES_URL);
  const es = createEsClient(config, { requestTimeout: TIMEOUT_MS, maxRetries: 0 });
  const credential = apiKey ? 'ES_API_KEY' : username ? 'ES_PASSWORD' : undefined;
  try {
    // needs no privilege at all: any valid credential may ask who it is
    const me = await es.transport.request<{ username?: string }>({
      method: 'GET',
      path: '/_security/_authenticate',
    });
    return me.username ?? 'authenticated';
  } catch (e) {
    if (e instanceof esErrors.ResponseError) {
      const status = e.meta.statusCode;
      const reason = JSON.stringify(e.meta.body ?? '');
      if (status === 401)
        throw new ConnectionSettingError(
          credential ?? 'ES_API_KEY',
          credential
            ? `was refused by Elasticsearch (401 Unauthorized${apiKey ? '' : ` for user ${username}`})`
            : 'is not set, and Elasticsearch requires credentials (401): set ES_API_KEY or ES_USERNAME and ES_PASSWORD',
        );
      // security off: nothing to authenticate, and nothing else to check
      // (the test distribution has no such endpoint then)
      if (/security.*(not enabled|explicitly enabled|disabled)|no handler found/i.test(reason))
        return 'security off';
      throw new ConnectionSettingError(where, `answered ${status}: ${reason.slice(0, 200)}`);
    }
    throw await classifyEsFailure(e, config, where, target);
  } finally {
    await es.close();
  }
}

async function classifyEsFailure(
  e: unknown,
  config: Config,
  where: string,
  target: string,
): Promise<ConnectionSettingError> {
  const { codes, text } = chain(e);
  const { caFile, caFingerprint, clientCert } = config.es;
  if (/fingerprint does not match/i.test(text))
    return new ConnectionSettingError(
      'ES_CA_FINGERPRINT',
      `does not match any CA certificate in the chain ${where} presents`,
    );
  if ([...codes].some((c) => UNTRUSTED.has(c)) || /self[- ]signed|unable to (verify|get)/i.test(text)) {
    if (caFile)
      return new ConnectionSettingError(
        'ES_CA_FILE',
        `(${caFile}) did not sign the certificate ${where} presents (${text.split(' | ').pop()})`,
      );
    if (caFingerprint) return new ConnectionSettingError('ES_CA_FINGERPRINT', `: ${text.split(' | ').pop()}`);
    return new ConnectionSettingError(
      'ES_CA_FILE',
      `is not set, and ${where} presents a certificate no CA on this machine signed: set ES_CA_FILE or ES_CA_FINGERPRINT`,
    );
  }
  if (codes.has('ERR_TLS_CERT_ALTNAME_INVALID'))
    return new ConnectionSettingError(
      where,
      `names a host its certificate does not: ${text.split(' | ').pop()}`,
    );
  if (/certificate required|alert number 116/i.test(text) && !clientCert)
    return new ConnectionSettingError(
      'ES_CLIENT_CERT_FILE',
      `is not set, and ${where} requires a client certificate: set ES_CLIENT_CERT_FILE and ES_CLIENT_KEY_FILE`,
    );
  // TLS 1.3: the server checks the client certificate after the handshake, then hangs up
  if (!clientCert && target.startsWith('https:') && /other side closed|socket hang up|ECONNRESET/i.test(text))
    return new ConnectionSettingError(
      'ES_CLIENT_CERT_FILE',
      `is not set, and ${where} closed the connection after the TLS handshake: it requires a client certificate (set ES_CLIENT_CERT_FILE and ES_CLIENT_KEY_FILE)`,
    );
  if (/wrong version number|packet length too long|ERR_SSL_/i.test(text) || codes.has('EPROTO'))
    return new ConnectionSettingError(where, `is https:// but ${target} answers plain HTTP: use http://`);
  if (codes.has('ECONNREFUSED') || /ECONNREFUSED/.test(text))
    return new ConnectionSettingError(where, `(${target}): connection refused, nothing listens there`);
  if (!config.es.cloudId && target.startsWith('http:')) {
    const { host, port } = hostPort(new URL(target).host, 80);
    if (await speaksTls(host, port))
      return new ConnectionSettingError(where, `is http:// but ${host}:${port} speaks TLS: use https://`);
  }
  if (e instanceof esErrors.TimeoutError)
    return new ConnectionSettingError(where, `(${target}): no answer within ${TIMEOUT_MS / 1000} s`);
  return new ConnectionSettingError(where, `(${target}): ${text.split(' | ').pop()}`);
}

/** Checks Kafka as the processes will reach it; returns the number of brokers. */
export async function checkKafka(config: Config): Promise<number> {
  const k = config.kafka;
  const brokers = k.brokers ?? LOCAL_KAFKA_BROKERS;
  const where = k.brokers ? 'KAFKA_BROKERS' : 'the local Kafka';
  const admin = new Kafka({
    clientId: k.clientId,
    brokers,
    ssl: kafkaTls(config),
    sasl: k.sasl as never,
    connectionTimeout: 5000,
    authenticationTimeout: 5000,
    requestTimeout: TIMEOUT_MS,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length;
  } catch (e) {
    throw await classifyKafkaFailure(e, config, where, brokers);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function classifyKafkaFailure(
  e: unknown,
  config: Config,
  where: string,
  brokers: string[],
): Promise<ConnectionSettingError> {
  const { codes, text } = chain(e);
  const k = config.kafka;
  const last = text.split(' | ').pop();
  if ((e as Error).name === 'KafkaJSSASLAuthenticationError' || /SASL.*authentication failed/i.test(text))
    return new ConnectionSettingError(
      'KAFKA_SASL_PASSWORD',
      `(user ${k.sasl?.username}, ${k.sasl?.mechanism}) was refused by the broker: ${last}`,
    );
  if ([...codes].some((c) => UNTRUSTED.has(c)) || /self[- ]signed|unable to (verify|get)/i.test(text))
    return k.caFile
      ? new ConnectionSettingError(
          'KAFKA_CA_FILE',
          `(${k.caFile}) did not sign the certificate the broker presents (${last})`,
        )
      : new ConnectionSettingError(
          'KAFKA_CA_FILE',
          `is not set, and the broker presents a certificate no CA on this machine signed (${last})`,
        );
  if (/certificate required|alert number 116|handshake failure/i.test(text) && !k.clientCert)
    return new ConnectionSettingError(
      'KAFKA_CLIENT_CERT_FILE',
      'is not set, and the broker requires a client certificate (mTLS): set KAFKA_CLIENT_CERT_FILE and KAFKA_CLIENT_KEY_FILE',
    );
  if (/wrong version number|packet length too long/i.test(text))
    return new ConnectionSettingError('KAFKA_SSL', `is on but ${brokers[0]} is a plaintext listener`);
  if (codes.has('ECONNREFUSED'))
    return new ConnectionSettingError(
      where,
      `(${brokers.join(',')}): connection refused, nothing listens there`,
    );
  const { host, port } = hostPort(brokers[0]!, 9092);
  if (!k.ssl && (await speaksTls(host, port)))
    return new ConnectionSettingError(
      'KAFKA_SSL',
      `is off but ${host}:${port} is a TLS listener: set KAFKA_SSL=true (and KAFKA_CA_FILE for a private CA)`,
    );
  if (k.ssl && !k.sasl && /closed|timeout/i.test(text))
    return new ConnectionSettingError(
      'KAFKA_SASL_MECHANISM',
      `is not set and ${brokers[0]} closed the connection: a SASL_SSL listener needs KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`,
    );
  return new ConnectionSettingError(where, `(${brokers.join(',')}): ${last}`);
}

/** Both checks, Elasticsearch first; the first misconfiguration throws. */
export async function checkConnections(
  config: Config,
): Promise<{ elasticsearch: string; kafkaBrokers: number }> {
  const elasticsearch = await checkElasticsearch(config);
  const kafkaBrokers = await checkKafka(config);
  return { elasticsearch, kafkaBrokers };
}
