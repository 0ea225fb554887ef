import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  statSync,
} from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { pickJdk } from './java.ts';
import { execFileAsync, isAlive, readPid, startDetached, stopByPidFile, waitFor } from './process.ts';

export { ES_VERSION, ES8_VERSION, ES_VERSIONS } from '../../config/es-versions.ts';
const ES_USER = 'recsys-es';

/** Where a node listens and keeps its files; security on means HTTPS and credentials. */
export interface EsNode {
  version: string;
  /** its own folder: unpacked distribution, data, logs, pid files */
  dir: string;
  /** shared download cache */
  downloads: string;
  httpPort: number;
  transportPort: number;
  heap?: string;
  security?: EsSecurity;
}

/** HTTPS with PEM files the caller made, and the `elastic` user's bootstrap password. */
export interface EsSecurity {
  caFile: string;
  certFile: string;
  keyFile: string;
  bootstrapPassword: string;
  /** require a client certificate signed by the CA on HTTPS */
  requireClientCert?: boolean;
  /**
   * File-realm roles and users (config/roles.yml, elasticsearch-users). The integ-test-zip cannot
   * create the .security index (its mapping needs the analysis-common module the zip lacks), so
   * native users, native roles and API keys are not available on it; file-realm ones are.
   */
  roles?: Record<string, unknown>;
  users?: Array<{ name: string; password: string; roles: string[] }>;
}

export interface EsPaths {
  home: string;
  config: string;
  data: string;
  logs: string;
  run: string;
  pidFile: string;
  zip: string;
}

/** The node `recsys infra up` runs: 127.0.0.1:9200, under the local folder. */
export function defaultEsNode(localDir: string, version: string): EsNode {
  return {
    version,
    dir: path.join(localDir, 'elasticsearch'),
    downloads: path.join(localDir, 'downloads'),
    httpPort: 9200,
    transportPort: 9300,
  };
}

export function esNodeUrl(node: EsNode): string {
  return `${node.security ? 'https' : 'http'}://127.0.0.1:${node.httpPort}`;
}

export function esPaths(node: EsNode): EsPaths {
  const home = path.join(node.dir, `elasticsearch-${node.version}`);
  return {
    home,
    config: path.join(home, 'config'),
    // One data folder per major: a 9.x node upgrades 8.x data in place, after which 8.x cannot read it.
    data: path.join(node.dir, `data-${node.version.split('.')[0]}`),
    logs: path.join(node.dir, 'logs'),
    run: path.join(node.dir, 'run'),
    pidFile: path.join(node.dir, 'run', 'es.pid'),
    zip: path.join(node.downloads, `elasticsearch-${node.version}.zip`),
  };
}

/** Version of whatever answers on a plain-HTTP node, or undefined. (This distribution has no `GET /`.) */
export async function probeEs(url = 'http://127.0.0.1:9200'): Promise<string | undefined> {
  try {
    const res = await fetch(`${url}/_nodes/_local?filter_path=nodes.*.version`, {
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { nodes?: Record<string, { version: string }> };
    return Object.values(body.nodes ?? {})[0]?.version;
  } catch {
    return undefined;
  }
}

async function download(node: EsNode, p: EsPaths, log: Logger): Promise<void> {
  if (existsSync(p.zip)) return;
  const artifact = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${node.version}:zip`;
  log.info({ artifact }, 'downloading Elasticsearch from Maven Central (once)');
  mkdirSync(path.dirname(p.zip), { recursive: true });
  await execFileAsync(
    'mvn',
    ['-q', '-B', 'dependency:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${path.dirname(p.zip)}`],
    { maxBuffer: 16 * 1024 * 1024 },
  );
}

