// Translates each Lens visualisation (formBased datasource) into the Elasticsearch request Kibana
// sends for it, by reading the saved Lens state — data view, query, filters, columns — the way
// Kibana's esaggs does:
//   - bucket columns nest in columnOrder (outermost first); metrics sit at the innermost level
//     (Lens uses metricsAtAllLevels: false);
//   - date_histogram: interval resolved like TimeBuckets (auto / scaled to histogram:maxBars),
//     min_doc_count 0 + extended_bounds = time range when includeEmptyRows;
//   - terms: order by _count, by a metric sub-aggregation, or by _key (alphabetical);
//   - count of records = bucket doc_count; a column `filter` (also formula `kql=`) = filter agg;
//     unique_count = cardinality; min/max/sum = the ES metric, average = avg;
//   - the request query = time range on the data view's time field ∧ the visualisation's KQL.
// What Kibana computes after the response — formula math, time scaling ("per minute"), empty-as-null —
// is reproduced by `tabulate`, so a test can check the numbers a panel would show.

import type { estypes } from '@elastic/elasticsearch';
import {
  DEFAULT_BAR_TARGET,
  DEFAULT_MAX_BARS,
  UNIT_MS,
  resolveInterval,
  type ResolvedInterval,
} from './intervals.ts';
import { kqlToQuery } from './kql.ts';
import type {
  DataViewAttributes,
  KibanaQuery,
  LensAttributes,
  LensColumn,
  LensLayer,
  SavedObject,
  TinymathNode,
} from '../../../src/kibana/types.ts';

export const RECORDS_FIELD = '___records___';

export interface TimeRange {
  /** Date, epoch ms, ISO string, or Kibana-style `now` / `now-24h` */
  from: Date | number | string;
  to: Date | number | string;
}

export interface QueryOptions {
  /** default: now-24h → now */
  timeRange?: TimeRange;
  /** date_histogram time_zone (Kibana uses the browser's); default UTC */
  timeZone?: string;
  /** Kibana advanced settings histogram:barTarget / histogram:maxBars (defaults 50 / 100) */
  barTarget?: number;
  maxBars?: number;
  /** reference time for `now` (tests) */
  now?: Date;
}

export interface VisualisationQuery {
  /** Lens saved object id */
  id: string;
  title: string;
  visualizationType: string;
  layerId: string;
  dataViewId: string;
  /** the data view's title: the index pattern searched */
  index: string;
  timeField?: string;
  /** the search body (without index) */
  body: {
    size: 0;
    track_total_hits: true;
    query: estypes.QueryDslQueryContainer;
    aggs?: Record<string, estypes.AggregationsAggregationContainer>;
  };
  /** date_histogram interval per date_histogram column */
  intervals: Record<string, ResolvedInterval>;
  /** columns the chart/table draws values from (accessors of the visualisation state) */
  valueColumns: string[];
  /** bucket columns (x axis, split, table rows), outermost first */
  bucketColumns: string[];
  layer: LensLayer;
  /** [from, to] in epoch ms */
  range: [number, number];
}

// Lens operation type → ES aggregation; Lens calls the mean `average` (an `avg` column is refused, as Kibana would)
const SUPPORTED_METRICS: Record<string, string> = {
  unique_count: 'cardinality',
  max: 'max',
  min: 'min',
  average: 'avg',
  sum: 'sum',
};
const EMPTY_AS_NULL_OPS = new Set(['count', 'unique_count', 'sum']);

export class LensTranslationError extends Error {
  constructor(objectId: string, why: string) {
    super(`${objectId}: ${why}`);
    this.name = 'LensTranslationError';
  }
}

function toMs(t: Date | number | string, now: number): number {
  if (t instanceof Date) return t.getTime();
  if (typeof t === 'number') return t;
  const rel = /^now(?:-(\d+)(ms|s|m|h|d|w|M|y))?$/.exec(t.trim());
  if (rel) return rel[1] ? now - Number(rel[1]) * UNIT_MS[rel[2]!]! : now;
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new Error(`invalid time "${t}"`);
  return ms;
}

function kibanaQuery(
  q: KibanaQuery | undefined,
  objectId: string,
): estypes.QueryDslQueryContainer | undefined {
  if (!q || !q.query.trim()) return undefined;
  if (q.language !== 'kuery')
    throw new LensTranslationError(objectId, `query language ${q.language} is not supported (only kuery)`);
  return kqlToQuery(q.query);
}

