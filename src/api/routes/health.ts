import { Router } from 'express';
import type { Kafka } from 'kafkajs';
import type { ClusterRepository } from '../../repositories/cluster.ts';
import type { Registry } from 'prom-client';
import type { LiveModelResolver } from '../../model/live-model.ts';
import { endpoint } from '../middleware.ts';

interface Check {
  ok: boolean;
  [detail: string]: unknown;
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error(`${what} did not answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

/** Kafka reachability, probed with a fresh admin client at most every `cacheMs`. */
export class KafkaProbe {
  private last?: { at: number; result: Promise<Check> };

  constructor(
    private readonly kafka: Kafka,
    private readonly cacheMs: number,
    private readonly timeoutMs: number,
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
      const cluster = await timeout(
        admin.connect().then(() => admin.describeCluster()),
        this.timeoutMs,
        'Kafka',
      );
      return { ok: true, brokers: cluster.brokers.length };
    } catch (e) {
      return { ok: false, error: (e as Error).message.slice(0, 200) };
    } finally {
      void admin.disconnect().catch(() => undefined);
    }
  }
}

/**
 * GET /health: 200 when Elasticsearch (green/yellow) and Kafka answer, else 503. Reports the live
 * model and its age; no live model yet is "degraded" but still 200 (events are accepted).
 * GET /metrics: Prometheus text format.
 */
export function healthRoutes(cluster: ClusterRepository, probe: KafkaProbe, live: LiveModelResolver, registry: Registry, timeoutMs: number): Router {
  const r = Router();
  r.get('/health', endpoint('health'), async (_req, res) => {
    const esCheck: Promise<Check> = cluster.health(timeoutMs);
    const modelCheck = (async () => {
      try {
        const m = await live.find();
        if (!m) return { ok: false, model_id: null };
        const info = await live.modelInfo(m.modelId);
        const liveAt = info?.live_at ?? null;
        return { ok: true, model_id: m.modelId, live_at: liveAt, age_seconds: liveAt ? Math.round((Date.now() - Date.parse(liveAt)) / 1000) : null };
      } catch {
        return { ok: false, model_id: null, error: 'could not resolve the live model' };
      }
    })();
    const [elasticsearch, kafka, model] = await Promise.all([esCheck, probe.check(), modelCheck]);
    const up = elasticsearch.ok && kafka.ok;
    res.status(up ? 200 : 503).json({ status: !up ? 'down' : model.ok ? 'ok' : 'degraded', elasticsearch, kafka, model });
  });
  r.get('/metrics', endpoint('metrics'), async (_req, res) => {
    res.setHeader('content-type', registry.contentType);
    res.send(await registry.metrics());
  });
  return r;
}
