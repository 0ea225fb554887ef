import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ajvErrorField, createAjv } from './ajv.ts';

/** Repository root, used for the local infrastructure folder and bundled files. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DEFAULT_EVENT_WEIGHTS: Record<string, number> = {
  page_view: 1,
  click: 1,
  add_to_cart: 3,
  like: 3,
  purchase: 5,
  // weight of a rating event = its rating value (see ingest/weights.ts); 0 here is only a placeholder
  rating: 0,
};

export interface Config {
  es: { url?: string; username?: string; password?: string; apiKey?: string; local: boolean };
  kafka: {
    brokers?: string[];
    clientId: string;
    ssl: boolean;
    sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
    partitions: number;
    replicationFactor: number;
    local: boolean;
  };
  indexPrefix: string;
  topicPrefix: string;
  localDir: string;
  modelDir: string;
  api: {
    port: number;
    host: string;
    apiKeys: string[];
    defaultMode: 'exact' | 'ann' | 'lsh';
    filterFields: { keyword: string[]; boolean: string[]; range: string[] };
    annCandidatesFactor: number;
    annMinCandidates: number;
    annExactMaxScored: number;
    hybrid: { rrfK: number };
    popularCacheMs: number;
    seenEventsLimit: number;
    healthConsumerGroups: Array<'ingest' | 'recommendations' | 'online'>;
  };
  events: {
    weights: Record<string, number>;
    allowUnknownTypes: boolean;
    bucket: 'day' | 'week' | 'month' | 'year';
    earliestMs: number;
    retentionDays: number;
    dedupLedger: boolean;
  };
  ingest: { batchSize: number; metricsPort: number };
  /** signs recommendation ids (src/events/recommendation-id.ts); `secretIsDefault` = the documented development value */
  recommendationIds: { secret: string; secretIsDefault: boolean; previousSecrets: string[] };
  train: {
    schedule: string;
    factors: number;
    regularization: number;
    alpha: number;
    iterations: number;
    solver: 'cg' | 'cholesky';
    weighting: 'linear' | 'log' | 'bm25' | 'tfidf';
    threads: number;
    /** searched ALS parameters set explicitly in the environment: tuning never overrides them */
    pinned: Array<'factors' | 'regularization' | 'alpha' | 'weighting'>;
    tune: { mode: 'auto' | 'off' | 'always'; maxAgeDays: number; growthFactor: number; budgetFactor: number };
    windowDays: number;
    halfLifeDays: number;
    readSlices: number;
    minUserInteractions: number;
    minItemInteractions: number;
    gateTolerance: number;
    keepVersions: number;
    deployLsh: boolean;
    deploySimilarAnn: 'auto' | boolean;
    /** 'auto': built only when the sampled users' norm-bounded exact searches are too large (deploy/mips-graph.ts) */
    deployMipsAnn: 'auto' | boolean;
  };
  logLevel: string;
}

/** Public, documented: lets the demo and tests run; anyone can forge ids signed with it. */
export const DEV_RECOMMENDATION_ID_SECRET = 'recsys-development-only-recommendation-id-secret';

