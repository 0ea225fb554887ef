import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createProducer } from '../../src/infra/clients.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { startIngest } from '../../src/ingest/service.ts';
import type { ServedRecord } from '../../src/events/served-record.ts';
import { freshDeployment, groupMembers, readDlq, storedEvents, type Ctx } from './hostile-support.ts';
import { waitForGroupCommittedToEnd } from './kafka-wait.ts';
import { waitUntil } from './wait.ts';

// Hostile records written straight to the topics (poison-proof pipeline issue, findings 3–6): the
// topics are writable by anyone with producer rights, so the sinks check them like client input.
// Each one ends as a dead letter naming the field; nothing is stored and no index is created for it.

const EURO_ID = '€'.repeat(256); // 768 UTF-8 bytes

async function withIngest(ctx: Ctx, defer: (fn: () => Promise<void>) => void) {
  const ingest = await startIngest(ctx, createRegistry(false), { lagIntervalMs: 1000 });
  defer(() => ingest.stop());
  const producer = createProducer(ctx.kafka, 'reliable');
  await producer.connect();
  defer(() => producer.disconnect());
  return producer;
}

describe('events topic: hostile events are dead-lettered by field, valid ones around them stored', () => {
  it('a 768-byte user_id, prototype-named event types, a mapping-breaking context and deep nesting', async () => {
    const { ctx, defer } = await freshDeployment('htev');
    const { names } = ctx;
    const producer = await withIngest(ctx, defer);
    const now = Date.now();
    const base = (id: string) => ({
      event_id: id,
      user_id: 'u1',
      item_id: 'i1',
      event_type: 'click',
      timestamp: new Date(now - 60_000).toISOString(),
    });
    const poison: Array<{ key: string; value: string; reason: string; field?: string }> = [
      {
        key: 'euro-user',
        value: JSON.stringify({ ...base('p-euro-user'), user_id: EURO_ID }),
        reason: 'schema',
        field: 'user_id',
      },
      {
        key: 'euro-item',
        value: JSON.stringify({ ...base('p-euro-item'), item_id: EURO_ID }),
        reason: 'schema',
        field: 'item_id',
      },
      {
        key: 'type-constructor',
        value: JSON.stringify({ ...base('p-constructor'), event_type: 'constructor' }),
        reason: 'schema',
        field: 'event_type',
      },
      {
        key: 'type-proto',
        value: JSON.stringify({ ...base('p-proto'), event_type: '__proto__' }),
        reason: 'schema',
        field: 'event_type',
      },
      {
        key: 'type-tostring',
        value: JSON.stringify({ ...base('p-tostring'), event_type: 'toString' }),
        reason: 'schema',
        field: 'event_type',
      },
      {
        key: 'type-valueof',
        value: JSON.stringify({ ...base('p-valueof'), event_type: 'valueof' }),
        reason: 'schema',
        field: 'event_type',
      },
      {
        key: 'context-object',
        value: JSON.stringify({ ...base('p-ctx'), context: { device: { x: 1 } } }),
        reason: 'schema',
        field: 'context.device',
      },
      // a literal "__proto__" key: JSON.parse makes it an own property, the schema refuses the name
      {
        key: 'context-proto',
        value: JSON.stringify(base('p-ctxproto')).replace(/}$/, ',"context":{"__proto__":{"device":"x"}}}'),
        reason: 'schema',
        field: 'context',
      },
      {
        key: 'deep-context',
        value: JSON.stringify(base('p-deep')).replace(
          /}$/,
          `,"context":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`,
        ),
        reason: 'too_deep',
      },
      { key: 'deep-array', value: '['.repeat(50_000) + ']'.repeat(50_000), reason: 'too_deep' },
    ];
    const valid = Array.from({ length: 30 }, (_, n) => ({
      key: `u${n}`,
      value: JSON.stringify({ ...base(`ok-${n}`), user_id: `u${n}` }),
      partition: n % 3,
    }));
    // poison first on every partition, valid events after it
    await producer.send({
      topic: names.topics.events,
      acks: -1,
      messages: poison.map((p, i) => ({ key: p.key, value: p.value, partition: i % 3 })),
    });
    await producer.send({ topic: names.topics.events, acks: -1, messages: valid });

    await waitUntil('the 30 valid events stored', async () => (await storedEvents(ctx)) === 30, 90_000);
    await waitForGroupCommittedToEnd(ctx.kafka, names.groups.ingest, names.topics.events, 90_000);
    expect(await groupMembers(ctx.kafka, names.groups.ingest)).toBeGreaterThanOrEqual(1);
    expect(await storedEvents(ctx)).toBe(30);

    const letters = await readDlq(ctx);
    expect(letters).toHaveLength(poison.length);
    const byKey = new Map(letters.map((l) => [l.source.key, l]));
    for (const p of poison) {
      const l = byKey.get(p.key);
      expect(l, p.key).toBeDefined();
      expect(l!.error.reason, p.key).toBe(p.reason);
      if (p.field) expect(l!.error.field, p.key).toBe(p.field);
      expect(l!.source.topic).toBe(names.topics.events);
      expect(l!.original_bytes, p.key).toBe(Buffer.byteLength(p.value));
    }
    // the deep ones: the whole letter stays small although the original was 100 KB
    expect(byKey.get('deep-array')!.original_truncated).toBe(true);
    expect(byKey.get('deep-array')!.recordBytes).toBeLessThan(100 * 1024);
  });
});

