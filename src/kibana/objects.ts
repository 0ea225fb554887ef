// Source of kibana/recsys.ndjson. The NDJSON file is what gets imported and what every reader
// (loadSavedObjects, the tests' visualisationQueries) parses; this module only builds it so that
// ids stay stable, escaped JSON strings (panelsJSON, visState) stay valid, and each formula's
// helper columns match its text. Regenerate with `npx tsx kibana/generate.ts`; a unit
// test fails when the file and this builder disagree.

import type {
  DashboardAttributes,
  DashboardPanel,
  DataViewAttributes,
  KibanaQuery,
  LensAttributes,
  LensColumn,
  LensLayer,
  SavedObject,
  SavedObjectReference,
} from './types.ts';

// Migration versions: the oldest versions whose shape matches what is written below, so Kibana
// runs every later migration on import and older-but-capable Kibanas accept the file. Lens needs
// ≥ 8.6.0 (its 8.6.0 migration renamed the `indexpattern` datasource to `formBased`);
// typeMigrationVersion/coreMigrationVersion exist since Kibana 8.8 — the minimum for this file.
const CORE_MIGRATION_VERSION = '8.8.0';
const PANEL_VERSION = '8.8.0';
const TYPE_MIGRATION: Record<string, string> = {
  'index-pattern': '8.0.0',
  lens: '8.6.0',
  visualization: '8.5.0',
  dashboard: '8.7.0',
};

export const DATA_VIEW_IDS = {
  events: 'recsys-dv-events',
  recommendations: 'recsys-dv-recommendations',
  models: 'recsys-dv-models',
  /** the same `models` index without a time field: "which model is live" must not depend on the time picker */
  modelsRegistry: 'recsys-dv-models-registry',
} as const;

export const DASHBOARD_IDS = {
  events: 'recsys-dashboard-events',
  recommendations: 'recsys-dashboard-recommendations',
  models: 'recsys-dashboard-models',
} as const;

const RECORDS = '___records___';
const EMPTY_QUERY: KibanaQuery = { query: '', language: 'kuery' };

function so<A>(
  type: string,
  id: string,
  attributes: A,
  references: SavedObjectReference[] = [],
): SavedObject<A> {
  return {
    id,
    type,
    attributes,
    references,
    coreMigrationVersion: CORE_MIGRATION_VERSION,
    typeMigrationVersion: TYPE_MIGRATION[type],
    managed: false,
  };
}

function dataView(
  id: string,
  name: string,
  title: string,
  timeFieldName?: string,
): SavedObject<DataViewAttributes> {
  return so<DataViewAttributes>('index-pattern', id, {
    title,
    name,
    ...(timeFieldName ? { timeFieldName } : {}),
    allowNoIndex: true,
    fields: '[]',
    fieldFormatMap: '{}',
    runtimeFieldMap: '{}',
    sourceFilters: '[]',
    typeMeta: '{}',
  });
}

// ---------------------------------------------------------------- Lens columns

function dateHistogram(field: string, interval: string): LensColumn {
  return {
    label: field,
    dataType: 'date',
    operationType: 'date_histogram',
    sourceField: field,
    isBucketed: true,
    scale: 'interval',
    params: { interval, includeEmptyRows: true, dropPartials: false },
  };
}

function terms(
  field: string,
  size: number,
  order: { column: string } | 'alphabetical',
  direction: 'asc' | 'desc',
  label?: string,
  accuracyMode = false,
): LensColumn {
  return {
    label: label ?? `Top ${size} values of ${field}`,
    ...(label ? { customLabel: true } : {}),
    dataType: 'string',
    operationType: 'terms',
    sourceField: field,
    isBucketed: true,
    scale: 'ordinal',
    params: {
      size,
      orderBy:
        order === 'alphabetical'
          ? { type: 'alphabetical', fallback: false }
          : { type: 'column', columnId: order.column },
      orderDirection: direction,
      otherBucket: false,
      missingBucket: false,
      parentFormat: { id: 'terms' },
      include: [],
      exclude: [],
      includeIsRegex: false,
      excludeIsRegex: false,
      ...(accuracyMode ? { accuracyMode: true } : {}),
    },
  };
}