/** The column ids the visualisation draws values from, per visualisation type. */
export function valueAccessors(attributes: LensAttributes, layerId: string): string[] {
  const v = attributes.state.visualization as Record<string, unknown>;
  switch (attributes.visualizationType) {
    case 'lnsXY': {
      const layers = (v['layers'] as Array<{ layerId: string; accessors: string[] }>) ?? [];
      return layers.filter((l) => l.layerId === layerId).flatMap((l) => l.accessors);
    }
    case 'lnsDatatable': {
      if (v['layerId'] !== layerId) return [];
      const layer = attributes.state.datasourceStates.formBased.layers[layerId]!;
      return ((v['columns'] as Array<{ columnId: string }>) ?? [])
        .map((c) => c.columnId)
        .filter((id) => !layer.columns[id]?.isBucketed);
    }
    case 'lnsMetric': {
      if (v['layerId'] !== layerId) return [];
      return ['metricAccessor', 'secondaryMetricAccessor', 'maxAccessor']
        .map((k) => v[k])
        .filter((x): x is string => typeof x === 'string');
    }
    default:
      throw new Error(`visualisation type ${attributes.visualizationType} is not supported`);
  }
}

/** Every column id the visualisation state points at (buckets included), for validation. */
export function visualisationColumnRefs(attributes: LensAttributes): string[] {
  const v = attributes.state.visualization as Record<string, unknown>;
  switch (attributes.visualizationType) {
    case 'lnsXY':
      return ((v['layers'] as Array<Record<string, unknown>>) ?? []).flatMap((l) =>
        [l['xAccessor'], l['splitAccessor'], ...((l['accessors'] as string[]) ?? [])].filter(
          (x): x is string => typeof x === 'string',
        ),
      );
    case 'lnsDatatable':
      return ((v['columns'] as Array<{ columnId: string }>) ?? []).map((c) => c.columnId);
    case 'lnsMetric':
      return ['metricAccessor', 'secondaryMetricAccessor', 'maxAccessor', 'breakdownByAccessor']
        .map((k) => v[k])
        .filter((x): x is string => typeof x === 'string');
    default:
      return [];
  }
}

/** Name of the sub-aggregation holding the value of a filtered non-count metric. */
const FILTERED_VALUE = 'value';

function metricAgg(col: LensColumn): estypes.AggregationsAggregationContainer | undefined {
  if (col.operationType === 'count') {
    return !col.sourceField || col.sourceField === RECORDS_FIELD
      ? undefined
      : { value_count: { field: col.sourceField } };
  }
  const op = SUPPORTED_METRICS[col.operationType];
  if (!op) throw new Error(`operation ${col.operationType} is not supported`);
  return { [op]: { field: col.sourceField } } as estypes.AggregationsAggregationContainer;
}

/** The aggregation a metric column needs at its level, or undefined when doc_count carries it. */
function columnAgg(
  id: string,
  col: LensColumn,
  objectId: string,
): estypes.AggregationsAggregationContainer | undefined {
  const inner = metricAgg(col);
  if (!col.filter || !col.filter.query.trim()) return inner;
  const filter = kibanaQuery(col.filter, `${objectId} column ${id}`) ?? { match_all: {} };
  return inner ? { filter, aggs: { [FILTERED_VALUE]: inner } } : { filter };
}

/** Order path of a terms agg sorted by a metric column, and the agg that must sit beside it. */
function orderPath(
  id: string,
  col: LensColumn,
  objectId: string,
): { path: string; agg?: estypes.AggregationsAggregationContainer } {
  const agg = columnAgg(id, col, objectId);
  if (!agg) return { path: '_count' };
  if (col.filter && agg.aggs) return { path: `${id}>${FILTERED_VALUE}`, agg };
  return { path: id, agg }; // single-value metric, or a filter agg (sorted by its doc_count)
}

interface LayerContext {
  objectId: string;
  range: [number, number];
  timeField?: string;
  timeZone: string;
  barTarget: number;
  maxBars: number;
}

