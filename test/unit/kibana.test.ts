import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSavedObjects,
  dashboardPanels,
  importSavedObjects,
  KibanaImportError,
  loadSavedObjects,
  SAVED_OBJECTS_FILE,
  toNdjson,
  type SavedObject,
} from '../../src/kibana/index.ts';
import {
  calcAutoIntervalLessThan,
  calcAutoIntervalNear,
  normalizedEsInterval,
  resolveInterval,
} from '../support/kibana/intervals.ts';
import { kqlToQuery } from '../support/kibana/kql.ts';
import { tabulate, visualisationColumnRefs, visualisationQueries } from '../support/kibana/lens-query.ts';
import type { DataViewAttributes, LensAttributes, LensColumn } from '../../src/kibana/types.ts';

const raw = readFileSync(SAVED_OBJECTS_FILE, 'utf8');
const objects = loadSavedObjects();
const byKey = new Map(objects.map((o) => [`${o.type}:${o.id}`, o]));
const lensObjects = objects.filter((o) => o.type === 'lens') as SavedObject<LensAttributes>[];
const H = 3_600_000;
const range = { from: '2024-01-01T00:00:00.000Z', to: '2024-01-02T00:00:00.000Z' };
const queries = visualisationQueries(objects, { timeRange: range });
const queryOf = (id: string) => queries.find((q) => q.id === id)!;

