// docs/configuration.md and recsys.example.toml, rendered from the schema (npm run docs:config);
// a unit test fails when the committed files and the schema disagree.
import {
  ENV_SETTINGS,
  FILE_SETTINGS,
  SECTIONS,
  describeDefault,
  describeType,
  isRecord,
  tomlValue,
  type Section,
  type Setting,
} from './settings.ts';

export const CONFIG_DOC_PATH = 'docs/configuration.md';
export const EXAMPLE_CONFIG_PATH = 'recsys.example.toml';

const GENERATED = 'Generated from src/config/schema.ts by `npm run docs:config`; do not edit by hand.';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string): string => `\`${s}\``;

const inSection = (sec: Section) => (s: Setting) =>
  s.path.length === sec.path.length + 1 && sec.path.every((p, i) => s.path[i] === p);

/** A literal default in code quotes (a cron expression is no emphasis); a described one as written. */
function envDefault(s: Setting): string {
  const d = describeDefault(s);
  return s.schema.docDefault || s.schema.default === undefined || d === '(empty)' ? d : code(d);
}

export function renderConfigDoc(): string {
  const out: string[] = [
    '# Configuration',
    '',
    `<!-- ${GENERATED} -->`,
    '',
    'Seed reads two kinds of configuration:',
    '',
    '- **Deployment settings** are environment variables: where and as whom the system runs —',
    '  connections and credentials, TLS, ports and hosts, index/topic prefixes, local directories, the',
    '  training schedule, the log level, which consumer groups `/health` expects, topic partitions. They',
    '  differ per host and per environment, so each process reads them from its environment.',
    '- **Settings** are how the system behaves — event rules, serving, ALS, the tuner, training, the',
    '  gate, model retention, what a deploy builds. They live in one optional TOML file, one table per',
    '  section, and every one has a default: without a file the system runs on the defaults.',
    '',
    'The settings file is found this way: `RECSYS_CONFIG` if it is set (a path; a missing file is an',
    'error), else `recsys.toml` in the working directory if it exists, else none.',
    '[`recsys.example.toml`](../recsys.example.toml) lists every setting, commented out at its default:',
    'copy it to `recsys.toml` and uncomment what you change. An unknown section or key in the file is an',
    'error naming it, so a typo never silently leaves a default in place.',
    '',
    'Precedence: a deployment setting comes from the environment, else its default. A file setting comes',
    'from code (tests, benchmarks, per-run CLI flags), else the file, else its default. The ALS parameters',
    'the tuner searches (`factors`, `regularization`, `alpha`, `weighting` under `[als]`) are _pinned_',
    'when set in the file or in code: the tuner never overrides them.',
    '',
    '`recsys config` prints every effective setting, its value and where it came from (default, file,',
    'env, override), secrets masked; `recsys config --example` prints the example file.',
    '',
    'The settings used to be environment variables too. Each old name (the "Formerly" column) is',
    'refused when set, with a message saying where the setting lives now; so are `HYBRID_TEXT_BOOST`',
    'and `HYBRID_VECTOR_BOOST`, retired earlier.',
    '',
    '## Deployment settings (environment variables)',
    '',
    '| Variable | Type | Default | Description |',
    '| --- | --- | --- | --- |',
  ];
  for (const s of ENV_SETTINGS) {
    const t = describeType(s.schema);
    const type = (s.schema as { type?: string }).type === 'array' ? `comma-separated ${t.slice(8)}` : t;
    out.push(
      `| ${code(s.name)} | ${cell(type)} | ${cell(envDefault(s))} | ${cell(s.schema.description ?? '')} |`,
    );
  }
  out.push('', '## Settings file', '');
  for (const sec of SECTIONS) {
    const settings = FILE_SETTINGS.filter(inSection(sec));
    const plain = settings.filter((s) => !isRecord(s.schema));
    out.push(`### \`[${sec.name}]\``, '', sec.description, '');
    if (plain.length) {
      out.push('| Key | Type | Default | Description | Formerly |', '| --- | --- | --- | --- | --- |');
      for (const s of plain)
        out.push(
          `| ${code(s.key!)} | ${cell(describeType(s.schema))} | ${code(cell(describeDefault(s)))} | ${cell(
            s.schema.description ?? '',
          )} | ${s.schema.retiredEnv ? code(s.schema.retiredEnv) : ''} |`,
        );
      out.push('');
    }
    for (const s of settings.filter((x) => isRecord(x.schema))) {
      out.push(
        `### \`${s.name}\``,
        '',
        `${s.schema.description ?? ''}. Formerly ${code(s.schema.retiredEnv ?? '')} (JSON).`,
        '',
        '| Event type | Default weight |',
        '| --- | --- |',
        ...Object.entries(s.schema.default as Record<string, number>).map(
          ([k, v]) => `| ${code(k)} | ${v} |`,
        ),
        '',
      );
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** Comment lines of at most `width` characters. */
function comment(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '#';
  for (const word of text.split(/\s+/)) {
    if (line.length + 1 + word.length > width && line !== '#') {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

export function renderExampleConfig(): string {
  const out: string[] = [
    '# Seed settings: how the system behaves (algorithms and policies). Deployment settings (hosts,',
    '# credentials, ports, prefixes, directories) are environment variables instead.',
    '# Copy this file to recsys.toml in the working directory, or point RECSYS_CONFIG at it, and',
    '# uncomment what you change: each commented-out line shows the default. Unknown keys are errors.',
    `# ${GENERATED}`,
    '# Every key is explained in docs/configuration.md.',
  ];
  for (const sec of SECTIONS) {
    const settings = FILE_SETTINGS.filter(inSection(sec));
    const plain = settings.filter((s) => !isRecord(s.schema));
    // a table's plain keys come before any sub-table header, or uncommenting would move them
    out.push('', `[${sec.name}]`, ...comment(sec.description));
    for (const s of plain)
      out.push(
        '',
        ...comment(`${s.schema.description ?? ''} (${describeType(s.schema)})`),
        `# ${s.key} = ${tomlValue(s.schema.default)}`,
      );
    for (const s of settings.filter((x) => isRecord(x.schema))) {
      out.push('', `[${sec.name}.${s.key}]`, ...comment(s.schema.description ?? ''));
      for (const [k, v] of Object.entries(s.schema.default as Record<string, unknown>))
        out.push(`# ${k} = ${tomlValue(v)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
