import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset, itemMetadata, type DemoEvent } from '../../src/demo/generate.ts';
import { loadSavedObjects } from '../../src/kibana/index.ts';
import {
  tabulate,
  visualisationQueries,
  type AggResponse,
  type Row,
  type VisualisationQuery,
} from '../support/kibana/lens-query.ts';
import type { ModelDoc } from '../../src/repositories/models.ts';
import { setup } from '../../src/setup/index.ts';
import type { RankingMetrics } from '../../src/types/index.ts';
import { testContext } from './harness.ts';

// Every Lens visualisation of kibana/recsys.ndjson, translated to its Elasticsearch request,
// runs against the real indices created by `setup` under a private prefix and filled with
// generated events, served/click/conversion records and two registry documents.

const ctx = testContext('kibana');
const { es, names } = ctx;
const data = generateDataset({ users: 40, items: 150, days: 2, seed: 7 });
const events = data.events;
const from = events[0]!.timestamp;
const to = events.at(-1)!.timestamp;
const t0 = Date.parse(from);
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

const OLD = 'm20240101020000-old';
const NEW = 'm20240102010000-new';
const EXPERIMENT = 'e20240102010000-ab12';

interface RecDoc {
  kind: 'served' | 'click' | 'conversion' | 'unattributed';
  recommendation_id: string;
  model_id?: string;
  experiment_id?: string;
  arm?: 'treatment' | 'control';
  items?: string[];
  item_id?: string;
  /** served: the positions shown (as the sink stores them); action: the place of its item, null when not in the list */
  position?: number | number[] | null;
  timestamp: string;
}

/**
 * 30 served lists of 5 (every 3rd by OLD), clicks on every 2nd (at position 1 + i mod 3), one more
 * click on an item that was not in the list, conversions on every 5th; a click from before signed
 * ids credited to "unknown" and one unattributed click.
 */
function recommendationDocs(): RecDoc[] {
  const docs: RecDoc[] = [];
  const span = Date.parse(to) - t0;
  for (let i = 0; i < 30; i++) {
    const ts = t0 + Math.floor((span * i) / 30);
    const model = i % 3 === 0 ? OLD : NEW;
    const items = Array.from({ length: 5 }, (_, k) => data.items[(i * 3 + k) % data.items.length]!.item_id);
    const rec = `rec-${i}`;
    // the second half of the lists are served in an experiment: OLD as its treatment, NEW as control
    const exp =
      i >= 15
        ? { experiment_id: EXPERIMENT, arm: model === OLD ? ('treatment' as const) : ('control' as const) }
        : {};
    docs.push({
      kind: 'served',
      recommendation_id: rec,
      model_id: model,
      items,
      position: [1, 2, 3, 4, 5],
      timestamp: iso(ts),
      ...exp,
    });
    const p = 1 + (i % 3);
    if (i % 2 === 0)
      docs.push({
        kind: 'click',
        recommendation_id: rec,
        model_id: model,
        item_id: items[p - 1],
        position: p,
        timestamp: iso(ts + 60_000),
        ...exp,
      });
    if (i === 4)
      docs.push({
        kind: 'click',
        recommendation_id: rec,
        model_id: model,
        item_id: 'not-in-list',
        position: null,
        timestamp: iso(ts + 90_000),
      });
    if (i % 5 === 0)
      docs.push({
        kind: 'conversion',
        recommendation_id: rec,
        model_id: model,
        item_id: items[0],
        position: 1,
        timestamp: iso(ts + 120_000),
        ...exp,
      });
  }
  docs.push({
    kind: 'click',
    recommendation_id: 'rec-gone',
    model_id: 'unknown',
    item_id: data.items[0]!.item_id,
    timestamp: iso(t0 + HOUR),
  });
  docs.push({
    kind: 'unattributed',
    recommendation_id: 'forged',
    item_id: data.items[1]!.item_id,
    timestamp: iso(t0 + HOUR),
  });
  return docs;
}
const recs = recommendationDocs();

const metrics = (ndcg: number): RankingMetrics => ({
  k: 10,
  precision: 0.1,
  recall: 0.2,
  ndcg,
  map: 0.1,
  coverage: 0.3,
  popularity_bias: 0.5,
  users: 40,
});
const models: ModelDoc[] = [
  {
    model_id: OLD,
    status: 'retired',
    created_at: iso(t0 + 2 * HOUR),
    live_at: iso(t0 + 3 * HOUR),
    retired_at: iso(t0 + 26 * HOUR),
    metrics: metrics(0.21),
    baseline_metrics: metrics(0.15),
    timings: { load_seconds: 1.5, train_seconds: 12.5 },
  },
  {
    model_id: NEW,
    status: 'live',
    created_at: iso(t0 + 25 * HOUR),
    live_at: iso(t0 + 26 * HOUR),
    metrics: metrics(0.27),
    baseline_metrics: metrics(0.16),
    timings: { load_seconds: 1.7, train_seconds: 14 },
  },
];

