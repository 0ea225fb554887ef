import { Router } from 'express';
import type { Kafka } from 'kafkajs';
import type { ClusterRepository } from '../../repositories/cluster.ts';
import { Gauge, type Registry } from 'prom-client';
import { describeGroups } from '../../infra/consumer-groups.ts';
import type { LiveModelResolver } from '../../model/live-model.ts';
import { endpoint } from '../middleware.ts';

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

  constructor(
    private readonly kafka: Kafka,
    private readonly cacheMs: number,
    private readonly timeoutMs: number,
    private readonly groups: WatchedGroup[] = [],
    private readonly gauges?: { members: Gauge<'group'>; lag: Gauge<'group'> },
  ) {}

  check(): Promise<Check> {
    if (this.last && Date.now() - this.last.at < this.cacheMs) return this.last.result;
    const result = this.probe();
    this.last = { at: Date.now(), result };
    return result;
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

/**
 * GET /health: 200 when Elasticsearch (green/yellow) and Kafka answer, else 503. Reports the live
 * model and its age, and each needed consumer group (members, lag); no live model yet, or a group
 * without members (a dead ingest or fold-in process), is "degraded" naming it, still 200: the API
 * itself serves and accepts events.
 * GET /metrics: Prometheus text format.
 */
export function healthRoutes(
  cluster: ClusterRepository,
  probe: KafkaProbe,
  live: LiveModelResolver,
  registry: Registry,
  timeoutMs: number,
): Router {
  const r = Router();
  r.get('/health', endpoint('health'), async (_req, res) => {
    const esCheck: Promise<Check> = cluster.health(timeoutMs);
    const modelCheck = (async () => {
      try {
        const m = await live.find();
        if (!m) return { ok: false, model_id: null };
        const info = await live.modelInfo(m.modelId);
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
    const [elasticsearch, kafkaCheck, model] = await Promise.all([esCheck, probe.check(), modelCheck]);
    const { consumers = {}, ...kafka } = kafkaCheck as Check & { consumers?: Record<string, Check> };
    const up = elasticsearch.ok && kafka.ok;
    const idle = Object.entries(consumers)
      .filter(([, c]) => !c.ok)
      .map(([name]) => name);
    const status = !up ? 'down' : model.ok && !idle.length ? 'ok' : 'degraded';
    res.status(up ? 200 : 503).json({
      status,
      ...(idle.length ? { degraded_by: idle.map((n) => `consumer ${n} has no members`) } : {}),
      elasticsearch,
      kafka,
      consumers,
      model,
    });
  });
  r.get('/metrics', endpoint('metrics'), async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.send(await registry.metrics());
  });
  return r;
}
