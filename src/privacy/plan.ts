// The store-by-store plans of the privacy jobs: which stores a forget, an item removal and a merge
// touch, in which order, and what each does there. docs/privacy.md has the same table for people.
//
// Order matters: the tombstone comes first, so nothing consumed from Kafka while the job runs
// brings the subject back behind it; then the stores; a forget ends by counting what is left and
// going over the stores once more if a write raced the tombstone.

import { createHash } from 'node:crypto';
import type { AppContext } from '../app/context.ts';
import { ratingRules } from '../events/rating.ts';
import { artifactStore } from '../model/artifacts.ts';
import { LiveModelResolver } from '../model/live-model.ts';
import { FOLD_IN_HISTORY, refreshUser } from '../online/user-refresh.ts';
import type { PrivacyJob, StoreProgress } from '../repositories/privacy-jobs.ts';
import type { Tombstone } from '../repositories/tombstones.ts';
import { scrubArtifacts } from './artifacts.ts';
import { add, type StoreStep } from './jobs.ts';
import { tombstoneExpiry, topicRetention } from './tombstones.ts';

export type PrivacyContext = Pick<AppContext, 'config' | 'names' | 'repos' | 'kafka' | 'log'>;

/** The pseudonym that replaces a forgotten user's id on the records kept for aggregates: random per job. */
export function pseudonym(job: PrivacyJob): string {
  return `forgotten-${createHash('sha256').update(job.salt).digest('hex').slice(0, 24)}`;
}

/** Forget a user: every store that holds the user, in order. */
export function forgetPlan(ctx: PrivacyContext, job: PrivacyJob, userId: string): StoreStep[] {
  const stores: StoreStep[] = [
    tombstoneStep(ctx, job, userId, { kind: 'user', reason: 'forgotten', dropEvents: true }),
    eventsStep(ctx, 'user_id', userId),
    usersIndicesStep(ctx, userId),
    servedStep(ctx, userId, { pseudonymise: pseudonym(job), salt: job.salt }),
    metadataStep(ctx, ctx.names.userMetadata, 'user_metadata', userId),
    {
      store: 'merges',
      run: async (p) => add(p, { records: await ctx.repos.privacyJobs.removeMergesInto(userId) }),
    },
    artifactsStep(ctx, 'user', userId),
  ];
  return [...stores, verifyStep(ctx, userId, stores)];
}

/** Remove an item: the catalogue and every items index now, training from now on, its events if asked. */
export function removeItemPlan(
  ctx: PrivacyContext,
  job: PrivacyJob,
  itemId: string,
  opts: { events: boolean },
): StoreStep[] {
  return [
    // an item's events stay unless asked: they are the users' history, and training skips the item
    tombstoneStep(ctx, job, itemId, { kind: 'item', reason: 'removed', dropEvents: opts.events }, null),
    metadataStep(ctx, ctx.names.itemMetadata, 'catalogue', itemId),
    {
      store: 'items_indices',
      run: async (p) => {
        const pd = ctx.repos.personalData;
        const indices = await pd.indices(ctx.names.itemsPattern);
        const r = await pd.deleteDocs(indices.map((index) => ({ index, id: itemId })));
        // searchable at once: the next request no longer finds it as a result or a neighbour
        await pd.refresh(indices);
        add(p, { documents: r.done, indices: indices.length });
      },
    },
    ...(opts.events ? [eventsStep(ctx, 'item_id', itemId)] : []),
    artifactsStep(ctx, 'item', itemId),
  ];
}

/**
 * Merge an anonymous id into a user: the anonymous events, served lists and attributions are
 * re-keyed to the user, the anonymous id's own documents go, the merge is recorded, and the user's
 * vector is folded in again from the joined history.
 */