describe('kibana/recsys.ndjson', () => {
  it('every line is one JSON object and the file is what src/kibana/objects.ts builds', () => {
    const lines = raw.split('\n');
    expect(lines.at(-1)).toBe('');
    for (const [i, line] of lines.slice(0, -1).entries()) {
      expect(line.trim(), `line ${i + 1} is blank`).not.toBe('');
      const v = JSON.parse(line) as unknown;
      expect(typeof v === 'object' && v !== null && !Array.isArray(v), `line ${i + 1}`).toBe(true);
    }
    expect(lines.length - 1).toBe(objects.length);
    // regenerate with: npx tsx kibana/generate.ts
    expect(raw).toBe(toNdjson(buildSavedObjects()));
  });

  it('every saved object has a unique id, a type, attributes and references', () => {
    for (const o of objects) {
      expect(o.id, JSON.stringify(o).slice(0, 80)).toMatch(/^recsys-[a-z0-9-]+$/);
      expect(['index-pattern', 'lens', 'visualization', 'dashboard']).toContain(o.type);
      expect(typeof o.attributes).toBe('object');
      expect(Array.isArray(o.references)).toBe(true);
      expect(typeof (o.attributes as { title?: unknown }).title).toBe('string');
    }
    expect(new Set(objects.map((o) => `${o.type}:${o.id}`)).size).toBe(objects.length);
    expect(
      objects.filter((o) => o.type === 'dashboard').map((o) => (o.attributes as { title: string }).title),
    ).toEqual(['Recsys — Events', 'Recsys — Recommendations', 'Recsys — Models']);
  });

  it('every reference resolves to an object in the file (no built-ins are needed)', () => {
    const builtIns = new Set<string>(); // e.g. 'index-pattern:logs-*' — none used
    for (const o of objects) {
      for (const r of o.references) {
        expect(
          byKey.has(`${r.type}:${r.id}`) || builtIns.has(`${r.type}:${r.id}`),
          `${o.id} → ${r.type}:${r.id}`,
        ).toBe(true);
        expect(r.name).toBeTruthy();
      }
    }
  });

  it('data views use the default (unprefixed) index names and the right time fields', () => {
    const views = objects
      .filter((o) => o.type === 'index-pattern')
      .map((o) => o.attributes as DataViewAttributes);
    expect(views.map((v) => [v.title, v.timeFieldName ?? null])).toEqual([
      ['events-*', 'timestamp'],
      ['recommendations-*', 'timestamp'],
      ['models', 'created_at'],
      ['models', null],
    ]);
  });

  it('every dashboard panel references an existing visualisation, and every visualisation is on a dashboard', () => {
    const panels = dashboardPanels(objects);
    expect(panels.length).toBe(14);
    for (const p of panels) {
      expect(p.reference, `${p.dashboardId}/${p.panelIndex} has no reference`).toBeDefined();
      expect(p.target, `${p.dashboardId}/${p.panelIndex} → ${p.reference?.id}`).toBeDefined();
      expect(['lens', 'visualization']).toContain(p.target!.type);
      expect(p.type).toBe(p.target!.type);
    }
    const onDashboards = new Set(panels.map((p) => p.target!.id));
    for (const o of objects.filter((x) => x.type === 'lens' || x.type === 'visualization'))
      expect(onDashboards.has(o.id), o.id).toBe(true);
    // grid: inside the 48 columns and no two panels of a dashboard overlap
    for (const d of objects.filter((o) => o.type === 'dashboard')) {
      const grid = (
        JSON.parse((d.attributes as { panelsJSON: string }).panelsJSON) as Array<{
          gridData: { x: number; y: number; w: number; h: number };
        }>
      ).map((p) => p.gridData);
      for (const [i, a] of grid.entries()) {
        expect(a.x + a.w).toBeLessThanOrEqual(48);
        for (const b of grid.slice(i + 1)) {
          const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
          expect(overlap, `${d.id}: ${JSON.stringify(a)} overlaps ${JSON.stringify(b)}`).toBe(false);
        }
      }
    }
  });

  it('the only non-Lens panel is the dead-letter markdown note', () => {
    const vis = objects.filter((o) => o.type === 'visualization');
    expect(vis.map((o) => o.id)).toEqual(['recsys-vis-events-dead-letters']);
    const state = JSON.parse((vis[0]!.attributes as { visState: string }).visState) as {
      type: string;
      params: { markdown: string };
    };
    expect(state.type).toBe('markdown');
    expect(state.params.markdown).toContain('recsys_ingest_dead_lettered_total');
  });

  it('Lens states are consistent: layer data view refs, accessors, column references, formulas', () => {
    for (const o of lensObjects) {
      const layers = o.attributes.state.datasourceStates.formBased.layers;
      const cols = Object.values(layers).flatMap((l) => Object.keys(l.columns));
      for (const [layerId, layer] of Object.entries(layers)) {
        expect(
          o.references.some(
            (r) => r.type === 'index-pattern' && r.name === `indexpattern-datasource-layer-${layerId}`,
          ),
          o.id,
        ).toBe(true);
        expect([...layer.columnOrder].sort()).toEqual(Object.keys(layer.columns).sort());
        for (const c of Object.values(layer.columns))
          for (const ref of c.references ?? []) expect(layer.columns[ref], `${o.id}: ${ref}`).toBeDefined();
      }
      for (const ref of visualisationColumnRefs(o.attributes))
        expect(cols, `${o.id}: accessor ${ref}`).toContain(ref);
      for (const [id, c] of Object.values(layers).flatMap((l) => Object.entries(l.columns))) {
        if (c.operationType !== 'formula') continue;
        checkRatioFormula(id, c, Object.values(layers)[0]!.columns);
      }
    }
  });
});

/** The helper columns Lens stores for `count(kql='a') / count(kql='b')` must say what the text says. */
function checkRatioFormula(id: string, col: LensColumn, columns: Record<string, LensColumn>) {
  const text = (col.params as { formula: string }).formula;
  const m = /^count\(kql='([^']*)'\) \/ count\(kql='([^']*)'\)$/.exec(text);
  expect(m, `formula ${text}`).not.toBeNull();
  const math = columns[col.references![0]!]!;
  expect(math.operationType).toBe('math');
  const ast = (math.params as { tinymathAst: { name: string; args: string[]; text: string } }).tinymathAst;
  expect(ast.name).toBe('divide');
  expect(ast.text).toBe(text);
  const [num, den] = ast.args.map((a) => columns[a]!);
  expect([num!.operationType, num!.filter?.query, den!.operationType, den!.filter?.query]).toEqual([
    'count',
    m![1],
    'count',
    m![2],
  ]);
  expect(id).toBeTruthy();
}

