import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@elastic/elasticsearch';
import { generateDataset } from '../../src/demo/generate.ts';
import { LOCAL_ES_URL } from '../../src/infra/clients.ts';
import { modelLifecycle } from '../../src/model/lifecycle.ts';
import { EventsRepository } from '../../src/repositories/events.ts';
import { setup } from '../../src/setup/index.ts';
import { runTraining } from '../../src/release/run.ts';
import { readRatingsByComposite, readRatingsByScan, scanRatingsTable } from '../../src/train/ratings.ts';
import { startScheduler } from '../../src/release/schedule.ts';
import { runTuning } from '../../src/train/tune.ts';
import { loadDirect, testContext } from './harness.ts';
import { startTcpProxy } from './tcp-proxy.ts';

const ctx = testContext('train', { als: { factors: 16, iterations: 8, threads: 1 } });
const { es, names } = ctx;
const data = generateDataset({
  users: 300,
  items: 250,
  days: 28,
  seed: 11,
  events: 25_000,
  malformedFraction: 0,
});
const small = { params: { factors: 16, iterations: 8 }, trigger: 'test' as const };

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await loadDirect(ctx, data);
});

afterAll(() => ctx.dispose());

/**
 * The live model a test compares against: whatever is live, or one trained now if nothing is (the
 * test runs alone, or first). Asserted, so "the live model is untouched" never compares undefined.
 */
async function ensureLive(): Promise<string> {
  const live = await modelLifecycle(ctx).liveModelId();
  if (live) return live;
  const r = await runTraining(ctx, small);
  expect(r.status).toBe('live');
  return r.modelId;
}

describe('training pipeline', () => {
  it('reads the same ratings by composite aggregation and by PIT scan', async () => {
    const now = Date.parse(data.events.at(-1)!.timestamp);
    const rules = { weights: ctx.config.events.weights, windowDays: 0, halfLifeDays: 7 };
    const events = ctx.repos.events;
    const key = (r: { userId: string; itemId: string }) => `${r.userId}|${r.itemId}`;
    const scan = new Map((await readRatingsByScan(events, { rules, now })).map((r) => [key(r), r.weight]));
    const comp = new Map(
      (await readRatingsByComposite(events, { rules, now, pageSize: 1000 })).map((r) => [key(r), r.weight]),
    );
    expect(comp.size).toBe(scan.size);
    expect(scan.size).toBeGreaterThan(1000);
    // composite decays per day bucket (midpoint), the scan per event: within half a day of a 7-day half-life
    for (const [k, w] of scan) expect(Math.abs(comp.get(k)! - w) / w).toBeLessThan(0.06);
    const noDecay = { rules: { ...rules, halfLifeDays: 0 }, now };
    const a = new Map((await readRatingsByScan(events, noDecay)).map((r) => [key(r), r.weight]));
    const b = new Map((await readRatingsByComposite(events, noDecay)).map((r) => [key(r), r.weight]));
    for (const [k, w] of a) expect(b.get(k)).toBeCloseTo(w, 4);
  });

  it('trains, beats the popularity baseline, records the run and deploys it live', async () => {
    const r = await runTraining(ctx, small);
    expect(r.status).toBe('live');
    expect(r.metrics!.ndcg).toBeGreaterThan(r.baseline!.ndcg);
    const doc = await ctx.repos.models.get(r.modelId);
    expect(doc?.status).toBe('live');
    expect(doc?.metrics?.k).toBe(10);
    expect(doc?.baseline_metrics?.ndcg).toBeCloseTo(r.baseline!.ndcg, 6);
    expect(doc?.counts?.['interactions']).toBeGreaterThan(1000);
    expect(Object.keys(doc?.timings ?? {})).toEqual(
      expect.arrayContaining(['read_seconds', 'train_seconds', 'evaluate_seconds', 'deploy_seconds']),
    );
    expect(doc?.gate?.passed).toBe(true);
    expect(doc?.loss?.length).toBe(8);
    expect(await modelLifecycle(ctx).liveModelId()).toBe(r.modelId);
  });

  it('a run whose read fails (ES unreachable mid-read) is recorded as failed and the live model is untouched', async () => {
    const live = await ensureLive();
    const proxy = await startTcpProxy({
      host: '127.0.0.1',
      port: Number(new URL(ctx.config.es.url ?? LOCAL_ES_URL).port || 9200),
    });
    const flaky = new Client({ node: `http://127.0.0.1:${proxy.port}`, maxRetries: 0, requestTimeout: 3000 });
    let searches = 0;
    flaky.diagnostic.on('request', (_err, meta) => {
      if (meta?.meta.request.params.path.endsWith('/_search') && ++searches === 3) proxy.cut();
    });
    try {
      const r = await runTraining(ctx, {
        ...small,
        readRatings: (_events, o) =>
          scanRatingsTable(new EventsRepository(flaky, names, { deadlineMs: 2_000 }), {
            ...o,
            pageSize: 500,
          }),
      });
      expect(r.status).toBe('failed');
      expect(searches).toBeGreaterThanOrEqual(3);
      const doc = await ctx.repos.models.get(r.modelId);
      expect(doc?.status).toBe('failed');
      expect(doc?.error).toBeTruthy();
      expect(await modelLifecycle(ctx).liveModelId()).toBe(live);
    } finally {
      await flaky.close();
      await proxy.close();
    }
  });

  it('a candidate that does not beat the live model stays candidate with the reason', async () => {
    const live = await ensureLive();
    // 1 factor and 1 iteration: a model that cannot match the live one
    const r = await runTraining(ctx, { ...small, params: { factors: 2, iterations: 1, regularization: 50 } });
    expect(r.status).toBe('candidate');
    expect(r.gate?.passed).toBe(false);
    expect((await ctx.repos.models.get(r.modelId))?.status_reason).toMatch(/popularity|below the live model/);
    expect(await modelLifecycle(ctx).liveModelId()).toBe(live);
  });

  it('two schedulers started together train once', async () => {
    const before = (await ctx.repos.models.list()).length;
    const a = startScheduler(ctx, { cron: '0 3 * * *', start: false, run: small });
    const b = startScheduler(ctx, { cron: '0 3 * * *', start: false, run: small });
    const results = await Promise.all([a.tick(), b.tick()]);
    await a.stop();
    await b.stop();
    expect(results.filter(Boolean)).toHaveLength(1);
    await es.indices.refresh({ index: names.models });
    const after = await ctx.repos.models.list();
    expect(after.length).toBe(before + 1);
    expect(after.filter((m) => m.trigger === 'schedule')).toHaveLength(1);
  });

  it('hyperparameter search scores a grid on a validation split and records every point', async () => {
    const { runId, results } = await runTuning(ctx, {
      grid: { factors: [8, 16], regularization: [0.1, 10], iterations: [4] },
    });
    expect(results).toHaveLength(4);
    for (let i = 1; i < results.length; i++)
      expect(results[i - 1]!.metrics.ndcg).toBeGreaterThanOrEqual(results[i]!.metrics.ndcg);
    const recorded = await es.count({ index: names.tuning, query: { term: { run_id: runId } } });
    expect(recorded.count).toBe(4);
  });
});
