import type { Consumer } from 'kafkajs';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { AppContext } from '../infra/context.ts';
import { checkEvent } from '../events/validate.ts';
import type { StoredEvent } from '../events/schema.ts';
import { foldInAndStore } from './fold-in.ts';
import { LiveModelCache } from './live-model.ts';

export interface OnlineService {
  stop(): Promise<void>;
}

/**
 * `recsys online`: its own consumer group on `events`. A batch's events are grouped per user, so
 * a burst of one user's events costs one fold-in, and the user's factor in the live
 * user-factors index is replaced. Invalid events are skipped here (the ingest sink dead-letters them).
 */
export async function startOnline(ctx: AppContext, registry: Registry, opts: { fromBeginning?: boolean } = {}): Promise<OnlineService> {
  const { es, names, kafka, log, config } = ctx;
  const r = { registers: [registry] };
  const updated = new Counter({ name: 'recsys_online_user_updates_total', help: 'User factors recomputed by fold-in', labelNames: ['outcome'], ...r });
  const latency = new Histogram({ name: 'recsys_online_event_to_factor_seconds', help: 'From event timestamp in Kafka to the user factor written', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10], ...r });
  const cache = new LiveModelCache(es, names, { regularization: config.train.regularization, alpha: config.train.alpha });
  const consumer: Consumer = kafka.consumer({ groupId: names.groups.online, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic: names.topics.events, fromBeginning: opts.fromBeginning ?? false });
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, heartbeat }) => {
      const model = await cache.get();
      const perUser = new Map<string, { events: StoredEvent[]; producedAt: number }>();
      for (const m of batch.messages) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(m.value?.toString('utf8') ?? '');
        } catch {
          continue;
        }
        const c = checkEvent(parsed, config.events);
        if (!c.ok) continue;
        const entry = perUser.get(c.event.user_id) ?? { events: [], producedAt: Number(m.timestamp) };
        entry.events.push(c.event);
        entry.producedAt = Math.min(entry.producedAt, Number(m.timestamp));
        perUser.set(c.event.user_id, entry);
      }
      if (!model) {
        if (perUser.size) log.debug('no live model yet; fold-in skipped');
        return;
      }
      for (const [userId, { events, producedAt }] of perUser) {
        const ok = await foldInAndStore(es, names, model, config.events.weights, userId, events);
        updated.inc({ outcome: ok ? 'updated' : 'no_known_items' });
        if (ok) latency.observe((Date.now() - producedAt) / 1000);
        await heartbeat();
      }
    },
  });
  log.info({ groupId: names.groups.online }, 'online fold-in consuming');
  return {
    async stop() {
      await consumer.disconnect();
    },
  };
}