describe('recommendations topic: only served records made now, by the API, are stored', () => {
  it('a record from 2001, from year 275760 or with kind "conversion" is dead-lettered and creates no index; a valid one is stored as served', async () => {
    const { ctx, defer } = await freshDeployment('htrec');
    const { es, names } = ctx;
    const producer = await withIngest(ctx, defer);
    const record = (
      over: Partial<ServedRecord> & Record<string, unknown> = {},
    ): ServedRecord & Record<string, unknown> => ({
      recommendation_id: randomUUID(),
      request_id: randomUUID(),
      model_id: 'm1',
      endpoint: 'user_recommendations',
      mode: 'exact',
      source: 'personal',
      user_id: 'u1',
      items: ['i1', 'i2'],
      k: 2,
      count: 2,
      filters: {},
      latency_ms: 3.5,
      timestamp: new Date().toISOString(),
      ...over,
    });
    const hostile: Array<{ key: string; rec: Record<string, unknown>; field: string }> = [
      { key: 'y2001', rec: record({ timestamp: '2001-01-01T00:00:00.000Z' }), field: 'timestamp' },
      { key: 'y275760', rec: record({ timestamp: new Date(8.64e15).toISOString() }), field: 'timestamp' },
      { key: 'y275760-plain', rec: record({ timestamp: '275760-09-13T00:00:00Z' }), field: 'timestamp' },
      {
        key: 'future',
        rec: record({ timestamp: new Date(Date.now() + 3 * 86_400_000).toISOString() }),
        field: 'timestamp',
      },
      { key: 'kind', rec: record({ kind: 'conversion' }), field: 'kind' },
      {
        key: 'kind-2001',
        rec: record({ kind: 'conversion', timestamp: '2001-01-01T00:00:00.000Z' }),
        field: 'kind',
      },
      { key: 'euro-user', rec: record({ user_id: EURO_ID }), field: 'user_id' },
    ];
    const good = record();
    await producer.send({
      topic: names.topics.recommendations,
      acks: -1,
      messages: [
        ...hostile.map((h, i) => ({ key: h.key, value: JSON.stringify(h.rec), partition: i % 3 })),
        { key: 'good', value: JSON.stringify(good), partition: 1 },
      ],
    });

    await waitForGroupCommittedToEnd(
      ctx.kafka,
      names.groups.recommendations,
      names.topics.recommendations,
      90_000,
    );
    expect(await groupMembers(ctx.kafka, names.groups.recommendations)).toBeGreaterThanOrEqual(1);

    const letters = await readDlq(ctx);
    expect(letters).toHaveLength(hostile.length);
    const byKey = new Map(letters.map((l) => [l.source.key, l]));
    for (const h of hostile) {
      const l = byKey.get(h.key);
      expect(l, h.key).toBeDefined();
      expect(l!.error.reason, h.key).toBe('schema');
      expect(l!.error.field, h.key).toBe(h.field);
      expect(l!.source.topic).toBe(names.topics.recommendations);
    }

    // the valid one is stored, tagged by the sink
    const stored = await es.get<{ kind: string; recommendation_id: string }>({
      index: names.recommendationsIndex(new Date(good.timestamp)),
      id: good.recommendation_id,
    });
    expect(stored._source).toMatchObject({
      kind: 'served',
      recommendation_id: good.recommendation_id,
      model_id: 'm1',
    });
    // and only its day's index exists under the prefix: no recommendations-2001.01.01, no +275760
    const indices = Object.keys(
      await es.indices.get({
        index: `${names.prefix}recommendations-*`,
        allow_no_indices: true,
        expand_wildcards: 'all',
      }),
    );
    expect(indices).toEqual([names.recommendationsIndex(new Date(good.timestamp))]);
    await es.indices.refresh({ index: names.recommendationsPattern });
    expect((await es.count({ index: names.recommendationsPattern })).count).toBe(1);
  });
});

