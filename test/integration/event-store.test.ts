// The event store for real histories: any past date, bounded buckets, one event id stored once
// whatever its timestamp, retention by whole buckets, migration of daily indices, and a
// recommendation request that never searches the store.

import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startServer } from '../../src/api/app.ts';
import type { AppContext } from '../../src/app/context.ts';
import { generateDataset, itemMetadata } from '../../src/demo/generate.ts';
import { applyRetention, migrateEvents } from '../../src/ingest/event-store.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { EventProducer } from '../../src/ingest/producer.ts';
import { startIngest } from '../../src/ingest/service.ts';
import { startOnline } from '../../src/online/service.ts';
import { runTraining } from '../../src/release/run.ts';
import { setup } from '../../src/setup/index.ts';
import type { SettingsOverrides } from '../../src/config/index.ts';
import { testContext } from './harness.ts';
import { waitForGroupAssigned } from './kafka-wait.ts';
import { waitUntil } from './wait.ts';

async function fresh(
  label: string,
  settings: SettingsOverrides = {},
): Promise<AppContext & { dispose(): Promise<void> }> {
  const ctx = testContext(label, settings);
  onTestFinished(() => ctx.dispose());
  await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
  return ctx;
}

async function eventIndices(ctx: AppContext): Promise<string[]> {
  const rows = (await ctx.es.cat.indices({
    index: `${ctx.names.eventsIndexPrefix}*`,
    h: ['index'],
    format: 'json',
  })) as Array<{ index: string }>;
  return rows.map((r) => r.index.slice(ctx.names.eventsIndexPrefix.length)).sort();
}

async function stored(ctx: AppContext, query: object = { match_all: {} }): Promise<number> {
  await ctx.es.indices.refresh({
    index: ctx.names.eventsPattern,
    ignore_unavailable: true,
    allow_no_indices: true,
  });
  return (
    await ctx.es.count({
      index: ctx.names.eventsPattern,
      query,
      ignore_unavailable: true,
      allow_no_indices: true,
    })
  ).count;
}

describe('event store through Kafka', () => {
  let ctx: AppContext & { dispose(): Promise<void> };
  let producer: EventProducer;
  let ingest: { stop(): Promise<void> };

  beforeAll(async () => {
    ctx = testContext('evstore');
    await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
    producer = new EventProducer(ctx.kafka, ctx.names.topics.events);
    ingest = await startIngest(ctx, createRegistry(false), { lagIntervalMs: 60_000 });
  });

  afterAll(async () => {
    await ingest?.stop();
    await producer?.disconnect();
    await ctx?.dispose();
  });

  it('stores a 1995–1998 history in monthly buckets and trains on it', async () => {
    const data = generateDataset({
      users: 150,
      items: 120,
      days: 60,
      seed: 95,
      events: 12_000,
      malformedFraction: 0,
      startDate: new Date('1997-11-01T00:00:00Z'),
    });
    // spread the sample over four years, keeping each user's order
    const t0 = Date.parse('1995-01-01T00:00:00Z');
    const span = Date.parse('1998-12-31T00:00:00Z') - t0;
    const first = Date.parse(data.events[0]!.timestamp);
    const last = Date.parse(data.events.at(-1)!.timestamp);
    const events = data.events.map((e) => ({
      ...e,
      event_id: `h-${e.event_id}`,
      timestamp: new Date(t0 + ((Date.parse(e.timestamp) - first) / (last - first)) * span).toISOString(),
    }));
    await ctx.repos.metadata.upsertItems(
      data.items.map((i) => itemMetadata(i) as unknown as Record<string, unknown>),
      { refresh: 'wait_for' },
    );
    for (let i = 0; i < events.length; i += 5000)
      await producer.sendRaw(
        events.slice(i, i + 5000).map((e) => ({ key: e.user_id, value: JSON.stringify(e) })),
      );
    await waitUntil(
      `${events.length} historic events stored`,
      async () => (await stored(ctx, { prefix: { event_id: 'h-' } })) === events.length,
      120_000,
    );
    const buckets = (await eventIndices(ctx)).filter((b) => b < '1999');
    // four years of months: one index per month with events, nowhere near one per day
    expect(buckets.length).toBeGreaterThan(36);
    expect(buckets.length).toBeLessThanOrEqual(48);
    expect(buckets.every((b) => /^199[5-8]\.\d{2}$/.test(b))).toBe(true);

    const run = await runTraining(ctx, {
      trigger: 'test',
      params: { factors: 8, iterations: 5, threads: 1 },
    });
    expect(run.status, run.error).not.toBe('failed');
    expect(run.counts['interactions']).toBeGreaterThan(1000);
  });

  it('stores one event id once, whatever its timestamp: across days, months and within one batch', async () => {
    const base = { user_id: 'dup-user', item_id: 'dup-item', event_type: 'click' };
    const send = (id: string, ts: string) => producer.send([{ ...base, event_id: id, timestamp: ts }]);
    await send('dup-a', '2026-11-22T10:00:00Z');
    await send('dup-a', '2026-11-23T10:00:00Z'); // the next day
    await send('dup-b', '2026-10-31T23:59:00Z');
    await send('dup-b', '2026-11-01T00:01:00Z'); // the next month: another bucket
    // two copies of one id, different months, in one message batch
    await producer.sendRaw([
      {
        key: 'dup-user',
        value: JSON.stringify({ ...base, event_id: 'dup-c', timestamp: '2026-09-15T00:00:00Z' }),
      },
      {
        key: 'dup-user',
        value: JSON.stringify({ ...base, event_id: 'dup-c', timestamp: '2026-08-15T00:00:00Z' }),
      },
    ]);
    await send('dup-marker', '2026-11-23T11:00:00Z');
    await waitUntil(
      'the marker after the copies is stored',
      async () => (await stored(ctx, { term: { event_id: 'dup-marker' } })) === 1,
      60_000,
    );
    for (const id of ['dup-a', 'dup-b', 'dup-c'])
      expect(await stored(ctx, { term: { event_id: id } }), id).toBe(1);
    // the first copy wins
    const b = await ctx.es.search<{ timestamp: string }>({
      index: ctx.names.eventsPattern,
      query: { term: { event_id: 'dup-b' } },
    });
    expect(b.hits.hits[0]!._source!.timestamp).toBe('2026-10-31T23:59:00.000Z');
  });
});