function translateLayer(
  layer: LensLayer,
  ctx: LayerContext,
): {
  aggs?: Record<string, estypes.AggregationsAggregationContainer>;
  intervals: Record<string, ResolvedInterval>;
  buckets: string[];
} {
  const { objectId } = ctx;
  for (const id of layer.columnOrder)
    if (!layer.columns[id])
      throw new LensTranslationError(objectId, `columnOrder names missing column ${id}`);
  const buckets = layer.columnOrder.filter((id) => layer.columns[id]!.isBucketed);
  const metrics = layer.columnOrder.filter((id) => {
    const c = layer.columns[id]!;
    return !c.isBucketed && c.operationType !== 'formula' && c.operationType !== 'math';
  });
  for (const id of layer.columnOrder) {
    for (const ref of layer.columns[id]!.references ?? []) {
      if (!layer.columns[ref])
        throw new LensTranslationError(objectId, `column ${id} references missing column ${ref}`);
    }
  }

  const metricAggs: Record<string, estypes.AggregationsAggregationContainer> = {};
  for (const id of metrics) {
    let agg: estypes.AggregationsAggregationContainer | undefined;
    try {
      agg = columnAgg(id, layer.columns[id]!, objectId);
    } catch (e) {
      throw new LensTranslationError(objectId, `column ${id}: ${(e as Error).message}`);
    }
    if (agg) metricAggs[id] = agg;
  }

  const intervals: Record<string, ResolvedInterval> = {};
  let inner: Record<string, estypes.AggregationsAggregationContainer> | undefined = Object.keys(metricAggs)
    .length
    ? metricAggs
    : undefined;
  for (let level = buckets.length - 1; level >= 0; level--) {
    const id = buckets[level]!;
    const col = layer.columns[id]!;
    const sub: Record<string, estypes.AggregationsAggregationContainer> = { ...(inner ?? {}) };
    let agg: estypes.AggregationsAggregationContainer;
    if (col.operationType === 'terms') {
      const p = col.params as {
        size: number;
        orderBy: { type: string; columnId?: string };
        orderDirection: 'asc' | 'desc';
        otherBucket?: boolean;
        missingBucket?: boolean;
        accuracyMode?: boolean;
        secondaryFields?: string[];
        include?: unknown[];
        exclude?: unknown[];
      };
      if (p.secondaryFields?.length)
        throw new LensTranslationError(objectId, `column ${id}: multi-field terms are not supported`);
      if (p.include?.length || p.exclude?.length)
        throw new LensTranslationError(objectId, `column ${id}: include/exclude is not supported`);
      if (p.otherBucket)
        throw new LensTranslationError(
          objectId,
          `column ${id}: otherBucket needs Kibana's second request; not supported`,
        );
      if (p.missingBucket)
        throw new LensTranslationError(objectId, `column ${id}: missingBucket is not supported`);
      let order: Record<string, 'asc' | 'desc'>;
      if (p.orderBy.type === 'alphabetical') {
        order = { _key: p.orderDirection };
      } else if (p.orderBy.type === 'column' && p.orderBy.columnId) {
        const target = layer.columns[p.orderBy.columnId];
        if (!target || target.isBucketed)
          throw new LensTranslationError(
            objectId,
            `column ${id}: orders by unknown metric ${p.orderBy.columnId}`,
          );
        const o = orderPath(p.orderBy.columnId, target, objectId);
        if (o.agg) sub[p.orderBy.columnId] = o.agg; // Kibana's orderAgg: the metric must exist at this level
        order = { [o.path]: p.orderDirection };
      } else {
        throw new LensTranslationError(objectId, `column ${id}: orderBy ${p.orderBy.type} is not supported`);
      }
      // Lens accuracy mode: shard_size = max(1000, size·1.5 + 10); otherwise ES's default
      const shardSize = p.accuracyMode ? Math.max(1000, p.size * 1.5 + 10) : undefined;
      agg = {
        terms: {
          field: col.sourceField!,
          size: p.size,
          ...(shardSize ? { shard_size: shardSize } : {}),
          order,
        },
      };
    } else if (col.operationType === 'date_histogram') {
      const p = col.params as { interval: string; includeEmptyRows?: boolean };
      const interval = resolveInterval(p.interval, ctx.range[1] - ctx.range[0], ctx.barTarget, ctx.maxBars);
      intervals[id] = interval;
      agg = {
        date_histogram: {
          field: col.sourceField!,
          ...interval.param,
          time_zone: ctx.timeZone,
          min_doc_count: p.includeEmptyRows ? 0 : 1,
          ...(p.includeEmptyRows ? { extended_bounds: { min: ctx.range[0], max: ctx.range[1] } } : {}),
        } as estypes.AggregationsDateHistogramAggregation,
      };
    } else {
      throw new LensTranslationError(
        objectId,
        `bucket operation ${col.operationType} (column ${id}) is not supported`,
      );
    }
    if (Object.keys(sub).length) agg.aggs = sub;
    inner = { [id]: agg };
  }
  return { aggs: inner, intervals, buckets };
}

