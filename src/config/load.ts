// Sources → one validated Config, each value with where it came from. Precedence, per setting:
// deployment settings: environment, else default; file settings: overrides (code), else the
// settings file, else default. A file setting's old environment variable is refused, not ignored.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parse as parseToml, TomlDate, TomlError } from 'smol-toml';
import { createAjv } from './ajv.ts';
import { PROJECT_ROOT } from './root.ts';
import {
  ANNOTATION_KEYWORDS,
  DEPLOYMENT,
  DEV_RECOMMENDATION_ID_SECRET,
  SEARCHED_ALS,
  SETTINGS,
  type Config,
  type Deployment,
  type Settings,
  type SettingsOverrides,
} from './schema.ts';
import {
  ENV_SETTINGS,
  FILE_SETTINGS,
  SECTIONS,
  describeType,
  isRecord,
  retiredEnvVariables,
  settingAt,
  snake,
  type Setting,
} from './settings.ts';

export class ConfigError extends Error {
  constructor(
    /** the setting: an environment variable or `[section] key` */
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

export type Source = 'default' | 'file' | 'env' | 'override';

export interface ConfigSources {
  /** environment variables (default process.env) */
  env?: Record<string, string | undefined>;
  /** the settings file: a path, null for none, unset to look it up (RECSYS_CONFIG, else ./recsys.toml) */
  file?: string | null;
  /** file settings given in code; they win over the file */
  overrides?: SettingsOverrides;
  /** where ./recsys.toml is looked up (default process.cwd()) */
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  /** by setting name (ES_URL, [als] factors) */
  sources: Record<string, Source>;
  /** the settings file read, if any */
  file: string | undefined;
}

export const DEFAULT_CONFIG_FILE = 'recsys.toml';

const ajv = createAjv({ coerceTypes: true, allErrors: false });
ajv.addVocabulary([...ANNOTATION_KEYWORDS]);
// environment values are strings: ajv coerces "3" and "true"; file values keep their TOML types
const validateDeployment = ajv.compile(DEPLOYMENT);
const strictAjv = createAjv({ allErrors: false });
strictAjv.addVocabulary([...ANNOTATION_KEYWORDS]);
const validateSettings = strictAjv.compile(SETTINGS);

const SOURCE_KEYS = new Set(['env', 'file', 'overrides', 'cwd']);

/** Reads and validates every source; throws a one-line ConfigError naming the first bad setting. */
export function loadSettings(sources: ConfigSources = {}): LoadedConfig {
  for (const key of Object.keys(sources))
    if (!SOURCE_KEYS.has(key))
      throw new Error(
        `loadConfig: unknown source "${key}" (env, file, overrides, cwd); settings go in overrides`,
      );
  const env = sources.env ?? process.env;
  const sourceOf: Record<string, Source> = {};

  for (const [name, message] of retiredEnvVariables())
    if (env[name] !== undefined && env[name] !== '') throw new ConfigError(name, message);

  const deployment = readEnv(env, sourceOf);
  const file = findFile(sources, deployment.configFile);
  const fromFile = file ? readFile(file) : {};
  const settings = mergeSettings(fromFile, sources.overrides ?? {}, sourceOf);
  return { config: derive({ ...deployment, configFile: file }, settings, sourceOf), sources: sourceOf, file };
}

/** The validated configuration from the environment and the settings file (see loadSettings). */
export function loadConfig(sources: ConfigSources = {}): Config {
  return loadSettings(sources).config;
}

function readEnv(env: Record<string, string | undefined>, sourceOf: Record<string, Source>): Deployment {
  const out: Record<string, unknown> = {};
  const raw: Record<string, string> = {};
  for (const s of ENV_SETTINGS) {
    const value = env[s.env!];
    const isArray = (s.schema as { type?: string }).type === 'array';
    // an empty variable is unset, unless empty is a value of its own (no prefix, no keys)
    const set = value !== undefined && (value !== '' || isArray || s.schema.default === '');
    if (set) {
      raw[s.env!] = value;
      sourceOf[s.name] = 'env';
      setAt(out, s.path, isArray ? (value === '' ? [] : value.split(',').map((x) => x.trim())) : value);
    } else {
      sourceOf[s.name] = 'default';
      if (s.schema.default !== undefined && !s.group) setAt(out, s.path, structuredClone(s.schema.default));
      else if (!s.group) ensureParent(out, s.path);
    }
  }
  if (!validateDeployment(out)) throw errorFor(validateDeployment, ENV_SETTINGS, (s) => raw[s.env!]);
  return out as Deployment;
}

function findFile(sources: ConfigSources, fromEnv: string | undefined): string | undefined {
  if (sources.file === null) return undefined;
  const cwd = sources.cwd ?? process.cwd();
  if (sources.file !== undefined) {
    const file = path.resolve(cwd, sources.file);
    if (!existsSync(file)) throw new ConfigError(file, 'does not exist (the settings file asked for)');
    return file;
  }
  if (fromEnv !== undefined) {
    const file = path.resolve(cwd, fromEnv);
    if (!existsSync(file)) throw new ConfigError('RECSYS_CONFIG', `names ${file}, which does not exist`);
    return file;
  }
  const local = path.join(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(local) ? local : undefined;
}

/** The TOML file as a Config-shaped object; unknown sections and keys are errors naming them. */
function readFile(file: string): Record<string, unknown> {
  let table: Record<string, unknown>;
  try {
    table = parseToml(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof TomlError)
      throw new ConfigError(
        file,
        `is not valid TOML: line ${e.line}, column ${e.column}: ${e.message.split('\n')[0]}`,
      );
    throw e;
  }
  return fromTable(table, [], file, snake);
}

/** Keys of a settings object (TOML table or overrides) mapped onto the schema, refusing unknown ones. */
function fromTable(
  table: Record<string, unknown>,
  at: string[],
  where: string,
  keyOf: (prop: string) => string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const sections = SECTIONS.filter(
    (s) => s.path.length === at.length + 1 && at.every((p, i) => s.path[i] === p),
  );
  const settings = FILE_SETTINGS.filter(
    (s) => s.path.length === at.length + 1 && at.every((p, i) => s.path[i] === p),
  );
  const here = at.map(snake).join('.');
  for (const [key, value] of Object.entries(table)) {
    const section = sections.find((s) => keyOf(s.path.at(-1)!) === key);
    const setting = settings.find((s) => keyOf(s.path.at(-1)!) === key);
    if (section) {
      if (!isTable(value)) throw new ConfigError(`[${section.name}]`, `must be a table (in ${where})`);
      out[section.path.at(-1)!] = fromTable(value, section.path, where, keyOf);
    } else if (setting) {
      out[setting.path.at(-1)!] = fromToml(value, setting);
    } else {
      const known = [...sections.map((s) => s.path.at(-1)!), ...settings.map((s) => s.path.at(-1)!)].map(
        keyOf,
      );
      const name = here ? `[${here}] ${key}` : `[${key}]`;
      const what = here ? 'is not a setting' : 'is not a section';
      const guess = closest(key, known);
      const deploymentHint = !here && ENV_SETTINGS.some((s) => keyOf(s.path[0]!) === key);
      throw new ConfigError(
        name,
        `${what} (in ${where})${guess ? `; did you mean ${guess}?` : ''}${
          deploymentHint ? '; deployment settings are environment variables (docs/configuration.md)' : ''
        }${!guess && !deploymentHint ? `; known: ${known.join(', ')}` : ''}`,
      );
    }
  }
  return out;
}

function fromToml(value: unknown, s: Setting): unknown {
  // a TOML local date (earliest = 2020-01-01) means the same as the string
  if (value instanceof TomlDate && (s.schema as { format?: string }).format === 'date')
    return value.toISOString().slice(0, 10);
  return value;
}

const isTable = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** Defaults, then the file, then overrides, per setting; tables (event weights) merge by entry. */
function mergeSettings(
  fromFile: Record<string, unknown>,
  overrides: SettingsOverrides,
  sourceOf: Record<string, Source>,
): Settings {
  const over = fromTable(overrides as Record<string, unknown>, [], 'overrides', (p) => p);
  const out: Record<string, unknown> = {};
  for (const s of FILE_SETTINGS) {
    const f = getAt(fromFile, s.path);
    const o = getAt(over, s.path);
    sourceOf[s.name] = o !== undefined ? 'override' : f !== undefined ? 'file' : 'default';
    const value = isRecord(s.schema)
      ? { ...(s.schema.default as object), ...(f as object), ...(o as object) }
      : (o ?? f ?? structuredClone(s.schema.default));
    setAt(out, s.path, value);
  }
  if (!validateSettings(out)) throw errorFor(validateSettings, FILE_SETTINGS, (_s, at) => getAt(out, at));
  return out as Settings;
}

function derive(deployment: Deployment, settings: Settings, sourceOf: Record<string, Source>): Config {
  checkConnectionFiles(deployment);
  const localDir = path.resolve(deployment.localDir ?? path.join(PROJECT_ROOT, '.local'));
  const secret = deployment.recommendationIds.secret;
  return {
    ...deployment,
    ...settings,
    es: { ...deployment.es, local: !deployment.es.url && !deployment.es.cloudId },
    kafka: {
      ...deployment.kafka,
      // a CA or a client certificate only means something over TLS
      ssl: deployment.kafka.ssl || Boolean(deployment.kafka.caFile ?? deployment.kafka.clientCert),
      local: !deployment.kafka.brokers,
    },
    localDir,
    modelDir: path.resolve(deployment.modelDir ?? path.join(localDir, 'models')),
    recommendationIds: {
      ...deployment.recommendationIds,
      secretIsDefault: secret === DEV_RECOMMENDATION_ID_SECRET,
    },
    events: { ...settings.events, earliestMs: Date.parse(`${settings.events.earliest}T00:00:00Z`) },
    tune: {
      ...settings.tune,
      pinned: SEARCHED_ALS.filter((p) => sourceOf[`[als] ${p}`] !== 'default'),
    },
  };
}

/** Connection settings that contradict each other, or name files that are not there. */
function checkConnectionFiles(d: Deployment): void {
  if (d.es.url && d.es.cloudId)
    throw new ConfigError('ES_CLOUD_ID', 'and ES_URL are both set: a cloud id already names the cluster');
  if (d.es.url?.startsWith('http:') && (d.es.caFile ?? d.es.caFingerprint ?? d.es.clientCert))
    throw new ConfigError(
      'ES_URL',
      `is plain http:// (${d.es.url}) while TLS settings are given (ES_CA_FILE, ES_CA_FINGERPRINT or a client certificate): use https://`,
    );
  const files: Array<[string, string | undefined]> = [
    ['ES_CA_FILE', d.es.caFile],
    ['ES_CLIENT_CERT_FILE', d.es.clientCert?.certFile],
    ['ES_CLIENT_KEY_FILE', d.es.clientCert?.keyFile],
    ['KAFKA_CA_FILE', d.kafka.caFile],
    ['KAFKA_CLIENT_CERT_FILE', d.kafka.clientCert?.certFile],
    ['KAFKA_CLIENT_KEY_FILE', d.kafka.clientCert?.keyFile],
  ];
  for (const [name, file] of files)
    if (file !== undefined && !existsSync(file))
      throw new ConfigError(name, `names ${file}, which does not exist`);
}

/** The first validation error as one line naming the setting and the value it got. */
function errorFor(
  validate: ValidateFunction,
  list: Setting[],
  got: (s: Setting, at: string[]) => unknown,
): ConfigError {
  const e = validate.errors![0]!;
  const at = e.instancePath.split('/').slice(1);
  const missing =
    e.keyword === 'required' ? String((e.params as { missingProperty: string }).missingProperty) : '';
  const s = settingAt(list, missing ? [...at, missing] : at);
  if (!s) return new ConfigError(at.join('.') || 'configuration', e.message ?? 'is invalid');
  if (missing && s.group) {
    const others = list
      .filter((o) => o.group?.join('.') === s.group!.join('.') && o !== s)
      .map((o) => o.name);
    return new ConfigError(s.name, `must be set together with ${others.join(' and ')}`);
  }
  const entry = at.slice(s.path.length);
  const name = isRecord(s.schema) && entry.length ? `${s.name.slice(0, -1)}] ${entry.join('.')}` : s.name;
  return new ConfigError(name, `${message(e, s)} (got ${JSON.stringify(got(s, at))})`);
}

function message(e: ErrorObject, s: Setting): string {
  if (e.keyword === 'enum' || e.keyword === 'anyOf' || e.keyword === 'const' || e.keyword === 'type') {
    const leaf = e.instancePath.split('/').length - 1 > s.path.length;
    const items = (s.schema as { items?: Setting['schema'] }).items;
    if (!leaf || !items) {
      const t = describeType(s.schema);
      if (t.includes('|')) return `must be one of ${t}`;
    } else if (describeType(items).includes('|')) return `must list only ${describeType(items)}`;
  }
  return e.message ?? 'is invalid';
}

function getAt(obj: Record<string, unknown>, p: string[]): unknown {
  let cur: unknown = obj;
  for (const k of p) {
    if (!isTable(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function ensureParent(obj: Record<string, unknown>, p: string[]): Record<string, unknown> {
  let cur = obj;
  for (const k of p.slice(0, -1)) cur = (cur[k] ??= {}) as Record<string, unknown>;
  return cur;
}

function setAt(obj: Record<string, unknown>, p: string[], value: unknown): void {
  ensureParent(obj, p)[p.at(-1)!] = value;
}

/** The known key nearest to a mistyped one, when it is close enough to be the intent. */
function closest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(key, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return bestD <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