describe('event store without the dedup ledger ([events] dedup_ledger = false)', () => {
  it('still stores a replayed message once, but a copy dated into another month twice: the documented trade-off', async () => {
    const ctx = await fresh('noledger', { events: { dedupLedger: false } });
    const producer = new EventProducer(ctx.kafka, ctx.names.topics.events);
    const ingest = await startIngest(ctx, createRegistry(false), { lagIntervalMs: 60_000 });
    onTestFinished(async () => {
      await ingest.stop();
      await producer.disconnect();
    });
    const base = { user_id: 'u', item_id: 'i', event_type: 'click' };
    const replayed = { ...base, event_id: 'same', timestamp: '2026-11-20T00:00:00Z' };
    await producer.send([
      replayed,
      replayed,
      { ...base, event_id: 'moved', timestamp: '2026-10-31T23:00:00Z' },
      { ...base, event_id: 'moved', timestamp: '2026-11-01T01:00:00Z' },
      { ...base, event_id: 'end', timestamp: '2026-11-21T00:00:00Z' },
    ]);
    await waitUntil(
      'the last event is stored',
      async () => (await stored(ctx, { term: { event_id: 'end' } })) === 1,
      60_000,
    );
    expect(await stored(ctx, { term: { event_id: 'same' } })).toBe(1);
    expect(await stored(ctx, { term: { event_id: 'moved' } })).toBe(2);
    expect(await ctx.es.count({ index: ctx.names.eventIds })).toMatchObject({ count: 0 });
  });
});

describe('event store maintenance', () => {
  it('retention drops whole buckets older than the limit, and their ledger entries', async () => {
    const ctx = await fresh('retain', { events: { retentionDays: 365 } });
    const now = Date.parse('2026-11-23T00:00:00Z');
    const docs = [
      ['r-old', '2024-03-10T00:00:00Z'],
      ['r-edge', '2025-11-30T00:00:00Z'], // its month ends after the cutoff: kept whole
      ['r-new', '2026-11-01T00:00:00Z'],
    ];
    const ops = docs.flatMap(([id, ts]) => [
      { create: { _index: ctx.names.eventsIndex(new Date(ts!)), _id: id } },
      { event_id: id, user_id: 'u', item_id: 'i', event_type: 'click', timestamp: ts },
      { create: { _index: ctx.names.eventIds, _id: id } },
      { b: ctx.names.eventsIndex(new Date(ts!)) },
    ]);
    await ctx.es.bulk({ operations: ops, refresh: true });
    const dry = await applyRetention(ctx, { now, dryRun: true });
    expect(dry.dropped).toEqual([ctx.names.eventsIndex(new Date('2024-03-10T00:00:00Z'))]);
    expect(await eventIndices(ctx)).toHaveLength(3);
    const r = await applyRetention(ctx, { now });
    expect(r.dropped).toEqual(dry.dropped);
    expect(await eventIndices(ctx)).toEqual(['2025.11', '2026.11']);
    const ledger = await ctx.es.mget<{ b: string }>({
      index: ctx.names.eventIds,
      ids: ['r-old', 'r-edge', 'r-new'],
    });
    expect(ledger.docs.map((d) => 'found' in d && d.found)).toEqual([false, true, true]);
  });

  it('migrates daily indices into monthly buckets, idempotently, without losing or doubling an event', async () => {
    const ctx = await fresh('migrate');
    const daily = (d: string) => `${ctx.names.eventsIndexPrefix}${d}`;
    const ops: object[] = [];
    for (let i = 0; i < 300; i++) {
      const ts = new Date(Date.parse('2026-09-28T00:00:00Z') + i * 3_600_000 * 2).toISOString(); // 25 days across two months
      ops.push(
        { create: { _index: daily(ts.slice(0, 10).replace(/-/g, '.')), _id: `m-${i}` } },
        {
          event_id: `m-${i}`,
          user_id: `u${i % 7}`,
          item_id: `i${i % 11}`,
          event_type: 'click',
          timestamp: ts,
        },
      );
    }
    await ctx.es.bulk({ operations: ops, refresh: true });
    expect((await eventIndices(ctx)).length).toBe(25);

    const r = await migrateEvents(ctx);
    expect(r.migrated).toHaveLength(25);
    expect(r.migrated.reduce((a, m) => a + m.written, 0)).toBe(300);
    expect(await eventIndices(ctx)).toEqual(['2026.09', '2026.10']);
    expect(await stored(ctx)).toBe(300);
    const again = await migrateEvents(ctx);
    expect(again.migrated).toHaveLength(0);
    expect(again.claimed.reduce((a, c) => a + c.events, 0)).toBe(300);
    expect(await stored(ctx)).toBe(300);
  });
});

