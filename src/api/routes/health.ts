import { Router } from 'express';
import type { Kafka } from 'kafkajs';
import type { ClusterRepository } from '../../repositories/cluster.ts';
import { Gauge, type Registry } from 'prom-client';
import { describeGroups } from '../../infra/consumer-groups.ts';
import type { LiveModelResolver } from '../../model/live-model.ts';
import { endpoint } from '../middleware.ts';
import { Deadline, settleWithin } from '../../infra/deadline.ts';
import type { CircuitBreaker } from '../../infra/circuit-breaker.ts';
import { requestDeadline } from '../deadlines.ts';

interface Check {
  ok: boolean;
  [detail: string]: unknown;
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>(
      (_, rej) => (t = setTimeout(() => rej(new Error(`${what} did not answer within ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(t));
}

export interface WatchedGroup {
  name: string;
  groupId: string;
  topic: string;
}

/**
 * Kafka reachability and the consumer groups the platform needs (members, lag), probed with a
 * fresh admin client at most every `cacheMs`. The groups are read from the broker, so the API
 * reports ingest and fold-in processes it does not run itself.
 */
export class KafkaProbe {
  private last?: { at: number; result: Promise<Check> };
  private settled?: { at: number; check: Check };

  constructor(
    private readonly kafka: Kafka,
    private readonly cacheMs: number,
    private readonly timeoutMs: number,
    private readonly groups: WatchedGroup[] = [],
    private readonly gauges?: { members: Gauge<'group'>; lag: Gauge<'group'> },
  ) {}

  /** The probe's answer; one probe at a time, so a slow broker is not asked again by every caller. */
  check(): Promise<Check> {
    if (this.last && (this.pending || Date.now() - this.last.at < this.cacheMs)) return this.last.result;
    const at = Date.now();
    const result = this.probe().then((check) => {
      this.settled = { at, check };
      return check;
    });
    this.last = { at, result };
    return result;
  }

  /** The last finished probe (for a caller that cannot wait for the one under way). */
  lastSettled(): { at: number; check: Check } | undefined {
    return this.settled;
  }

  private get pending(): boolean {
    return this.last !== undefined && this.settled?.at !== this.last.at;
  }

  private async probe(): Promise<Check> {
    const admin = this.kafka.admin({ retry: { retries: 0 } });
    try {
      return await timeout(
        (async () => {
          await admin.connect();
          const cluster = await admin.describeCluster();
          const groups = await describeGroups(admin, this.groups);
          const consumers: Record<string, Check> = {};
          groups.forEach((g, i) => {
            const name = this.groups[i]!.name;
            consumers[name] = {
              ok: g.members > 0,
              group: g.groupId,
              state: g.state,
              members: g.members,
              lag: g.totalLag,
              lag_by_partition: g.lag,
            };
            this.gauges?.members.set({ group: g.groupId }, g.members);
            this.gauges?.lag.set({ group: g.groupId }, g.totalLag);
          });
          return { ok: true, brokers: cluster.brokers.length, consumers };
        })(),
        this.timeoutMs,
        'Kafka',
      );
    } catch (e) {
      return { ok: false, error: (e as Error).message.slice(0, 200) };
    } finally {
      void admin.disconnect().catch(() => undefined);
    }
  }
}

/** The member and lag gauges /metrics shows for the watched groups. */
export function consumerGroupGauges(registry: Registry): { members: Gauge<'group'>; lag: Gauge<'group'> } {
  const r = { registers: [registry] };
  return {
    members: new Gauge({
      name: 'recsys_consumer_group_members',
      help: 'Members of a consumer group the platform needs, as the broker reports them',
      labelNames: ['group'],
      ...r,
    }),
    lag: new Gauge({
      name: 'recsys_consumer_group_lag',
      help: 'Messages a consumer group is behind the log end (all partitions)',
      labelNames: ['group'],
      ...r,
    }),
  };
}

export interface HealthDeps {
  cluster: ClusterRepository;
  probe: KafkaProbe;
  live: LiveModelResolver;
  registry: Registry;
  /** the Elasticsearch circuit breaker, reported with the cluster check */
  breaker?: CircuitBreaker;
}

/** What /health and /ready read, each bounded by the request's budget (answers are never late). */
async function runChecks(deps: HealthDeps, deadline: Deadline) {
  const { cluster, probe, live, breaker } = deps;
  const late = (what: string) => ({
    ok: false,
    error: `${what} did not answer within ${deadline.budgetMs} ms`,
  });
  const modelCheck = (async (): Promise<Check> => {
    try {
      const m = await live.find();
      if (!m) return { ok: false, model_id: null };
      const info = await live.modelInfo(m.modelId).catch(() => undefined);
      const liveAt = info?.live_at ?? null;
      return {
        ok: true,
        model_id: m.modelId,
        live_at: liveAt,
        age_seconds: liveAt ? Math.round((Date.now() - Date.parse(liveAt)) / 1000) : null,
      };
    } catch {
      return { ok: false, model_id: null, error: 'could not resolve the live model' };
    }
  })();
  const kafkaCheck = settleWithin(probe.check(), deadline, (): Check => {
    // the probe under way is slower than this request's budget: the last finished one, dated
    const last = probe.lastSettled();
    return last ? { ...last.check, as_of: new Date(last.at).toISOString() } : late('Kafka');
  });
  const [es, kafkaResult, model] = await Promise.all([
    settleWithin(cluster.health(deadline.budgetMs), deadline, (): Check => late('Elasticsearch')),
    kafkaCheck,
    settleWithin(modelCheck, deadline, (): Check => ({ model_id: null, ...late('the model registry') })),
  ]);
  const elasticsearch: Check = breaker && breaker.state !== 'closed' ? { ...es, breaker: breaker.state } : es;
  const { consumers = {}, ...kafka } = kafkaResult as Check & { consumers?: Record<string, Check> };
  return { elasticsearch, kafka, consumers: consumers as Record<string, Check>, model };
}

/**
 * GET /health: 200 when Elasticsearch (green/yellow) and Kafka answer, else 503, within the health
 * budget whatever the backends do ([serving] health_deadline_ms; a check still open then is reported
 * as not answering). Reports the live model and its age, and each needed consumer group (members,
 * lag); no live model yet, or a group without members (a dead ingest or fold-in process), is
 * "degraded" naming it, still 200: the API itself serves and accepts events.
 * GET /live: the process is up and serving HTTP; asks no backend (a liveness probe must not restart
 * the API because Elasticsearch is down).
 * GET /ready: 200 only when Elasticsearch and Kafka answer and a live model is resolved, else 503
 * naming what is missing (a readiness probe: send traffic here or not).
 * GET /metrics: Prometheus text format.
 */
export function healthRoutes(deps: HealthDeps): Router {
  const { registry } = deps;
  const r = Router();
  const budget = (res: import('express').Response) => requestDeadline(res) ?? new Deadline(1000);
  r.get('/live', endpoint('live'), (_req, res) => {
    res.json({ status: 'alive', uptime_seconds: Math.round(process.uptime()) });
  });
  r.get('/health', endpoint('health'), async (_req, res) => {
    const { elasticsearch, kafka, consumers, model } = await runChecks(deps, budget(res));
    const up = elasticsearch.ok && kafka.ok;
    const idle = Object.entries(consumers)
      .filter(([, c]) => !c.ok)
      .map(([name]) => name);
    const status = !up ? 'down' : model.ok && !idle.length ? 'ok' : 'degraded';
    if (!up) res.set('retry-after', '1');
    res.status(up ? 200 : 503).json({
      status,
      ...(idle.length ? { degraded_by: idle.map((n) => `consumer ${n} has no members`) } : {}),
      elasticsearch,
      kafka,
      consumers,
      model,
    });
  });
  r.get('/ready', endpoint('ready'), async (_req, res) => {
    const { elasticsearch, kafka, model } = await runChecks(deps, budget(res));
    const missing = [
      ...(elasticsearch.ok ? [] : ['elasticsearch']),
      ...(kafka.ok ? [] : ['kafka']),
      ...(model.ok ? [] : ['live_model']),
    ];
    if (missing.length) res.set('retry-after', '1');
    res.status(missing.length ? 503 : 200).json({
      status: missing.length ? 'not_ready' : 'ready',
      ...(missing.length ? { missing } : {}),
      elasticsearch,
      kafka: { ok: kafka.ok, ...(kafka['error'] ? { error: kafka['error'] } : {}) },
      model,
    });
  });
  r.get('/metrics', endpoint('metrics'), async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.send(await registry.metrics());
  });
  return r;
}
