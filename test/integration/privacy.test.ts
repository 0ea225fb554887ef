import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/api/app.ts';
import { generateDataset } from '../../src/demo/generate.ts';
import type { StoredEvent } from '../../src/events/schema.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { EventProducer } from '../../src/ingest/producer.ts';
import { startIngest, type IngestService } from '../../src/ingest/service.ts';
import { artifactStore, loadArtifact } from '../../src/model/artifacts.ts';
import { runTraining } from '../../src/release/run.ts';
import type { PrivacyJob } from '../../src/repositories/privacy-jobs.ts';
import { setup } from '../../src/setup/index.ts';
import { loadDirect, testContext } from './harness.ts';
import { mentions } from './privacy-support.ts';
import { committedOffsets, endOffsets, withAdmin } from './kafka-wait.ts';
import { waitUntil } from './wait.ts';

// Forget a user who is everywhere: events in several monthly buckets (through Kafka, so the ledger
// claims them and a replay can bring them back), two deployed model versions, a served list and an
// attribution, metadata. Then replay both topics from the beginning and train again.

const KEY = 'privacy-test-key';
const ctx = testContext('privacy', {
  als: { factors: 8, iterations: 5, threads: 1 },
  // every run deploys: the test is about what each model holds, not about its quality
  gate: { tolerance: 1 },
});
const { es, names } = ctx;
const data = generateDataset({
  users: 150,
  items: 120,
  days: 28,
  seed: 33,
  events: 8_000,
  malformedFraction: 0,
});
const FORGET = 'forget-me-q7x';
const KEEP = 'keep-me-z3k';
const producer = new EventProducer(ctx.kafka, names.topics.events);
let ingest: IngestService | undefined;
let server: RunningServer;
const models: string[] = [];

const items = data.items.map((i) => i.item_id);
/** events of one user over several months of 2024 (four monthly buckets), on a stride of the catalogue */
function history(userId: string, n: number, offset: number): StoredEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    event_id: `${userId}-e${i}`,
    user_id: userId,
    item_id: items[(offset + i * 7) % items.length]!,
    event_type: i % 5 === 0 ? 'purchase' : 'page_view',
    timestamp: new Date(Date.UTC(2024, 1 + (i % 4), 1 + (i % 27), 12)).toISOString(),
  }));
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { 'x-api-key': KEY, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

async function count(index: string, query: object = { match_all: {} }): Promise<number> {
  await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  return (await es.count({ index, ignore_unavailable: true, allow_no_indices: true, query })).count;
}

async function waitJob(jobId: string): Promise<PrivacyJob> {
  let job: PrivacyJob | undefined;
  await waitUntil(
    `privacy job ${jobId} done`,
    async () => {
      const res = await call('GET', `/v1/privacy/jobs/${jobId}`);
      job = res.status === 200 ? ((await res.json()) as PrivacyJob) : undefined;
      return job?.status === 'done' || job?.status === 'failed';
    },
    60_000,
    100,
  );
  expect(job!.error).toBeUndefined();
  expect(job!.status).toBe('done');
  return job!;
}

/** Waits until each group has committed everything written to its topic. */
async function drained(pairs: Array<[string, string]>): Promise<void> {
  await waitUntil(
    'ingest caught up with its topics',
    async () => {
      for (const [group, topic] of pairs) {
        const [end, done] = await Promise.all([
          endOffsets(ctx.kafka, topic),
          committedOffsets(ctx.kafka, group, topic),
        ]);
        for (const [p, high] of end) if (high > 0 && (done.get(p) ?? -1) < high) return false;
      }
      return true;
    },
    90_000,
    200,
  );
}

const topics: Array<[string, string]> = [
  [names.groups.ingest, names.topics.events],
  [names.groups.recommendations, names.topics.recommendations],
];

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await loadDirect(ctx, data);
  ingest = await startIngest(ctx, createRegistry(false));
  await producer.send([...history(FORGET, 40, 0), ...history(KEEP, 40, 3)]);
  await waitUntil(
    'the two users stored',
    async () => (await count(names.eventsPattern, { terms: { user_id: [FORGET, KEEP] } })) === 80,
  );
  await ctx.repos.metadata.upsertUsers(
    [
      { user_id: FORGET, country: 'de' },
      { user_id: KEEP, country: 'fr' },
    ],
    { refresh: true },
  );
  const first = await runTraining(ctx, { trigger: 'test' });
  expect(first.status).toBe('live');
  models.push(first.modelId);
  server = await startServer({
    ctx,
    registry: createRegistry(false),
    port: 0,
    host: '127.0.0.1',
    options: { apiKeys: [KEY] },
  });
}, 180_000);

afterAll(async () => {
  await server?.close();
  await ingest?.stop();
  await producer.disconnect();
  await ctx.dispose();
});

