import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULT_EVENT_WEIGHTS,
  DEV_RECOMMENDATION_ID_SECRET,
  PROJECT_ROOT,
  loadConfig,
  loadSettings,
  recommendationIdSecretWarning,
  settingsToml,
  type ConfigSources,
} from '../../src/config/index.ts';
import {
  CONFIG_DOC_PATH,
  EXAMPLE_CONFIG_PATH,
  renderConfigDoc,
  renderExampleConfig,
} from '../../src/config/docs.ts';
import { renderEffectiveConfig } from '../../src/config/explain.ts';
import { ENV_SETTINGS, FILE_SETTINGS, SECTIONS } from '../../src/config/settings.ts';

/** Only what a test gives: no process environment, no settings file unless named. */
const load = (sources: ConfigSources = {}) => loadConfig({ env: {}, file: null, ...sources });
const env = (vars: Record<string, string>) => load({ env: vars });

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function settingsFile(text: string, name = 'recsys.toml'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'recsys-config-'));
  dirs.push(dir);
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

/** Every variable that held an algorithm or policy setting before they moved to the file. */
const RETIRED = [
  'DEFAULT_MODE',
  'API_FILTER_KEYWORD_FIELDS',
  'API_FILTER_BOOLEAN_FIELDS',
  'API_FILTER_RANGE_FIELDS',
  'ANN_CANDIDATES_FACTOR',
  'ANN_MIN_CANDIDATES',
  'ANN_EXACT_MAX_SCORED',
  'HYBRID_RRF_K',
  'POPULAR_CACHE_SECONDS',
  'SEEN_EVENTS_LIMIT',
  'EVENTS_BUCKET',
  'EVENTS_EARLIEST',
  'EVENTS_RETENTION_DAYS',
  'EVENTS_DEDUP_LEDGER',
  'EVENT_WEIGHTS',
  'ALLOW_UNKNOWN_EVENT_TYPES',
  'INGEST_BATCH_SIZE',
  'ALS_FACTORS',
  'ALS_REGULARIZATION',
  'ALS_ALPHA',
  'ALS_ITERATIONS',
  'ALS_WEIGHTING',
  'ALS_SOLVER',
  'ALS_THREADS',
  'TUNE_MODE',
  'TUNE_MAX_AGE_DAYS',
  'TUNE_GROWTH_FACTOR',
  'TUNE_BUDGET_FACTOR',
  'TRAIN_READ_SLICES',
  'TRAIN_WINDOW_DAYS',
  'TRAIN_HALF_LIFE_DAYS',
  'TRAIN_MIN_USER_INTERACTIONS',
  'TRAIN_MIN_ITEM_INTERACTIONS',
  'GATE_TOLERANCE',
  'MODELS_KEEP',
  'DEPLOY_LSH',
  'DEPLOY_SIMILAR_ANN',
  'DEPLOY_MIPS_ANN',
];