export function mergePlan(
  ctx: PrivacyContext,
  job: PrivacyJob,
  userId: string,
  anonymousId: string,
): StoreStep[] {
  const { repos, names } = ctx;
  const pd = repos.personalData;
  return [
    tombstoneStep(ctx, job, anonymousId, { kind: 'user', reason: 'merged', dropEvents: true }),
    {
      store: 'events',
      run: async (p, checkpoint) => {
        // re-keyed in place: same event id, same bucket, so the dedup ledger's claims stay right
        await perBucket(ctx, p, checkpoint, 'user_id', anonymousId, async (index, count) => {
          let moved = 0;
          for await (const hits of pd.idsWhere(index, 'user_id', anonymousId, count))
            moved += (await pd.updateDocs(hits, () => ({ user_id: userId }))).done;
          return { events: moved };
        });
      },
    },
    {
      store: 'served_lists',
      run: async (p) => {
        let moved = 0;
        for await (const hits of pd.matching(names.recommendationsPattern, 'user_id', anonymousId, {
          source: false,
        }))
          moved += (await pd.updateDocs(hits, () => ({ user_id: userId }))).done;
        await pd.refresh(names.recommendationsPattern);
        add(p, { documents: moved });
      },
    },
    usersIndicesStep(ctx, anonymousId),
    metadataStep(ctx, names.userMetadata, 'user_metadata', anonymousId),
    {
      store: 'merges',
      run: async (p) => {
        await repos.privacyJobs.putMerge(anonymousId, userId, new Date(job.created_at));
        add(p, { records: 1 });
      },
    },
    artifactsStep(ctx, 'user', anonymousId),
    {
      store: 'fold_in',
      run: async (p) => add(p, { refreshed: (await foldIn(ctx, userId)) ? 1 : 0 }),
    },
  ];
}

/** The user's vector in the live model recomputed from their (joined) history: the online refresh. */
async function foldIn(ctx: PrivacyContext, userId: string): Promise<boolean> {
  const { repos, names, log, config } = ctx;
  await repos.personalData.refresh(names.eventsPattern);
  const resolver = new LiveModelResolver(repos, names, log);
  const model = await resolver.fresh();
  if (!model) return false;
  const fm = await resolver.foldInModel(model.modelId, {
    regularization: config.als.regularization,
    alpha: config.als.alpha,
  });
  if (!fm) return false;
  const deps = {
    repos,
    rules: ratingRules(config),
    history: FOLD_IN_HISTORY,
    seen: config.serving.seenEventsLimit,
  };
  await refreshUser(deps, model, fm, userId, []);
  return true;
}

function tombstoneStep(
  ctx: PrivacyContext,
  job: PrivacyJob,
  id: string,
  t: Omit<Tombstone, 'at' | 'expiresAt'>,
  /** undefined: as long as the topics' retention; null: never expires */
  fixedExpiry?: null,
): StoreStep {
  return {
    store: 'tombstone',
    run: async (p) => {
      const at = new Date(job.created_at);
      const expiresAt =
        fixedExpiry === null
          ? null
          : tombstoneExpiry(
              at,
              await topicRetention(
                ctx.kafka,
                [ctx.names.topics.events, ctx.names.topics.recommendations],
                ctx.log,
              ),
            );
      await ctx.repos.tombstones.put(id, { ...t, at, expiresAt });
      // expired ones are no longer read; removing them here keeps the index to the live ones
      await ctx.repos.tombstones.purgeExpired();
      p.counts = { written: 1, ...(expiresAt ? { expires_at_ms: expiresAt.getTime() } : {}) };
    },
  };
}

/**
 * Runs `bucket` over every event-store bucket holding `field` = `value` and not done yet,
 * checkpointing after each. The buckets are found by one aggregation: of 120 monthly buckets, a
 * user who was active for a year is in twelve.
 */
async function perBucket(
  ctx: PrivacyContext,
  p: StoreProgress,
  checkpoint: () => Promise<void>,
  field: 'user_id' | 'item_id',
  value: string,
  bucket: (index: string, count: number) => Promise<Record<string, number>>,
): Promise<void> {
  const pd = ctx.repos.personalData;
  const pattern = `${ctx.names.eventsIndexPrefix}*`;
  const done = new Set(p.parts ?? []);
  const holding = await pd.indicesHolding(pattern, field, value);
  for (const { index, count } of holding) {
    if (done.has(index)) continue;
    add(p, await bucket(index, count));
    p.parts = [...(p.parts ?? []), index];
    await checkpoint();
  }
  await pd.refresh(pattern);
}

/** Deletes the events where `field` = `value` in every bucket, with their dedup-ledger claims. */
function eventsStep(ctx: PrivacyContext, field: 'user_id' | 'item_id', value: string): StoreStep {
  const pd = ctx.repos.personalData;
  return {
    store: 'events',
    run: (p, checkpoint) =>
      perBucket(ctx, p, checkpoint, field, value, async (index, count) => {
        const counts = { events: 0, ledger_claims: 0 };
        for await (const hits of pd.idsWhere(index, field, value, count)) {
          const r = await pd.deleteEventsWithClaims(hits);
          counts.events += r.events;
          counts.ledger_claims += r.claims;
        }
        return counts;
      }),
  };
}

