import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { startServer, type RunningServer } from '../../src/api/app.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { mintRecommendationId } from '../../src/events/recommendation-id.ts';
import { createProducer } from '../../src/infra/clients.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { startIngest, type IngestService } from '../../src/ingest/service.ts';
import { loadSavedObjects } from '../../src/kibana/index.ts';
import { setup } from '../../src/setup/index.ts';
import { tabulate, visualisationQueries, type AggResponse } from '../support/kibana/lens-query.ts';
import { testContext } from './harness.ts';
import { plantedModel } from './planted.ts';
import { waitUntil } from './wait.ts';

// Clicks that follow their recommendation within milliseconds, through the real API, Kafka and
// ingest consumers: the first half is clicked while the API still holds every served record in
// its log (so no served record can be in Elasticsearch when the click is attributed), the second
// half races the served record through the two sinks. All must end credited to the serving model
// at the right position; ids we did not sign end unattributed and outside the CTR panel.

const PREVIOUS_SECRET = 'the-secret-before-rotation';
const ctx = testContext('attrib', {}, { RECOMMENDATION_ID_PREVIOUS_SECRETS: PREVIOUS_SECRET });
const { es, names } = ctx;
const MODEL = `mattr-${Date.now().toString(36)}`;
const K = 5;
const N = 200;
const KEY = 'attr-key';
const registry = createRegistry(false);

let server: RunningServer;
let ingest: IngestService;
let producer: Producer;

interface Expected {
  eventId: string;
  recommendationId: string;
  itemId: string;
  position: number | null;
}
interface Attribution {
  kind: string;
  model_id?: string;
  recommendation_id: string;
  event_id: string;
  item_id: string;
  position?: number | null;
  in_list?: boolean;
  position_pending?: boolean;
  served_at?: string;
}

async function attributions(): Promise<Attribution[]> {
  await es.indices.refresh({
    index: names.recommendationsPattern,
    ignore_unavailable: true,
    allow_no_indices: true,
  });
  const r = await es.search<Attribution>({
    index: names.recommendationsPattern,
    size: 1000,
    query: { bool: { must_not: [{ term: { kind: 'served' } }] } },
  });
  return r.hits.hits.map((h) => h._source!);
}

async function click(user: string, item: string, recommendationId: string, eventId: string): Promise<void> {
  const event = {
    event_id: eventId,
    user_id: user,
    item_id: item,
    event_type: 'click',
    timestamp: new Date().toISOString(),
    recommendation_id: recommendationId,
  };
  await producer.send({
    topic: names.topics.events,
    acks: -1,
    messages: [{ key: user, value: JSON.stringify(event) }],
  });
}

async function counter(name: string): Promise<Map<string, number>> {
  const m = await registry.getSingleMetric(name)!.get();
  return new Map(m.values.map((v) => [String(Object.values(v.labels)[0]), v.value]));
}

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await deployModel(ctx, plantedModel(MODEL, 11, { factors: 8, items: 60, users: 40, extras: true }));
  ingest = await startIngest(ctx, registry, { lagIntervalMs: 1000 });
  // served records stay in the API's log until the test flushes it
  server = await startServer({
    ctx,
    registry: createRegistry(false),
    port: 0,
    host: '127.0.0.1',
    options: { apiKeys: [KEY], defaultMode: 'exact', servedLog: { lingerMs: 600_000 } },
  });
  producer = createProducer(ctx.kafka, 'reliable');
  await producer.connect();
}, 180_000);

afterAll(async () => {
  await producer?.disconnect();
  await server?.close();
  await ingest?.stop();
  await ctx.dispose();
});

