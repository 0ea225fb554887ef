import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { pickJdk } from './java.ts';
import { execFileAsync, isAlive, readPid, startDetached, stopByPidFile, waitFor } from './process.ts';

/** Newest integ-test-zip on Maven Central at the time of writing; its major must match @elastic/elasticsearch. */
export const ES_VERSION = '8.19.21';
const ES_ARTIFACT = `org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip`;
const ES_USER = 'recsys-es';
const ES_HTTP = 'http://127.0.0.1:9200';

export interface EsPaths {
  home: string;
  data: string;
  logs: string;
  run: string;
  pidFile: string;
  zip: string;
}

export function esPaths(localDir: string): EsPaths {
  const base = path.join(localDir, 'elasticsearch');
  return {
    home: path.join(base, `elasticsearch-${ES_VERSION}`),
    data: path.join(base, 'data'),
    logs: path.join(base, 'logs'),
    run: path.join(base, 'run'),
    pidFile: path.join(base, 'run', 'es.pid'),
    zip: path.join(localDir, 'downloads', `elasticsearch-${ES_VERSION}.zip`),
  };
}

/** Version of whatever answers on 127.0.0.1:9200, or undefined. (This distribution has no `GET /`.) */
export async function probeEs(url = ES_HTTP): Promise<string | undefined> {
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

async function download(p: EsPaths, log: Logger): Promise<void> {
  if (existsSync(p.zip)) return;
  log.info({ artifact: ES_ARTIFACT }, 'downloading Elasticsearch from Maven Central (once)');
  mkdirSync(path.dirname(p.zip), { recursive: true });
  await execFileAsync(
    'mvn',
    ['-q', '-B', 'dependency:copy', `-Dartifact=${ES_ARTIFACT}`, `-DoutputDirectory=${path.dirname(p.zip)}`],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
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

function writeConfig(p: EsPaths, heap: string): void {
  writeFileSync(
    path.join(p.home, 'config', 'elasticsearch.yml'),
    [
      'cluster.name: recsys-local',
      'node.name: local-1',
      'network.host: 127.0.0.1',
      'http.port: 9200',
      'transport.port: 9300',
      'discovery.type: single-node',
      `path.data: ${p.data}`,
      `path.logs: ${p.logs}`,
      // Local default: no TLS/auth on loopback. Real clusters use ES_URL with ES_USERNAME/ES_API_KEY.
      'xpack.security.enabled: false',
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
  writeFileSync(path.join(p.home, 'config', 'jvm.options.d', 'heap.options'), `-Xms${heap}\n-Xmx${heap}\n`);
}

/** Elasticsearch refuses to run as root; as root we create a system user and hand it the folders. */
async function ensureUser(p: EsPaths): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    await execFileAsync('id', ['-u', ES_USER]);
  } catch {
    await execFileAsync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', ES_USER]);
  }
  const uid = Number((await execFileAsync('id', ['-u', ES_USER])).stdout.trim());
  const gid = Number((await execFileAsync('id', ['-g', ES_USER])).stdout.trim());
  await execFileAsync('chown', ['-R', `${uid}:${gid}`, path.dirname(p.home)]);
  // The ES user must be able to reach its folder through every parent directory.
  let dir = path.dirname(path.dirname(p.home));
  while (dir !== path.dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
    dir = path.dirname(dir);
  }
  return { uid, gid };
}

export async function startLocalEs(
  localDir: string,
  log: Logger,
  heap = '2g',
): Promise<{ version: string; reused: boolean; seconds: number }> {
  const started = Date.now();
  const running = await probeEs();
  if (running) return { version: running, reused: true, seconds: 0 };
  const p = esPaths(localDir);
  await download(p, log);
  await unpack(p, log);
  for (const d of [p.data, p.logs, p.run]) mkdirSync(d, { recursive: true });
  writeConfig(p, heap);
  const owner = await ensureUser(p);
  const jdk = pickJdk(17, 25);
  log.info({ jdk: jdk.home, asUser: owner ? ES_USER : 'current' }, 'starting Elasticsearch');
  const env = { ...process.env, ES_JAVA_HOME: jdk.home, ES_PATH_CONF: path.join(p.home, 'config') };
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
  const version = await waitFor('Elasticsearch on 127.0.0.1:9200', () => probeEs(), 180_000, 1000).catch(
    (e: Error) => {
      throw new Error(`${e.message}; see ${p.logs}/recsys-local.log and ${logFile}`);
    },
  );
  await waitFor(
    'cluster health yellow',
    async () => {
      const res = await fetch(`${ES_HTTP}/_cluster/health?wait_for_status=yellow&timeout=5s`);
      return res.ok ? true : undefined;
    },
    60_000,
  );
  return { version, reused: false, seconds: (Date.now() - started) / 1000 };
}

export async function stopLocalEs(localDir: string): Promise<'stopped' | 'not-running'> {
  const p = esPaths(localDir);
  const result = await stopByPidFile(p.pidFile, 90_000);
  await stopByPidFile(path.join(p.run, 'launcher.pid'), 5_000);
  return result;
}

export function localEsPid(localDir: string): number | undefined {
  const pid = readPid(esPaths(localDir).pidFile);
  return pid && isAlive(pid) ? pid : undefined;
}
