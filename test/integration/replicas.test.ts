import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AssignerProtocol } from 'kafkajs';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import type { AppContext } from '../../src/app/context.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { generateDataset } from '../../src/demo/generate.ts';
import { consumerLag } from '../../src/infra/consumer-groups.ts';
import { createProducer } from '../../src/infra/clients.ts';
import { setup } from '../../src/setup/index.ts';
import { childEnv, spawnCli, startApi, type CliChild } from './cli-child.ts';
import { loadDirect, settingsEnv, testContext } from './harness.ts';
import { withAdmin } from './kafka-wait.ts';
import { plantedModel } from './planted.ts';
import { waitUntil } from './wait.ts';

// Which processes scale by running more copies (docs/replicas.md), each shown with real `recsys`
// child processes on one cluster, every child in its own working directory as on its own machine.

const KEY = 'replica-key';
/** Several children start per test (each loads the CLI) and a killed consumer's partitions move only after the broker's session timeout. */
const SLOW = 360_000;
const contexts: Array<{ dispose(): Promise<void> }> = [];
const children: CliChild[] = [];
const dirs: string[] = [];

function context(label: string, env: Record<string, string> = {}) {
  const ctx = testContext(label, {}, env);
  contexts.push(ctx);
  return ctx;
}

function start(ctx: AppContext, args: string[], extra: Record<string, string> = {}): CliChild {
  const cwd = mkdtempSync(path.join(tmpdir(), 'recsys-replica-'));
  dirs.push(cwd);
  const child = spawnCli(args, {
    env: childEnv(ctx, { MODEL_DIR: path.join(cwd, 'models'), ...extra }),
    cwd,
  });
  own(child);
  return child;
}

/** Stopped when the test ends (the next test's processes then have the CPU), and in afterAll after a crash. */
function own(child: CliChild): void {
  children.push(child);
  onTestFinished(() => child.stop('SIGKILL'));
}

async function api(ctx: AppContext): Promise<CliChild & { url: string }> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'recsys-replica-'));
  dirs.push(cwd);
  const child = await startApi({
    env: childEnv(ctx, { API_KEYS: KEY, MODEL_DIR: path.join(cwd, 'models') }),
    cwd,
  });
  own(child);
  return child;
}

/** Partitions of `topic` held by each member of `groupId` (empty unless the group is Stable). */
async function assignment(ctx: AppContext, groupId: string, topic: string): Promise<number[][]> {
  return withAdmin(ctx.kafka, async (admin) => {
    const group = (await admin.describeGroups([groupId])).groups[0];
    if (group?.state !== 'Stable') return [];
    return group.members.map((m) =>
      [...(AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic] ?? [])].sort(),
    );
  });
}

