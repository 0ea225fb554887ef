import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/demo/generate.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { EventProducer } from '../../src/ingest/producer.ts';
import { setup } from '../../src/setup/index.ts';
import { runTraining } from '../../src/release/run.ts';
import { startOnline, type OnlineService } from '../../src/online/service.ts';
import { loadDirect, testContext } from './harness.ts';
import { endOffsets, waitForGroupAssigned } from './kafka-wait.ts';
import { waitUntil } from './wait.ts';

const ctx = testContext('online', { als: { factors: 16, iterations: 10, threads: 1 } });
const { es, names } = ctx;
const data = generateDataset({
  users: 400,
  items: 300,
  days: 28,
  seed: 5,
  events: 40_000,
  malformedFraction: 0,
});
let online: OnlineService;
let liveModel: string;
const producer = new EventProducer(ctx.kafka, names.topics.events);

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await loadDirect(ctx, data);
  const run = await runTraining(ctx, { trigger: 'test', params: { factors: 16, iterations: 10 } });
  expect(run.status).toBe('live');
  liveModel = run.modelId;
  online = await startOnline(ctx, createRegistry(false));
  await waitUntilPositioned();
});

/**
 * The online group starts at the log end (fromBeginning: false), so an event produced before it has
 * joined and fetched its offsets is never read. Ready = the group is Stable with every partition
 * assigned, and a probe event sent to each partition now gets folded in (re-sent until it does).
 */
async function waitUntilPositioned(): Promise<void> {
  await waitForGroupAssigned(ctx.kafka, names.groups.online, names.topics.events);
  const partitions = [...(await endOffsets(ctx.kafka, names.topics.events)).keys()];
  const counts = new Map<string, number>();
  for (const e of data.events) counts.set(e.item_id, (counts.get(e.item_id) ?? 0) + 1);
  const known = [...counts].sort((a, b) => b[1] - a[1])[0]![0]; // an item the model has surely placed
  const raw = ctx.kafka.producer();
  await raw.connect();
  try {
    const pending = new Set(partitions);
    let n = 0;
    await waitUntil(
      'a probe event on every partition folded in',
      async () => {
        for (const p of pending) {
          const probe = {
            event_id: `probe-${p}-${n++}`,
            user_id: `probe-${p}`,
            item_id: known,
            event_type: 'page_view',
            timestamp: new Date().toISOString(),
          };
          await raw.send({
            topic: names.topics.events,
            acks: -1,
            messages: [{ partition: p, key: probe.user_id, value: JSON.stringify(probe) }],
          });
        }
        for (const p of [...pending]) {
          const got = await es
            .get<{ factor?: number[] }>({ index: names.usersAlias, id: `probe-${p}` })
            .catch(() => undefined);
          if (got?._source?.factor) pending.delete(p);
        }
        return pending.size === 0;
      },
      60_000,
      500,
    );
  } finally {
    await raw.disconnect();
  }
}

afterAll(async () => {
  await online?.stop();
  await producer.disconnect();
  await ctx.dispose();
});

describe('online fold-in', () => {
  it('a new user with three events of one category gets a live-model factor and recommendations mostly from it', async () => {
    // the category's three most popular items: ones the model has placed well
    const counts = new Map<string, number>();
    for (const e of data.events) counts.set(e.item_id, (counts.get(e.item_id) ?? 0) + 1);
    const category = data.items[0]!.category;
    const picks = data.items
      .filter((i) => i.category === category)
      .sort((a, b) => (counts.get(b.item_id) ?? 0) - (counts.get(a.item_id) ?? 0))
      .slice(0, 3);
    const userId = 'brand-new-user';
    const sent = Date.now(); // event timestamps only
    await producer.send(
      picks.map((item, n) => ({
        event_id: `new-${n}`,
        user_id: userId,
        item_id: item.item_id,
        event_type: n === 2 ? 'add_to_cart' : 'page_view',
        timestamp: new Date(sent + n).toISOString(),
      })),
    );
    let user: { factor?: number[]; model_id?: string; source?: string } | undefined;
    await waitUntil(
      'the new user has a folded-in factor',
      async () => {
        user = (
          await es
            .get<{ factor?: number[]; model_id?: string; source?: string }>({
              index: names.usersAlias,
              id: userId,
            })
            .catch(() => undefined)
        )?._source;
        return Boolean(user?.factor);
      },
      60_000,
      50,
    );
    const factor = user!.factor;
    expect(factor).toHaveLength(16);
    expect(user).toMatchObject({ model_id: liveModel, source: 'online' });

    const res = await es.search<{ category: string; item_id: string }>({
      index: names.itemsAlias,
      knn: {
        field: 'factor_exact',
        query_vector: factor!,
        k: 10,
        num_candidates: 10,
        filter: { bool: { must_not: { ids: { values: picks.map((p) => p.item_id) } } } },
      },
      _source: ['category', 'item_id'],
    });
    const cats = res.hits.hits.map((h) => h._source!.category);
    const share = cats.filter((c) => c === category).length / cats.length;
    expect(share).toBeGreaterThanOrEqual(0.6);
  });
});