async function bulk(ops: unknown[]): Promise<void> {
  for (let i = 0; i < ops.length; i += 4000) {
    const r = await es.bulk({ operations: ops.slice(i, i + 4000) as never[] });
    if (r.errors) throw new Error(JSON.stringify(r.items.find((it) => Object.values(it)[0]?.error)));
  }
}

let queries: VisualisationQuery[];
const results = new Map<string, Row[]>();

async function run(q: VisualisationQuery): Promise<{ rows: Row[]; total: number }> {
  const res = (await es.search({ index: q.index, ...q.body })) as unknown as AggResponse;
  const total = typeof res.hits.total === 'number' ? res.hits.total : (res.hits.total?.value ?? 0);
  return { rows: tabulate(q, res), total };
}

const num = (v: unknown) => (typeof v === 'number' ? v : 0);

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await bulk(
    data.items.flatMap((item) => [
      { index: { _index: names.itemMetadata, _id: item.item_id } },
      itemMetadata(item),
    ]),
  );
  await bulk(
    events.flatMap((e) => [
      { create: { _index: names.eventsIndex(new Date(e.timestamp)), _id: e.event_id } },
      e,
    ]),
  );
  await bulk(
    recs
      .map((r, i) => [
        { create: { _index: names.recommendationsIndex(new Date(r.timestamp)), _id: `${r.kind}-${i}` } },
        r,
      ])
      .flat(),
  );
  for (const m of models) await ctx.repos.models.put(m);
  await es.indices.refresh({ index: `${names.prefix}*` });

  queries = visualisationQueries(loadSavedObjects(names.prefix), { timeRange: { from, to } });
  for (const q of queries) results.set(q.id, (await run(q)).rows);
});

afterAll(() => ctx.dispose());

