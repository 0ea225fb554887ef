import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../config/index.ts';
import type {
  DashboardAttributes,
  DashboardPanel,
  DataViewAttributes,
  SavedObject,
  SavedObjectReference,
} from './types.ts';

/** The importable file: data views, Lens visualisations, one markdown note, three dashboards. */
export const SAVED_OBJECTS_FILE = path.join(PROJECT_ROOT, 'kibana', 'recsys.ndjson');

/** One JSON object per non-empty line; throws with the line number on the first bad line. */
export function parseNdjson(text: string): SavedObject[] {
  const out: SavedObject[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`NDJSON line ${i + 1}: ${(e as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error(`NDJSON line ${i + 1}: not an object`);
    out.push(value as SavedObject);
  });
  return out;
}

export function toNdjson(objects: SavedObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
}

/**
 * Data views (index-pattern objects) with the index prefix put in front of their titles, so a
 * deployment with RECSYS_INDEX_PREFIX=acme- gets `acme-events-*`, `acme-models`, ... Ids stay the
 * same: import each prefix into its own Kibana space if several deployments share one Kibana.
 */
export function withIndexPrefix(objects: SavedObject[], prefix: string): SavedObject[] {
  if (!prefix) return objects;
  return objects.map((o) => {
    if (o.type !== 'index-pattern') return o;
    const attributes = o.attributes as DataViewAttributes;
    return { ...o, attributes: { ...attributes, title: `${prefix}${attributes.title}` } };
  });
}

/** Reads kibana/recsys.ndjson (or `file`) and applies the index prefix to the data views. */
export function loadSavedObjects(prefix = '', file = SAVED_OBJECTS_FILE): SavedObject[] {
  return withIndexPrefix(parseNdjson(readFileSync(file, 'utf8')), prefix);
}

export interface ResolvedPanel {
  dashboardId: string;
  panelIndex: string;
  /** the panel's embeddable type (lens, visualization, …) */
  type: string;
  /** the dashboard reference the panel points at (by-reference panels) */
  reference?: SavedObjectReference;
  /** the saved object that reference resolves to, when it is in `objects` */
  target?: SavedObject;
}

/** Every panel of every dashboard, with its by-reference target resolved the way Kibana injects it. */
export function dashboardPanels(objects: SavedObject[]): ResolvedPanel[] {
  const byKey = new Map(objects.map((o) => [`${o.type}:${o.id}`, o]));
  const out: ResolvedPanel[] = [];
  for (const d of objects) {
    if (d.type !== 'dashboard') continue;
    const panels = JSON.parse(
      (d.attributes as unknown as DashboardAttributes).panelsJSON,
    ) as DashboardPanel[];
    for (const p of panels) {
      // Kibana 8.x: reference name "<panelIndex>:<panelRefName>"; 7.x: just "<panelRefName>"
      const reference = p.panelRefName
        ? (d.references.find((r) => r.name === `${p.panelIndex}:${p.panelRefName}`) ??
          d.references.find((r) => r.name === p.panelRefName))
        : undefined;
      out.push({
        dashboardId: d.id,
        panelIndex: p.panelIndex,
        type: p.type,
        ...(reference ? { reference, target: byKey.get(`${reference.type}:${reference.id}`) } : {}),
      });
    }
  }
  return out;
}
