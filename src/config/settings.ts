// The flat list of settings read off the two schema trees: one owner for how a setting is named
// (ES_URL, [als] factors), where it sits in Config, and how its type and default read in docs.
import { Kind, OptionalKind, type TSchema } from '@sinclair/typebox';
import { stringify as stringifyToml } from 'smol-toml';
import { DEPLOYMENT, SETTINGS, type SettingAnnotations } from './schema.ts';

export type SettingSchema = TSchema & SettingAnnotations & { description?: string; default?: unknown };

export interface Setting {
  /** 'env': a deployment environment variable; 'file': a key of the settings file */
  kind: 'env' | 'file';
  /** where the value sits in Config */
  path: string[];
  /** how messages and docs name it: ES_URL, or [als] factors */
  name: string;
  schema: SettingSchema;
  /** env: the variable */
  env?: string;
  /** file: the TOML table (als, serving.filter_fields) and key (factors) */
  section?: string;
  key?: string;
  /** env: the optional object this variable belongs to, set all together or not at all */
  group?: string[];
}

/** A file section: its Config path, TOML name and description. */
export interface Section {
  path: string[];
  name: string;
  description: string;
}

/** camelCase property → snake_case TOML key. */
export const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const isObject = (s: TSchema): boolean => s[Kind] === 'Object';
const isOptional = (s: TSchema): boolean => s[OptionalKind] === 'Optional';
export const isRecord = (s: TSchema): boolean => s[Kind] === 'Record';

function properties(s: TSchema): Array<[string, TSchema]> {
  return Object.entries((s as unknown as { properties: Record<string, TSchema> }).properties);
}

function walkEnv(node: TSchema, path: string[], group: string[] | undefined, out: Setting[]): void {
  for (const [prop, child] of properties(node)) {
    const p = [...path, prop];
    const s = child as SettingSchema;
    if (isObject(child)) walkEnv(child, p, isOptional(child) ? p : group, out);
    else {
      if (!s.env) throw new Error(`deployment setting ${p.join('.')} has no env name`);
      out.push({ kind: 'env', path: p, name: s.env, env: s.env, schema: s, ...(group ? { group } : {}) });
    }
  }
}

function walkFile(node: TSchema, path: string[], out: Setting[], sections: Section[]): void {
  for (const [prop, child] of properties(node)) {
    const p = [...path, prop];
    if (isObject(child)) {
      sections.push({
        path: p,
        name: p.map(snake).join('.'),
        description: (child as SettingSchema).description ?? '',
      });
      walkFile(child, p, out, sections);
    } else {
      const section = path.map(snake).join('.');
      const key = snake(prop);
      out.push({
        kind: 'file',
        path: p,
        name: isRecord(child) ? `[${section}.${key}]` : `[${section}] ${key}`,
        schema: child as SettingSchema,
        section,
        key,
      });
    }
  }
}

export const ENV_SETTINGS: Setting[] = [];
walkEnv(DEPLOYMENT, [], undefined, ENV_SETTINGS);

export const FILE_SETTINGS: Setting[] = [];
export const SECTIONS: Section[] = [];
walkFile(SETTINGS, [], FILE_SETTINGS, SECTIONS);

/** Where a file setting lives, as an instruction: "factors under [als]" or "the [events.weights] table". */
export function fileLocation(s: Setting): string {
  return isRecord(s.schema) ? `the ${s.name} table` : `${s.key} under [${s.section}]`;
}

/** Every retired environment variable and the message that says where its setting lives now. */
export function retiredEnvVariables(): Map<string, string> {
  const where = 'in the config file (RECSYS_CONFIG, default ./recsys.toml)';
  const out = new Map<string, string>();
  for (const s of FILE_SETTINGS) {
    if (s.schema.retiredEnv) out.set(s.schema.retiredEnv, `is retired: set ${fileLocation(s)} ${where}`);
    for (const [name, why] of Object.entries(s.schema.replacedEnv ?? {}))
      out.set(name, `is retired: ${why}; unset it (see ${fileLocation(s)} ${where})`);
  }
  return out;
}

/** The setting at a Config path, or the one the path goes into (an array item, a table entry). */
export function settingAt(list: Setting[], path: string[]): Setting | undefined {
  let best: Setting | undefined;
  for (const s of list)
    if (s.path.length <= path.length && s.path.every((p, i) => p === path[i]))
      if (!best || s.path.length > best.path.length) best = s;
  return best;
}

/** A setting's type as docs and messages say it: integer 2–4096, "auto" | true | false, … */
export function describeType(schema: SettingSchema): string {
  const s = schema as Record<string, unknown>;
  if (Array.isArray(s['enum'])) return (s['enum'] as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
  if (Array.isArray(s['anyOf']))
    return (s['anyOf'] as Array<Record<string, unknown>>)
      .map((a) =>
        'const' in a
          ? JSON.stringify(a['const'])
          : a['type'] === 'boolean'
            ? 'true | false'
            : String(a['type']),
      )
      .join(' | ');
  if (isRecord(schema)) return 'table of number ≥ 0';
  if (s['type'] === 'array') {
    const items = describeType(s['items'] as SettingSchema);
    return `list of ${items}`;
  }
  const bounds: string[] = [];
  if (s['minimum'] !== undefined) bounds.push(`≥ ${String(s['minimum'])}`);
  if (s['exclusiveMinimum'] !== undefined) bounds.push(`> ${String(s['exclusiveMinimum'])}`);
  if (s['maximum'] !== undefined) bounds.push(`≤ ${String(s['maximum'])}`);
  if (s['minLength'] !== undefined && Number(s['minLength']) > 1)
    bounds.push(`at least ${String(s['minLength'])} characters`);
  if (s['format'] === 'date') return 'date, "YYYY-MM-DD"';
  if (s['format'] === 'uri') return 'URL';
  return [String(s['type']), ...bounds].join(', ');
}

/** The default as docs show it (a computed default by its description). */
export function describeDefault(s: Setting): string {
  if (s.schema.docDefault) return s.schema.docDefault;
  const d = s.schema.default;
  if (d === undefined) return 'unset';
  if (s.kind === 'env') return Array.isArray(d) ? d.join(',') || '(empty)' : String(d) || '(empty)';
  return tomlValue(d);
}

/** A value written as TOML (inline): strings quoted, lists bracketed, tables inline. */
export function tomlValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v && typeof v === 'object')
    return `{ ${Object.entries(v)
      .map(([k, x]) => `${k} = ${tomlValue(x)}`)
      .join(', ')} }`;
  return String(v);
}

/** Settings in Config shape (camelCase) as the file's TOML: for child processes given RECSYS_CONFIG. */
export function settingsToml(settings: Record<string, unknown>): string {
  const toFile = (obj: Record<string, unknown>, at: string[]): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (v === undefined) continue;
      const p = [...at, k];
      const section = SECTIONS.some((s) => s.path.length === p.length && s.path.every((x, i) => x === p[i]));
      out[snake(k)] = section ? toFile(v as Record<string, unknown>, p) : v;
    }
    return out;
  };
  return stringifyToml(toFile(settings, []));
}
