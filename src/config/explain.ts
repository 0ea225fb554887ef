// `recsys config`: every effective setting, its value and where it came from, secrets masked.
import type { LoadedConfig } from './load.ts';
import { ENV_SETTINGS, FILE_SETTINGS, isRecord, tomlValue, type Setting } from './settings.ts';

const MASK = '***';

function valueAt(config: object, path: string[]): unknown {
  let cur: unknown = config;
  for (const k of path) cur = (cur as Record<string, unknown> | undefined)?.[k];
  return cur;
}

/** A URL with the password of its user info masked. */
function maskUrl(v: string): string {
  try {
    const u = new URL(v);
    if (!u.password) return v;
    u.password = MASK;
    return u.toString();
  } catch {
    return v;
  }
}

function shown(s: Setting, v: unknown): string {
  if (v === undefined) return '(unset)';
  if (s.schema.secret) {
    if (Array.isArray(v)) return v.length ? `${MASK} (${v.length})` : '(empty)';
    return v === '' ? '(empty)' : MASK;
  }
  if (s.kind === 'env') {
    const text = Array.isArray(v) ? v.join(',') : String(v);
    if (text === '') return '(empty)';
    return (s.schema as { format?: string }).format === 'uri' ? maskUrl(text) : text;
  }
  return tomlValue(v);
}

export function renderEffectiveConfig(loaded: LoadedConfig): string {
  const { config, sources, file } = loaded;
  const rows: Array<[string, string, string]> = [];
  const lines: string[] = [
    `settings file: ${file ?? 'none (RECSYS_CONFIG unset and no ./recsys.toml): every file setting is its default'}`,
    '',
    'deployment (environment variables)',
  ];
  const table = (list: Array<[string, string, string]>) => {
    const w0 = Math.max(...list.map((r) => r[0].length));
    const w1 = Math.min(60, Math.max(...list.map((r) => r[1].length)));
    for (const [n, v, src] of list) lines.push(`  ${n.padEnd(w0)}  ${v.padEnd(w1)}  ${src}`);
  };
  for (const s of ENV_SETTINGS) {
    // the deployment tree holds the file actually read at configFile; the variable is what was set
    const v =
      s.env === 'RECSYS_CONFIG' ? (sources[s.name] === 'env' ? file : undefined) : valueAt(config, s.path);
    rows.push([s.name, shown(s, v), sources[s.name] ?? 'default']);
  }
  table(rows.splice(0));
  let section = '';
  for (const s of FILE_SETTINGS) {
    const v = valueAt(config, s.path);
    if (isRecord(s.schema)) {
      if (rows.length) table(rows.splice(0));
      lines.push('', s.name);
      const entries = Object.entries(v as Record<string, unknown>).map(([k, x]): [string, string, string] => [
        k,
        tomlValue(x),
        sources[s.name] ?? 'default',
      ]);
      table(entries);
      section = '';
      continue;
    }
    if (s.section !== section) {
      if (rows.length) table(rows.splice(0));
      section = s.section!;
      lines.push('', `[${section}]`);
    }
    rows.push([s.key!, shown(s, v), sources[s.name] ?? 'default']);
  }
  if (rows.length) table(rows);
  return `${lines.join('\n')}\n`;
}