/** The user's document in every users-<model_id> index (live, staged, kept for rollback, candidates). */
function usersIndicesStep(ctx: PrivacyContext, userId: string): StoreStep {
  return {
    store: 'users_indices',
    run: async (p) => {
      const pd = ctx.repos.personalData;
      const indices = await pd.indices(ctx.names.usersPattern);
      const r = await pd.deleteDocs(indices.map((index) => ({ index, id: userId })));
      await pd.refresh(indices);
      add(p, { documents: r.done, indices: indices.length });
    },
  };
}

/**
 * Served lists and attributions: kept for the CTR and experiment counts, with the user's id
 * replaced by the job's pseudonym and what the user typed or could be traced by (query, filters,
 * request id, event id) removed. An attribution's _id carries its event id, so it is rewritten
 * under an id derived from the job's random salt.
 */
function servedStep(
  ctx: PrivacyContext,
  userId: string,
  opts: { pseudonymise: string; salt: string },
): StoreStep {
  const pd = ctx.repos.personalData;
  return {
    store: 'served_lists',
    run: async (p) => {
      for await (const hits of pd.matching(ctx.names.recommendationsPattern, 'user_id', userId)) {
        const served = hits.filter((h) => h.source['kind'] === 'served');
        // a credit record's _id is a hash of list, item and kind: pseudonymised in place; the
        // others' _id carries the event id, so they move to an id drawn from the job's salt
        const credits = hits.filter((h) => h.source['kind'] !== 'served' && h.id.startsWith('credit-'));
        const actions = hits.filter((h) => h.source['kind'] !== 'served' && !h.id.startsWith('credit-'));
        const s = await pd.updateDocs(served, () => ({
          user_id: opts.pseudonymise,
          query: null,
          filters: null,
          request_id: null,
        }));
        const a = await pd.replaceDocs(
          actions.map((h) => ({
            from: h,
            to: {
              index: h.index,
              id: `attr-f-${createHash('sha256').update(`${opts.salt}\u0000${h.id}`).digest('hex').slice(0, 40)}`,
            },
            doc: { ...h.source, user_id: opts.pseudonymise, event_id: null },
          })),
        );
        const c = await pd.updateDocs(credits, () => ({ user_id: opts.pseudonymise, event_id: null }));
        add(p, { served_lists: s.done, attributions: a.done + c.done });
      }
      await pd.refresh(ctx.names.recommendationsPattern);
    },
  };
}

function metadataStep(ctx: PrivacyContext, index: string, store: string, id: string): StoreStep {
  return {
    store,
    run: async (p) => {
      const r = await ctx.repos.personalData.deleteDocs([{ index, id }]);
      await ctx.repos.personalData.refresh(index);
      add(p, { documents: r.done });
    },
  };
}

function artifactsStep(ctx: PrivacyContext, kind: 'user' | 'item', id: string): StoreStep {
  return {
    store: 'artifacts',
    run: async (p) => {
      const r = await scrubArtifacts(artifactStore(ctx), kind, id);
      add(p, { rewritten: r.rewritten, clean: r.clean });
    },
  };
}

/**
 * What is left of the user after the stores: an ingest batch that read no tombstone just before it
 * was written may store an event after the events step passed its bucket. Counted; if anything is
 * left the stores run once more, and a job that still finds some fails (run it again).
 */
function verifyStep(ctx: PrivacyContext, userId: string, stores: StoreStep[]): StoreStep {
  const pd = ctx.repos.personalData;
  const { names } = ctx;
  const remaining = async () => {
    const [events, served, users] = await Promise.all([
      pd.count(names.eventsPattern, 'user_id', userId),
      pd.count(names.recommendationsPattern, 'user_id', userId),
      pd.indices(names.usersPattern).then((ix) => pd.findById(ix, userId)),
    ]);
    return events + served + users.length;
  };
  return {
    store: 'verify',
    run: async (p) => {
      let left = await remaining();
      if (left) {
        ctx.log.warn(
          { left },
          'documents of a forgotten user arrived during the job; going over the stores again',
        );
        for (const s of stores.filter((x) => ['events', 'users_indices', 'served_lists'].includes(x.store)))
          await s.run({ status: 'pending', counts: {} }, async () => undefined);
        left = await remaining();
      }
      p.counts = { remaining: left };
      if (left) throw new Error(`${left} documents of the user are still stored; run the job again`);
    },
  };
}