describe('prefix rewrite', () => {
  it('puts the prefix in front of every data view title and nothing else', () => {
    const prefixed = loadSavedObjects('acme-');
    expect(
      prefixed
        .filter((o) => o.type === 'index-pattern')
        .map((o) => (o.attributes as DataViewAttributes).title),
    ).toEqual(['acme-events-*', 'acme-recommendations-*', 'acme-models', 'acme-models']);
    for (const [i, o] of prefixed.entries()) {
      expect(o.id).toBe(objects[i]!.id);
      if (o.type !== 'index-pattern') expect(o).toEqual(objects[i]);
    }
    expect(loadSavedObjects('')).toEqual(objects);
    // the queries follow the prefix
    const qs = visualisationQueries(prefixed, { timeRange: range });
    expect(new Set(qs.map((q) => q.index))).toEqual(
      new Set(['acme-events-*', 'acme-recommendations-*', 'acme-models']),
    );
  });
});

describe('visualisationQueries', () => {
  it('derives one request per Lens visualisation', () => {
    expect(queries.map((q) => q.id).sort()).toEqual(lensObjects.map((o) => o.id).sort());
    for (const q of queries) {
      expect(q.valueColumns.length, q.id).toBeGreaterThan(0);
      expect(q.body.size).toBe(0);
    }
  });

  it('events per minute: terms(event_type) > date_histogram(auto → 30m over 24h) > count, per-minute scaling', () => {
    const q = queryOf('recsys-lens-events-per-minute');
    expect(q.index).toBe('events-*');
    expect(q.body.query).toEqual({
      bool: {
        filter: [
          { range: { timestamp: { format: 'strict_date_optional_time', gte: range.from, lte: range.to } } },
        ],
      },
    });
    expect(q.body.aggs).toEqual({
      'col-type': {
        terms: { field: 'event_type', size: 10, order: { _count: 'desc' } },
        aggs: {
          'col-time': {
            date_histogram: {
              field: 'timestamp',
              fixed_interval: '30m',
              time_zone: 'UTC',
              min_doc_count: 0,
              extended_bounds: { min: Date.parse(range.from), max: Date.parse(range.to) },
            },
          },
        },
      },
    });
    expect(q.bucketColumns).toEqual(['col-type', 'col-time']);
    expect(q.layer.columns['col-count']!.timeScale).toBe('m');
  });

  it('top items, active users, events per day', () => {
    expect(queryOf('recsys-lens-events-top-items').body.aggs).toEqual({
      'col-item': { terms: { field: 'item_id', size: 20, shard_size: 1000, order: { _count: 'desc' } } },
    });
    const users = queryOf('recsys-lens-events-active-users').body.aggs!['col-time']!;
    expect(users.aggs).toEqual({ 'col-users': { cardinality: { field: 'user_id' } } });
    const perDay = queryOf('recsys-lens-events-per-day').body.aggs!['col-day']!;
    expect(perDay.date_histogram).toMatchObject({ field: 'timestamp', calendar_interval: '1d' });
  });

  it('served per minute and coverage carry the kind:served KQL as a term query', () => {
    for (const id of ['recsys-lens-recs-served-per-minute', 'recsys-lens-recs-catalogue-coverage']) {
      const filters = (queryOf(id).body.query as { bool: { filter: unknown[] } }).bool.filter;
      expect(filters[1]).toEqual({ term: { kind: 'served' } });
    }
    expect(queryOf('recsys-lens-recs-catalogue-coverage').body.aggs).toEqual({
      'col-items': { cardinality: { field: 'items' } },
    });
  });

  it('click-through per model: the formula becomes two filter aggs under terms(model_id)', () => {
    const q = queryOf('recsys-lens-recs-ctr-by-model');
    expect(q.body.aggs).toEqual({
      'col-model': {
        terms: { field: 'model_id', size: 10, order: { _key: 'desc' } },
        aggs: {
          'col-ctrX0': { filter: { term: { kind: 'click' } } },
          'col-ctrX1': { filter: { term: { kind: 'served' } } },
        },
      },
    });
    expect(q.valueColumns).toEqual(['col-ctr']);
    const conv = queryOf('recsys-lens-recs-conversion-by-model').body.aggs!['col-model']!.aggs!;
    expect(conv['col-convX0']).toEqual({ filter: { term: { kind: 'conversion' } } });
  });

  it('rates give no slot to unknown or unattributed records: the layer query drops them from numerator and denominator', () => {
    const attributedOnly = {
      bool: {
        filter: [
          { bool: { must_not: [{ term: { model_id: 'unknown' } }] } },
          { bool: { must_not: [{ term: { kind: 'unattributed' } }] } },
        ],
      },
    };
    for (const id of [
      'recsys-lens-recs-ctr-by-model',
      'recsys-lens-recs-conversion-by-model',
      'recsys-lens-recs-ctr-at-position',
    ]) {
      const filters = (queryOf(id).body.query as { bool: { filter: unknown[] } }).bool.filter;
      expect(filters[1], id).toEqual(attributedOnly);
    }
  });

  it('CTR@position: clicks / served lists per position bucket, per model', () => {
    const q = queryOf('recsys-lens-recs-ctr-at-position');
    expect(q.body.aggs).toEqual({
      'col-model': {
        terms: { field: 'model_id', size: 10, order: { _key: 'desc' } },
        aggs: {
          'col-position': {
            terms: { field: 'position', size: 10, order: { _key: 'asc' } },
            aggs: {
              'col-ctrpX0': { filter: { term: { kind: 'click' } } },
              'col-ctrpX1': { filter: { term: { kind: 'served' } } },
            },
          },
        },
      },
    });
    expect(q.valueColumns).toEqual(['col-ctrp']);
    expect(q.layer.columns['col-position']!.dataType).toBe('number');
  });

  it('metric columns use Lens operation names (average, not the ES aggregation avg)', () => {
    const lensOperations = new Set([
      'count',
      'unique_count',
      'max',
      'min',
      'sum',
      'average',
      'median',
      'formula',
      'math',
      'terms',
      'date_histogram',
    ]);
    for (const o of lensObjects) {
      for (const layer of Object.values(o.attributes.state.datasourceStates.formBased.layers)) {
        for (const [id, c] of Object.entries(layer.columns))
          expect(lensOperations.has(c.operationType), `${o.id}/${id}: ${c.operationType}`).toBe(true);
      }
    }
  });

  it('click-through per experiment arm: the same formula under terms(experiment_id) → terms(arm); records without an arm have no bucket', () => {
    const q = queryOf('recsys-lens-recs-ctr-by-arm');
    expect(q.body.aggs).toEqual({
      'col-experiment': {
        terms: { field: 'experiment_id', size: 5, order: { _key: 'desc' } },
        aggs: {
          'col-arm': {
            terms: { field: 'arm', size: 2, order: { _key: 'asc' } },
            aggs: {
              'col-arm-ctrX0': { filter: { term: { kind: 'click' } } },
              'col-arm-ctrX1': { filter: { term: { kind: 'served' } } },
            },
          },
        },
      },
    });
    expect(q.bucketColumns).toEqual(['col-experiment', 'col-arm']);
    expect(q.valueColumns).toEqual(['col-arm-ctr']);
  });

  it('models: max metrics over created_at; live table has no time filter, nested terms ordered by a metric', () => {
    const ndcg = queryOf('recsys-lens-models-ndcg');
    expect(ndcg.index).toBe('models');
    expect(ndcg.body.aggs!['col-time']!.aggs).toEqual({
      'col-ndcg': { max: { field: 'metrics.ndcg' } },
      'col-baseline': { max: { field: 'baseline_metrics.ndcg' } },
    });
    expect(queryOf('recsys-lens-models-train-seconds').body.aggs!['col-time']!.aggs).toEqual({
      'col-train': { max: { field: 'timings.train_seconds' } },
    });
    const live = queryOf('recsys-lens-models-live');
    expect(live.timeField).toBeUndefined();
    expect(live.body.query).toEqual({ bool: { filter: [{ term: { status: 'live' } }] } });
    expect(live.body.aggs).toEqual({
      'col-model': {
        terms: { field: 'model_id', size: 5, order: { _key: 'desc' } },
        aggs: {
          'col-status': {
            terms: { field: 'status', size: 3, order: { 'col-live-at': 'desc' } },
            aggs: {
              'col-live-at': { max: { field: 'live_at' } },
              'col-ndcg': { max: { field: 'metrics.ndcg' } },
            },
          },
        },
      },
    });
  });

  it('refuses Lens features it does not translate', () => {
    const broken = structuredClone(objects);
    const lensObj = broken.find(
      (o) => o.id === 'recsys-lens-events-top-items',
    )! as SavedObject<LensAttributes>;
    (
      lensObj.attributes.state.datasourceStates.formBased.layers['layer1']!.columns['col-item']!.params as {
        otherBucket: boolean;
      }
    ).otherBucket = true;
    expect(() => visualisationQueries(broken, { timeRange: range })).toThrow(/otherBucket/);
    const lucene = structuredClone(objects);
    (
      lucene.find((o) => o.id === 'recsys-lens-recs-served-per-minute')! as SavedObject<LensAttributes>
    ).attributes.state.query = { query: 'kind:served', language: 'lucene' };
    expect(() => visualisationQueries(lucene, { timeRange: range })).toThrow(/lucene/);
    const avg = structuredClone(objects);
    const ndcgCol = (avg.find((o) => o.id === 'recsys-lens-models-ndcg')! as SavedObject<LensAttributes>)
      .attributes.state.datasourceStates.formBased.layers['layer1']!.columns['col-ndcg']!;
    ndcgCol.operationType = 'avg';
    expect(() => visualisationQueries(avg, { timeRange: range })).toThrow(/operation avg is not supported/);
    ndcgCol.operationType = 'average';
    expect(
      visualisationQueries(avg, { timeRange: range }).find((q) => q.id === 'recsys-lens-models-ndcg')!.body
        .aggs!['col-time']!.aggs!['col-ndcg'],
    ).toEqual({ avg: { field: 'metrics.ndcg' } });
    const noView = objects.filter((o) => o.id !== 'recsys-dv-events');
    expect(() => visualisationQueries(noView, { timeRange: range })).toThrow(/recsys-dv-events/);
  });
});

