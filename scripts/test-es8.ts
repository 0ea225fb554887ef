// `npm run test:es8`: the integration suite against Elasticsearch 8.19, the other version the project
// supports. A second local node on its own ports and folder runs beside the default one (9.x on
// 9200), so nothing is stopped; the local Kafka is shared. Extra arguments go to vitest (e.g. test
// files). ES8_HTTP_PORT / ES8_TRANSPORT_PORT move the node (default 9201 / 9301).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config/index.ts';
import {
  ES8_VERSION,
  esNodeUrl,
  startLocalEs,
  stopLocalEs,
  type EsNode,
} from '../src/infra/local/elasticsearch.ts';
import { defaultKafkaNode, startLocalKafka } from '../src/infra/local/kafka.ts';
import { createLogger } from '../src/infra/logger.ts';

const started = Date.now();
const config = loadConfig();
const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
const node: EsNode = {
  version: ES8_VERSION,
  dir: path.join(config.localDir, `elasticsearch-${ES8_VERSION.split('.')[0]}`),
  downloads: path.join(config.localDir, 'downloads'),
  httpPort: Number(process.env['ES8_HTTP_PORT'] ?? 9201),
  transportPort: Number(process.env['ES8_TRANSPORT_PORT'] ?? 9301),
};
const url = esNodeUrl(node);
console.log(`── Elasticsearch ${ES8_VERSION} at ${url}`);
const es = await startLocalEs(node, log);
console.log(`   ${es.reused ? 'reused' : `started in ${es.seconds.toFixed(0)}s`}: ${es.version}`);
if (config.kafka.local) await startLocalKafka(defaultKafkaNode(config.localDir), log);

const report = path.join(config.localDir, 'vitest-report-es8.json');
const r = spawnSync(
  'npx',
  [
    'vitest',
    'run',
    '--project',
    'integration',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...process.argv.slice(2),
  ],
  // ES_LOCAL_VERSION: the secured-node tests start their own node of this version too
  { stdio: 'inherit', env: { ...process.env, ES_URL: url, ES_LOCAL_VERSION: ES8_VERSION } },
);
if (!es.reused) await stopLocalEs(node);
if (existsSync(report)) {
  const j = JSON.parse(readFileSync(report, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
  };
  console.log(`\nes8: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests} skipped`);
}
const secs = ((Date.now() - started) / 1000).toFixed(0);
if (r.status !== 0) {
  console.error(
    `── integration on Elasticsearch ${ES8_VERSION} failed after ${secs}s (exit ${r.status ?? r.signal})`,
  );
  process.exit(r.status ?? 1);
}
console.log(`── integration on Elasticsearch ${ES8_VERSION} ok in ${secs}s`);