describe('Kibana visualisations on real Elasticsearch', () => {
  it('every visualisation hits the prefixed indices and returns rows with a value in every drawn column', () => {
    expect(queries.length).toBe(13);
    for (const q of queries) {
      expect(q.index.startsWith(names.prefix), q.index).toBe(true);
      const rows = results.get(q.id)!;
      expect(rows.length, `${q.id} returned no buckets`).toBeGreaterThan(0);
      for (const c of q.valueColumns) {
        expect(
          rows.some((r) => typeof r[c] === 'number' && Number.isFinite(r[c])),
          `${q.id}: column ${c} is empty`,
        ).toBe(true);
      }
    }
  });

  it('events per minute by type adds back up to every stored event, per type', () => {
    const q = queries.find((x) => x.id === 'recsys-lens-events-per-minute')!;
    const minutesPerBucket = q.intervals['col-time']!.ms / 60_000;
    const byType = new Map<string, number>();
    for (const r of results.get(q.id)!)
      byType.set(
        String(r['col-type']),
        (byType.get(String(r['col-type'])) ?? 0) + num(r['col-count']) * minutesPerBucket,
      );
    const expected = new Map<string, number>();
    for (const e of events) expected.set(e.event_type, (expected.get(e.event_type) ?? 0) + 1);
    expect([...byType.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [type, n] of expected) expect(byType.get(type)).toBeCloseTo(n, 6);
  });

  it('events per day sums to the generated event count, top items match the generated counts', () => {
    const perDay = results.get('recsys-lens-events-per-day')!;
    expect(perDay.map((r) => r['col-day'])).toEqual([
      Date.parse('2024-01-01T00:00:00Z'),
      Date.parse('2024-01-02T00:00:00Z'),
    ]);
    expect(perDay.reduce((s, r) => s + num(r['col-count']), 0)).toBe(events.length);

    const counts = new Map<string, number>();
    for (const e of events) counts.set(e.item_id, (counts.get(e.item_id) ?? 0) + 1);
    const top = results.get('recsys-lens-events-top-items')!;
    expect(top).toHaveLength(20);
    const expectedTop = [...counts.values()].sort((a, b) => b - a).slice(0, 20);
    expect(top.map((r) => r['col-count'])).toEqual(expectedTop);
    for (const r of top) expect(counts.get(String(r['col-item']))).toBe(r['col-count']);
  });

  it('active users per bucket equal the distinct users of the generated events in that bucket', () => {
    const q = queries.find((x) => x.id === 'recsys-lens-events-active-users')!;
    const ms = q.intervals['col-time']!.ms;
    expect(q.intervals['col-time']!.expression).toBe('1h');
    const users = new Map<number, Set<string>>();
    for (const e of events as DemoEvent[]) {
      const key = Math.floor(Date.parse(e.timestamp) / ms) * ms;
      if (!users.has(key)) users.set(key, new Set());
      users.get(key)!.add(e.user_id);
    }
    for (const r of results.get(q.id)!)
      expect(r['col-users'] ?? null).toBe(users.get(r['col-time'] as number)?.size ?? null);
  });

  it('click-through and conversion per model are clicks (conversions) per served list; unknown and unattributed clicks get no slot', () => {
    const served = (m: string) => recs.filter((r) => r.kind === 'served' && r.model_id === m).length;
    const kind = (k: string, m: string) => recs.filter((r) => r.kind === k && r.model_id === m).length;
    const ctr = new Map(
      results.get('recsys-lens-recs-ctr-by-model')!.map((r) => [r['col-model'], r['col-ctr']]),
    );
    expect([...ctr.keys()]).toEqual([NEW, OLD]); // model_id descending
    expect(ctr.get(NEW)).toBeCloseTo(kind('click', NEW) / served(NEW), 12);
    expect(ctr.get(OLD)).toBeCloseTo(kind('click', OLD) / served(OLD), 12);
    const conv = new Map(
      results.get('recsys-lens-recs-conversion-by-model')!.map((r) => [r['col-model'], r['col-conv']]),
    );
    expect([...conv.keys()]).toEqual([NEW, OLD]);
    expect(conv.get(NEW)).toBeCloseTo(kind('conversion', NEW) / served(NEW), 12);
    expect(conv.get(OLD)).toBeCloseTo(kind('conversion', OLD) / served(OLD), 12);
  });

  it('CTR@position: clicks at position p per served list that showed a position p, per model; clicks off the list in no bucket', () => {
    const rows = results.get('recsys-lens-recs-ctr-at-position')!;
    expect(new Set(rows.map((r) => r['col-model']))).toEqual(new Set([NEW, OLD]));
    for (const m of [NEW, OLD]) {
      const byPosition = new Map(
        rows.filter((r) => r['col-model'] === m).map((r) => [r['col-position'], r['col-ctrp']]),
      );
      expect([...byPosition.keys()]).toEqual([1, 2, 3, 4, 5]);
      const lists = recs.filter((r) => r.kind === 'served' && r.model_id === m).length;
      for (const p of [1, 2, 3, 4, 5]) {
        const clicks = recs.filter((r) => r.kind === 'click' && r.model_id === m && r.position === p).length;
        expect(byPosition.get(p), `${m} @${p}`).toBeCloseTo(clicks / lists, 12);
      }
      expect([1, 2, 3].some((p) => (byPosition.get(p) as number) > 0)).toBe(true);
    }
  });

  it('click-through per experiment arm is clicks per served list of that arm; lists outside the experiment are not counted', () => {
    const rows = results.get('recsys-lens-recs-ctr-by-arm')!;
    const inArm = (k: string, arm: string) =>
      recs.filter((r) => r.kind === k && r.experiment_id === EXPERIMENT && r.arm === arm).length;
    expect(rows.map((r) => [r['col-experiment'], r['col-arm']])).toEqual([
      [EXPERIMENT, 'control'],
      [EXPERIMENT, 'treatment'],
    ]);
    for (const r of rows) {
      const arm = r['col-arm'] as string;
      expect(inArm('served', arm)).toBeGreaterThan(0);
      expect(r['col-arm-ctr']).toBeCloseTo(inArm('click', arm) / inArm('served', arm), 12);
    }
  });

  it('served per minute adds back up to the served lists; coverage is the distinct items of served lists', () => {
    const q = queries.find((x) => x.id === 'recsys-lens-recs-served-per-minute')!;
    const minutes = q.intervals['col-time']!.ms / 60_000;
    const total = results.get(q.id)!.reduce((s, r) => s + num(r['col-count']) * minutes, 0);
    expect(total).toBeCloseTo(30, 6);
    const distinct = new Set(recs.filter((r) => r.kind === 'served').flatMap((r) => r.items!));
    expect(results.get('recsys-lens-recs-catalogue-coverage')).toEqual([{ 'col-items': distinct.size }]);
  });

  it('models: nDCG and training time per run over created_at, and the live model', () => {
    const ndcg = results.get('recsys-lens-models-ndcg')!.filter((r) => r['col-ndcg'] !== null);
    expect(ndcg.map((r) => r['col-ndcg'] as number).map((v) => Math.round(v * 100) / 100)).toEqual([
      0.21, 0.27,
    ]);
    expect(ndcg.map((r) => Math.round((r['col-baseline'] as number) * 100) / 100)).toEqual([0.15, 0.16]);
    const train = results.get('recsys-lens-models-train-seconds')!.filter((r) => r['col-train'] !== null);
    expect(train.map((r) => r['col-train'])).toEqual([12.5, 14]);
    const live = results.get('recsys-lens-models-live')!;
    expect(live).toHaveLength(1);
    expect(live[0]).toMatchObject({
      'col-model': NEW,
      'col-status': 'live',
      'col-live-at': Date.parse(models[1]!.live_at!),
    });
    expect(live[0]!['col-ndcg']).toBeCloseTo(0.27, 5);
  });

  it('the live-model table does not depend on the time picker; the time-based panels do', async () => {
    const later = visualisationQueries(loadSavedObjects(names.prefix), {
      timeRange: { from: '2030-01-01T00:00:00Z', to: '2030-01-02T00:00:00Z' },
    });
    const live = await run(later.find((q) => q.id === 'recsys-lens-models-live')!);
    expect(live.rows.map((r) => r['col-model'])).toEqual([NEW]);
    const ndcg = await run(later.find((q) => q.id === 'recsys-lens-models-ndcg')!);
    expect(ndcg.total).toBe(0);
    expect(ndcg.rows.every((r) => r['col-ndcg'] === null)).toBe(true);
  });
});
