import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset, itemMetadata } from '../../src/demo/generate.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { EventProducer } from '../../src/ingest/producer.ts';
import { setup } from '../../src/setup/index.ts';
import { runTraining } from '../../src/release/run.ts';
import { startOnline, type OnlineService } from '../../src/online/service.ts';
import { testContext } from './harness.ts';

const ctx = testContext('online', { ALS_FACTORS: '16', ALS_ITERATIONS: '10', ALS_THREADS: '1' });
const { es, names } = ctx;
const data = generateDataset({ users: 400, items: 300, days: 28, seed: 5, events: 40_000, malformedFraction: 0 });
let online: OnlineService;
const producer = new EventProducer(ctx.kafka, names.topics.events);

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const ops = [];
  for (const item of data.items) ops.push({ index: { _index: names.itemMetadata, _id: item.item_id } }, itemMetadata(item));
  for (const e of data.events) ops.push({ create: { _index: names.eventsIndex(new Date(e.timestamp)), _id: e.event_id } }, e);
  for (let i = 0; i < ops.length; i += 10_000) await es.bulk({ operations: ops.slice(i, i + 10_000) });
  await es.indices.refresh({ index: `${names.eventsPattern},${names.itemMetadata}` });
  const run = await runTraining(ctx, { trigger: 'test', params: { factors: 16, iterations: 10 } });
  expect(run.status).toBe('live');
  online = await startOnline(ctx, createRegistry(false));
  await new Promise((r) => setTimeout(r, 3000)); // group joined, positioned at the log end
});

afterAll(async () => {
  await online?.stop();
  await producer.disconnect();
  await ctx.dispose();
});

describe('online fold-in', () => {
  it('a new user with three events of one category gets recommendations mostly from it within 2 s', async () => {
    // the category's three most popular items: ones the model has placed well
    const counts = new Map<string, number>();
    for (const e of data.events) counts.set(e.item_id, (counts.get(e.item_id) ?? 0) + 1);
    const category = data.items[0]!.category;
    const picks = data.items.filter((i) => i.category === category).sort((a, b) => (counts.get(b.item_id) ?? 0) - (counts.get(a.item_id) ?? 0)).slice(0, 3);
    const userId = 'brand-new-user';
    const sent = Date.now();
    await producer.send(
      picks.map((item, n) => ({ event_id: `new-${n}`, user_id: userId, item_id: item.item_id, event_type: n === 2 ? 'add_to_cart' : 'page_view', timestamp: new Date(sent + n).toISOString() })),
    );
    let factor: number[] | undefined;
    while (!factor && Date.now() - sent < 2000) {
      const got = await es.get<{ factor: number[] }>({ index: names.usersAlias, id: userId }).catch(() => undefined);
      factor = got?._source?.factor;
      if (!factor) await new Promise((r) => setTimeout(r, 50));
    }
    const elapsed = Date.now() - sent;
    expect(factor, `no factor after ${elapsed} ms`).toBeDefined();
    expect(elapsed).toBeLessThan(2000);

    const res = await es.search<{ category: string; item_id: string }>({
      index: names.itemsAlias,
      knn: { field: 'factor_exact', query_vector: factor!, k: 10, num_candidates: 10, filter: { bool: { must_not: { ids: { values: picks.map((p) => p.item_id) } } } } },
      _source: ['category', 'item_id'],
    });
    const cats = res.hits.hits.map((h) => h._source!.category);
    const share = cats.filter((c) => c === category).length / cats.length;
    expect(share).toBeGreaterThanOrEqual(0.6);
  });
});
