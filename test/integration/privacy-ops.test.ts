import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/api/app.ts';
import { generateDataset } from '../../src/demo/generate.ts';
import type { StoredEvent } from '../../src/events/schema.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { artifactStore, loadArtifact } from '../../src/model/artifacts.ts';
import { PrivacyService } from '../../src/privacy/service.ts';
import { runTraining } from '../../src/release/run.ts';
import type { SinkDoc } from '../../src/repositories/bulk-store.ts';
import type { PrivacyJob } from '../../src/repositories/privacy-jobs.ts';
import { setup } from '../../src/setup/index.ts';
import { loadDirect, testContext } from './harness.ts';
import { mentions } from './privacy-support.ts';
import { waitUntil } from './wait.ts';
import { eventWrite } from '../../src/ingest/event-write.ts';

// A forget job stopped midway and run again; an item removed from everything that serves; an
// anonymous history merged into a user.

const KEY = 'privacy-ops-key';
const ctx = testContext('privacy-ops', {
  als: { factors: 8, iterations: 5, threads: 1 },
  gate: { tolerance: 1 },
});
const { es, names } = ctx;
const data = generateDataset({
  users: 150,
  items: 120,
  days: 28,
  seed: 34,
  events: 8_000,
  malformedFraction: 0,
});
const items = data.items.map((i) => i.item_id);
let server: RunningServer;
let liveModel: string;

/** events over four months of 2024, on a stride of the catalogue */
function history(userId: string, n: number, offset: number): StoredEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    event_id: `${userId}-e${i}`,
    user_id: userId,
    item_id: items[(offset + i * 7) % items.length]!,
    event_type: i % 5 === 0 ? 'purchase' : 'page_view',
    timestamp: new Date(Date.UTC(2024, 1 + (i % 4), 1 + (i % 27), 12)).toISOString(),
  }));
}

/** Stores events as ingest does: a claim in the dedup ledger, then the event. */
async function store(events: StoredEvent[]): Promise<void> {
  const docs: SinkDoc[] = events.map((e, origin) =>
    eventWrite(names, { id: e.event_id, timestamp: e.timestamp, doc: { ...e } }, origin),
  );
  const out = await ctx.repos.documents.storeAll(
    docs,
    { initialMs: 100, maxMs: 1_000, deadlineMs: 30_000 },
    ctx.log,
  );
  expect(out.failures).toEqual([]);
  await es.indices.refresh({ index: `${names.eventsPattern},${names.eventIds}` });
}

