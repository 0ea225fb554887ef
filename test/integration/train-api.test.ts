import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/api/app.ts';
import { generateDataset, itemMetadata } from '../../src/demo/generate.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { setup } from '../../src/setup/index.ts';
import { testContext } from './harness.ts';
import { waitUntil } from './wait.ts';

// POST /v1/train end to end: the real admin operations (lock, runTraining, deploy) behind the real
// API, on a small generated dataset in the event store. api.test.ts covers the routes with stubs.

const ctx = testContext('trainapi', { als: { factors: 16, iterations: 8, threads: 1 } });
const { es, names } = ctx;
const KEY = 'train-api-key';
const auth = { 'x-api-key': KEY };
const data = generateDataset({
  users: 300,
  items: 250,
  days: 28,
  seed: 23,
  events: 25_000,
  malformedFraction: 0,
});
let server: RunningServer;

async function call(
  method: string,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string } } }> {
  const res = await fetch(server.url + path, { method, headers: auth });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown> & { error?: { code: string } },
  };
}

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const meta = await ctx.repos.metadata.upsertItems(
    data.items.map((i) => itemMetadata(i) as unknown as Record<string, unknown>),
    { refresh: 'wait_for' },
  );
  expect(meta.upserted).toBe(data.items.length);
  // the event store as the ingest sink writes it: one create per event into its day's index
  const ops = [];
  for (const e of data.events)
    ops.push({ create: { _index: names.eventsIndex(new Date(e.timestamp)), _id: e.event_id } }, e);
  for (let i = 0; i < ops.length; i += 10_000) {
    const r = await es.bulk({ operations: ops.slice(i, i + 10_000) });
    expect(r.errors).toBe(false);
  }
  await es.indices.refresh({ index: names.eventsPattern });
  server = await startServer({
    ctx,
    registry: createRegistry(false),
    port: 0,
    host: '127.0.0.1',
    options: { apiKeys: [KEY], defaultMode: 'exact' },
  });
});

afterAll(async () => {
  await server?.close();
  await ctx.dispose();
});

describe('POST /v1/train with the real training backend', () => {
  it('starts a run, refuses a second one while it runs, records metrics, and serves the new live model', async () => {
    const started = await call('POST', '/v1/train');
    expect(started.status).toBe(202);
    const runId = started.body['run_id'] as string;
    expect(runId).toMatch(/\S/);
    expect(started.body['status_url']).toBe(`/v1/train/${encodeURIComponent(runId)}`);

    // the training lock is held until the run has finished (read, ALS, evaluation, deploy), which
    // takes seconds; the POST above returned as soon as the run was registered
    const second = await call('POST', '/v1/train');
    expect(second.status).toBe(409);
    expect(second.body.error?.code).toBe('training_in_progress');

    let run: Record<string, unknown> = {};
    const seenStatuses = new Set<number>();
    await waitUntil(
      `run ${runId} finished`,
      async () => {
        const r = await call('GET', `/v1/train/${encodeURIComponent(runId)}`);
        seenStatuses.add(r.status);
        run = r.body;
        // a run whose gate passed is recorded as candidate ('gate passed') while it deploys, then
        // live: only live, failed, or a candidate the gate held back is an end state
        const gatePassed = (run['gate'] as { passed?: boolean } | undefined)?.passed;
        return (
          run['status'] === 'live' ||
          run['status'] === 'failed' ||
          (run['status'] === 'candidate' && gatePassed === false)
        );
      },
      150_000,
      500,
    );
    expect([...seenStatuses]).toEqual([200]); // the run was readable from the first poll on
    expect(run['status'], `run ${runId}: ${JSON.stringify(run['error'] ?? run['status_reason'])}`).not.toBe(
      'failed',
    );
    expect(run).toMatchObject({ model_id: runId, trigger: 'api' });
    const metrics = run['metrics'] as { ndcg: number; k: number } | undefined;
    expect(metrics?.k).toBe(10);
    expect(metrics?.ndcg).toBeGreaterThan(0);
    expect((run['baseline_metrics'] as { ndcg?: number } | undefined)?.ndcg).toBeGreaterThanOrEqual(0);
    expect(run['gate']).toBeDefined();
    expect(run['lsh']).toBeUndefined(); // internal fields stay hidden

    const gate = run['gate'] as { passed: boolean };
    // no model was live before, so the gate is against popularity only; this dataset beats it
    expect(gate.passed).toBe(true);
    expect(run['status']).toBe('live');
    const models = await call('GET', '/v1/models');
    expect(models.status).toBe(200);
    expect(models.body['live_model_id']).toBe(runId);

    const perUser = new Map<string, number>();
    for (const e of data.events) perUser.set(e.user_id, (perUser.get(e.user_id) ?? 0) + 1);
    const user = [...perUser].sort((a, b) => b[1] - a[1])[0]![0]; // the most active user is surely in the model
    const recs = await fetch(`${server.url}/v1/users/${encodeURIComponent(user)}/recommendations?k=5`);
    expect(recs.status).toBe(200);
    const body = (await recs.json()) as { model_id: string; source: string; items: unknown[] };
    expect(body.model_id).toBe(runId);
    expect(body.source).toBe('personal');
    expect(body.items).toHaveLength(5);
  });
});
