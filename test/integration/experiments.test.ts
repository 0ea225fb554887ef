import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { startServer, type RunningServer } from '../../src/api/app.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { assignArm } from '../../src/experiments/assignment.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { startIngest, type IngestService } from '../../src/ingest/service.ts';
import { artifactStore, saveArtifact } from '../../src/model/artifacts.ts';
import { modelLifecycle } from '../../src/model/lifecycle.ts';
import { startOnline, type OnlineService } from '../../src/online/service.ts';
import { setup } from '../../src/setup/index.ts';
import { pool, testContext } from './harness.ts';
import { plantedModel } from './planted.ts';
import { waitUntil } from './wait.ts';

// A live model and a staged candidate (planted factors), a 20 % experiment between them served to
// 5,000 simulated users through the real API, served records through Kafka and the ingest sink
// into recommendations-*, clicks with a planted CTR difference, and the verdict of the endpoint.
// Clicks are written as attribution records straight into recommendations-* (kind click, with the
// list's experiment_id/arm/model_id): the attribution that tags them from the recommendation id is
// part A of issue 13 (branch attribution), not on this branch.

const modelDir = mkdtempSync(path.join(tmpdir(), 'recsys-exp-'));
const ctx = testContext('experiments', {}, { MODEL_DIR: modelDir });
const { es, names } = ctx;
const KEY = 'exp-key';
const LIVE = 'mexplive';
const CANDIDATE = 'mexpcand';
const USERS = 5000;
const SHARE = 0.2;
const shape = { factors: 8, items: 120, users: 60, extras: true } as const;
const auth = { 'x-api-key': KEY };

let server: RunningServer;
let ingest: IngestService;
let online: OnlineService;
let producer: Producer;

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string } };
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = auth,
): Promise<Answer> {
  const res = await fetch(server.url + path, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Answer['body']) : {} };
}

const served = (experimentId: string) =>
  es
    .count({
      index: names.recommendationsPattern,
      query: { bool: { filter: [{ term: { kind: 'served' } }, { term: { experiment_id: experimentId } }] } },
    })
    .then(
      (r) => r.count,
      () => 0,
    );

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await deployModel(ctx, plantedModel(LIVE, 1, shape));
  const staged = await deployModel(ctx, plantedModel(CANDIDATE, 2, shape), { stage: true });
  expect(staged.staged).toBe(true);
  ingest = await startIngest(ctx, createRegistry(false), { lagIntervalMs: 1000 });
  online = await startOnline(ctx, createRegistry(false));
  producer = ctx.kafka.producer();
  await producer.connect();
  server = await startServer({
    ctx,
    registry: createRegistry(false),
    port: 0,
    host: '127.0.0.1',
    options: {
      apiKeys: [KEY],
      defaultMode: 'exact',
      servedLog: { lingerMs: 10 },
      healthConsumerGroups: ['ingest'],
    },
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await producer?.disconnect();
  await online?.stop();
  await ingest?.stop();
  await ctx.dispose();
  rmSync(modelDir, { recursive: true, force: true });
});