describe('config: sources', () => {
  it('has defaults for a local setup, with no settings file', () => {
    const { config: c, sources, file } = loadSettings({ env: {}, file: null });
    expect(file).toBeUndefined();
    expect(c.es.local).toBe(true);
    expect(c.kafka.local).toBe(true);
    expect(c.als.factors).toBe(64);
    expect(c.serving.hybridRrfK).toBe(60);
    expect(c.serving.filterFields).toEqual({
      keyword: ['category', 'tags', 'brand'],
      boolean: ['available'],
      range: ['price'],
    });
    expect(c.deploy).toEqual({ lsh: false, similarAnn: 'auto', mipsAnn: 'auto', leaseSeconds: 300 });
    expect(c.events.weights).toEqual(DEFAULT_EVENT_WEIGHTS);
    expect(c.events.earliestMs).toBe(0);
    expect(c.tune.pinned).toEqual([]);
    expect(c.localDir).toBe(path.join(PROJECT_ROOT, '.local'));
    expect(c.modelDir).toBe(path.join(PROJECT_ROOT, '.local', 'models'));
    expect(new Set(Object.values(sources))).toEqual(new Set(['default']));
  });

  it('a file value wins over the default, an override over the file; tables merge by entry', () => {
    const file = settingsFile(
      [
        '[als]',
        'factors = 32',
        'alpha = 3.5',
        '[events]',
        'earliest = 2020-01-01',
        '[events.weights]',
        'purchase = 8',
        'share = 2',
        '[serving.filter_fields]',
        'range = ["price", "weight_kg"]',
        '[deploy]',
        'similar_ann = false',
      ].join('\n'),
    );
    const fromFile = loadSettings({ env: {}, file });
    expect(fromFile.file).toBe(file);
    expect(fromFile.config.als.factors).toBe(32);
    expect(fromFile.config.als.alpha).toBe(3.5);
    expect(fromFile.config.als.iterations).toBe(15);
    expect(fromFile.config.events.earliestMs).toBe(Date.UTC(2020, 0, 1));
    expect(fromFile.config.events.weights).toEqual({ ...DEFAULT_EVENT_WEIGHTS, purchase: 8, share: 2 });
    expect(fromFile.config.serving.filterFields.range).toEqual(['price', 'weight_kg']);
    expect(fromFile.config.deploy.similarAnn).toBe(false);
    expect(fromFile.sources['[als] factors']).toBe('file');
    expect(fromFile.sources['[als] iterations']).toBe('default');

    const over = loadSettings({
      env: {},
      file,
      overrides: { als: { factors: 8 }, events: { weights: { share: 4 } } },
    });
    expect(over.config.als.factors).toBe(8);
    expect(over.config.als.alpha).toBe(3.5);
    expect(over.config.events.weights).toEqual({ ...DEFAULT_EVENT_WEIGHTS, purchase: 8, share: 4 });
    expect(over.sources['[als] factors']).toBe('override');
    expect(over.sources['[als] alpha']).toBe('file');
  });

  it('finds the file: RECSYS_CONFIG (missing = an error naming it), else ./recsys.toml, else none', () => {
    const file = settingsFile('[models]\nkeep = 5\n', 'elsewhere.toml');
    expect(loadConfig({ env: { RECSYS_CONFIG: file } }).models.keep).toBe(5);
    expect(errorOf(() => loadConfig({ env: { RECSYS_CONFIG: `${file}.missing` } })).message).toMatch(
      /^Invalid configuration: RECSYS_CONFIG names .*elsewhere\.toml\.missing, which does not exist$/,
    );
    const local = settingsFile('[models]\nkeep = 7\n');
    expect(loadSettings({ env: {}, cwd: path.dirname(local) })).toMatchObject({
      file: local,
      config: { models: { keep: 7 } },
    });
    expect(loadSettings({ env: {}, cwd: path.dirname(file) }).file).toBeUndefined();
  });

  it('deployment settings come from the environment, coerced and validated, naming the variable', () => {
    const c = env({
      KAFKA_SSL: 'true',
      PORT: '9000',
      KAFKA_BROKERS: 'k1:9092,k2:9092',
      API_KEYS: 'a-key,b-key',
      HEALTH_CONSUMER_GROUPS: '',
      RECSYS_INDEX_PREFIX: '',
      ES_URL: 'https://es.example:9243',
    });
    expect(c.kafka).toMatchObject({ ssl: true, brokers: ['k1:9092', 'k2:9092'], local: false });
    expect(c.api).toMatchObject({ port: 9000, apiKeys: ['a-key', 'b-key'], healthConsumerGroups: [] });
    expect(c.indexPrefix).toBe('');
    expect(c.es.local).toBe(false);
    expect(errorOf(() => env({ PORT: 'eighty' })).message).toBe(
      'Invalid configuration: PORT must be integer (got "eighty")',
    );
    expect(() => env({ RECSYS_INDEX_PREFIX: 'Upper-' })).toThrowError(/RECSYS_INDEX_PREFIX/);
    expect(() => env({ HEALTH_CONSUMER_GROUPS: 'ingest,nope' })).toThrowError(
      /HEALTH_CONSUMER_GROUPS must list only/,
    );
    expect(errorOf(() => env({ KAFKA_SASL_MECHANISM: 'plain' })).message).toMatch(
      /KAFKA_SASL_USERNAME must be set together with KAFKA_SASL_MECHANISM and KAFKA_SASL_PASSWORD/,
    );
    expect(
      env({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }).kafka.sasl,
    ).toEqual({ mechanism: 'plain', username: 'u', password: 'p' });
  });

  it('every environment variable is a deployment setting', () => {
    const names = ENV_SETTINGS.map((s) => s.name);
    expect(names.filter((n) => RETIRED.includes(n))).toEqual([]);
    expect(names).toHaveLength(27);
  });
});