describe('attribution that cannot miss', () => {
  it('200 clicks within milliseconds of their list: 200 credited to the serving model at the clicked position, 0 unknown', async () => {
    const expected: Expected[] = [];
    const gaps: number[] = [];
    const serveAndClick = async (i: number, flush: 'never' | 'before' | 'after') => {
      const user = `u${i % 40}`;
      const res = await fetch(`${server.url}/v1/users/${user}/recommendations?k=${K}&exclude_seen=false`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        recommendation_id: string;
        model_id: string;
        items: Array<{ item_id: string }>;
      };
      const answered = performance.now();
      expect(body.model_id).toBe(MODEL);
      expect(body.items).toHaveLength(K);
      if (flush === 'before') void server.app.servedLog.flush();
      const position = (i % K) + 1;
      const item = body.items[position - 1]!.item_id;
      await click(user, item, body.recommendation_id, `click-${i}`);
      gaps.push(performance.now() - answered);
      if (flush === 'after') void server.app.servedLog.flush();
      expected.push({
        eventId: `click-${i}`,
        recommendationId: body.recommendation_id,
        itemId: item,
        position,
      });
    };

    // 1. clicked before any served record has left the API
    for (let i = 0; i < N / 2; i++) await serveAndClick(i, 'never');
    await waitUntil(
      'the first clicks are attributed (served records still unsent)',
      async () => (await attributions()).length === N / 2,
      90_000,
    );
    const early = await attributions();
    expect(early.every((a) => a.model_id === MODEL && a.position_pending === true)).toBe(true);
    expect(server.app.servedLog.sent).toBe(0);
    await server.app.servedLog.flush();

    // 2. served record and click race through the two sinks, either sent first
    for (let i = N / 2; i < N; i++) await serveAndClick(i, i % 2 ? 'after' : 'before');
    await server.app.servedLog.flush();

    // 3. ids we did not sign, and a click on an item that was not in its list
    const forged = mintRecommendationId({ modelId: MODEL, servedAt: Date.now() }, 'someone-elses-secret-000');
    await click('u1', 'i1', forged, 'click-forged');
    await click('u2', 'i2', 'garbage-not-an-id', 'click-garbage');
    const notInList = expected[N - 1]!;
    await click('u3', 'i-not-served', notInList.recommendationId, 'click-not-in-list');

    await waitUntil(
      'every click attributed with its position settled',
      async () => {
        const all = await attributions();
        return (
          all.length === N + 3 &&
          all.filter((a) => a.model_id === MODEL).every((a) => a.position_pending === false)
        );
      },
      120_000,
    );
    const all = new Map((await attributions()).map((a) => [a.event_id, a]));
    for (const e of expected) {
      expect(all.get(e.eventId), e.eventId).toMatchObject({
        kind: 'click',
        model_id: MODEL,
        recommendation_id: e.recommendationId,
        item_id: e.itemId,
        position: e.position,
        in_list: true,
        position_pending: false,
      });
    }
    expect(all.get('click-not-in-list')).toMatchObject({
      kind: 'click',
      model_id: MODEL,
      position: null,
      in_list: false,
      position_pending: false,
    });
    for (const id of ['click-forged', 'click-garbage']) {
      expect(all.get(id), id).toMatchObject({ kind: 'unattributed' });
      expect(all.get(id)!.model_id).toBeUndefined();
    }
    expect([...all.values()].filter((a) => a.model_id === 'unknown')).toHaveLength(0);

    // counted apart, and the halves took both ways to their position
    const results = await counter('recsys_ingest_attributions_total');
    expect(results.get('attributed')).toBe(N + 1);
    expect(results.get('unattributed')).toBe(2);
    const positions = await counter('recsys_ingest_attribution_positions_total');
    const pending = positions.get('pending') ?? 0;
    expect(pending).toBeGreaterThanOrEqual(N / 2);
    expect(pending + (positions.get('immediate') ?? 0)).toBe(N + 1);
    expect(positions.get('resolved_by_served') ?? 0).toBeGreaterThan(0);
    expect(
      (positions.get('resolved_by_served') ?? 0) + (positions.get('resolved_by_events') ?? 0),
    ).toBeGreaterThanOrEqual(pending);
    expect(positions.get('failed') ?? 0).toBe(0);
    gaps.sort((a, b) => a - b);
    console.log(
      `attribution: click acknowledged by Kafka p50 ${gaps[N / 2]!.toFixed(1)} ms, max ${gaps.at(-1)!.toFixed(1)} ms after its response; positions ${JSON.stringify(Object.fromEntries(positions))}`,
    );

    // the Kibana CTR panel: one slot, the serving model, clicks per served list without the unattributed
    const queries = visualisationQueries(loadSavedObjects(names.prefix), {
      timeRange: {
        from: new Date(Date.now() - 3_600_000).toISOString(),
        to: new Date(Date.now() + 60_000).toISOString(),
      },
    });
    const ctr = queries.find((q) => q.id === 'recsys-lens-recs-ctr-by-model')!;
    const res = (await es.search({ index: ctr.index, ...ctr.body })) as unknown as AggResponse;
    const rows = tabulate(ctr, res);
    expect(rows.map((r) => r['col-model'])).toEqual([MODEL]);
    expect(rows[0]!['col-ctr']).toBeCloseTo((N + 1) / N, 12);
  }, 300_000);

  it('a signed id whose served record never arrives is still credited to its model, with its position pending; so is one signed before a rotation', async () => {
    const now = Date.now();
    await click(
      'u5',
      'i5',
      mintRecommendationId({ modelId: MODEL, servedAt: now }, ctx.config.recommendationIds.secret),
      'click-never-served',
    );
    await click(
      'u6',
      'i6',
      mintRecommendationId({ modelId: MODEL, servedAt: now }, PREVIOUS_SECRET),
      'click-previous-secret',
    );
    let docs: Attribution[] = [];
    const ids = ['click-never-served', 'click-previous-secret'];
    await waitUntil(
      'both clicks are stored',
      async () => (docs = (await attributions()).filter((a) => ids.includes(a.event_id))).length === 2,
      60_000,
    );
    for (const doc of docs)
      expect(doc, doc.event_id).toMatchObject({
        kind: 'click',
        model_id: MODEL,
        position: null,
        position_pending: true,
        served_at: new Date(now).toISOString(),
      });
  }, 90_000);
});