/** Every environment variable the system reads, with its schema and meaning (also used by the README). */
export const ENV_SPEC = {
  ES_URL: {
    type: 'string',
    format: 'uri',
    doc: 'External Elasticsearch; unset = local one on 127.0.0.1:9200',
  },
  ES_USERNAME: { type: 'string', doc: 'Basic-auth user for ES_URL' },
  ES_PASSWORD: { type: 'string', doc: 'Basic-auth password for ES_URL' },
  ES_API_KEY: { type: 'string', doc: 'API key for ES_URL (instead of user/password)' },
  KAFKA_BROKERS: {
    type: 'string',
    pattern: '^[^,\\s]+(,[^,\\s]+)*$',
    doc: 'External brokers host:port,...; unset = local 127.0.0.1:9092',
  },
  KAFKA_CLIENT_ID: { type: 'string', minLength: 1, default: 'seed-recsys', doc: 'Kafka client id' },
  KAFKA_SSL: { type: 'boolean', default: false, doc: 'Use TLS to the brokers' },
  KAFKA_SASL_MECHANISM: { enum: ['plain', 'scram-sha-256', 'scram-sha-512'], doc: 'SASL mechanism' },
  KAFKA_SASL_USERNAME: { type: 'string', doc: 'SASL user' },
  KAFKA_SASL_PASSWORD: { type: 'string', doc: 'SASL password' },
  KAFKA_PARTITIONS: {
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 3,
    doc: 'Partitions for topics created by setup',
  },
  KAFKA_REPLICATION_FACTOR: {
    type: 'integer',
    minimum: 1,
    maximum: 10,
    default: 1,
    doc: 'Replication factor for topics created by setup',
  },
  RECSYS_INDEX_PREFIX: {
    type: 'string',
    pattern: '^[a-z0-9][a-z0-9_.-]*$|^$',
    default: '',
    doc: 'Prefix of every index and alias name',
  },
  RECSYS_TOPIC_PREFIX: {
    type: 'string',
    pattern: '^[a-zA-Z0-9._-]*$',
    default: '',
    doc: 'Prefix of every Kafka topic and consumer group',
  },
  RECSYS_LOCAL_DIR: {
    type: 'string',
    minLength: 1,
    doc: 'Where local ES/Kafka are downloaded and keep data (default <repo>/.local)',
  },
  MODEL_DIR: {
    type: 'string',
    minLength: 1,
    doc: 'Where trained factors are kept for deploy/rollback (default <RECSYS_LOCAL_DIR>/models)',
  },
  PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 8080, doc: 'API port' },
  HOST: { type: 'string', default: '127.0.0.1', doc: 'API bind address' },
  API_KEYS: {
    type: 'string',
    default: '',
    doc: 'Comma-separated admin API keys (header x-api-key); empty = admin endpoints refuse everyone',
  },
  DEFAULT_MODE: {
    enum: ['exact', 'ann', 'lsh'],
    default: 'ann',
    doc: 'Scoring mode when a request names none',
  },
  API_FILTER_KEYWORD_FIELDS: {
    type: 'string',
    pattern: '^[A-Za-z][A-Za-z0-9_.]*(,[A-Za-z][A-Za-z0-9_.]*)*$',
    default: 'category,tags,brand',
    doc: 'Keyword item fields clients may filter on (any-of)',
  },
  API_FILTER_BOOLEAN_FIELDS: {
    type: 'string',
    pattern: '^([A-Za-z][A-Za-z0-9_.]*(,[A-Za-z][A-Za-z0-9_.]*)*)?$',
    default: 'available',
    doc: 'Boolean item fields clients may filter on',
  },
  API_FILTER_RANGE_FIELDS: {
    type: 'string',
    pattern: '^([A-Za-z][A-Za-z0-9_.]*(,[A-Za-z][A-Za-z0-9_.]*)*)?$',
    default: 'price',
    doc: 'Numeric item fields with <field>_min / <field>_max filters',
  },
  ANN_CANDIDATES_FACTOR: {
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 10,
    doc: 'ann: num_candidates = max(k × this, ANN_MIN_CANDIDATES)',
  },
  ANN_MIN_CANDIDATES: {
    type: 'integer',
    minimum: 1,
    maximum: 10000,
    default: 100,
    doc: 'ann: lower bound of num_candidates',
  },
  ANN_EXACT_MAX_SCORED: {
    type: 'integer',
    minimum: 0,
    maximum: 10000,
    default: 10000,
    doc: 'ann without filters: answered by exact search when the norm bound leaves at most this many items (0: never)',
  },
  HYBRID_RRF_K: {
    type: 'number',
    minimum: 0,
    maximum: 100000,
    default: 60,
    doc: 'With q: the constant k of reciprocal rank fusion, score = Σ 1/(k + rank) over the knn and the text list (larger = flatter)',
  },
  POPULAR_CACHE_SECONDS: {
    type: 'number',
    minimum: 0,
    default: 30,
    doc: 'Popular-items cache per filter set',
  },
  SEEN_EVENTS_LIMIT: {
    type: 'integer',
    minimum: 0,
    maximum: 10000,
    default: 500,
    doc: 'Distinct recent items of a user kept on the user document (by fold-in) and excluded as seen',
  },
  EVENTS_BUCKET: {
    enum: ['day', 'week', 'month', 'year'],
    default: 'month',
    doc: 'Event-store (and served-list) index per time bucket; month = 120 one-shard indices for ten years',
  },
  EVENTS_EARLIEST: {
    type: 'string',
    format: 'date',
    default: '1970-01-01',
    doc: 'Oldest event date accepted (history from any year since then is normal)',
  },
  EVENTS_RETENTION_DAYS: {
    type: 'integer',
    minimum: 0,
    default: 0,
    doc: 'Drop event-store buckets whose every event is older than this (0 = keep all); `recsys retention` and every scheduled run',
  },
  EVENTS_DEDUP_LEDGER: {
    type: 'boolean',
    default: true,
    doc: 'Claim each event_id in the event-ids ledger so a copy dated into another bucket is a duplicate; off: dedup only within a bucket, ~30 % more ingest throughput',
  },
  EVENT_WEIGHTS: {
    type: 'string',
    doc: 'JSON object overriding event type weights, e.g. {"purchase":8,"share":2}',
  },
  ALLOW_UNKNOWN_EVENT_TYPES: {
    type: 'boolean',
    default: false,
    doc: 'Accept event types not in EVENT_WEIGHTS (weight 1)',
  },
  INGEST_METRICS_PORT: {
    type: 'integer',
    minimum: 0,
    maximum: 65535,
    default: 9464,
    doc: 'Port of /metrics for `recsys ingest` and `recsys online`',
  },
  RECOMMENDATION_ID_SECRET: {
    type: 'string',
    minLength: 16,
    default: DEV_RECOMMENDATION_ID_SECRET,
    doc: 'HMAC key signing recommendation ids (model, arm, serve time); the same on every API and ingest host. The default is a public development value',
  },
  RECOMMENDATION_ID_PREVIOUS_SECRETS: {
    type: 'string',
    pattern: '^([^,]{16,}(,[^,]{16,})*)?$',
    default: '',
    doc: "Comma-separated secrets that signed ids still in clients' hands (during a rotation): the ingest accepts them, the API signs with RECOMMENDATION_ID_SECRET only",
  },
  INGEST_BATCH_SIZE: {
    type: 'integer',
    minimum: 1,
    maximum: 50000,
    default: 2000,
    doc: 'Events per bulk request',
  },
  TRAIN_SCHEDULE: {
    type: 'string',
    minLength: 9,
    default: '0 3 * * *',
    doc: 'node-cron expression for `recsys schedule`',
  },
  ALS_FACTORS: { type: 'integer', minimum: 2, maximum: 4096, default: 64, doc: 'Latent factors k' },
  ALS_REGULARIZATION: { type: 'number', minimum: 0, default: 1, doc: 'λ (L2 regularisation)' },
  ALS_ALPHA: { type: 'number', exclusiveMinimum: 0, default: 10, doc: 'α in confidence 1 + α·r' },
  ALS_ITERATIONS: { type: 'integer', minimum: 1, maximum: 1000, default: 15, doc: 'ALS sweeps' },
  ALS_WEIGHTING: {
    enum: ['linear', 'log', 'bm25', 'tfidf'],
    default: 'linear',
    doc: 'Confidence weighting w(r) in 1 + α·w(r): linear r, log log(1 + r), bm25 / tfidf as implicit weights rows',
  },
  TUNE_MODE: {
    enum: ['auto', 'off', 'always'],
    default: 'auto',
    doc: 'auto: a training run searches α, λ, k and weighting when no tuned parameters exist, they are older than TUNE_MAX_AGE_DAYS or the data grew by TUNE_GROWTH_FACTOR, else reuses them; always: search every run; off: never (config and defaults)',
  },
  TUNE_MAX_AGE_DAYS: {
    type: 'number',
    exclusiveMinimum: 0,
    default: 30,
    doc: 'Tuned parameters older than this are searched again',
  },
  TUNE_GROWTH_FACTOR: {
    type: 'number',
    exclusiveMinimum: 1,
    default: 2,
    doc: 'Search again when the interactions grew to this many times those the parameters were tuned on',
  },
  TUNE_BUDGET_FACTOR: {
    type: 'number',
    minimum: 1,
    maximum: 100,
    default: 3,
    doc: 'Search budget in fits: the search stops after this many times the measured time of one fit',
  },
  ALS_SOLVER: { enum: ['cg', 'cholesky'], default: 'cg', doc: 'Per-row solver' },
  ALS_THREADS: { type: 'integer', minimum: 1, maximum: 256, default: 2, doc: 'worker_threads for training' },
  TRAIN_READ_SLICES: {
    type: 'integer',
    minimum: 1,
    maximum: 64,
    default: 2,
    doc: 'Parallel sliced point-in-time reads of the training window (one per ES core is a good start)',
  },
  TRAIN_WINDOW_DAYS: {
    type: 'number',
    minimum: 0,
    default: 0,
    doc: 'Only events newer than this many days (0 = all)',
  },
  TRAIN_HALF_LIFE_DAYS: {
    type: 'number',
    minimum: 0,
    default: 0,
    doc: 'Time-decay half-life of event weights (0 = none)',
  },
  TRAIN_MIN_USER_INTERACTIONS: {
    type: 'integer',
    minimum: 1,
    default: 1,
    doc: 'Drop users with fewer distinct items',
  },
  TRAIN_MIN_ITEM_INTERACTIONS: {
    type: 'integer',
    minimum: 1,
    default: 1,
    doc: 'Drop items with fewer distinct users',
  },
  GATE_TOLERANCE: {
    type: 'number',
    minimum: 0,
    maximum: 1,
    default: 0.02,
    doc: 'Max relative nDCG@10 drop vs the live model',
  },
  MODELS_KEEP: {
    type: 'integer',
    minimum: 1,
    maximum: 100,
    default: 3,
    doc: 'Model versions kept for rollback',
  },
  DEPLOY_LSH: {
    type: 'boolean',
    default: false,
    doc: 'Build LSH tables and bucket terms at deploy (mode=lsh). Off by default: at 1M items its recall@10 stayed ≤ 0.73 and it was slower than ann, while costing deploy time',
  },
  DEPLOY_SIMILAR_ANN: {
    enum: ['auto', 'true', 'false'],
    default: 'auto',
    doc: "Build the HNSW graph of the unit vectors, so similar items (mode=ann) search a graph. auto: unless the live model's deploy timed its graph no faster than exact search for every kind of request (then the model after this one builds and times it again); false: similar items search the flat unit vectors exactly (recall 1, cost linear in the catalogue) and the deploy builds one graph fewer (at 1M ALS items 118.6 s instead of ~190-214 s)",
  },
  DEPLOY_MIPS_ANN: {
    enum: ['auto', 'true', 'false'],
    default: 'auto',
    doc: 'Build the HNSW graph of the raw factors for user → item ann. auto: only when, on the sampled users, the norm-bounded exact search that answers ann instead would score more than ANN_EXACT_MAX_SCORED items for over 10 % of them (on ALS factors it scores a few thousand of 1M, and skipping the graph halves the deploy); false: ann is always that exact search (recall 1)',
  },
  HEALTH_CONSUMER_GROUPS: {
    type: 'string',
    pattern: '^((ingest|recommendations|online)(,(ingest|recommendations|online))*)?$',
    default: 'ingest,recommendations,online',
    doc: 'Consumer groups /health expects to have members (ingest, recommendations, online); one without members makes it degraded',
  },
  LOG_LEVEL: {
    enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    doc: 'pino log level',
  },
} as const;

