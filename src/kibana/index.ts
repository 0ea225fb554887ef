// Kibana saved objects for the recsys indices: load (with the index prefix) and import.
// The Lens/KQL emulator that derives each visualisation's Elasticsearch request is test support:
// test/support/kibana/.
export {
  loadSavedObjects,
  parseNdjson,
  toNdjson,
  withIndexPrefix,
  dashboardPanels,
  SAVED_OBJECTS_FILE,
  type ResolvedPanel,
} from './saved-objects.ts';
export {
  importSavedObjects,
  importUrl,
  KibanaImportError,
  type ImportOptions,
  type ImportSummary,
} from './import.ts';
export { buildSavedObjects, DATA_VIEW_IDS, DASHBOARD_IDS } from './objects.ts';
export type { SavedObject, SavedObjectReference } from './types.ts';
