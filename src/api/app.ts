// The REST API: createApp wires the query service, event producer, metadata upserts and admin
// operations into an express app (no listen); startServer listens and returns {url, close}.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import type { AppContext } from '../app/context.ts';
import { EventProducer } from '../ingest/producer.ts';
import { LiveModelResolver } from '../model/live-model.ts';
import { modelLifecycle } from '../model/lifecycle.ts';
import { ExperimentResolver } from '../experiments/resolver.ts';
import { ExperimentService } from '../experiments/service.ts';
import { createAdminOps, type AdminOps } from '../release/admin-ops.ts';
import { PopularItems } from '../query/popular.ts';
import { ServedLog } from '../query/served-log.ts';
import { RecommendationService } from '../query/service.ts';
import { apiMetrics } from './metrics.ts';
import { errorHandler, jsonParser, notFound, recordMetrics, requestId, requireApiKey } from './middleware.ts';
import { buildOpenApi } from './openapi.ts';
import { resolveApiOptions, type ApiOptions, type ApiOptionsInput } from './options.ts';
import { adminRoutes } from './routes/admin.ts';
import { privacyRoutes } from './routes/privacy.ts';
import { PrivacyService } from '../privacy/service.ts';
import { catalogRoutes } from './routes/catalog.ts';
import { experimentRoutes } from './routes/experiments.ts';
import { eventRoutes } from './routes/events.ts';
import { consumerGroupGauges, KafkaProbe, healthRoutes } from './routes/health.ts';
import { recommendationParsers, recommendationRoutes } from './routes/recommendations.ts';
import { recommendationIdSecretWarning } from '../config/index.ts';
import { CircuitBreaker, type BreakerState } from '../infra/circuit-breaker.ts';
import { guardElasticsearch } from '../infra/es-guard.ts';
import { deadlines } from './deadlines.ts';

const BREAKER_GAUGE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export type { AdminOps } from '../release/admin-ops.ts';
export type { ApiOptions, ApiOptionsInput } from './options.ts';
export { resolveApiOptions } from './options.ts';

export interface AppDeps {
  ctx: AppContext;
  registry: Registry;
  /** admin operations; default: the real model lifecycle and release step */
  admin?: AdminOps;
  /** overrides of the defaults (which come from ctx.config: API_KEYS, [serving] default_mode, event rules) */
  options?: ApiOptionsInput;
}

export type RecsysApp = Express & {
  readonly options: ApiOptions;
  readonly service: RecommendationService;
  readonly live: LiveModelResolver;
  readonly experiments: ExperimentService;
  readonly popular: PopularItems;
  readonly servedLog: ServedLog;
  /** the Elasticsearch circuit breaker of request-path calls */
  readonly breaker: CircuitBreaker;
  /** flushes the served-list log and disconnects the producers */
  shutdown(): Promise<void>;
};

