// Kibana saved objects for the recsys indices: load (with the index prefix), import, and the
// Elasticsearch requests behind every visualisation.
export { loadSavedObjects, parseNdjson, toNdjson, withIndexPrefix, dashboardPanels, SAVED_OBJECTS_FILE, type ResolvedPanel } from './saved-objects.ts';
export { importSavedObjects, importUrl, KibanaImportError, type ImportOptions, type ImportSummary } from './import.ts';
export { visualisationQueries, tabulate, LensTranslationError, type VisualisationQuery, type QueryOptions, type TimeRange, type Row } from './lens-query.ts';
export { kqlToQuery, KqlError } from './kql.ts';
export { buildSavedObjects, DATA_VIEW_IDS, DASHBOARD_IDS } from './objects.ts';
export type { SavedObject, SavedObjectReference } from './types.ts';