function count(
  label: string,
  opts: { timeScale?: 'm'; filter?: string; emptyAsNull?: boolean } = {},
): LensColumn {
  return {
    label,
    customLabel: true,
    dataType: 'number',
    operationType: 'count',
    isBucketed: false,
    scale: 'ratio',
    sourceField: RECORDS,
    ...(opts.filter !== undefined ? { filter: { query: opts.filter, language: 'kuery' } } : {}),
    ...(opts.timeScale ? { timeScale: opts.timeScale } : {}),
    params: { emptyAsNull: opts.emptyAsNull ?? true },
  };
}

// Lens' own operation types (x-pack/plugins/lens …/operations/definitions/metrics.tsx): the mean is
// `average`, not the ES aggregation name `avg`; a column with `avg` fails to load in Kibana
function metric(
  op: 'unique_count' | 'max' | 'min' | 'sum' | 'average',
  field: string,
  label: string,
  dataType = 'number',
): LensColumn {
  return {
    label,
    customLabel: true,
    dataType,
    operationType: op,
    isBucketed: false,
    scale: 'ratio',
    sourceField: field,
    // Lens keeps emptyAsNull (0 → no value) only for the operations that count: count, unique_count, sum
    params: op === 'unique_count' ? { emptyAsNull: true } : {},
  };
}

/**
 * A Lens formula `count(kql='<num>') / count(kql='<den>')` as Lens stores it: the visible formula
 * column plus its hidden helper columns X0 (numerator), X1 (denominator) and X2 (the math node).
 */
function countRatioFormula(
  id: string,
  label: string,
  numerator: string,
  denominator: string,
): Record<string, LensColumn> {
  const formula = `count(kql='${numerator}') / count(kql='${denominator}')`;
  const part = `Part of ${label}`;
  const helper = (kql: string): LensColumn => ({ ...count(part, { filter: kql, emptyAsNull: false }) });
  return {
    [`${id}X0`]: helper(numerator),
    [`${id}X1`]: helper(denominator),
    [`${id}X2`]: {
      label: part,
      customLabel: true,
      dataType: 'number',
      operationType: 'math',
      isBucketed: false,
      scale: 'ratio',
      params: {
        tinymathAst: {
          type: 'function',
          name: 'divide',
          args: [`${id}X0`, `${id}X1`],
          location: { min: 0, max: formula.length },
          text: formula,
        },
      },
      references: [`${id}X0`, `${id}X1`],
    },
    [id]: {
      label,
      customLabel: true,
      dataType: 'number',
      operationType: 'formula',
      isBucketed: false,
      scale: 'ratio',
      params: { formula, isFormulaBroken: false, format: { id: 'percent', params: { decimals: 1 } } },
      references: [`${id}X2`],
    },
  };
}

// ---------------------------------------------------------------- Lens saved objects

interface LensSpec {
  id: string;
  title: string;
  description: string;
  dataViewId: string;
  visualizationType: 'lnsXY' | 'lnsDatatable' | 'lnsMetric';
  query?: string;
  /** in columnOrder: buckets outermost first, as Lens nests them */
  columns: Record<string, LensColumn>;
  visualization: (layerId: string) => Record<string, unknown>;
}

function lens(spec: LensSpec): SavedObject<LensAttributes> {
  const layerId = 'layer1';
  const layer: LensLayer = {
    columnOrder: Object.keys(spec.columns),
    columns: spec.columns,
    incompleteColumns: {},
  };
  return so<LensAttributes>(
    'lens',
    spec.id,
    {
      title: spec.title,
      description: spec.description,
      visualizationType: spec.visualizationType,
      state: {
        datasourceStates: { formBased: { layers: { [layerId]: layer } } },
        visualization: spec.visualization(layerId),
        query: spec.query ? { query: spec.query, language: 'kuery' } : EMPTY_QUERY,
        filters: [],
        internalReferences: [],
        adHocDataViews: {},
      },
    },
    [{ type: 'index-pattern', id: spec.dataViewId, name: `indexpattern-datasource-layer-${layerId}` }],
  );
}