describe('tabulate', () => {
  it('computes formula ratios per bucket like Lens, empty for a zero denominator', () => {
    const q = queryOf('recsys-lens-recs-ctr-by-model');
    const rows = tabulate(q, {
      hits: { total: { value: 13 } },
      aggregations: {
        'col-model': {
          buckets: [
            { key: 'm2', doc_count: 10, 'col-ctrX0': { doc_count: 2 }, 'col-ctrX1': { doc_count: 8 } },
            { key: 'unknown', doc_count: 3, 'col-ctrX0': { doc_count: 3 }, 'col-ctrX1': { doc_count: 0 } },
          ],
        },
      },
    });
    expect(rows.map((r) => [r['col-model'], r['col-ctr']])).toEqual([
      ['m2', 0.25],
      ['unknown', null],
    ]);
  });

  it('normalises "per minute" counts by the bucket interval and keeps empty buckets null', () => {
    const q = queryOf('recsys-lens-recs-served-per-minute');
    expect(q.intervals['col-time']!.expression).toBe('30m');
    const rows = tabulate(q, {
      hits: { total: 60 },
      aggregations: {
        'col-time': {
          buckets: [
            { key: 0, doc_count: 60 },
            { key: 1_800_000, doc_count: 0 },
          ],
        },
      },
    });
    expect(rows.map((r) => r['col-count'])).toEqual([2, null]);
  });

  it('reads a metric without buckets from the top level', () => {
    const rows = tabulate(queryOf('recsys-lens-recs-catalogue-coverage'), {
      hits: { total: 5 },
      aggregations: { 'col-items': { value: 42 } },
    });
    expect(rows).toEqual([{ 'col-items': 42 }]);
  });
});