type EnvName = keyof typeof ENV_SPEC;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

function buildValidator() {
  const properties: Record<string, object> = {};
  for (const [name, spec] of Object.entries(ENV_SPEC)) {
    const { doc: _doc, ...schema } = spec as { doc: string } & Record<string, unknown>;
    properties[name] = schema;
  }
  // coerceTypes turns "3" into 3 and "true" into true; useDefaults fills unset variables.
  const ajv = createAjv({ coerceTypes: true, useDefaults: true, strict: false });
  return ajv.compile({ type: 'object', properties });
}

const validate = buildValidator();

/** Reads and validates the environment once; throws ConfigError naming the first bad variable. */
/** Variables that once meant something: set, they are refused rather than silently ignored. */
const RETIRED_ENV = ['HYBRID_TEXT_BOOST', 'HYBRID_VECTOR_BOOST'];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const name of Object.keys(ENV_SPEC)) {
    const value = env[name];
    if (value !== undefined && value !== '') raw[name] = value;
    else if (
      value === '' &&
      (name === 'RECSYS_INDEX_PREFIX' ||
        name === 'RECSYS_TOPIC_PREFIX' ||
        name === 'API_KEYS' ||
        name === 'HEALTH_CONSUMER_GROUPS')
    )
      raw[name] = '';
  }
  if (!validate(raw)) {
    const err = validate.errors![0]!;
    const variable = ajvErrorField(err) || 'environment';
    throw new ConfigError(variable, `${err.message ?? 'is invalid'} (got ${JSON.stringify(raw[variable])})`);
  }
  // read before validation fills defaults: which searched parameters the operator set
  const pinned = (
    [
      ['ALS_FACTORS', 'factors'],
      ['ALS_REGULARIZATION', 'regularization'],
      ['ALS_ALPHA', 'alpha'],
      ['ALS_WEIGHTING', 'weighting'],
    ] as const
  )
    .filter(([name]) => env[name] !== undefined && env[name] !== '')
    .map(([, param]) => param);
  for (const name of RETIRED_ENV) {
    if (env[name] !== undefined && env[name] !== '')
      throw new ConfigError(
        name,
        'is retired: with q the API fuses the ranks of the knn and the text list (HYBRID_RRF_K), so score weights no longer mean anything; unset it',
      );
  }
  const v = raw as Record<EnvName, never> & Record<string, unknown>;
  const str = (n: EnvName) => v[n] as unknown as string | undefined;
  const num = (n: EnvName) => v[n] as unknown as number;
  const bool = (n: EnvName) => v[n] as unknown as boolean;

  const weights = { ...DEFAULT_EVENT_WEIGHTS, ...parseWeights(str('EVENT_WEIGHTS')) };
  const sasl = str('KAFKA_SASL_MECHANISM');
  if (sasl && (!str('KAFKA_SASL_USERNAME') || !str('KAFKA_SASL_PASSWORD'))) {
    throw new ConfigError(
      'KAFKA_SASL_USERNAME',
      'and KAFKA_SASL_PASSWORD are required with KAFKA_SASL_MECHANISM',
    );
  }
  const brokers = str('KAFKA_BROKERS')?.split(',');
  return {
    es: {
      url: str('ES_URL'),
      username: str('ES_USERNAME'),
      password: str('ES_PASSWORD'),
      apiKey: str('ES_API_KEY'),
      local: !str('ES_URL'),
    },
    kafka: {
      brokers,
      clientId: str('KAFKA_CLIENT_ID')!,
      ssl: bool('KAFKA_SSL'),
      sasl: sasl
        ? {
            mechanism: sasl as 'plain',
            username: str('KAFKA_SASL_USERNAME')!,
            password: str('KAFKA_SASL_PASSWORD')!,
          }
        : undefined,
      partitions: num('KAFKA_PARTITIONS'),
      replicationFactor: num('KAFKA_REPLICATION_FACTOR'),
      local: !brokers,
    },
    indexPrefix: str('RECSYS_INDEX_PREFIX') ?? '',
    topicPrefix: str('RECSYS_TOPIC_PREFIX') ?? '',
    localDir: path.resolve(str('RECSYS_LOCAL_DIR') ?? path.join(PROJECT_ROOT, '.local')),
    modelDir: path.resolve(
      str('MODEL_DIR') ?? path.join(str('RECSYS_LOCAL_DIR') ?? path.join(PROJECT_ROOT, '.local'), 'models'),
    ),
    api: {
      port: num('PORT'),
      host: str('HOST')!,
      apiKeys: (str('API_KEYS') ?? '')
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
      defaultMode: str('DEFAULT_MODE') as 'ann',
      filterFields: {
        keyword: csv(str('API_FILTER_KEYWORD_FIELDS')),
        boolean: csv(str('API_FILTER_BOOLEAN_FIELDS')),
        range: csv(str('API_FILTER_RANGE_FIELDS')),
      },
      annCandidatesFactor: num('ANN_CANDIDATES_FACTOR'),
      annMinCandidates: num('ANN_MIN_CANDIDATES'),
      annExactMaxScored: num('ANN_EXACT_MAX_SCORED'),
      hybrid: { rrfK: num('HYBRID_RRF_K') },
      popularCacheMs: num('POPULAR_CACHE_SECONDS') * 1000,
      seenEventsLimit: num('SEEN_EVENTS_LIMIT'),
      healthConsumerGroups: csv(str('HEALTH_CONSUMER_GROUPS')) as Array<
        'ingest' | 'recommendations' | 'online'
      >,
    },
    events: {
      weights,
      allowUnknownTypes: bool('ALLOW_UNKNOWN_EVENT_TYPES'),
      bucket: str('EVENTS_BUCKET') as 'month',
      earliestMs: Date.parse(`${str('EVENTS_EARLIEST')!}T00:00:00Z`),
      retentionDays: num('EVENTS_RETENTION_DAYS'),
      dedupLedger: bool('EVENTS_DEDUP_LEDGER'),
    },
    ingest: { batchSize: num('INGEST_BATCH_SIZE'), metricsPort: num('INGEST_METRICS_PORT') },
    recommendationIds: {
      secret: str('RECOMMENDATION_ID_SECRET')!,
      secretIsDefault: str('RECOMMENDATION_ID_SECRET') === DEV_RECOMMENDATION_ID_SECRET,
      previousSecrets: csv(str('RECOMMENDATION_ID_PREVIOUS_SECRETS')),
    },
    train: {
      schedule: str('TRAIN_SCHEDULE')!,
      factors: num('ALS_FACTORS'),
      regularization: num('ALS_REGULARIZATION'),
      alpha: num('ALS_ALPHA'),
      iterations: num('ALS_ITERATIONS'),
      solver: str('ALS_SOLVER') as 'cg',
      weighting: str('ALS_WEIGHTING') as 'linear',
      threads: num('ALS_THREADS'),
      pinned,
      tune: {
        mode: str('TUNE_MODE') as 'auto',
        maxAgeDays: num('TUNE_MAX_AGE_DAYS'),
        growthFactor: num('TUNE_GROWTH_FACTOR'),
        budgetFactor: num('TUNE_BUDGET_FACTOR'),
      },
      windowDays: num('TRAIN_WINDOW_DAYS'),
      readSlices: num('TRAIN_READ_SLICES'),
      halfLifeDays: num('TRAIN_HALF_LIFE_DAYS'),
      minUserInteractions: num('TRAIN_MIN_USER_INTERACTIONS'),
      minItemInteractions: num('TRAIN_MIN_ITEM_INTERACTIONS'),
      gateTolerance: num('GATE_TOLERANCE'),
      keepVersions: num('MODELS_KEEP'),
      deployLsh: bool('DEPLOY_LSH'),
      deploySimilarAnn: str('DEPLOY_SIMILAR_ANN') === 'auto' ? 'auto' : str('DEPLOY_SIMILAR_ANN') === 'true',
      deployMipsAnn: str('DEPLOY_MIPS_ANN') === 'auto' ? 'auto' : str('DEPLOY_MIPS_ANN') === 'true',
    },
    logLevel: str('LOG_LEVEL')!,
  };
}

/**
 * A warning for `serve` / `ingest` when the public development secret signs ids against a cluster
 * that is not on this machine (anyone could then forge attributions), else undefined.
 */
export function recommendationIdSecretWarning(config: Config): string | undefined {
  if (!config.recommendationIds.secretIsDefault || !config.es.url) return undefined;
  const host = new URL(config.es.url).hostname;
  if (host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host === '::1') return undefined;
  return 'RECOMMENDATION_ID_SECRET is the public development default while ES_URL is not local: anyone can forge recommendation ids and attributions; set a secret of your own (the same on every API and ingest host)';
}

function csv(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

function parseWeights(json: string | undefined): Record<string, number> {
  if (!json) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new ConfigError('EVENT_WEIGHTS', 'is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError('EVENT_WEIGHTS', 'must be a JSON object of event type → weight');
  }
  for (const [type, w] of Object.entries(parsed)) {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new ConfigError('EVENT_WEIGHTS', `weight of "${type}" must be a number ≥ 0`);
    }
  }
  return parsed as Record<string, number>;
}