describe('the request path does not touch the event store', () => {
  it('100 recommendation requests run no search on the events indices; a purchase one second ago is excluded for users with and without a factor', async () => {
    const ctx = await fresh('reqpath', { als: { factors: 8, iterations: 5, threads: 1 } });
    const data = generateDataset({
      users: 120,
      items: 100,
      days: 20,
      seed: 12,
      events: 8_000,
      malformedFraction: 0,
    });
    await ctx.repos.metadata.upsertItems(
      data.items.map((i) => itemMetadata(i) as unknown as Record<string, unknown>),
      { refresh: 'wait_for' },
    );
    const ops = data.events.flatMap((e) => [
      { create: { _index: ctx.names.eventsIndex(new Date(e.timestamp)), _id: e.event_id } },
      e,
    ]);
    for (let i = 0; i < ops.length; i += 10_000) await ctx.es.bulk({ operations: ops.slice(i, i + 10_000) });
    await ctx.es.indices.refresh({ index: ctx.names.eventsPattern });
    const run = await runTraining(ctx, { trigger: 'test' });
    expect(run.status).toBe('live');

    const online = await startOnline(ctx, createRegistry(false));
    const server = await startServer({
      ctx,
      registry: createRegistry(false),
      port: 0,
      host: '127.0.0.1',
      options: { apiKeys: ['k'], defaultMode: 'exact', healthConsumerGroups: [], popularCacheMs: 0 },
    });
    const producer = new EventProducer(ctx.kafka, ctx.names.topics.events);
    onTestFinished(async () => {
      await server.close();
      await online.stop();
      await producer.disconnect();
    });
    await waitForGroupAssigned(ctx.kafka, ctx.names.groups.online, ctx.names.topics.events);

    const rec = async (user: string) =>
      (
        (await (
          await fetch(`${server.url}/v1/users/${encodeURIComponent(user)}/recommendations?k=200`)
        ).json()) as { items: Array<{ item_id: string }> }
      ).items.map((i) => i.item_id);
    const known = data.events[0]!.user_id;
    const searches = async () => {
      const s = await ctx.es.indices.stats({ index: ctx.names.eventsPattern, metric: 'search' });
      return s._all.total?.search?.query_total ?? 0;
    };
    const before = await searches();
    for (let i = 0; i < 100; i++) await rec(i % 2 ? known : `nobody-${i}`);
    expect(await searches()).toBe(before);

    // with a factor: an item the known user is recommended, bought now
    const item = (await rec(known))[0]!;
    await producer.send([
      {
        event_id: 'buy-known',
        user_id: known,
        item_id: item,
        event_type: 'purchase',
        timestamp: new Date().toISOString(),
      },
    ]);
    await waitUntil(
      `${item} is excluded for ${known}`,
      async () => !(await rec(known)).includes(item),
      30_000,
      100,
    );

    // without a factor: a new user buys a new catalogue item (no factor either), which the popular list showed
    await ctx.repos.metadata.upsertItems([{ item_id: 'brand-new-item', name: 'New', category: 'home' }], {
      refresh: 'wait_for',
    });
    expect(await rec('fresh-buyer')).toContain('brand-new-item');
    await producer.send([
      {
        event_id: 'buy-new',
        user_id: 'fresh-buyer',
        item_id: 'brand-new-item',
        event_type: 'purchase',
        timestamp: new Date().toISOString(),
      },
    ]);
    await waitUntil(
      'brand-new-item is excluded for fresh-buyer',
      async () => !(await rec('fresh-buyer')).includes('brand-new-item'),
      30_000,
      100,
    );
    const doc = await ctx.es.get<{ factor?: number[]; recent_items: string[] }>({
      index: ctx.names.usersAlias,
      id: 'fresh-buyer',
      _source_includes: ['factor', 'recent_items'], // by name: 9.x leaves vectors out of a whole _source
    });
    expect(doc._source!.factor).toBeUndefined();
    expect(doc._source!.recent_items).toEqual(['brand-new-item']);
  });
});