describe('config: errors name the setting', () => {
  it('an unknown key or section in the file is an error naming it', () => {
    const typo = settingsFile('[als]\nfactor = 32\n');
    expect(errorOf(() => load({ file: typo })).message).toBe(
      `Invalid configuration: [als] factor is not a setting (in ${typo}); did you mean factors?`,
    );
    expect(() => load({ file: settingsFile('[alss]\nfactors = 32\n') })).toThrowError(
      /^Invalid configuration: \[alss\] is not a section .*did you mean als\?/,
    );
    expect(() => load({ file: settingsFile('[es]\nurl = "http://x"\n') })).toThrowError(
      /\[es\] is not a section.*deployment settings are environment variables/,
    );
    expect(() => load({ file: settingsFile('[serving.filter_fields]\ncolour = ["red"]\n') })).toThrowError(
      /\[serving\.filter_fields\] colour is not a setting/,
    );
    expect(() => load({ file: settingsFile('als = 3\n') })).toThrowError(/\[als\] must be a table/);
    expect(() => load({ file: settingsFile('[als\nfactors = 3\n') })).toThrowError(
      /is not valid TOML: line 1/,
    );
  });

  it('a bad value in the file or in overrides names [section] key', () => {
    expect(errorOf(() => load({ file: settingsFile('[als]\nfactors = 1\n') })).message).toBe(
      'Invalid configuration: [als] factors must be >= 2 (got 1)',
    );
    expect(() => load({ file: settingsFile('[als]\nfactors = "32"\n') })).toThrowError(
      /\[als\] factors must be integer/,
    );
    expect(() => load({ file: settingsFile('[deploy]\nsimilar_ann = "yes"\n') })).toThrowError(
      /\[deploy\] similar_ann must be one of "auto" \| true \| false \(got "yes"\)/,
    );
    expect(() => load({ file: settingsFile('[events.weights]\npurchase = -1\n') })).toThrowError(
      /\[events\.weights\] purchase must be >= 0 \(got -1\)/,
    );
    expect(() => load({ overrides: { serving: { hybridRrfK: -1 } } })).toThrowError(
      /\[serving\] hybrid_rrf_k/,
    );
    expect(() => load({ overrides: { als: { factor: 3 } as never } })).toThrowError(
      /\[als\] factor is not a setting \(in overrides\)/,
    );
  });

  it('every retired variable fails, naming where its setting lives now', () => {
    for (const name of RETIRED) {
      const e = errorOf(() => env({ [name]: '1' }));
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toMatch(
        new RegExp(`^Invalid configuration: ${name} is retired: set .* in the config file`),
      );
    }
    expect(errorOf(() => env({ ALS_FACTORS: '8' })).message).toBe(
      'Invalid configuration: ALS_FACTORS is retired: set factors under [als] in the config file (RECSYS_CONFIG, default ./recsys.toml)',
    );
    expect(errorOf(() => env({ EVENT_WEIGHTS: '{}' })).message).toMatch(/set the \[events\.weights\] table/);
    for (const name of ['HYBRID_TEXT_BOOST', 'HYBRID_VECTOR_BOOST'])
      expect(errorOf(() => env({ [name]: '2' })).message).toMatch(
        new RegExp(`${name} is retired: .*rank.*hybrid_rrf_k under \\[serving\\]`),
      );
    // an empty variable is no setting at all
    expect(env({ ALS_FACTORS: '' }).als.factors).toBe(64);
  });
});

describe('config: pinned ALS parameters', () => {
  it('the searched parameters set in the file or in overrides are pinned; defaults and unsearched ones are not', () => {
    expect(load().tune.pinned).toEqual([]);
    const file = settingsFile('[als]\nalpha = 3\nsolver = "cholesky"\niterations = 4\n');
    expect(load({ file }).tune.pinned).toEqual(['alpha']);
    expect(load({ file, overrides: { als: { weighting: 'log', factors: 64 } } }).tune.pinned).toEqual([
      'factors',
      'alpha',
      'weighting',
    ]);
  });
});

describe('config: the recommendation-id secret', () => {
  it('a documented default, at least 16 characters, a warning when the default meets a remote cluster', () => {
    expect(load().recommendationIds).toEqual({
      secret: DEV_RECOMMENDATION_ID_SECRET,
      secretIsDefault: true,
      previousSecrets: [],
    });
    expect(() => env({ RECOMMENDATION_ID_SECRET: 'short' })).toThrowError(/RECOMMENDATION_ID_SECRET/);
    expect(recommendationIdSecretWarning(load())).toBeUndefined();
    expect(recommendationIdSecretWarning(env({ ES_URL: 'http://127.0.0.1:9200' }))).toBeUndefined();
    expect(recommendationIdSecretWarning(env({ ES_URL: 'https://es.example.com:9243' }))).toMatch(
      /RECOMMENDATION_ID_SECRET.*forge/,
    );
    const own = env({
      ES_URL: 'https://es.example.com:9243',
      RECOMMENDATION_ID_SECRET: 'a-secret-of-our-own-123',
    });
    expect(own.recommendationIds.secretIsDefault).toBe(false);
    expect(recommendationIdSecretWarning(own)).toBeUndefined();
    expect(
      env({ RECOMMENDATION_ID_PREVIOUS_SECRETS: 'rotated-out-secret-1,rotated-out-secret-2' })
        .recommendationIds.previousSecrets,
    ).toEqual(['rotated-out-secret-1', 'rotated-out-secret-2']);
    expect(() => env({ RECOMMENDATION_ID_PREVIOUS_SECRETS: 'long-enough-secret-1,short' })).toThrowError(
      /RECOMMENDATION_ID_PREVIOUS_SECRETS/,
    );
  });
});