async function unpack(p: EsPaths, log: Logger): Promise<void> {
  if (existsSync(path.join(p.home, 'bin', 'elasticsearch'))) return;
  log.info({ to: p.home }, 'unpacking Elasticsearch');
  const dest = path.dirname(p.home);
  mkdirSync(dest, { recursive: true });
  try {
    await execFileAsync('unzip', ['-q', '-o', p.zip, '-d', dest], { maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    // No unzip on this machine: python's zipfile drops the executable bits, so restore them on bin/.
    await execFileAsync('python3', ['-m', 'zipfile', '-e', p.zip, dest], { maxBuffer: 16 * 1024 * 1024 });
    const bin = path.join(p.home, 'bin');
    for (const f of readdirSync(bin)) chmodSync(path.join(bin, f), 0o755);
  }
}

function securityConfig(s: EsSecurity | undefined): string[] {
  // Local default: no TLS/auth on loopback. Real clusters use ES_URL with credentials and ES_CA_FILE.
  if (!s) return ['xpack.security.enabled: false'];
  return [
    'xpack.security.enabled: true',
    'xpack.security.http.ssl.enabled: true',
    // relative to the config folder, the only place the node may read them from
    'xpack.security.http.ssl.certificate: certs/node.crt',
    'xpack.security.http.ssl.key: certs/node.key',
    'xpack.security.http.ssl.certificate_authorities: [ "certs/ca.crt" ]',
    `xpack.security.http.ssl.client_authentication: ${s.requireClientCert ? 'required' : 'none'}`,
    // single-node discovery: the transport layer talks to no one, so it needs no TLS
    'xpack.security.transport.ssl.enabled: false',
  ];
}

function copyCertificates(s: EsSecurity, p: EsPaths): void {
  const dir = path.join(p.config, 'certs');
  mkdirSync(dir, { recursive: true });
  copyFileSync(s.caFile, path.join(dir, 'ca.crt'));
  copyFileSync(s.certFile, path.join(dir, 'node.crt'));
  copyFileSync(s.keyFile, path.join(dir, 'node.key'));
}

function writeConfig(node: EsNode, p: EsPaths): void {
  writeFileSync(
    path.join(p.config, 'elasticsearch.yml'),
    [
      'cluster.name: recsys-local',
      'node.name: local-1',
      'network.host: 127.0.0.1',
      `http.port: ${node.httpPort}`,
      `transport.port: ${node.transportPort}`,
      'discovery.type: single-node',
      `path.data: ${p.data}`,
      `path.logs: ${p.logs}`,
      ...securityConfig(node.security),
      // Tests and the deploy's version clean-up delete by prefix pattern.
      'action.destructive_requires_name: false',
      // A developer disk nearly full must not turn the node read-only mid-test.
      'cluster.routing.allocation.disk.threshold_enabled: false',
      // A deploy's HNSW segments are as large as the indexing buffer lets them grow, and ann cost
      // grows with the segment count. The default 10 % of this small heap cut a 1M deploy into many
      // segments (bench/deploy); 30 % is the buffer a production node's default 10 % of a 6 GB heap gives.
      'indices.memory.index_buffer_size: 30%',
      '',
    ].join('\n'),
  );
  const heap = node.heap ?? '2g';
  writeFileSync(path.join(p.config, 'jvm.options.d', 'heap.options'), `-Xms${heap}\n-Xmx${heap}\n`);
}

/** The `elastic` user's first password, read by the node from its keystore at first start. */
async function writeKeystore(p: EsPaths, password: string, env: NodeJS.ProcessEnv): Promise<void> {
  const tool = path.join(p.home, 'bin', 'elasticsearch-keystore');
  await execFileAsync(tool, ['create', '-s'], { env }).catch(() => undefined); // exists already: fine
  await new Promise<void>((resolve, reject) => {
    const child = execFileAsync(tool, ['add', '-x', '-f', 'bootstrap.password'], { env });
    child.child.stdin?.end(password);
    child.then(() => resolve(), reject);
  });
}

/** Roles as YAML (flow-style values) and users through the distribution's own tool, which hashes passwords. */
async function writeFileRealm(s: EsSecurity, p: EsPaths, env: NodeJS.ProcessEnv): Promise<void> {
  // one line per key: the roles file is read role by role, each a block of indented lines
  const yaml = Object.entries(s.roles ?? {}).map(
    ([name, role]) =>
      `${name}:\n${Object.entries(role as Record<string, unknown>)
        .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}\n`)
        .join('')}`,
  );
  writeFileSync(path.join(p.config, 'roles.yml'), yaml.join(''));
  const tool = path.join(p.home, 'bin', 'elasticsearch-users');
  for (const u of s.users ?? []) {
    await execFileAsync(tool, ['userdel', u.name], { env }).catch(() => undefined);
    await execFileAsync(tool, ['useradd', u.name, '-p', u.password, '-r', u.roles.join(',')], { env });
  }
}

/** Elasticsearch refuses to run as root; as root we create a system user and hand it the folders. */
async function ensureUser(node: EsNode): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    await execFileAsync('id', ['-u', ES_USER]);
  } catch {
    await execFileAsync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', ES_USER]);
  }
  const uid = Number((await execFileAsync('id', ['-u', ES_USER])).stdout.trim());
  const gid = Number((await execFileAsync('id', ['-g', ES_USER])).stdout.trim());
  await execFileAsync('chown', ['-R', `${uid}:${gid}`, node.dir]);
  // The ES user must be able to reach its folder through every parent directory.
  let dir = path.dirname(node.dir);
  while (dir !== path.dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
    dir = path.dirname(dir);
  }
  return { uid, gid };
}

/** Answers once the node serves HTTP(S): any status but a refused or reset connection. */
async function probeNode(node: EsNode): Promise<string | undefined> {
  if (!node.security) return probeEs(esNodeUrl(node));
  // Security on: an unauthenticated request gets 401, which is enough to know the node is up.
  const s = node.security;
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: node.httpPort,
        path: '/_cluster/health?wait_for_status=yellow&timeout=1s',
        ca: readFileSync(s.caFile),
        cert: s.requireClientCert ? readFileSync(s.certFile) : undefined,
        key: s.requireClientCert ? readFileSync(s.keyFile) : undefined,
        auth: `elastic:${s.bootstrapPassword}`,
        timeout: 3000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? node.version : undefined);
      },
    );
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startLocalEs(
  node: EsNode,
  log: Logger,
): Promise<{ version: string; reused: boolean; seconds: number }> {
  const started = Date.now();
  const running = node.security ? await probeNode(node) : await probeEs(esNodeUrl(node));
  if (running) return { version: running, reused: true, seconds: 0 };
  const p = esPaths(node);
  await download(node, p, log);
  await unpack(p, log);
  for (const d of [p.data, p.logs, p.run]) mkdirSync(d, { recursive: true });
  writeConfig(node, p);
  const jdk = pickJdk(node.version.startsWith('8.') ? 17 : 21, 25);
  const env = { ...process.env, ES_JAVA_HOME: jdk.home, ES_PATH_CONF: p.config };
  if (node.security) {
    copyCertificates(node.security, p);
    await writeKeystore(p, node.security.bootstrapPassword, env);
    await writeFileRealm(node.security, p, env);
  }
  const owner = await ensureUser(node);
  log.info(
    { jdk: jdk.home, asUser: owner ? ES_USER : 'current', port: node.httpPort },
    'starting Elasticsearch',
  );
  const bin = path.join(p.home, 'bin', 'elasticsearch');
  const logFile = path.join(p.logs, 'stdout.log');
  if (owner) {
    writeFileSync(logFile, '', { flag: 'a' });
    chownSync(logFile, owner.uid, owner.gid);
    // setsid+su: the JVM becomes its own session leader, so it outlives this process.
    startDetached('su', ['-s', '/bin/sh', ES_USER, '-c', `exec "${bin}" -p "${p.pidFile}"`], {
      logFile,
      pidFile: path.join(p.run, 'launcher.pid'),
      env,
    });
  } else {
    startDetached(bin, ['-p', p.pidFile], { logFile, pidFile: path.join(p.run, 'launcher.pid'), env });
  }
  const version = await waitFor(
    `Elasticsearch on ${esNodeUrl(node)}`,
    () => probeNode(node),
    180_000,
    1000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; see ${p.logs}/recsys-local.log and ${logFile}`);
  });
  if (!node.security)
    await waitFor(
      'cluster health yellow',
      async () => {
        const res = await fetch(`${esNodeUrl(node)}/_cluster/health?wait_for_status=yellow&timeout=5s`);
        return res.ok ? true : undefined;
      },
      60_000,
    );
  return { version, reused: false, seconds: (Date.now() - started) / 1000 };
}

export async function stopLocalEs(node: EsNode): Promise<'stopped' | 'not-running'> {
  const p = esPaths(node);
  const result = await stopByPidFile(p.pidFile, 90_000);
  await stopByPidFile(path.join(p.run, 'launcher.pid'), 5_000);
  return result;
}

export function localEsPid(node: EsNode): number | undefined {
  const pid = readPid(esPaths(node).pidFile);
  return pid && isAlive(pid) ? pid : undefined;
}