/** Data view saved objects by id. */
function dataViews(objects: SavedObject[]): Map<string, DataViewAttributes> {
  return new Map(
    objects.filter((o) => o.type === 'index-pattern').map((o) => [o.id, o.attributes as DataViewAttributes]),
  );
}

/**
 * One Elasticsearch request per layer of every Lens saved object in `objects` — what each
 * dashboard panel asks Elasticsearch for over `timeRange`. Throws on any Lens feature this
 * translator does not implement rather than approximating it.
 */
export function visualisationQueries(objects: SavedObject[], opts: QueryOptions = {}): VisualisationQuery[] {
  const now = (opts.now ?? new Date()).getTime();
  const tr = opts.timeRange ?? { from: 'now-24h', to: 'now' };
  const range: [number, number] = [toMs(tr.from, now), toMs(tr.to, now)];
  if (!(range[1] > range[0]))
    throw new Error(
      `empty time range ${new Date(range[0]).toISOString()} → ${new Date(range[1]).toISOString()}`,
    );
  const views = dataViews(objects);
  const out: VisualisationQuery[] = [];
  for (const o of objects) {
    if (o.type !== 'lens') continue;
    const attributes = o.attributes as unknown as LensAttributes;
    const state = attributes.state;
    if (state.filters?.length)
      throw new LensTranslationError(
        o.id,
        'filter pills are not supported; put the condition in the KQL query',
      );
    const layers = state.datasourceStates?.formBased?.layers;
    if (!layers) throw new LensTranslationError(o.id, 'no formBased datasource layers');
    for (const [layerId, layer] of Object.entries(layers)) {
      const ref = o.references.find(
        (r) => r.type === 'index-pattern' && r.name === `indexpattern-datasource-layer-${layerId}`,
      );
      if (!ref) throw new LensTranslationError(o.id, `layer ${layerId} has no data view reference`);
      const view = views.get(ref.id);
      if (!view) throw new LensTranslationError(o.id, `data view ${ref.id} is not among the saved objects`);
      const filters: estypes.QueryDslQueryContainer[] = [];
      if (view.timeFieldName) {
        filters.push({
          range: {
            [view.timeFieldName]: {
              format: 'strict_date_optional_time',
              gte: new Date(range[0]).toISOString(),
              lte: new Date(range[1]).toISOString(),
            },
          },
        });
      }
      const q = kibanaQuery(state.query, o.id);
      if (q) filters.push(q);
      const { aggs, intervals, buckets } = translateLayer(layer, {
        objectId: o.id,
        range,
        timeField: view.timeFieldName,
        timeZone: opts.timeZone ?? 'UTC',
        barTarget: opts.barTarget ?? DEFAULT_BAR_TARGET,
        maxBars: opts.maxBars ?? DEFAULT_MAX_BARS,
      });
      const valueColumns = valueAccessors(attributes, layerId);
      for (const c of valueColumns)
        if (!layer.columns[c])
          throw new LensTranslationError(
            o.id,
            `visualisation accessor ${c} is not a column of layer ${layerId}`,
          );
      out.push({
        id: o.id,
        title: attributes.title,
        visualizationType: attributes.visualizationType,
        layerId,
        dataViewId: ref.id,
        index: view.title,
        ...(view.timeFieldName ? { timeField: view.timeFieldName } : {}),
        body: {
          size: 0,
          track_total_hits: true,
          query: { bool: { filter: filters } },
          ...(aggs ? { aggs } : {}),
        },
        intervals,
        valueColumns,
        bucketColumns: buckets,
        layer,
        range,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------- reading the response

export type Cell = string | number | null;
export type Row = Record<string, Cell>;

interface AggBucket {
  key: string | number;
  key_as_string?: string;
  doc_count: number;
  [agg: string]: unknown;
}

/** The subset of a search response tabulate reads. */
export interface AggResponse {
  hits: { total?: number | { value: number } };
  aggregations?: Record<string, unknown>;
}

function metricValue(id: string, col: LensColumn, container: Record<string, unknown>): number | null {
  const isRecords = col.operationType === 'count' && (!col.sourceField || col.sourceField === RECORDS_FIELD);
  const hasFilter = !!col.filter?.query.trim();
  let value: number | null | undefined;
  if (isRecords) {
    value = hasFilter
      ? (container[id] as { doc_count?: number } | undefined)?.doc_count
      : (container['doc_count'] as number | undefined);
  } else {
    const node = (
      hasFilter ? (container[id] as Record<string, unknown> | undefined)?.[FILTERED_VALUE] : container[id]
    ) as { value?: number | null } | undefined;
    value = node?.value;
  }
  if (value === undefined || value === null || Number.isNaN(value)) return null;
  // emptyAsNull (count, unique_count, sum): a bucket without documents shows no value rather than 0
  if (
    value === 0 &&
    EMPTY_AS_NULL_OPS.has(col.operationType) &&
    (col.params as { emptyAsNull?: boolean } | undefined)?.emptyAsNull
  )
    return null;
  return value;
}

function evalMath(node: TinymathNode, row: Row): number | null {
  if (typeof node === 'number') return node;
  if (typeof node === 'string') {
    const v = row[node];
    return typeof v === 'number' ? v : null;
  }
  const args = node.args.map((a) => evalMath(a, row));
  if (args.some((a) => a === null)) return null;
  const [a, b] = args as number[];
  switch (node.name) {
    case 'add':
      return args.reduce((s, x) => s! + x!, 0);
    case 'subtract':
      return a! - b!;
    case 'multiply':
      return args.reduce((s, x) => s! * x!, 1);
    case 'divide':
      return b === 0 ? null : a! / b!; // tinymath throws on /0; Lens shows an empty cell
    default:
      throw new Error(`math function ${node.name} is not supported`);
  }
}

/**
 * Rows as Lens would tabulate them from the response: one per innermost bucket, with the bucket
 * keys, the metrics, then time-scaled values, math and formula columns computed like Lens does.
 */
export function tabulate(q: VisualisationQuery, response: AggResponse): Row[] {
  const { layer } = q;
  const rows: Row[] = [];
  const total =
    typeof response.hits.total === 'number' ? response.hits.total : (response.hits.total?.value ?? 0);
  const metrics = q.layer.columnOrder.filter((id) => {
    const c = layer.columns[id]!;
    return !c.isBucketed && c.operationType !== 'formula' && c.operationType !== 'math';
  });
  const dateCol = q.bucketColumns.find((id) => layer.columns[id]!.operationType === 'date_histogram');
  const bucketMs = dateCol ? q.intervals[dateCol]!.ms : q.range[1] - q.range[0];

  const emit = (container: Record<string, unknown>, row: Row) => {
    const r: Row = { ...row };
    for (const id of metrics) {
      const col = layer.columns[id]!;
      let v = metricValue(id, col, container);
      if (v !== null && col.timeScale) v = (v * UNIT_MS[col.timeScale]!) / bucketMs;
      r[id] = v;
    }
    // math, then formula columns (a formula's value is its root math/metric column)
    const pending = q.layer.columnOrder.filter((id) =>
      ['math', 'formula'].includes(layer.columns[id]!.operationType),
    );
    for (let guard = 0; pending.length && guard < 100; guard++) {
      const id = pending.shift()!;
      const col = layer.columns[id]!;
      const refs = col.references ?? [];
      if (refs.some((ref) => !(ref in r))) {
        pending.push(id);
        continue;
      }
      if (col.operationType === 'math')
        r[id] = evalMath((col.params as { tinymathAst: TinymathNode }).tinymathAst, r);
      else r[id] = refs[0] !== undefined ? (r[refs[0]] ?? null) : null;
    }
    rows.push(r);
  };

  const walk = (level: number, container: Record<string, unknown>, row: Row) => {
    if (level === q.bucketColumns.length) return emit(container, row);
    const id = q.bucketColumns[level]!;
    const buckets = (container[id] as { buckets?: AggBucket[] } | undefined)?.buckets ?? [];
    for (const b of buckets) walk(level + 1, b, { ...row, [id]: b.key });
  };

  walk(0, { doc_count: total, ...(response.aggregations ?? {}) }, {});
  return rows;
}