describe('events topic: attribution records cannot open an index for any day either', () => {
  it('an event from 2001 carrying a recommendation_id is stored as history, but no recommendations-2001.01.01 is created; a click now is recorded', async () => {
    const { ctx, defer } = await freshDeployment('htattr');
    const { es, names } = ctx;
    const producer = await withIngest(ctx, defer);
    const old = {
      event_id: 'old-click',
      user_id: 'u1',
      item_id: 'i1',
      event_type: 'click',
      timestamp: '2001-01-01T00:00:00.000Z',
      recommendation_id: randomUUID(),
    };
    const recent = {
      event_id: 'new-click',
      user_id: 'u2',
      item_id: 'i2',
      event_type: 'purchase',
      timestamp: new Date().toISOString(),
      recommendation_id: randomUUID(),
    };
    await producer.send({
      topic: names.topics.events,
      acks: -1,
      messages: [old, recent].map((e, i) => ({ key: e.user_id, value: JSON.stringify(e), partition: i })),
    });

    await waitUntil('both events stored', async () => (await storedEvents(ctx)) === 2, 90_000);
    await waitForGroupCommittedToEnd(ctx.kafka, names.groups.ingest, names.topics.events, 90_000);
    expect(await readDlq(ctx)).toHaveLength(0);
    // the old event is history like any other (events from 2000 on are accepted)
    expect(
      (await es.get({ index: names.eventsIndex(new Date(old.timestamp)), id: old.event_id })).found,
    ).toBe(true);
    // the recent one is recorded, in today's index only, as unattributed: its id is not signed by us
    // and no served record of it exists (looking for one opened no index either)
    const attr = await es.get<{ kind: string; model_id?: string; event_type: string }>({
      index: names.recommendationsIndex(new Date(recent.timestamp)),
      id: `attr-${recent.event_id}`,
    });
    expect(attr._source).toMatchObject({ kind: 'unattributed', event_type: 'purchase' });
    expect(attr._source!.model_id).toBeUndefined();
    const indices = Object.keys(
      await es.indices.get({
        index: `${names.prefix}recommendations-*`,
        allow_no_indices: true,
        expand_wildcards: 'all',
      }),
    );
    expect(indices).toEqual([names.recommendationsIndex(new Date(recent.timestamp))]);
  });
});