function xy(
  seriesType: 'bar' | 'bar_stacked' | 'bar_horizontal' | 'line' | 'area',
  x: string,
  accessors: string[],
  split?: string,
): (layerId: string) => Record<string, unknown> {
  return (layerId) => ({
    legend: { isVisible: true, position: 'right' },
    valueLabels: 'hide',
    fittingFunction: 'None',
    preferredSeriesType: seriesType,
    axisTitlesVisibilitySettings: { x: true, yLeft: true, yRight: true },
    layers: [
      {
        layerId,
        layerType: 'data',
        seriesType,
        xAccessor: x,
        accessors,
        ...(split ? { splitAccessor: split } : {}),
      },
    ],
  });
}

function datatable(columnIds: string[]): (layerId: string) => Record<string, unknown> {
  return (layerId) => ({
    layerId,
    layerType: 'data',
    columns: columnIds.map((columnId) => ({ columnId, isTransposed: false })),
  });
}

function metricViz(accessor: string): (layerId: string) => Record<string, unknown> {
  return (layerId) => ({ layerId, layerType: 'data', metricAccessor: accessor });
}

function markdown(id: string, title: string, text: string): SavedObject {
  return so('visualization', id, {
    title,
    description: '',
    version: 1,
    uiStateJSON: '{}',
    visState: JSON.stringify({
      title,
      type: 'markdown',
      aggs: [],
      params: { fontSize: 12, openLinksInNewTab: false, markdown: text },
    }),
    kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: EMPTY_QUERY, filter: [] }) },
  });
}

// ---------------------------------------------------------------- dashboards

interface PanelSpec {
  ref: SavedObject;
  x: number;
  y: number;
  w: number;
  h: number;
}

function dashboard(
  id: string,
  title: string,
  description: string,
  timeFrom: string,
  panels: PanelSpec[],
): SavedObject<DashboardAttributes> {
  const stored: DashboardPanel[] = panels.map((p, i) => {
    const panelIndex = `p${i + 1}`;
    return {
      version: PANEL_VERSION,
      type: p.ref.type,
      gridData: { x: p.x, y: p.y, w: p.w, h: p.h, i: panelIndex },
      panelIndex,
      embeddableConfig: { enhancements: {} },
      panelRefName: `panel_${panelIndex}`,
    };
  });
  return so<DashboardAttributes>(
    'dashboard',
    id,
    {
      title,
      description,
      version: 1,
      timeRestore: true,
      timeFrom,
      timeTo: 'now',
      refreshInterval: { pause: false, value: 60_000 },
      panelsJSON: JSON.stringify(stored),
      optionsJSON: JSON.stringify({
        useMargins: true,
        syncColors: false,
        syncCursor: true,
        syncTooltips: false,
        hidePanelTitles: false,
      }),
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: EMPTY_QUERY, filter: [] }) },
    },
    stored.map((p, i) => ({
      type: panels[i]!.ref.type,
      id: panels[i]!.ref.id,
      name: `${p.panelIndex}:${p.panelRefName}`,
    })),
  );
}

export const DLQ_MARKDOWN = [
  '**Dead-lettered events are not in Elasticsearch.** Messages the ingest rejects go to the Kafka topic',
  '`events.dlq` (with the reason in the headers) and are counted by the ingest process, not stored in `events-*`.',
  '',
  'Where to see them:',
  '- Prometheus: `recsys_ingest_dead_lettered_total{topic, reason}` on the ingest `/metrics` endpoint',
  '  (port `INGEST_METRICS_PORT`, default 9464), e.g. `sum by (reason) (rate(recsys_ingest_dead_lettered_total[5m]))`.',
  '- Kafka: read the topic `events.dlq` (prefixed with `RECSYS_TOPIC_PREFIX`).',
  '',
  '"Events stored per day" next to this panel is the accepted side of the same stream.',
].join('\n');