describe('staging a candidate', () => {
  it('builds its indices without going live, and keep-N leaves it alone', async () => {
    expect(await ctx.repos.modelIndices.aliasedModelIds()).toEqual([LIVE]);
    expect((await ctx.repos.models.get(CANDIDATE))?.status).toBe('staged');
    expect(await ctx.repos.modelIndices.exists(CANDIDATE)).toBe(true);
    // keep 0: everything but the live version would go, a staged one excepted
    expect(await modelLifecycle(ctx, undefined, 0).removeOldVersions()).toEqual([]);
    expect(await ctx.repos.modelIndices.exists(CANDIDATE)).toBe(true);
  });

  it("POST /v1/models/<id>/stage deploys a trained model's kept factors as staged, in the background", async () => {
    const THIRD = 'mexpthird';
    const p = plantedModel(THIRD, 3, shape);
    await saveArtifact(artifactStore(ctx), {
      ...p,
      recentItems: Object.fromEntries(p.recentItems!),
      popularity: Object.fromEntries(p.popularity!),
    });
    await modelLifecycle(ctx).ensureRegistered(THIRD, { factors: shape.factors });
    expect((await call('POST', '/v1/models/mnosuchmodel/stage')).status).toBe(404);
    expect((await call('POST', `/v1/models/${LIVE}/stage`)).body.error?.code).toBe('model_already_deployed');
    const r = await call('POST', `/v1/models/${THIRD}/stage`);
    expect([r.status, r.body['status'], r.body['status_url']]).toEqual([
      202,
      'deploying',
      `/v1/train/${THIRD}`,
    ]);
    await waitUntil(
      `${THIRD} staged`,
      async () => (await call('GET', `/v1/train/${THIRD}`)).body['status'] === 'staged',
      60_000,
      250,
    );
    expect(await ctx.repos.modelIndices.aliasedModelIds()).toEqual([LIVE]);
    expect(await ctx.repos.modelIndices.exists(THIRD)).toBe(true);
  });
});

