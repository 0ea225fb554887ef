import type { KafkaMessage, Producer } from 'kafkajs';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { AppContext } from '../app/context.ts';
import { ratingRules } from '../events/rating.ts';
import { checkEvent } from '../events/validate.ts';
import type { StoredEvent } from '../events/schema.ts';
import { createProducer } from '../infra/clients.ts';
import { parseJsonBounded } from '../infra/json.ts';
import { isTransient } from '../infra/retry.ts';
import { consumerMetrics, SupervisedConsumer, type ConsumerStatus } from '../infra/supervised-consumer.ts';
import { deadLetter, sendDeadLetters } from '../infra/dead-letter.ts';
import { LiveModelResolver, type FoldInModel, type LiveModel } from '../model/live-model.ts';
import { assignArm } from '../experiments/assignment.ts';
import { ExperimentResolver } from '../experiments/resolver.ts';
import { FOLD_IN_HISTORY, refreshUser, type UserRefreshDeps } from './user-refresh.ts';

export interface OnlineService {
  status(): ConsumerStatus;
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
 * dead-letters them). A user whose fold-in fails for a reason other than an unavailable cluster is
 * skipped and its events dead-lettered (reason `fold_in`): one user can never hold a partition.
 * While an A/B experiment runs, a treatment user is also folded into the candidate's users index,
 * against the candidate's own item factors and YᵀY (same resolver, same arm rule as serving).
 */