/** Every saved object of kibana/recsys.ndjson, data views first, dashboards last. */
export function buildSavedObjects(): SavedObject[] {
  const dv = DATA_VIEW_IDS;
  const dataViews = [
    dataView(dv.events, 'Recsys events', 'events-*', 'timestamp'),
    dataView(dv.recommendations, 'Recsys recommendations', 'recommendations-*', 'timestamp'),
    dataView(dv.models, 'Recsys models', 'models', 'created_at'),
    dataView(dv.modelsRegistry, 'Recsys models (all time)', 'models'),
  ];

  // ---- Events
  const eventsPerMinute = lens({
    id: 'recsys-lens-events-per-minute',
    title: 'Events per minute by event_type',
    description: 'Rate of stored events (count normalised to per minute) over time, split by event_type.',
    dataViewId: dv.events,
    visualizationType: 'lnsXY',
    columns: {
      'col-type': terms('event_type', 10, { column: 'col-count' }, 'desc', 'event_type'),
      'col-time': dateHistogram('timestamp', 'auto'),
      'col-count': count('Events per minute', { timeScale: 'm' }),
    },
    visualization: xy('bar_stacked', 'col-time', ['col-count'], 'col-type'),
  });
  const topItems = lens({
    id: 'recsys-lens-events-top-items',
    title: 'Top items',
    description:
      'The 20 item_ids with the most events of any type (terms in accuracy mode, so counts are exact across daily indices).',
    dataViewId: dv.events,
    visualizationType: 'lnsXY',
    columns: {
      // accuracy mode (shard_size ≥ 1000): one shard per day, and a top-N across days is otherwise approximate
      'col-item': terms('item_id', 20, { column: 'col-count' }, 'desc', 'item_id', true),
      'col-count': count('Events'),
    },
    visualization: xy('bar_horizontal', 'col-item', ['col-count']),
  });
  const activeUsers = lens({
    id: 'recsys-lens-events-active-users',
    title: 'Active users',
    description:
      'Distinct user_id with at least one event per interval (cardinality, approximate above ~3000).',
    dataViewId: dv.events,
    visualizationType: 'lnsXY',
    columns: {
      'col-time': dateHistogram('timestamp', 'auto'),
      'col-users': metric('unique_count', 'user_id', 'Active users'),
    },
    visualization: xy('line', 'col-time', ['col-users']),
  });
  const eventsPerDay = lens({
    id: 'recsys-lens-events-per-day',
    title: 'Events stored per day',
    description:
      'Events accepted into the event store per UTC day (dead letters are counted in Prometheus, see the note).',
    dataViewId: dv.events,
    visualizationType: 'lnsXY',
    columns: {
      'col-day': dateHistogram('timestamp', '1d'),
      'col-count': count('Events'),
    },
    visualization: xy('bar', 'col-day', ['col-count']),
  });
  const dlqNote = markdown(
    'recsys-vis-events-dead-letters',
    'Dead letters (where to find them)',
    DLQ_MARKDOWN,
  );

  // ---- Recommendations
  const servedPerMinute = lens({
    id: 'recsys-lens-recs-served-per-minute',
    title: 'Recommendation lists served per minute',
    description: 'kind:served records (one per API response) normalised to per minute.',
    dataViewId: dv.recommendations,
    visualizationType: 'lnsXY',
    query: 'kind:served',
    columns: {
      'col-time': dateHistogram('timestamp', 'auto'),
      'col-count': count('Served per minute', { timeScale: 'm' }),
    },
    visualization: xy('line', 'col-time', ['col-count']),
  });
  // Unattributed actions (ids we did not sign) carry no model_id, and records from before signed
  // ids may say model_id "unknown": neither gets a slot in a rate
  const attributedOnly = 'not model_id:unknown and not kind:unattributed';
  const ctr = lens({
    id: 'recsys-lens-recs-ctr-by-model',
    title: 'Click-through rate per model',
    description:
      'count(kind:click) / count(kind:served) per model_id: attributed clicks (click and page_view events carrying a recommendation_id we signed) per served list.',
    dataViewId: dv.recommendations,
    visualizationType: 'lnsXY',
    query: attributedOnly,
    columns: {
      'col-model': terms('model_id', 10, 'alphabetical', 'desc', 'model_id'),
      ...countRatioFormula('col-ctr', 'Click-through rate', 'kind:click', 'kind:served'),
    },
    visualization: xy('bar', 'col-model', ['col-ctr']),
  });
  const conversion = lens({
    id: 'recsys-lens-recs-conversion-by-model',
    title: 'Conversion rate per model',
    description:
      'count(kind:conversion) / count(kind:served) per model_id: attributed add_to_cart and purchase events per served list.',
    dataViewId: dv.recommendations,
    visualizationType: 'lnsXY',
    query: attributedOnly,
    columns: {
      'col-model': terms('model_id', 10, 'alphabetical', 'desc', 'model_id'),
      ...countRatioFormula('col-conv', 'Conversion rate', 'kind:conversion', 'kind:served'),
    },
    visualization: xy('bar', 'col-model', ['col-conv']),
  });
  const ctrAtPosition = lens({
    id: 'recsys-lens-recs-ctr-at-position',
    title: 'Click-through rate at position',
    description:
      'CTR@p per model: clicks on the item at position p / served lists that showed a position p. A served record lists the positions it showed (position = 1..count), ' +
      'a click the one clicked, so terms(position) puts both in the same bucket; clicks on items that were not in the list (position null) are in no bucket.',
    dataViewId: dv.recommendations,
    visualizationType: 'lnsXY',
    query: attributedOnly,
    columns: {
      'col-model': terms('model_id', 10, 'alphabetical', 'desc', 'model_id'),
      'col-position': { ...terms('position', 10, 'alphabetical', 'asc', 'position'), dataType: 'number' },
      ...countRatioFormula('col-ctrp', 'Click-through rate', 'kind:click', 'kind:served'),
    },
    visualization: xy('bar', 'col-position', ['col-ctrp'], 'col-model'),
  });

  const ctrByArm = lens({
    id: 'recsys-lens-recs-ctr-by-arm',
    title: 'Click-through rate per experiment arm',
    description:
      'count(kind:click) / count(kind:served) per A/B experiment (experiment_id, newest first) and arm (control = the live model, treatment = the candidate). ' +
      'Records outside an experiment have no arm and are left out. GET /v1/experiments/<id> gives the same rates per clicked list with 95 % intervals and a significance test.',
    dataViewId: dv.recommendations,
    visualizationType: 'lnsXY',
    columns: {
      'col-experiment': terms('experiment_id', 5, 'alphabetical', 'desc', 'experiment_id'),
      'col-arm': terms('arm', 2, 'alphabetical', 'asc', 'arm'),
      ...countRatioFormula('col-arm-ctr', 'Click-through rate', 'kind:click', 'kind:served'),
    },
    visualization: xy('bar', 'col-experiment', ['col-arm-ctr'], 'col-arm'),
  });
  const coverage = lens({
    id: 'recsys-lens-recs-catalogue-coverage',
    title: 'Catalogue coverage: distinct items served',
    description:
      'Distinct item_ids that appeared in at least one served list (field `items` of kind:served records) in the time range. ' +
      'Divide by the catalogue size (document count of item-metadata) for the coverage fraction; cardinality is exact below 3000 distinct items, approximate above.',
    dataViewId: dv.recommendations,
    visualizationType: 'lnsMetric',
    query: 'kind:served',
    columns: {
      'col-items': metric('unique_count', 'items', 'Distinct items served'),
    },
    visualization: metricViz('col-items'),
  });

  // ---- Models
  const ndcg = lens({
    id: 'recsys-lens-models-ndcg',
    title: 'nDCG@10 per training run',
    description:
      'Holdout nDCG@k of each trained model (metrics.ndcg) against the popularity baseline (baseline_metrics.ndcg), by created_at.',
    dataViewId: dv.models,
    visualizationType: 'lnsXY',
    columns: {
      'col-time': dateHistogram('created_at', 'auto'),
      'col-ndcg': metric('max', 'metrics.ndcg', 'nDCG@10 (model)'),
      'col-baseline': metric('max', 'baseline_metrics.ndcg', 'nDCG@10 (popularity baseline)'),
    },
    visualization: xy('line', 'col-time', ['col-ndcg', 'col-baseline']),
  });
  const trainSeconds = lens({
    id: 'recsys-lens-models-train-seconds',
    title: 'Training time per run',
    description: 'timings.train_seconds (ALS fit only) of each training run, by created_at.',
    dataViewId: dv.models,
    visualizationType: 'lnsXY',
    columns: {
      'col-time': dateHistogram('created_at', 'auto'),
      'col-train': metric('max', 'timings.train_seconds', 'Training seconds'),
    },
    visualization: xy('bar', 'col-time', ['col-train']),
  });
  const liveModel = lens({
    id: 'recsys-lens-models-live',
    title: 'Live model',
    description:
      'Registry documents with status:live, whatever their age. The items alias is what actually serves; the registry mirrors it after each deploy/rollback.',
    dataViewId: dv.modelsRegistry,
    visualizationType: 'lnsDatatable',
    query: 'status:live',
    columns: {
      'col-model': terms('model_id', 5, 'alphabetical', 'desc', 'model_id'),
      'col-status': terms('status', 3, { column: 'col-live-at' }, 'desc', 'status'),
      'col-live-at': metric('max', 'live_at', 'Live since', 'date'),
      'col-ndcg': metric('max', 'metrics.ndcg', 'nDCG@10'),
    },
    visualization: datatable(['col-model', 'col-status', 'col-live-at', 'col-ndcg']),
  });

  const dashboards = [
    dashboard(
      DASHBOARD_IDS.events,
      'Recsys — Events',
      'The event store (events-*): volume by type, top items, active users, daily totals.',
      'now-24h',
      [
        { ref: eventsPerMinute, x: 0, y: 0, w: 32, h: 15 },
        { ref: activeUsers, x: 32, y: 0, w: 16, h: 15 },
        { ref: topItems, x: 0, y: 15, w: 24, h: 18 },
        { ref: eventsPerDay, x: 24, y: 15, w: 24, h: 10 },
        { ref: dlqNote, x: 24, y: 25, w: 24, h: 8 },
      ],
    ),
    dashboard(
      DASHBOARD_IDS.recommendations,
      'Recsys — Recommendations',
      'Served lists and attributed clicks/conversions (recommendations-*), per model.',
      'now-24h',
      [
        { ref: servedPerMinute, x: 0, y: 0, w: 36, h: 12 },
        { ref: coverage, x: 36, y: 0, w: 12, h: 12 },
        { ref: ctr, x: 0, y: 12, w: 24, h: 15 },
        { ref: conversion, x: 24, y: 12, w: 24, h: 15 },
        { ref: ctrAtPosition, x: 0, y: 27, w: 48, h: 15 },
        { ref: ctrByArm, x: 0, y: 42, w: 48, h: 15 },
      ],
    ),
    dashboard(
      DASHBOARD_IDS.models,
      'Recsys — Models',
      'The model registry (models): quality and training time per run, and the live model.',
      'now-30d',
      [
        { ref: liveModel, x: 0, y: 0, w: 48, h: 8 },
        { ref: ndcg, x: 0, y: 8, w: 24, h: 15 },
        { ref: trainSeconds, x: 24, y: 8, w: 24, h: 15 },
      ],
    ),
  ];

  return [
    ...dataViews,
    eventsPerMinute,
    topItems,
    activeUsers,
    eventsPerDay,
    dlqNote,
    servedPerMinute,
    ctr,
    conversion,
    ctrAtPosition,
    ctrByArm,
    coverage,
    ndcg,
    trainSeconds,
    liveModel,
    ...dashboards,
  ] as SavedObject[];
}
