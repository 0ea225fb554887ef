import http from 'node:http';
import type { Registry } from 'prom-client';
import type { AppContext } from '../app/context.ts';
import { ingestMetrics } from '../infra/metrics.ts';
import { consumerMetrics } from '../infra/supervised-consumer.ts';
import { consumerLag } from '../infra/consumer-groups.ts';
import { KafkaToEsSink } from './sink.ts';
import { eventsTransform, servedTransform } from './transforms.ts';
import { Attributor, type MergeLookup } from './attribution.ts';
import { ConfigError, recommendationIdSecretWarning } from '../config/index.ts';

export interface IngestService {
  stop(): Promise<void>;
}

/**
 * `recsys ingest`: the events sink (events → event store, invalid → DLQ) and the served-list sink
 * (recommendations → recommendations-*), with lag measured every few seconds.
 */
export async function startIngest(
  ctx: AppContext,
  registry: Registry,
  opts: { metricsPort?: number; lagIntervalMs?: number; merges?: MergeLookup } = {},
): Promise<IngestService> {
  const { repos, kafka, names, log, config } = ctx;
  const metrics = ingestMetrics(registry);
  const secretWarning = recommendationIdSecretWarning(config);
  if (secretWarning) log.warn(secretWarning);
  const deps = {
    documents: repos.documents,
    kafka,
    log,
    metrics,
    consumerMetrics: consumerMetrics(registry),
  };
  const attributor = new Attributor({
    servedLists: repos.servedLists,
    names,
    secrets: [config.recommendationIds.secret, ...config.recommendationIds.previousSecrets],
    rules: {
      windowMs: config.ingest.attributionWindowHours * 3_600_000,
      skewMs: config.ingest.attributionClockSkewSeconds * 1000,
    },
    // an action by the user an anonymous list was merged into is theirs (src/privacy keeps the map)
    merges: opts.merges ?? { mergedInto: (anon) => repos.privacyJobs.mergedIntoMany(anon) },
    log: log.child({ part: 'attribution' }),
    metrics,
  });
  // the port first: a process that cannot serve its metrics must fail before it claims a single
  // event (it once wrote 6,000 ledger claims, then died of EADDRINUSE)
  const server =
    opts.metricsPort === undefined
      ? undefined
      : await listenMetrics(registry, opts.metricsPort, config.api.host);
  if (server) log.info({ port: opts.metricsPort }, 'ingest metrics at /metrics');
  const sinks = [
    new KafkaToEsSink(deps, {
      name: 'events',
      topic: names.topics.events,
      groupId: names.groups.ingest,
      dlqTopic: names.topics.dlq,
      transform: eventsTransform(attributor, names, config.events, names.topics.events, repos.tombstones),
      bulkSize: config.ingest.batchSize,
    }),
    new KafkaToEsSink(deps, {
      name: 'recommendations',
      topic: names.topics.recommendations,
      groupId: names.groups.recommendations,
      dlqTopic: names.topics.dlq,
      transform: servedTransform(names, attributor, repos.tombstones),
      bulkSize: config.ingest.batchSize,
    }),
  ];
  try {
    for (const s of sinks) await s.start();
  } catch (e) {
    server?.close();
    throw e;
  }

  const admin = kafka.admin();
  await admin.connect();
  const lagTimer = setInterval(async () => {
    try {
      for (const [topic, group] of [
        [names.topics.events, names.groups.ingest],
        [names.topics.recommendations, names.groups.recommendations],
      ] as const) {
        const lags = await consumerLag(admin, group, topic);
        for (const l of lags) metrics.lag.set({ topic, partition: String(l.partition) }, l.lag);
        const counters = await Promise.all(
          [metrics.consumed, metrics.indexed, metrics.duplicates, metrics.deadLettered].map(async (c) =>
            (await c.get()).values
              .filter((v) => v.labels['topic'] === topic)
              .reduce((a, v) => a + v.value, 0),
          ),
        );
        log.info(
          {
            topic,
            lag: lags.reduce((a, l) => a + l.lag, 0),
            consumed: counters[0],
            indexed: counters[1],
            duplicates: counters[2],
            dead_lettered: counters[3],
          },
          'ingest progress',
        );
      }
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'could not measure lag');
    }
  }, opts.lagIntervalMs ?? 10_000);
  lagTimer.unref();

  return {
    async stop() {
      clearInterval(lagTimer);
      await Promise.all(sinks.map((s) => s.stop()));
      await admin.disconnect();
      await new Promise((r) => (server ? server.close(r) : r(undefined)));
    },
  };
}

/** /metrics on its own port; a port that is taken is an error naming it, not an unhandled event. */
export async function listenMetrics(registry: Registry, port: number, host: string): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    res.setHeader('x-content-type-options', 'nosniff');
    if (req.url === '/metrics') {
      res.setHeader('content-type', registry.contentType);
      res.end(await registry.metrics());
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? new ConfigError(
              'INGEST_METRICS_PORT',
              `${port}: the port is taken on ${host}; nothing was consumed`,
            )
          : e,
      ),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}