export async function startOnline(
  ctx: AppContext,
  registry: Registry,
  opts: { fromBeginning?: boolean; resolver?: LiveModelResolver; experiments?: ExperimentResolver } = {},
): Promise<OnlineService> {
  const { names, kafka, log, config } = ctx;
  const r = { registers: [registry] };
  const updated = new Counter({
    name: 'recsys_online_user_updates_total',
    help: 'User factors recomputed by fold-in',
    labelNames: ['outcome'],
    ...r,
  });
  const latency = new Histogram({
    name: 'recsys_online_event_to_factor_seconds',
    help: 'From event timestamp in Kafka to the user factor written',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    ...r,
  });
  const resolver = opts.resolver ?? new LiveModelResolver(ctx.repos, names, log);
  const experiments = opts.experiments ?? new ExperimentResolver(ctx.repos.experiments);
  const deps: UserRefreshDeps = {
    repos: ctx.repos,
    rules: ratingRules(config),
    history: FOLD_IN_HISTORY,
    seen: config.serving.seenEventsLimit,
  };
  const defaults = { regularization: config.als.regularization, alpha: config.als.alpha };
  type Candidate = { model: LiveModel; fm: FoldInModel; salt: string; share: number };
  /** The running experiment's candidate, when it is not the live model: its own indices and YᵀY, from the one resolver. */
  const experimentCandidate = async (liveModelId: string): Promise<Candidate | undefined> => {
    const exp = await experiments.find();
    if (!exp || exp.candidateModelId === liveModelId) return undefined;
    const fm = await resolver.foldInModel(exp.candidateModelId, defaults);
    if (!fm) return undefined;
    return { model: resolver.byId(exp.candidateModelId), fm, salt: exp.salt, share: exp.treatmentShare };
  };
  // a treatment user is served by the candidate, so its users index must follow the user's events
  // too; the live model's fold-in below still runs (the user goes back to it when the experiment
  // stops). A failure here is counted and logged, not dead-lettered: the events are fine.
  const foldIntoCandidate = async (c: Candidate, userId: string, events: StoredEvent[]) => {
    try {
      const ok = await refreshUser(deps, c.model, c.fm, userId, events);
      updated.inc({ outcome: ok ? 'candidate_updated' : 'candidate_no_known_items' });
    } catch (e) {
      if (isTransient(e)) throw e;
      updated.inc({ outcome: 'candidate_failed' });
      log.warn(
        { userId: userId.slice(0, 64), model: c.model.modelId, err: (e as Error).message },
        'fold-in into the experiment candidate failed for a user',
      );
    }
  };
  const producer: Producer = createProducer(kafka, 'reliable');
  await producer.connect();

  const consumer = new SupervisedConsumer(
    kafka,
    {
      name: 'online',
      groupId: names.groups.online,
      topic: names.topics.events,
      fromBeginning: opts.fromBeginning ?? false,
      consumer: { maxWaitTimeInMs: 50 },
      run: {
        partitionsConsumedConcurrently: 3,
        eachBatch: async ({ batch, heartbeat }) => {
          const perUser = new Map<
            string,
            { events: StoredEvent[]; messages: KafkaMessage[]; producedAt: number }
          >();
          const valid: Array<{ event: StoredEvent; message: KafkaMessage }> = [];
          for (const m of batch.messages) {
            const parsed = parseJsonBounded(m.value?.toString('utf8'));
            if (!parsed.ok) continue;
            const c = checkEvent(parsed.value, config.events);
            if (c.ok) valid.push({ event: c.event, message: m });
          }
          // a forgotten user's events still in the topic must not put a vector back: one lookup per batch
          const dropped = await ctx.repos.tombstones.dropped(
            valid.map((v) => ({
              userId: v.event.user_id,
              itemId: v.event.item_id,
              producedMs: Number(v.message.timestamp),
            })),
          );
          for (const [i, { event, message: m }] of valid.entries()) {
            if (dropped.has(i)) continue;
            const c = { event };
            const entry = perUser.get(c.event.user_id) ?? {
              events: [],
              messages: [],
              producedAt: Number(m.timestamp),
            };
            entry.events.push(c.event);
            entry.messages.push(m);
            entry.producedAt = Math.min(entry.producedAt, Number(m.timestamp));
            perUser.set(c.event.user_id, entry);
          }
          if (!perUser.size) return;
          let model = await resolver.fresh();
          for (let round = 0; model && round < MAX_MODEL_CHANGES_PER_BATCH; round++) {
            const fm = await resolver.foldInModel(model.modelId, defaults);
            if (!fm) break; // deployed without YᵀY (cannot happen through deployModel): nothing to fold against
            const candidate = await experimentCandidate(model.modelId);
            for (const [userId, { events, messages, producedAt }] of perUser) {
              if (candidate && assignArm(candidate.salt, userId, candidate.share) === 'treatment')
                await foldIntoCandidate(candidate, userId, events);
              let ok: boolean;
              try {
                ok = await refreshUser(deps, model, fm, userId, events);
              } catch (e) {
                if (isTransient(e)) throw e;
                log.warn(
                  { userId: userId.slice(0, 64), err: (e as Error).message },
                  'fold-in failed for a user; skipped and dead-lettered',
                );
                updated.inc({ outcome: 'failed' });
                if (round === 0) {
                  const letters = messages.map((m) =>
                    deadLetter(batch.topic, batch.partition, m, {
                      reason: 'fold_in',
                      message: (e as Error).message,
                    }),
                  );
                  await sendDeadLetters(producer, names.topics.dlq, letters, { onWait: heartbeat });
                }
                continue;
              }
              updated.inc({ outcome: ok ? 'updated' : 'no_known_items' });
              if (ok && round === 0) latency.observe((Date.now() - producedAt) / 1000);
              await heartbeat();
            }
            const now = await resolver.fresh();
            if (now?.modelId === model.modelId) return;
            log.info(
              { from: model.modelId, to: now?.modelId },
              'live model changed during a fold-in batch; folding its users in again',
            );
            model = now;
          }
          if (!model) log.debug('no live model yet; fold-in skipped');
        },
      },
    },
    log,
    consumerMetrics(registry),
  );
  await consumer.start();
  log.info({ groupId: names.groups.online }, 'online fold-in consuming');
  return {
    status: () => consumer.snapshot(),
    async stop() {
      await consumer.stop();
      await producer.disconnect();
    },
  };
}