describe('an experiment between the live model and the staged candidate', () => {
  let experimentId = '';
  let salt = '';

  it('refuses bad input with 4xx and starts a 20 % experiment', async () => {
    const bad: Array<[unknown, number, string]> = [
      [{ candidate_model_id: CANDIDATE, treatment_share: 0 }, 400, 'invalid_parameter'],
      [{ candidate_model_id: CANDIDATE, treatment_share: 1 }, 400, 'invalid_parameter'],
      [{ candidate_model_id: CANDIDATE, treatment_share: '0.2' }, 400, 'invalid_parameter'],
      [{ candidate_model_id: 'Not A Model', treatment_share: 0.2 }, 400, 'invalid_parameter'],
      [{ candidate_model_id: CANDIDATE, treatment_share: 0.2, extra: 1 }, 400, 'unknown_parameter'],
      [{ candidate_model_id: 'mnosuchmodel', treatment_share: 0.2 }, 409, 'model_not_deployed'],
      [{ candidate_model_id: LIVE, treatment_share: 0.2 }, 409, 'candidate_is_live'],
    ];
    for (const [body, status, code] of bad) {
      const r = await call('POST', '/v1/experiments', body);
      expect([r.status, r.body.error?.code], JSON.stringify(body)).toEqual([status, code]);
    }
    expect(
      (await call('POST', '/v1/experiments', { candidate_model_id: CANDIDATE, treatment_share: SHARE }, {}))
        .status,
    ).toBe(401);
    const started = await call('POST', '/v1/experiments', {
      candidate_model_id: CANDIDATE,
      treatment_share: SHARE,
    });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({
      candidate_model_id: CANDIDATE,
      control_model_id: LIVE,
      treatment_share: SHARE,
      status: 'running',
    });
    experimentId = started.body['experiment_id'] as string;
    salt = started.body['salt'] as string;
    const second = await call('POST', '/v1/experiments', {
      candidate_model_id: CANDIDATE,
      treatment_share: 0.5,
    });
    expect([second.status, second.body.error?.code]).toEqual([409, 'experiment_running']);
    expect((await call('GET', '/v1/experiments/enosuch')).status).toBe(404);
    // the slot document's id is not an experiment
    expect((await call('GET', '/v1/experiments/running')).status).toBe(404);
    for (const id of ['UPPER', '_all', '..%2Fx', 'a%2Fb', '*', 'x'.repeat(65), 'a,b']) {
      const r = await call('GET', `/v1/experiments/${id}`);
      expect([r.status, r.body.error?.code], id).toEqual([400, 'invalid_parameter']);
    }
    expect((await call('POST', '/v1/experiments/enosuch/stop')).status).toBe(404);
    const list = await call('GET', '/v1/experiments');
    expect(
      (list.body['experiments'] as Array<{ experiment_id: string }>).map((e) => e.experiment_id),
    ).toEqual([experimentId]);
  });

  const arms = new Map<string, { arm: string; model: string; recs: string[] }>();

  it('serves 5,000 users: 20 % ± 2 points in treatment from the candidate, the rest from the live model, 100 % sticky', async () => {
    expect(experimentId).not.toBe('');
    // the API shares ctx.es: count what the experiment costs in round trips while it serves
    let experimentRequests = 0;
    const onRequest = (_e: unknown, r: { meta: { request: { params: { path: string } } } } | null) => {
      if (r?.meta.request.params.path.includes(`/${names.experiments}/`)) experimentRequests++;
    };
    es.diagnostic.on('request', onRequest);
    const started = Date.now();
    for (const pass of [0, 1]) {
      await pool(USERS, 12, async (i) => {
        const user = i < shape.users ? `u${i}` : `sim${i}`;
        const r = await call('GET', `/v1/users/${user}/recommendations?k=3`, undefined, {});
        expect(r.status).toBe(200);
        const b = r.body as {
          experiment_id: string;
          arm: string;
          model_id: string;
          recommendation_id: string;
        };
        expect(b.experiment_id).toBe(experimentId);
        expect(b.model_id).toBe(b.arm === 'treatment' ? CANDIDATE : LIVE);
        const seen = arms.get(user);
        if (pass === 0) arms.set(user, { arm: b.arm, model: b.model_id, recs: [b.recommendation_id] });
        else {
          expect([b.arm, b.model_id], user).toEqual([seen!.arm, seen!.model]);
          seen!.recs.push(b.recommendation_id);
        }
      });
    }
    es.diagnostic.off('request', onRequest);
    // cached like the live model: two GETs (slot, experiment) per 5 s TTL, not per request
    const ttlPeriods = Math.ceil((Date.now() - started) / 5_000) + 1;
    expect(experimentRequests).toBeLessThanOrEqual(2 * ttlPeriods);
    expect(experimentRequests).toBeLessThan(USERS / 10);
    const treatment = [...arms.values()].filter((a) => a.arm === 'treatment').length;
    console.log(
      `treatment share ${(treatment / USERS).toFixed(4)} of ${USERS} users; experiment-index requests ${experimentRequests} for ${2 * USERS} recommendation requests`,
    );
    expect(treatment / USERS).toBeGreaterThan(SHARE - 0.02);
    expect(treatment / USERS).toBeLessThan(SHARE + 0.02);
    // the same rule as the pure function, with the experiment's salt
    for (const [user, a] of arms) expect(a.arm, user).toBe(assignArm(salt, user, SHARE));
    // similar items have no user to assign: always the live model, outside the experiment
    const sim = await call('GET', '/v1/items/i3/similar?k=3', undefined, {});
    expect(sim.body['model_id']).toBe(LIVE);
    expect(sim.body['experiment_id']).toBeUndefined();
  }, 300_000);

  it("folds a treatment user's events into the candidate's users index too", async () => {
    const user = [...arms.entries()].find(([u, a]) => u.startsWith('u') && a.arm === 'treatment')![0];
    // an item neither users index holds for this user yet: one the training already put in its
    // recent items would pass the wait before any fold-in (the user is whichever answered first)
    const before = await Promise.all([
      ctx.repos.users.vector(names.usersIndex(CANDIDATE), user),
      ctx.repos.users.vector(names.usersIndex(LIVE), user),
    ]);
    const held = new Set(before.flatMap((d) => d?.recent_items ?? []));
    const item = Array.from({ length: shape.items - 7 }, (_, i) => `i${i + 7}`).find((id) => !held.has(id))!;
    let n = 0;
    await waitUntil(
      `fold-in of ${user} into ${CANDIDATE}`,
      async () => {
        const event = {
          event_id: `fold-${n++}`,
          user_id: user,
          item_id: item,
          event_type: 'purchase',
          timestamp: new Date().toISOString(),
        };
        await producer.send({
          topic: names.topics.events,
          acks: -1,
          messages: [{ key: user, value: JSON.stringify(event) }],
        });
        const [cand, live] = await Promise.all([
          ctx.repos.users.vector(names.usersIndex(CANDIDATE), user),
          ctx.repos.users.vector(names.usersIndex(LIVE), user),
        ]);
        return (cand?.recent_items ?? []).includes(item) && (live?.recent_items ?? []).includes(item);
      },
      60_000,
      500,
    );
    const doc = await es.get<{ source: string; model_id: string }>({
      index: names.usersIndex(CANDIDATE),
      id: user,
    });
    expect(doc._source).toMatchObject({ source: 'online', model_id: CANDIDATE });
  }, 90_000);

  it('detects a planted CTR difference (20 % vs 10 % of lists clicked) and no conversion difference', async () => {
    await waitUntil(
      'every served list is in recommendations-*',
      async () => (await served(experimentId)) === 2 * USERS,
      120_000,
      500,
    );
    // clicks on every 5th treatment list and every 10th control list (by served order), conversions on every 25th of both
    const ops: unknown[] = [];
    const plant = {
      treatment: { lists: 0, clicked: 0, converted: 0 },
      control: { lists: 0, clicked: 0, converted: 0 },
    };
    const now = Date.now();
    for (const [user, a] of arms) {
      for (const rec of a.recs) {
        const p = plant[a.arm as 'treatment' | 'control'];
        const idx = p.lists++;
        const base = {
          recommendation_id: rec,
          experiment_id: experimentId,
          arm: a.arm,
          model_id: a.model,
          user_id: user,
          item_id: 'i1',
          timestamp: new Date(now).toISOString(),
        };
        if (idx % (a.arm === 'treatment' ? 5 : 10) === 0) {
          p.clicked++;
          // two clicks on one list: still one clicked list
          for (const c of [0, 1])
            ops.push(
              { create: { _index: names.recommendationsIndex(new Date(now)), _id: `click-${rec}-${c}` } },
              { kind: 'click', event_type: 'click', event_id: `click-${rec}-${c}`, ...base },
            );
        }
        if (idx % 25 === 0) {
          p.converted++;
          ops.push(
            { create: { _index: names.recommendationsIndex(new Date(now)), _id: `conv-${rec}` } },
            { kind: 'conversion', event_type: 'purchase', event_id: `conv-${rec}`, ...base },
          );
        }
      }
    }
    for (let i = 0; i < ops.length; i += 4000) {
      const r = await es.bulk({ operations: ops.slice(i, i + 4000) as never[], refresh: true });
      expect(r.errors).toBe(false);
    }
    const res = await call('GET', `/v1/experiments/${experimentId}`);
    expect(res.status).toBe(200);
    type Arm = {
      impressions: number;
      clicks: number;
      clicked_lists: number;
      ctr: number;
      ctr_ci95: [number, number];
      converted_lists: number;
      models: string[];
    };
    const results = res.body['results'] as {
      arms: Record<'treatment' | 'control', Arm>;
      ctr: { verdict: string; p_value: number; summary: string };
      conversion_rate: { verdict: string };
      verdict: string;
    };
    for (const arm of ['treatment', 'control'] as const) {
      const got = results.arms[arm];
      expect(got.impressions).toBe(plant[arm].lists);
      expect(got.clicked_lists).toBe(plant[arm].clicked);
      expect(got.clicks).toBe(2 * plant[arm].clicked);
      expect(got.converted_lists).toBe(plant[arm].converted);
      expect(got.ctr).toBeCloseTo(plant[arm].clicked / plant[arm].lists, 12);
      expect(got.ctr_ci95[0]).toBeLessThan(got.ctr);
      expect(got.ctr_ci95[1]).toBeGreaterThan(got.ctr);
      expect(got.models).toEqual([arm === 'treatment' ? CANDIDATE : LIVE]);
    }
    expect(results.ctr.verdict).toBe('treatment_better');
    expect(results.ctr.p_value).toBeLessThan(0.001);
    expect(results.verdict).toMatch(
      /^CTR: treatment better than control \(p < 0\.0001, two-proportion z-test; \d+\/\d+ treatment vs \d+\/\d+ control lists\)$/,
    );
    expect(results.conversion_rate.verdict).toBe('no_significant_difference_yet');
  }, 180_000);

  it("a real click through POST /v1/events and the ingest is credited to the list's arm", async () => {
    const before = (await call('GET', `/v1/experiments/${experimentId}`)).body['results'] as {
      arms: { treatment: { clicked_lists: number } };
    };
    // a treatment list the planted clicks left alone
    const clicks = (rec: string) =>
      es
        .count({
          index: names.recommendationsPattern,
          query: { bool: { filter: [{ term: { kind: 'click' } }, { term: { recommendation_id: rec } }] } },
        })
        .then((r) => r.count);
    let user = '';
    let rec = '';
    for (const [u, a] of arms) {
      if (a.arm !== 'treatment' || (await clicks(a.recs[0]!)) > 0) continue;
      [user, rec] = [u, a.recs[0]!];
      break;
    }
    expect(rec).not.toBe('');
    const event = {
      event_id: `real-click-${user}-${Date.now()}`,
      user_id: user,
      item_id: 'i2',
      event_type: 'click',
      timestamp: new Date().toISOString(),
      recommendation_id: rec,
    };
    expect((await call('POST', '/v1/events', event)).status).toBe(202);
    await waitUntil(
      'the click is counted for the treatment arm',
      async () => {
        const now = (await call('GET', `/v1/experiments/${experimentId}`)).body['results'] as {
          arms: { treatment: { clicked_lists: number } };
        };
        return now.arms.treatment.clicked_lists === before.arms.treatment.clicked_lists + 1;
      },
      60_000,
      500,
    );
  }, 90_000);

  it('promote makes the candidate live in one alias swap and ends the experiment', async () => {
    const controlUser = [...arms.entries()].find(([, a]) => a.arm === 'control')![0];
    const r = await call('POST', `/v1/experiments/${experimentId}/promote`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: 'promoted',
      activation: { modelId: CANDIDATE, previousModelId: LIVE },
    });
    const aliases = await ctx.repos.modelIndices.aliased();
    expect(aliases).toEqual({ items: [names.itemsIndex(CANDIDATE)], users: [names.usersIndex(CANDIDATE)] });
    expect((await ctx.repos.models.get(CANDIDATE))?.status).toBe('live');
    expect((await ctx.repos.models.get(LIVE))?.status).toBe('retired');
    // this API instance sees it at once (others within the cache TTL)
    const after = await call('GET', `/v1/users/${controlUser}/recommendations?k=3`, undefined, {});
    expect(after.body['model_id']).toBe(CANDIDATE);
    expect(after.body['experiment_id']).toBeUndefined();
    expect((await call('POST', `/v1/experiments/${experimentId}/promote`)).body.error?.code).toBe(
      'experiment_not_running',
    );
    expect((await call('GET', `/v1/experiments/${experimentId}`)).body['status']).toBe('promoted');
  });

  it('a new experiment can test the old model back; stop returns everyone to the live model', async () => {
    const started = await call('POST', '/v1/experiments', { candidate_model_id: LIVE, treatment_share: 0.5 });
    expect(started.status).toBe(201);
    const id = started.body['experiment_id'] as string;
    expect((await ctx.repos.models.get(LIVE))?.status).toBe('staged');
    const stopped = await call('POST', `/v1/experiments/${id}/stop`);
    expect([stopped.status, stopped.body['status']]).toEqual([200, 'stopped']);
    // it had been live before: back to retired, where keep-N and rollback know what to do with it
    expect((await ctx.repos.models.get(LIVE))?.status).toBe('retired');
    const r = await call('GET', '/v1/users/u1/recommendations?k=3', undefined, {});
    expect([r.body['model_id'], r.body['experiment_id']]).toEqual([CANDIDATE, undefined]);
    expect((await call('POST', `/v1/experiments/${id}/stop`)).status).toBe(409);
  });
});
