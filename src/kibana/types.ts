// The subset of Kibana's saved-object and Lens shapes this project writes and reads.
// Shapes follow what Kibana 8.9+ exports (Lens `formBased` datasource, by-reference dashboard
// panels with `panelRefName`); Kibana 9.x imports them and migrates forward.

export interface SavedObjectReference {
  type: string;
  id: string;
  name: string;
}

export interface SavedObject<A = unknown> {
  id: string;
  type: string;
  attributes: A;
  references: SavedObjectReference[];
  coreMigrationVersion?: string;
  typeMigrationVersion?: string;
  managed?: boolean;
}

export interface DataViewAttributes {
  title: string;
  name?: string;
  timeFieldName?: string;
  [key: string]: unknown;
}

export interface KibanaQuery {
  query: string;
  language: 'kuery' | 'lucene';
}

interface ColumnBase {
  label: string;
  dataType: string;
  operationType: string;
  isBucketed: boolean;
  scale?: 'ratio' | 'ordinal' | 'interval';
  sourceField?: string;
  customLabel?: boolean;
  /** per-column KQL filter ("filter by" in the Lens editor, or `kql=` in a formula) */
  filter?: KibanaQuery;
  /** normalise by unit: the value is converted to a rate per s/m/h/d */
  timeScale?: 's' | 'm' | 'h' | 'd';
  references?: string[];
  params?: Record<string, unknown>;
}

export interface TermsColumn extends ColumnBase {
  operationType: 'terms';
  sourceField: string;
  params: {
    size: number;
    orderBy: { type: 'column'; columnId: string } | { type: 'alphabetical'; fallback?: boolean };
    orderDirection: 'asc' | 'desc';
    otherBucket: boolean;
    missingBucket: boolean;
    [key: string]: unknown;
  };
}

export interface DateHistogramColumn extends ColumnBase {
  operationType: 'date_histogram';
  sourceField: string;
  params: { interval: string; includeEmptyRows?: boolean; dropPartials?: boolean };
}

export interface TinymathFunction {
  type: 'function';
  name: string;
  args: TinymathNode[];
  location?: { min: number; max: number };
  text?: string;
}
export type TinymathNode = TinymathFunction | string | number;

export type LensColumn = ColumnBase;

export interface LensLayer {
  columnOrder: string[];
  columns: Record<string, LensColumn>;
  incompleteColumns?: Record<string, unknown>;
}

export interface LensState {
  datasourceStates: { formBased: { layers: Record<string, LensLayer> } };
  visualization: Record<string, unknown>;
  query: KibanaQuery;
  filters: unknown[];
  internalReferences?: unknown[];
  adHocDataViews?: Record<string, unknown>;
}

export interface LensAttributes {
  title: string;
  description?: string;
  visualizationType: 'lnsXY' | 'lnsDatatable' | 'lnsMetric' | string;
  state: LensState;
}

export interface DashboardPanel {
  version?: string;
  type: string;
  gridData: { x: number; y: number; w: number; h: number; i: string };
  panelIndex: string;
  embeddableConfig: Record<string, unknown>;
  panelRefName?: string;
  title?: string;
}

export interface DashboardAttributes {
  title: string;
  description?: string;
  panelsJSON: string;
  optionsJSON?: string;
  timeRestore?: boolean;
  timeFrom?: string;
  timeTo?: string;
  [key: string]: unknown;
}