describe('intervals (Kibana TimeBuckets rules)', () => {
  it('auto picks the nice interval nearest range/50, explicit ones scale up past 100 buckets', () => {
    expect(calcAutoIntervalNear(50, 24 * H)).toBe(30 * 60_000);
    expect(calcAutoIntervalNear(50, 15 * 60_000)).toBe(30_000);
    expect(calcAutoIntervalNear(50, 30 * 24 * H)).toBe(12 * H);
    expect(calcAutoIntervalLessThan(100, 30 * 24 * H)).toBe(3 * H); // 7.2 h per bucket at most
    expect(resolveInterval('1d', 3 * 24 * H)).toMatchObject({
      expression: '1d',
      scaled: false,
      param: { calendar_interval: '1d' },
    });
    expect(resolveInterval('1m', 30 * 24 * H)).toMatchObject({
      expression: '3h',
      scaled: true,
      param: { fixed_interval: '3h' },
    });
    expect(resolveInterval('auto', 3 * 24 * H)).toMatchObject({
      expression: '1h',
      param: { calendar_interval: '1h' },
    });
  });

  it('normalises durations to ES expressions like Kibana', () => {
    expect(normalizedEsInterval(12 * H)).toBe('12h');
    expect(normalizedEsInterval(7 * 24 * H)).toBe('1w');
    expect(normalizedEsInterval(30 * 24 * H)).toBe('30d');
    expect(normalizedEsInterval(90_000)).toBe('90s');
  });
});

