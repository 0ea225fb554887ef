import type { Consumer } from 'kafkajs';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { AppContext } from '../app/context.ts';
import { ratingRules } from '../events/rating.ts';
import { checkEvent } from '../events/validate.ts';
import { parseJsonBounded } from '../infra/json.ts';
import type { StoredEvent } from '../events/schema.ts';
import { LiveModelResolver } from '../model/live-model.ts';
import { foldInAndStore, type FoldInDeps } from './fold-in.ts';

export interface OnlineService {
  stop(): Promise<void>;
}

/** A swap during a batch makes its users be folded in again against the new model, at most this often. */
const MAX_MODEL_CHANGES_PER_BATCH = 3;

/**
 * `recsys online`: its own consumer group on `events`. A batch's events are grouped per user, so a
 * burst of one user's events costs one fold-in. The live model is resolved once per batch (one
 * alias lookup) and everything of a fold-in — item factors, YᵀY, the users index written — comes
 * from that one model; if the alias moved meanwhile, the batch's users are folded in again against
 * the new model, so no update is lost to a swap. Invalid events are skipped here (the ingest sink
 * dead-letters them).
 */
export async function startOnline(ctx: AppContext, registry: Registry, opts: { fromBeginning?: boolean; resolver?: LiveModelResolver } = {}): Promise<OnlineService> {
  const { names, kafka, log, config } = ctx;
  const r = { registers: [registry] };
  const updated = new Counter({ name: 'recsys_online_user_updates_total', help: 'User factors recomputed by fold-in', labelNames: ['outcome'], ...r });
  const latency = new Histogram({ name: 'recsys_online_event_to_factor_seconds', help: 'From event timestamp in Kafka to the user factor written', buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10], ...r });
  const resolver = opts.resolver ?? new LiveModelResolver(ctx.repos, names, log);
  const deps: FoldInDeps = { repos: ctx.repos, rules: ratingRules(config) };
  const defaults = { regularization: config.train.regularization, alpha: config.train.alpha };
  const consumer: Consumer = kafka.consumer({ groupId: names.groups.online, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topic: names.topics.events, fromBeginning: opts.fromBeginning ?? false });
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, heartbeat }) => {
      const perUser = new Map<string, { events: StoredEvent[]; producedAt: number }>();
      for (const m of batch.messages) {
        const parsed = parseJsonBounded(m.value?.toString('utf8'));
        if (!parsed.ok) continue;
        const c = checkEvent(parsed.value, config.events);
        if (!c.ok) continue;
        const entry = perUser.get(c.event.user_id) ?? { events: [], producedAt: Number(m.timestamp) };
        entry.events.push(c.event);
        entry.producedAt = Math.min(entry.producedAt, Number(m.timestamp));
        perUser.set(c.event.user_id, entry);
      }
      if (!perUser.size) return;
      let model = await resolver.fresh();
      for (let round = 0; model && round < MAX_MODEL_CHANGES_PER_BATCH; round++) {
        const fm = await resolver.foldInModel(model.modelId, defaults);
        if (!fm) break; // deployed without YᵀY (cannot happen through deployModel): nothing to fold against
        for (const [userId, { events, producedAt }] of perUser) {
          const ok = await foldInAndStore(deps, model, fm, userId, events);
          updated.inc({ outcome: ok ? 'updated' : 'no_known_items' });
          if (ok && round === 0) latency.observe((Date.now() - producedAt) / 1000);
          await heartbeat();
        }
        const now = await resolver.fresh();
        if (now?.modelId === model.modelId) return;
        log.info({ from: model.modelId, to: now?.modelId }, 'live model changed during a fold-in batch; folding its users in again');
        model = now;
      }
      if (!model) log.debug('no live model yet; fold-in skipped');
    },
  });
  log.info({ groupId: names.groups.online }, 'online fold-in consuming');
  return {
    async stop() {
      await consumer.disconnect();
    },
  };
}