async function count(index: string, query: object): Promise<number> {
  await es.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true });
  return (await es.count({ index, ignore_unavailable: true, allow_no_indices: true, query })).count;
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { 'x-api-key': KEY, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

async function recommendation(path: string) {
  const res = await fetch(`${server.url}${path}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { items: Array<{ item_id: string }>; model_id: string; reason?: string };
}

async function recommended(path: string): Promise<string[]> {
  const body = await recommendation(path);
  expect(body.reason, JSON.stringify(body).slice(0, 300)).toBeUndefined();
  return body.items.map((i) => i.item_id);
}

const TWIN_A = 'twin-a-k8d';
const TWIN_B = 'twin-b-r5n';

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await loadDirect(ctx, data);
  await store([...history(TWIN_A, 30, 5), ...history(TWIN_B, 30, 5)]);
  await ctx.repos.metadata.upsertUsers([{ user_id: TWIN_A }, { user_id: TWIN_B }], { refresh: true });
  const run = await runTraining(ctx, { trigger: 'test' });
  expect(run.status).toBe('live');
  liveModel = run.modelId;
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
  await ctx.dispose();
});

describe('privacy jobs', () => {
  it('a forget job stopped after its first bucket finishes on a second run with the result of an uninterrupted one', async () => {
    expect(await count(names.eventsPattern, { term: { user_id: TWIN_A } })).toBe(30);
    const killed = await new PrivacyService(ctx).forgetUser(TWIN_A, 'test', {
      // after the first bucket that held some of the user's events
      afterCheckpoint: (store, part, job) => {
        if (store === 'events' && part && job.stores['events']!.counts['events'])
          throw new Error('killed midway');
      },
    });
    await expect(killed.finished).rejects.toThrow('killed midway');
    const stopped = (await ctx.repos.privacyJobs.get(killed.job.job_id))!;
    expect(stopped.status).toBe('failed');
    expect(stopped.stores['events']).toMatchObject({ status: 'pending' });
    const left = await count(names.eventsPattern, { term: { user_id: TWIN_A } });
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(30);

    // another process runs it again: it resumes the same job
    const resumed = await (await new PrivacyService(ctx).forgetUser(TWIN_A, 'test')).finished;
    expect(resumed).toMatchObject({ job_id: killed.job.job_id, status: 'done', runs: 2 });
    const clean = await (await new PrivacyService(ctx).forgetUser(TWIN_B, 'test')).finished;
    expect(clean.runs).toBe(1);

    const counts = (j: PrivacyJob) =>
      Object.fromEntries(
        Object.entries(j.stores)
          .filter(([s]) => s !== 'tombstone')
          .map(([s, p]) => [s, p.counts]),
      );
    expect(counts(resumed)).toEqual(counts(clean));
    expect(counts(clean)['events']).toEqual({ events: 30, ledger_claims: 30 });
    expect(counts(clean)['users_indices']).toMatchObject({ documents: 1 });
    expect(await mentions(ctx, TWIN_A)).toEqual([]);
    expect(await mentions(ctx, TWIN_B)).toEqual([]);
    expect((await loadArtifact(artifactStore(ctx), liveModel)).userIds).not.toContain(TWIN_A);
  }, 120_000);

  it('a removed item is gone from user lists and similar-items lists as soon as the call returns, and from the next model', async () => {
    // an item that is in a user's list and in the similar list of another item
    let removed: string | undefined;
    let user: string | undefined;
    let neighbourOf: string | undefined;
    for (const u of data.users.slice(0, 40).map((x) => x.user_id)) {
      for (const item of await recommended(`/v1/users/${u}/recommendations?k=10&mode=exact`)) {
        for (const n of await recommended(`/v1/items/${item}/similar?k=10`))
          if ((await recommended(`/v1/items/${n}/similar?k=10`)).includes(item)) {
            [removed, user, neighbourOf] = [item, u, n];
            break;
          }
        if (removed) break;
      }
      if (removed) break;
    }
    expect(removed).toBeDefined();
    const eventsBefore = await count(names.eventsPattern, { term: { item_id: removed } });
    expect(eventsBefore).toBeGreaterThan(0);

    const res = await call('DELETE', `/v1/items/${removed}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as PrivacyJob).status).toBe('done');
    expect(await recommended(`/v1/users/${user}/recommendations?k=10&mode=exact`)).not.toContain(removed);
    expect(await recommended(`/v1/users/${user}/recommendations?k=10`)).not.toContain(removed);
    expect(await recommended(`/v1/items/${neighbourOf}/similar?k=10`)).not.toContain(removed);
    expect((await fetch(`${server.url}/v1/items/${removed}/similar?k=10`)).status).toBe(404);
    expect(await count(names.itemMetadata, { ids: { values: [removed!] } })).toBe(0);
    // its events are the users' history: they stay
    expect(await count(names.eventsPattern, { term: { item_id: removed } })).toBe(eventsBefore);

    const next = await runTraining(ctx, { trigger: 'test' });
    expect(next.status).toBe('live');
    expect((await loadArtifact(artifactStore(ctx), next.modelId)).itemIds).not.toContain(removed);
    expect(await count(names.itemsIndex(next.modelId), { ids: { values: [removed!] } })).toBe(0);
    liveModel = next.modelId;
  }, 180_000);

  it('a merge moves the anonymous events to the user, whose list then reflects them, and forgets the anonymous id', async () => {
    // a user the model knows well: the most active one
    const activity = new Map<string, number>();
    for (const e of data.events) activity.set(e.user_id, (activity.get(e.user_id) ?? 0) + 1);
    const userId = [...activity].sort((x, y) => y[1] - x[1])[0]![0];
    const anon = 'anon-cookie-w2j';
    const userEvents = await count(names.eventsPattern, { term: { user_id: userId } });
    // an earlier test may have deployed a model: the API's cached live model must have caught up
    await waitUntil(
      'the API serves the live model',
      async () => (await recommendation(`/v1/users/${userId}/recommendations?k=1`)).model_id === liveModel,
    );
    const vectorBefore = await ctx.repos.users.vector(names.usersIndex(liveModel), userId);
    const before = await recommended(`/v1/users/${userId}/recommendations?k=10&mode=exact`);
    // the top of the user's own list, viewed anonymously just now: once merged they are the user's
    // history, so the list must change (seen items are never served back) and the vector moves
    const fresh = before.slice(0, 3);
    await store(
      fresh.map((item, i) => ({
        event_id: `a-${i}`,
        user_id: anon,
        item_id: item,
        event_type: 'add_to_cart',
        timestamp: new Date(Date.now() - 1000 + i).toISOString(),
      })),
    );
    await ctx.repos.metadata.upsertUsers([{ user_id: anon }], { refresh: true });

    const res = await call('POST', `/v1/users/${userId}/merge`, { anonymous_id: anon });
    expect(res.status).toBe(202);
    const jobId = ((await res.json()) as PrivacyJob).job_id;
    let job: PrivacyJob | undefined;
    await waitUntil('the merge is done', async () => {
      job = await ctx.repos.privacyJobs.get(jobId);
      return job?.status === 'done' || job?.status === 'failed';
    });
    expect(job).toMatchObject({ status: 'done' });
    expect(job!.stores['events']!.counts).toEqual({ events: 3 });
    expect(job!.stores['fold_in']!.counts).toEqual({ refreshed: 1 });

    expect(await count(names.eventsPattern, { term: { user_id: anon } })).toBe(0);
    expect(await count(names.eventsPattern, { term: { user_id: userId } })).toBe(userEvents + 3);
    expect(await count(names.userMetadata, { ids: { values: [anon] } })).toBe(0);
    expect(await new PrivacyService(ctx).mergedInto(anon)).toBe(userId);
    // the user's document now knows the anonymous items: they are seen, so never served back
    const after = await ctx.repos.users.vector(names.usersIndex(liveModel), userId);
    for (const item of fresh) expect(after?.recent_items).toContain(item);
    const list = await recommended(`/v1/users/${userId}/recommendations?k=10&mode=exact`);
    for (const item of fresh) expect(list).not.toContain(item);
    expect(list).not.toEqual(before);
    expect(after?.factor).not.toEqual(vectorBefore?.factor);
  }, 120_000);
});