export function createApp(deps: AppDeps): RecsysApp {
  const { ctx, registry } = deps;
  const { repos, kafka, names, log } = ctx;
  const options = resolveApiOptions(ctx.config, deps.options);
  const metrics = apiMetrics(registry);
  // request-path Elasticsearch calls: bounded by the request's deadline, and refused while the
  // cluster is known to be down (one breaker per client: apps sharing a context share it)
  const breaker = guardElasticsearch(
    ctx.es,
    () =>
      new CircuitBreaker('elasticsearch', {
        failureThreshold: options.breaker.failures,
        openMs: options.breaker.openMs,
        onChange: (state) => {
          metrics.breakerState.set({ backend: 'elasticsearch' }, BREAKER_GAUGE[state]);
          log.warn({ backend: 'elasticsearch', state }, 'circuit breaker');
        },
      }),
  );
  metrics.breakerState.set({ backend: 'elasticsearch' }, BREAKER_GAUGE[breaker.state]);
  const onFallback = (endpoint: string, answer: string) => metrics.fallbacks.inc({ endpoint, answer });
  // the event producer's own: a broker known to be down gets no sends, the client a certain 503
  const kafkaBreaker = new CircuitBreaker('kafka', {
    failureThreshold: options.breaker.failures,
    openMs: options.breaker.openMs,
    onChange: (state) => {
      metrics.breakerState.set({ backend: 'kafka' }, BREAKER_GAUGE[state]);
      log.warn({ backend: 'kafka', state }, 'circuit breaker');
    },
  });

  const live = new LiveModelResolver(repos, names, log, options.liveModelCacheMs, options.filterFields);
  const running = new ExperimentResolver(repos.experiments, options.liveModelCacheMs);
  // admin activations, promotions and API-started runs swap through the same resolver the queries use
  const lifecycle = modelLifecycle(ctx, live);
  const admin = deps.admin ?? createAdminOps(ctx, lifecycle);
  const experiments = new ExperimentService({
    repos,
    lifecycle,
    resolver: running,
    log,
    minShare: ctx.config.experiments.minShare,
  });
  const popular = new PopularItems(repos.items, {
    ttlMs: options.popularCacheMs,
    poolSize: options.popularPoolSize,
    textFields: options.hybrid.fields,
  });
  const servedLog = new ServedLog(kafka, names.topics.recommendations, log, {
    ...options.servedLog,
    onFailure: (n) => metrics.servedLogFailures.inc(n),
  });
  const service = new RecommendationService({
    repos,
    log,
    live,
    experiments: running,
    popular,
    servedLog,
    options,
    recommendationIdSecret: ctx.config.recommendationIds.secret,
    onNormBound: (outcome) => metrics.normBound.inc({ outcome }),
  });
  const producer = new EventProducer(kafka, names.topics.events);
  const parsers = recommendationParsers(options);
  const openapi = buildOpenApi(parsers, options);
  const auth = requireApiKey(options.apiKeys);
  // bodies are parsed per route, after the API key check on write and admin routes
  const json = jsonParser(options.bodyLimit);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(requestId);
  app.use(recordMetrics(metrics, log));
  app.use(
    deadlines(options, (res, answer) => onFallback(String(res.locals['endpoint'] ?? 'unmatched'), answer)),
  );

  app.get('/openapi.json', (_req, res) => {
    res.locals['endpoint'] = 'openapi';
    res.json(openapi);
  });
  const watched = options.healthConsumerGroups.map((name) => ({
    name,
    groupId: names.groups[name],
    topic: name === 'recommendations' ? names.topics.recommendations : names.topics.events,
  }));
  const probe = new KafkaProbe(
    kafka,
    options.healthCacheMs,
    options.healthTimeoutMs,
    watched,
    consumerGroupGauges(registry),
  );
  // the first /health must not wait for a broker connection: the probe starts with the app
  void probe.check();
  app.use(healthRoutes({ cluster: repos.cluster, probe, live, registry, breaker }));
  app.use(
    recommendationRoutes(service, parsers, json, { degradedAnswers: options.degradedAnswers, onFallback }),
  );
  app.use(
    eventRoutes(producer, options, [auth, json], log, (answer) => onFallback('events', answer), kafkaBreaker),
  );
  app.use(catalogRoutes(repos.metadata, options, [auth, json]));
  app.use(adminRoutes(admin, live, auth, json));
  app.use(privacyRoutes(new PrivacyService(ctx), auth, json, () => popular.clear()));
  app.use(experimentRoutes(experiments, auth, json, () => live.invalidate()));
  app.use(notFound);
  app.use(errorHandler(log));

  let shutdown: Promise<void> | undefined;
  return Object.assign(app, {
    options,
    service,
    live,
    experiments,
    popular,
    servedLog,
    breaker,
    shutdown: () =>
      (shutdown ??= (async () => {
        await servedLog.close();
        await producer.disconnect().catch(() => undefined);
      })()),
  });
}

export interface RunningServer {
  url: string;
  app: RecsysApp;
  server: Server;
  close(): Promise<void>;
}

/** createApp + listen (port 0 = any free port). close() stops accepting, then flushes and disconnects. */
export async function startServer(deps: AppDeps & { port?: number; host?: string }): Promise<RunningServer> {
  const app = createApp(deps);
  const secretWarning = recommendationIdSecretWarning(deps.ctx.config);
  if (secretWarning) deps.ctx.log.warn(secretWarning);
  const host = deps.host ?? deps.ctx.config.api.host;
  const port = deps.port ?? deps.ctx.config.api.port;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  server.keepAliveTimeout = 65_000;
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  deps.ctx.log.info({ url }, 'API listening');
  return {
    url,
    app,
    server,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await app.shutdown();
    },
  };
}
