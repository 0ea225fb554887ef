import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/demo/generate.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { EventProducer } from '../../src/ingest/producer.ts';
import { setup } from '../../src/setup/index.ts';
import { runTraining } from '../../src/release/run.ts';
import { startOnline, type OnlineService } from '../../src/online/service.ts';
import { startServer, type RunningServer } from '../../src/api/app.ts';
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
let server: RunningServer;
let liveModel: string;
const producer = new EventProducer(ctx.kafka, names.topics.events);

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await loadDirect(ctx, data);
  const run = await runTraining(ctx, { trigger: 'test', params: { factors: 16, iterations: 10 } });
  expect(run.status).toBe('live');
  liveModel = run.modelId;
  online = await startOnline(ctx, createRegistry(false));
  server = await startServer({ ctx, registry: createRegistry(false), port: 0, host: '127.0.0.1' });
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
            .get<{ factor?: number[] }>({
              index: names.usersAlias,
              id: `probe-${p}`,
              _source_includes: ['factor'],
            })
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
  await server?.close();
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
              _source_includes: ['factor', 'model_id', 'source'],
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

    // what the user is served: the API's recommendation path, which reads the folded-in factor
    const res = await fetch(`${server.url}/v1/users/${userId}/recommendations?k=10&mode=exact`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      source: string;
      model_id: string;
      items: Array<{ item_id: string }>;
    };
    expect(body).toMatchObject({ source: 'personal', model_id: liveModel });
    const categoryOf = new Map(data.items.map((i) => [i.item_id, i.category]));
    const served = body.items.map((i) => i.item_id);
    expect(served).toHaveLength(10);
    // the three items the user just touched are seen, so never served back
    for (const p of picks) expect(served).not.toContain(p.item_id);
    const cats = served.map((id) => categoryOf.get(id));
    const share = cats.filter((c) => c === category).length / cats.length;
    expect(share).toBeGreaterThanOrEqual(0.6);
  });
});