/** Waits until `members` processes share all `partitions` of the topic, each holding at least one. */
async function waitForSplit(
  ctx: AppContext,
  groupId: string,
  topic: string,
  members: number,
  partitions: number,
) {
  let last: number[][] = [];
  await waitUntil(
    `${members} members of ${groupId} share the ${partitions} partitions`,
    async () => {
      last = await assignment(ctx, groupId, topic);
      const held = last.flat();
      return (
        last.length === members &&
        last.every((a) => a.length > 0) &&
        held.length === partitions &&
        new Set(held).size === partitions
      );
    },
    120_000,
    500,
  );
  return last;
}

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop('SIGKILL')));
  for (const ctx of contexts) await ctx.dispose();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('replicas', () => {
  it(
    'two `recsys serve` replicas give identical answers, and a click sent to one is attributed to the list the other served',
    async () => {
      const ctx = context('rserve');
      const { es, names } = ctx;
      await setup(es, ctx.kafka, ctx.config, names, ctx.log);
      const MODEL = 'mreplica';
      await deployModel(ctx, plantedModel(MODEL, 5, { factors: 8, items: 60, users: 40, extras: true }));
      start(ctx, ['ingest'], { INGEST_METRICS_PORT: '0' });
      const [a, b] = await Promise.all([api(ctx), api(ctx)]);

      const get = async (base: string, p: string) => {
        const r = await fetch(`${base}${p}`);
        expect(r.status, p).toBe(200);
        return (await r.json()) as {
          recommendation_id: string;
          model_id: string;
          items: Array<{ item_id: string; score: number }>;
        };
      };
      for (const p of [
        ...Array.from({ length: 8 }, (_, u) => `/v1/users/u${u}/recommendations?k=10&exclude_seen=false`),
        '/v1/items/i3/similar?k=10',
        '/v1/users/nobody-new/recommendations?k=10',
      ]) {
        const [x, y] = [await get(a.url, p), await get(b.url, p)];
        expect(y.model_id, p).toBe(x.model_id);
        expect(y.items, p).toEqual(x.items);
        expect(x.items.length, p).toBeGreaterThan(0);
      }

      // lists served by one replica, clicks posted to the other: both credited to the serving model at the clicked place
      const clicks: Array<{ eventId: string; recommendationId: string; position: number }> = [];
      for (const [server, other, user, position] of [
        [a, b, 'u1', 2],
        [b, a, 'u2', 4],
      ] as const) {
        const list = await get(server.url, `/v1/users/${user}/recommendations?k=5&exclude_seen=false`);
        const eventId = `replica-click-${user}`;
        const r = await fetch(`${other.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': KEY },
          body: JSON.stringify({
            event_id: eventId,
            user_id: user,
            item_id: list.items[position - 1]!.item_id,
            event_type: 'click',
            timestamp: new Date().toISOString(),
            recommendation_id: list.recommendation_id,
          }),
        });
        expect(r.status, await r.text()).toBeLessThan(300);
        clicks.push({ eventId, recommendationId: list.recommendation_id, position });
      }
      type Attribution = {
        kind: string;
        model_id?: string;
        recommendation_id: string;
        event_id: string;
        position?: number;
        position_pending?: boolean;
      };
      let found = new Map<string, Attribution>();
      await waitUntil(
        'both clicks attributed with their positions settled',
        async () => {
          await es.indices.refresh({
            index: names.recommendationsPattern,
            ignore_unavailable: true,
            allow_no_indices: true,
          });
          const r = await es.search<Attribution>({
            index: names.recommendationsPattern,
            size: 10,
            query: { bool: { must_not: [{ term: { kind: 'served' } }] } },
          });
          found = new Map(r.hits.hits.map((h) => [h._source!.event_id, h._source!]));
          return clicks.every((c) => found.get(c.eventId)?.position_pending === false);
        },
        120_000,
      );
      for (const c of clicks)
        expect(found.get(c.eventId)).toMatchObject({
          kind: 'click',
          model_id: MODEL,
          recommendation_id: c.recommendationId,
          position: c.position,
        });
    },
    SLOW,
  );

  it(
    'two `recsys ingest` processes split 4 partitions; one killed mid-stream, 20,000 events end stored exactly once',
    async () => {
      const ctx = context('ringest', { KAFKA_PARTITIONS: '4' });
      const { es, names } = ctx;
      await setup(es, ctx.kafka, ctx.config, names, ctx.log);
      const env = { INGEST_METRICS_PORT: '0', ...settingsEnv({ ingest: { batchSize: 500 } }) };
      const first = start(ctx, ['ingest'], env);
      start(ctx, ['ingest'], env);
      const split = await waitForSplit(ctx, names.groups.ingest, names.topics.events, 2, 4);
      expect(split.map((s) => s.length).sort()).toEqual([2, 2]);

      const N = 20_000;
      const producer = createProducer(ctx.kafka, 'reliable');
      await producer.connect();
      try {
        for (let from = 0; from < N; from += 2_000) {
          const messages = [];
          for (let n = from; n < from + 2_000; n++)
            messages.push({
              key: `u${n % 400}`,
              value: JSON.stringify({
                event_id: `r-${n}`,
                user_id: `u${n % 400}`,
                item_id: `i${(n * 7) % 900}`,
                event_type: 'click',
                timestamp: new Date(Date.parse('2026-10-01T00:00:00Z') + n * 1000).toISOString(),
              }),
            });
          await producer.send({ topic: names.topics.events, acks: -1, messages });
        }
      } finally {
        await producer.disconnect();
      }

      const stored = async () => {
        await es.indices.refresh({
          index: names.eventsPattern,
          ignore_unavailable: true,
          allow_no_indices: true,
        });
        return (
          await es.count({ index: names.eventsPattern, ignore_unavailable: true, allow_no_indices: true })
        ).count;
      };
      await waitUntil('some events stored', async () => (await stored()) >= 2_000, 120_000, 100);
      await first.stop('SIGKILL');
      const atKill = await stored();
      expect(atKill).toBeLessThan(N); // really mid-stream

      // the survivor takes over the killed one's partitions and resumes from their last commits
      await waitUntil('all 20,000 stored', async () => (await stored()) === N, 240_000, 500);
      await waitUntil(
        'the group committed everything',
        async () =>
          withAdmin(ctx.kafka, async (admin) =>
            (await consumerLag(admin, names.groups.ingest, names.topics.events)).every((l) => l.lag === 0),
          ),
        120_000,
        500,
      );
      expect(await assignment(ctx, names.groups.ingest, names.topics.events)).toEqual([[0, 1, 2, 3]]);
      expect(await stored()).toBe(N);
      // exact distinct ids (composite paging, not an estimate): nothing stored twice
      let distinct = 0;
      let after: Record<string, string> | undefined;
      for (;;) {
        const r = await es.search({
          index: names.eventsPattern,
          size: 0,
          aggs: {
            ids: {
              composite: {
                size: 10_000,
                sources: [{ id: { terms: { field: 'event_id' } } }],
                ...(after ? { after } : {}),
              },
            },
          },
        });
        const agg = r.aggregations!['ids'] as { buckets: unknown[]; after_key?: Record<string, string> };
        distinct += agg.buckets.length;
        if (!agg.after_key || agg.buckets.length === 0) break;
        after = agg.after_key;
      }
      expect(distinct).toBe(N);
    },
    SLOW,
  );

  it(
    'two `recsys online` processes split the partitions; the survivor of a kill takes them all',
    async () => {
      const ctx = context('ronline', { KAFKA_PARTITIONS: '4' });
      await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
      await deployModel(
        ctx,
        plantedModel('mreponline', 6, { factors: 8, items: 40, users: 20, extras: true }),
      );
      const first = start(ctx, ['online']);
      start(ctx, ['online']);
      const { groups, topics } = ctx.names;
      expect(
        (await waitForSplit(ctx, groups.online, topics.events, 2, 4)).map((s) => s.length).sort(),
      ).toEqual([2, 2]);
      await first.stop('SIGKILL');
      await waitForSplit(ctx, groups.online, topics.events, 1, 4);
    },
    SLOW,
  );

  it(
    'two schedulers started together: one trains, the other skips its tick',
    async () => {
      const ctx = context('rsched');
      await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
      await loadDirect(
        ctx,
        generateDataset({
          users: 300,
          items: 250,
          days: 28,
          seed: 13,
          events: 25_000,
          malformedFraction: 0,
          startDate: '2025-03-01T00:00:00Z',
        }),
      );
      const env = {
        LOG_LEVEL: 'info',
        // never fires during the test: only --now runs
        TRAIN_SCHEDULE: '0 0 1 1 *',
        ...settingsEnv({ als: { factors: 8, iterations: 6, threads: 1 }, tune: { mode: 'off' } }),
      };
      const pair = [start(ctx, ['schedule', '--now'], env), start(ctx, ['schedule', '--now'], env)];
      const trained = () => pair.filter((c) => /model \S+: (live|candidate|failed)/.test(c.output()));
      const skipped = () =>
        pair.filter((c) => c.output().includes('another scheduler is training; skipping this tick'));
      await waitUntil(
        'one run finished and the other scheduler skipped',
        async () => trained().length + skipped().length === 2,
        240_000,
        250,
      );
      expect(trained()).toHaveLength(1);
      expect(skipped()).toHaveLength(1);
      expect(trained()[0]!.output()).toMatch(/model \S+: live/);
      expect((await ctx.repos.models.list(10)).map((m) => m.status)).toEqual(['live']);
    },
    SLOW,
  );
});