describe('recsys config', () => {
  it('prints every setting with its value and source, secrets masked', () => {
    const file = settingsFile('[als]\nfactors = 32\n');
    const text = renderEffectiveConfig(
      loadSettings({
        env: {
          ES_URL: 'https://elastic:es-pass-123@es.example:9243',
          ES_PASSWORD: 'es-pass-123',
          API_KEYS: 'admin-key-1,admin-key-2',
          RECOMMENDATION_ID_SECRET: 'a-secret-of-our-own-123',
          KAFKA_SASL_MECHANISM: 'plain',
          KAFKA_SASL_USERNAME: 'svc',
          KAFKA_SASL_PASSWORD: 'kafka-pass-456',
          PORT: '9000',
        },
        file,
        overrides: { als: { iterations: 4 } },
      }),
    );
    for (const secret of ['es-pass-123', 'admin-key-1', 'a-secret-of-our-own-123', 'kafka-pass-456'])
      expect(text).not.toContain(secret);
    expect(text).toContain(`settings file: ${file}`);
    expect(text).toMatch(/ES_URL +https:\/\/elastic:\*\*\*@es\.example:9243\/ +env/);
    expect(text).toMatch(/ES_PASSWORD +\*\*\* +env/);
    expect(text).toMatch(/API_KEYS +\*\*\* \(2\) +env/);
    expect(text).toMatch(/PORT +9000 +env/);
    expect(text).toMatch(/HOST +127\.0\.0\.1 +default/);
    expect(text).toMatch(/\[als\]\n(.*\n)*? +factors +32 +file\n/);
    expect(text).toMatch(/ +iterations +4 +override\n/);
    expect(text).toMatch(/ +alpha +10 +default\n/);
    for (const s of [...ENV_SETTINGS, ...FILE_SETTINGS])
      expect(text).toContain(s.kind === 'env' || s.name.endsWith(']') ? s.name : s.key!);
  });
});

describe('config: generated docs', () => {
  const doc = readFileSync(path.join(PROJECT_ROOT, CONFIG_DOC_PATH), 'utf8');
  const example = readFileSync(path.join(PROJECT_ROOT, EXAMPLE_CONFIG_PATH), 'utf8');

  it('docs/configuration.md and recsys.example.toml are what the schema renders (npm run docs:config)', () => {
    expect(doc).toBe(renderConfigDoc());
    expect(example).toBe(renderExampleConfig());
  });

  it('the doc names every setting, and every setting it names exists', () => {
    for (const s of ENV_SETTINGS) expect(doc).toContain(`| \`${s.name}\` |`);
    const documented: string[] = [];
    let section = '';
    for (const line of doc.split('\n')) {
      const h = /^### `\[(.+)\]`$/.exec(line);
      if (h) section = h[1]!;
      const row = /^\| `([a-z_]+)` \|/.exec(line);
      if (row && section && !section.endsWith('weights')) documented.push(`[${section}] ${row[1]}`);
    }
    const plain = FILE_SETTINGS.filter((s) => !s.name.endsWith(']')).map((s) => s.name);
    expect(documented.sort()).toEqual([...plain].sort());
    for (const sec of SECTIONS) expect(doc).toContain(`### \`[${sec.name}]\``);
    expect(doc).toContain('### `[events.weights]`');
  });

  it('the example file holds every setting commented out at its default, and as written loads the defaults', () => {
    const uncommented = example.replace(/^# ([a-z_]+ = .*)$/gm, '$1');
    const parsed = parseToml(uncommented);
    const file = settingsFile(uncommented);
    const { config, sources } = loadSettings({ env: {}, file });
    // set in the file, the searched ALS parameters are pinned; everything else is the default
    const defaults = load();
    expect(config).toEqual({
      ...defaults,
      configFile: file,
      tune: { ...defaults.tune, pinned: ['factors', 'regularization', 'alpha', 'weighting'] },
    });
    expect(Object.values(sources).filter((s) => s === 'file')).toHaveLength(FILE_SETTINGS.length);
    expect(Object.keys(parsed).sort()).toEqual(
      SECTIONS.filter((s) => s.path.length === 1)
        .map((s) => s.name)
        .sort(),
    );
    // as shipped (all commented) it is a valid, empty settings file
    const shipped = settingsFile(example);
    expect(loadSettings({ env: {}, file: shipped }).config).toEqual({ ...load(), configFile: shipped });
  });

  it('settingsToml writes overrides as a file that loads back to the same settings', () => {
    const overrides = { als: { factors: 8 }, serving: { filterFields: { range: ['price', 'weight_kg'] } } };
    const file = settingsFile(settingsToml(overrides));
    expect(load({ file })).toEqual({ ...load({ overrides }), configFile: file });
  });
});