describe('KQL subset', () => {
  it('translates field:value, quotes, exists, not/and/or and parentheses', () => {
    expect(kqlToQuery('kind:served')).toEqual({ term: { kind: 'served' } });
    expect(kqlToQuery('')).toEqual({ match_all: {} });
    expect(kqlToQuery('status:live and not model_id:"a b"')).toEqual({
      bool: {
        filter: [{ term: { status: 'live' } }, { bool: { must_not: [{ term: { model_id: 'a b' } }] } }],
      },
    });
    expect(kqlToQuery('(kind:click OR kind:conversion) and live_at:*')).toEqual({
      bool: {
        filter: [
          {
            bool: {
              should: [{ term: { kind: 'click' } }, { term: { kind: 'conversion' } }],
              minimum_should_match: 1,
            },
          },
          { exists: { field: 'live_at' } },
        ],
      },
    });
  });

  it('rejects what it does not translate', () => {
    expect(() => kqlToQuery('served')).toThrow(/free-text/);
    expect(() => kqlToQuery('kind:serv*')).toThrow(/wildcard/);
    expect(() => kqlToQuery('kind:(a or b)')).toThrow(/unsupported KQL/);
    expect(() => kqlToQuery('kind:"served')).toThrow(/unterminated/);
  });
});

// ---------------------------------------------------------------- import against a fake Kibana

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