describe('forget a user', () => {
  it('leaves no document with the id after a replay of the topics and a new training; everybody else is intact', async () => {
    // a served list and an attributed click, for both users
    for (const user of [FORGET, KEEP]) {
      const res = await call('GET', `/v1/users/${user}/recommendations?k=5`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { recommendation_id: string; items: Array<{ item_id: string }> };
      await producer.send([
        {
          event_id: `${user}-click`,
          user_id: user,
          item_id: body.items[0]!.item_id,
          event_type: 'click',
          timestamp: new Date().toISOString(),
          recommendation_id: body.recommendation_id,
        },
      ]);
    }
    await waitUntil(
      'served lists and attributions stored',
      async () => (await count(names.recommendationsPattern, { terms: { user_id: [FORGET, KEEP] } })) === 4,
    );
    // a second model version that knows the user too
    const second = await runTraining(ctx, { trigger: 'test' });
    expect(second.status).toBe('live');
    models.push(second.modelId);
    for (const m of models)
      expect((await ctx.repos.personalData.findById([names.usersIndex(m)], FORGET)).length).toBe(1);
    expect((await loadArtifact(artifactStore(ctx), models[0]!)).userIds).toContain(FORGET);

    // export first: it holds every event the store holds
    const direct = await count(names.eventsPattern, { term: { user_id: FORGET } });
    expect(direct).toBe(41);
    const exported = (await (await call('GET', `/v1/users/${FORGET}/export`)).json()) as {
      events: unknown[];
      vectors: unknown[];
      served_lists: unknown[];
      attributions: unknown[];
      metadata: { country?: string };
      counts: { events: number };
    };
    expect(exported.events).toHaveLength(direct);
    expect(exported.counts.events).toBe(direct);
    expect(exported.vectors).toHaveLength(2);
    expect(exported.served_lists).toHaveLength(1);
    expect(exported.attributions).toHaveLength(1);
    expect(exported.metadata.country).toBe('de');

    // what everybody else has, index by index, and what is the user's
    const before = new Map<string, number>();
    const theirs = new Map<string, number>();
    const indices = (await es.cat.indices({
      index: `${names.prefix}*`,
      h: ['index'],
      format: 'json',
    })) as Array<{
      index: string;
    }>;
    const ledgerIds = (
      await es.search({
        index: names.eventsPattern,
        size: 100,
        query: { term: { user_id: FORGET } },
        _source: false,
      })
    ).hits.hits.map((h) => h._id!);
    for (const { index } of indices) {
      before.set(index, await count(index));
      const mine = index.startsWith(names.eventsIndexPrefix)
        ? await count(index, { term: { user_id: FORGET } })
        : index === names.eventIds
          ? await count(index, { ids: { values: ledgerIds } })
          : index.startsWith(names.usersIndex('')) || index === names.userMetadata
            ? await count(index, { ids: { values: [FORGET] } })
            : 0;
      theirs.set(index, mine);
    }
    expect(
      [...theirs.keys()].filter((i) => i.startsWith(names.eventsIndexPrefix) && theirs.get(i)! > 0).length,
    ).toBeGreaterThanOrEqual(4);
    expect(theirs.get(names.eventIds)).toBe(41);

    const res = await call('DELETE', `/v1/users/${FORGET}`);
    expect(res.status).toBe(202);
    const job = await waitJob(((await res.json()) as PrivacyJob).job_id);
    expect(job.stores['events']!.counts).toMatchObject({ events: 41, ledger_claims: 41 });
    expect(job.stores['users_indices']!.counts['documents']).toBe(2);
    expect(job.stores['served_lists']!.counts).toMatchObject({ served_lists: 1, attributions: 1 });
    expect(job.stores['verify']!.counts['remaining']).toBe(0);
    expect(JSON.stringify(job)).not.toContain(FORGET);
    expect(await mentions(ctx, FORGET)).toEqual([]);

    // replay both topics from the beginning: the user's messages are dropped, the others' are duplicates
    await ingest!.stop();
    ingest = undefined;
    await withAdmin(ctx.kafka, async (admin) => {
      for (const [groupId, topic] of topics) await admin.resetOffsets({ groupId, topic, earliest: true });
    });
    ingest = await startIngest(ctx, createRegistry(false));
    await drained(topics);
    const third = await runTraining(ctx, { trigger: 'test' });
    expect(third.status).toBe('live');
    expect((await ctx.repos.personalData.findById([names.usersIndex(third.modelId)], KEEP)).length).toBe(1);
    expect(await mentions(ctx, FORGET)).toEqual([]);
    for (const m of [...models, third.modelId])
      expect((await loadArtifact(artifactStore(ctx), m)).userIds).not.toContain(FORGET);

    // everybody else's documents are all there: each index lost exactly the user's, no more (the
    // registries grew with the third run: its model and artefact)
    for (const [index, n] of before) {
      if (
        [
          names.models,
          names.artifacts,
          names.tombstones,
          names.privacyJobs,
          names.privacyAudit,
          names.locks,
        ].includes(index)
      )
        continue;
      expect({ index, n: await count(index) }).toEqual({ index, n: n - theirs.get(index)! });
    }
    expect(await count(names.eventsPattern, { term: { user_id: KEEP } })).toBe(41);
    expect(await count(names.recommendationsPattern, { term: { user_id: KEEP } })).toBe(2);

    const audit = await ctx.repos.privacyJobs.auditOf(job.job_id);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.counts['events']).toMatchObject({ events: 41 });
  }, 300_000);
});