describe('importSavedObjects (fake Kibana on a local port)', () => {
  let server: http.Server;
  let base: string;
  const recorded: Recorded[] = [];
  let reply: { status: number; body: string } = { status: 200, body: '' };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        recorded.push({
          method: req.method!,
          url: req.url!,
          headers: req.headers,
          body: Buffer.concat(chunks),
        });
        res.writeHead(reply.status, { 'content-type': 'application/json' });
        res.end(reply.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('posts the prefixed NDJSON as multipart `file` with kbn-xsrf and an API key, and returns the summary', async () => {
    const summary = {
      success: true,
      successCount: objects.length,
      successResults: [{ type: 'dashboard', id: 'recsys-dashboard-events' }],
    };
    reply = { status: 200, body: JSON.stringify(summary) };
    recorded.length = 0;
    const out = await importSavedObjects({
      kibanaUrl: `${base}/`,
      prefix: 'acme-',
      apiKey: 'a2V5OnNlY3JldA==',
    });
    expect(out).toEqual(summary);
    expect(recorded).toHaveLength(1);
    const r = recorded[0]!;
    expect(r.method).toBe('POST');
    expect(r.url).toBe('/api/saved_objects/_import?overwrite=true');
    expect(r.headers['kbn-xsrf']).toBe('true');
    expect(r.headers['authorization']).toBe('ApiKey a2V5OnNlY3JldA==');
    const contentType = r.headers['content-type']!;
    expect(contentType).toMatch(/^multipart\/form-data; boundary=/);
    const text = r.body.toString('utf8');
    expect(text).toMatch(
      /Content-Disposition: form-data; name="file"; filename="recsys\.ndjson"\r\nContent-Type: application\/ndjson\r\n/,
    );
    // parse the multipart body with the platform's own parser
    const form = await new Response(r.body, { headers: { 'content-type': contentType } }).formData();
    expect([...form.keys()]).toEqual(['file']);
    const file = form.get('file') as File;
    const sent = await file.text();
    expect(sent).toBe(toNdjson(loadSavedObjects('acme-')));
    expect(sent).toContain('"title":"acme-events-*"');
    expect(sent).not.toContain('"title":"events-*"');
  });

  it('uses the space path and basic auth when asked', async () => {
    reply = { status: 200, body: JSON.stringify({ success: true, successCount: 1 }) };
    recorded.length = 0;
    await importSavedObjects({
      kibanaUrl: `${base}/kibana`,
      spaceId: 'team-a',
      username: 'elastic',
      password: 'pw',
      overwrite: false,
    });
    const r = recorded[0]!;
    expect(r.url).toBe('/kibana/s/team-a/api/saved_objects/_import?overwrite=false');
    expect(r.headers['authorization']).toBe(`Basic ${Buffer.from('elastic:pw').toString('base64')}`);
    const form = await new Response(r.body, {
      headers: { 'content-type': r.headers['content-type']! },
    }).formData();
    expect(await (form.get('file') as File).text()).toBe(raw);
  });

  it('returns per-object errors as Kibana reports them (HTTP 200, success false)', async () => {
    const summary = {
      success: false,
      successCount: 0,
      errors: [{ type: 'lens', id: 'x', error: { type: 'missing_references' } }],
    };
    reply = { status: 200, body: JSON.stringify(summary) };
    expect(await importSavedObjects({ kibanaUrl: base })).toEqual(summary);
  });

  it('throws a clear error on non-2xx and when Kibana is unreachable', async () => {
    reply = {
      status: 415,
      body: JSON.stringify({
        statusCode: 415,
        error: 'Unsupported Media Type',
        message: 'Unsupported file extension',
      }),
    };
    const err = await importSavedObjects({ kibanaUrl: base }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KibanaImportError);
    expect((err as KibanaImportError).status).toBe(415);
    expect((err as Error).message).toMatch(/HTTP 415 .*Unsupported Media Type: Unsupported file extension/);

    reply = { status: 401, body: 'nope' };
    await expect(importSavedObjects({ kibanaUrl: base })).rejects.toThrow(/HTTP 401.*nope/);

    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(importSavedObjects({ kibanaUrl: `http://127.0.0.1:${port}` })).rejects.toThrow(
      /cannot reach Kibana.*ECONNREFUSED/,
    );
  });
});
