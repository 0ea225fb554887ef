// Every setting, defined once: its type, bounds, default and meaning. Two kinds:
//  - DEPLOYMENT: where and as whom the system runs (connections, credentials, ports, prefixes, local
//    dirs, schedules). Environment variables, named by `env`, because they differ per host.
//  - SETTINGS: how the system behaves (algorithms and policies). One optional TOML file, one table per
//    section; a key is the snake_case of its property. `retiredEnv` names the environment variable
//    that held the setting before, so setting that variable fails with the setting's new place.
// The Config type, validation, defaults, docs/configuration.md and recsys.example.toml all derive
// from these two trees (load.ts, docs.ts).
import { Type, type SchemaOptions, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** Annotations this project reads from a setting's schema besides JSON Schema's own keywords. */
export interface SettingAnnotations {
  /** deployment settings: the environment variable */
  env?: string;
  /** settings: the environment variable that held it before it moved to the file */
  retiredEnv?: string;
  /** older variables replaced by this setting, each with why it no longer exists */
  replacedEnv?: Record<string, string>;
  /** masked by `recsys config` */
  secret?: boolean;
  /** how docs show a default computed at run time */
  docDefault?: string;
}

/** The annotation keywords, for ajv's vocabulary. */
export const ANNOTATION_KEYWORDS = ['env', 'retiredEnv', 'replacedEnv', 'secret', 'docDefault'] as const;

type Options = SchemaOptions & SettingAnnotations & { description: string };

/** A string with a fixed set of values (JSON Schema enum; the TypeScript union). */
function oneOf<const T extends readonly string[]>(values: T, options: Options): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** 'auto' or an explicit on / off. */
function autoOrBool(options: Options) {
  return Type.Union([Type.Literal('auto'), Type.Boolean()], options);
}

const fieldName = '^[A-Za-z][A-Za-z0-9_.]*$';

export const DEFAULT_EVENT_WEIGHTS: Record<string, number> = {
  page_view: 1,
  click: 1,
  add_to_cart: 3,
  like: 3,
  purchase: 5,
  // weight of a rating event = its rating value (see ingest/weights.ts); 0 here is only a placeholder
  rating: 0,
};

/** Public, documented: lets the demo and tests run; anyone can forge ids signed with it. */
export const DEV_RECOMMENDATION_ID_SECRET = 'recsys-development-only-recommendation-id-secret';

export const HEALTH_GROUPS = ['ingest', 'recommendations', 'online'] as const;

/** Deployment settings: environment variables. The tree is the shape they take in Config. */
export const DEPLOYMENT = Type.Object({
  configFile: Type.Optional(
    Type.String({
      minLength: 1,
      env: 'RECSYS_CONFIG',
      docDefault: '`./recsys.toml` if it exists',
      description:
        'Path of the settings file (TOML). A missing file is an error; unset, ./recsys.toml in the working directory is read when it exists, else every setting keeps its default',
    }),
  ),
  es: Type.Object({
    url: Type.Optional(
      Type.String({
        format: 'uri',
        env: 'ES_URL',
        description: 'External Elasticsearch; unset = local one on 127.0.0.1:9200',
      }),
    ),
    username: Type.Optional(Type.String({ env: 'ES_USERNAME', description: 'Basic-auth user for ES_URL' })),
    password: Type.Optional(
      Type.String({ env: 'ES_PASSWORD', secret: true, description: 'Basic-auth password for ES_URL' }),
    ),
    apiKey: Type.Optional(
      Type.String({
        env: 'ES_API_KEY',
        secret: true,
        description: 'API key for ES_URL (instead of user/password)',
      }),
    ),
  }),
  kafka: Type.Object({
    brokers: Type.Optional(
      Type.Array(Type.String({ pattern: '^[^,\\s]+$' }), {
        minItems: 1,
        env: 'KAFKA_BROKERS',
        description: 'External brokers host:port,...; unset = local 127.0.0.1:9092',
      }),
    ),
    clientId: Type.String({
      minLength: 1,
      default: 'seed-recsys',
      env: 'KAFKA_CLIENT_ID',
      description: 'Kafka client id',
    }),
    ssl: Type.Boolean({ default: false, env: 'KAFKA_SSL', description: 'Use TLS to the brokers' }),
    // all three or none: the loader names the missing ones
    sasl: Type.Optional(
      Type.Object({
        mechanism: oneOf(['plain', 'scram-sha-256', 'scram-sha-512'], {
          env: 'KAFKA_SASL_MECHANISM',
          description: 'SASL mechanism',
        }),
        username: Type.String({ env: 'KAFKA_SASL_USERNAME', description: 'SASL user' }),
        password: Type.String({ env: 'KAFKA_SASL_PASSWORD', secret: true, description: 'SASL password' }),
      }),
    ),
    partitions: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 3,
      env: 'KAFKA_PARTITIONS',
      description: 'Partitions for topics created by setup',
    }),
    replicationFactor: Type.Integer({
      minimum: 1,
      maximum: 10,
      default: 1,
      env: 'KAFKA_REPLICATION_FACTOR',
      description: 'Replication factor for topics created by setup',
    }),
  }),
  indexPrefix: Type.String({
    pattern: '^[a-z0-9][a-z0-9_.-]*$|^$',
    default: '',
    env: 'RECSYS_INDEX_PREFIX',
    description: 'Prefix of every index and alias name',
  }),
  topicPrefix: Type.String({
    pattern: '^[a-zA-Z0-9._-]*$',
    default: '',
    env: 'RECSYS_TOPIC_PREFIX',
    description: 'Prefix of every Kafka topic and consumer group',
  }),
  localDir: Type.Optional(
    Type.String({
      minLength: 1,
      env: 'RECSYS_LOCAL_DIR',
      docDefault: '`<repo>/.local`',
      description: 'Where local ES/Kafka are downloaded and keep data',
    }),
  ),
  modelDir: Type.Optional(
    Type.String({
      minLength: 1,
      env: 'MODEL_DIR',
      docDefault: '`<RECSYS_LOCAL_DIR>/models`',
      description:
        "This machine's cache of model artefacts; the artefacts themselves are kept in Elasticsearch (<prefix>artifacts)",
    }),
  ),
  api: Type.Object({
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, env: 'PORT', description: 'API port' }),
    host: Type.String({ default: '127.0.0.1', env: 'HOST', description: 'API bind address' }),
    apiKeys: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      env: 'API_KEYS',
      secret: true,
      description:
        'Comma-separated admin API keys (header x-api-key); empty = admin endpoints refuse everyone',
    }),
    healthConsumerGroups: Type.Array(oneOf(HEALTH_GROUPS, { description: 'a consumer group' }), {
      default: [...HEALTH_GROUPS],
      env: 'HEALTH_CONSUMER_GROUPS',
      description:
        'Consumer groups /health expects to have members (ingest, recommendations, online); one without members makes it degraded',
    }),
  }),
  metricsPort: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 9464,
    env: 'INGEST_METRICS_PORT',
    description: 'Port of /metrics for `recsys ingest` and `recsys online`',
  }),
  recommendationIds: Type.Object({
    secret: Type.String({
      minLength: 16,
      default: DEV_RECOMMENDATION_ID_SECRET,
      env: 'RECOMMENDATION_ID_SECRET',
      secret: true,
      docDefault: 'a public development value',
      description:
        'HMAC key signing recommendation ids (model, arm, serve time); the same on every API and ingest host. The default is a public development value',
    }),
    previousSecrets: Type.Array(Type.String({ minLength: 16 }), {
      default: [],
      env: 'RECOMMENDATION_ID_PREVIOUS_SECRETS',
      secret: true,
      description:
        "Comma-separated secrets that signed ids still in clients' hands (during a rotation): the ingest accepts them, the API signs with RECOMMENDATION_ID_SECRET only",
    }),
  }),
  shutdownGraceSeconds: Type.Number({
    minimum: 1,
    maximum: 600,
    default: 10,
    env: 'SHUTDOWN_GRACE_SECONDS',
    description:
      'After SIGTERM/SIGINT, `recsys serve|ingest|online` finish what they can within this, then exit anyway (uncommitted messages are redelivered)',
  }),
  trainSchedule: Type.String({
    minLength: 9,
    default: '0 3 * * *',
    env: 'TRAIN_SCHEDULE',
    description: 'node-cron expression for `recsys schedule`',
  }),
  logLevel: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    default: 'info',
    env: 'LOG_LEVEL',
    description: 'pino log level',
  }),
});

/** Algorithm and policy settings: the TOML file, one section per property. */
export const SETTINGS = Type.Object({
  events: Type.Object(
    {
      bucket: oneOf(['day', 'week', 'month', 'year'], {
        default: 'month',
        retiredEnv: 'EVENTS_BUCKET',
        description:
          'Event-store (and served-list) index per time bucket; month = 120 one-shard indices for ten years',
      }),
      earliest: Type.String({
        format: 'date',
        default: '1970-01-01',
        retiredEnv: 'EVENTS_EARLIEST',
        description: 'Oldest event date accepted (history from any year since then is normal)',
      }),
      retentionDays: Type.Integer({
        minimum: 0,
        default: 0,
        retiredEnv: 'EVENTS_RETENTION_DAYS',
        description:
          'Drop event-store buckets whose every event is older than this (0 = keep all); `recsys retention` and every scheduled run',
      }),
      dedupLedger: Type.Boolean({
        default: true,
        retiredEnv: 'EVENTS_DEDUP_LEDGER',
        description:
          'Claim each event_id in the event-ids ledger so a copy dated into another bucket is a duplicate; off: dedup only within a bucket, for faster ingest (bench/ingest measures both)',
      }),
      allowUnknownTypes: Type.Boolean({
        default: false,
        retiredEnv: 'ALLOW_UNKNOWN_EVENT_TYPES',
        description: 'Accept event types not in [events.weights] (weight 1)',
      }),
      weights: Type.Record(Type.String({ minLength: 1 }), Type.Number({ minimum: 0 }), {
        default: DEFAULT_EVENT_WEIGHTS,
        retiredEnv: 'EVENT_WEIGHTS',
        description:
          'Weight of each event type (event type = weight); entries add to or replace the defaults. A rating event weighs its rating value',
      }),
    },
    { description: 'What the event store accepts and keeps' },
  ),
  ingest: Type.Object(
    {
      batchSize: Type.Integer({
        minimum: 1,
        maximum: 50000,
        default: 2000,
        retiredEnv: 'INGEST_BATCH_SIZE',
        description: 'Events per bulk request',
      }),
      attributionWindowHours: Type.Number({
        exclusiveMinimum: 0,
        maximum: 48,
        default: 24,
        description:
          'How long after its list was served an action still earns the list credit (up to the 48 h a served record is kept findable)',
      }),
      attributionClockSkewSeconds: Type.Integer({
        minimum: 0,
        maximum: 3600,
        default: 60,
        description:
          'How far an action may be stamped before its serve time and still count (client clocks run behind the API hosts); older actions are not credited',
      }),
    },
    { description: 'The Kafka → event store consumer (`recsys ingest`)' },
  ),
  serving: Type.Object(
    {
      defaultMode: oneOf(['exact', 'ann', 'lsh'], {
        default: 'ann',
        retiredEnv: 'DEFAULT_MODE',
        description: 'Scoring mode when a request names none',
      }),
      annCandidatesFactor: Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 10,
        retiredEnv: 'ANN_CANDIDATES_FACTOR',
        description: 'ann: num_candidates = max(k × this, ann_min_candidates)',
      }),
      annMinCandidates: Type.Integer({
        minimum: 1,
        maximum: 10000,
        default: 100,
        retiredEnv: 'ANN_MIN_CANDIDATES',
        description: 'ann: lower bound of num_candidates',
      }),
      annExactMaxScored: Type.Integer({
        minimum: 0,
        maximum: 10000,
        default: 10000,
        retiredEnv: 'ANN_EXACT_MAX_SCORED',
        description:
          'ann without filters: answered by exact search when the norm bound leaves at most this many items (0: never)',
      }),
      hybridRrfK: Type.Number({
        minimum: 0,
        maximum: 100000,
        default: 60,
        retiredEnv: 'HYBRID_RRF_K',
        replacedEnv: {
          HYBRID_TEXT_BOOST:
            'with q the API fuses the ranks of the knn and the text list, so score weights no longer mean anything',
          HYBRID_VECTOR_BOOST:
            'with q the API fuses the ranks of the knn and the text list, so score weights no longer mean anything',
        },
        description:
          'With q: the constant k of reciprocal rank fusion, score = Σ 1/(k + rank) over the knn and the text list (larger = flatter)',
      }),
      popularCacheSeconds: Type.Number({
        minimum: 0,
        default: 30,
        retiredEnv: 'POPULAR_CACHE_SECONDS',
        description: 'Popular-items cache per filter set',
      }),
      seenEventsLimit: Type.Integer({
        minimum: 0,
        maximum: 10000,
        default: 500,
        retiredEnv: 'SEEN_EVENTS_LIMIT',
        description:
          'Distinct recent items of a user kept on the user document (by fold-in) and excluded as seen',
      }),
      deadlineMs: Type.Integer({
        minimum: 20,
        maximum: 60000,
        default: 500,
        description:
          'End-to-end budget of a recommendation / similar-items request (ms): Elasticsearch calls get what is left of it as their timeout and are cancelled when it runs out; then the answer is degraded or 503',
      }),
      writeDeadlineMs: Type.Integer({
        minimum: 50,
        maximum: 60000,
        default: 2000,
        description:
          'Budget of POST /v1/events and PUT /v1/items|users (ms); an event send still under way when it runs out is answered 202 with its ids (it may still be delivered)',
      }),
      adminDeadlineMs: Type.Integer({
        minimum: 100,
        maximum: 600000,
        default: 10000,
        description:
          'Budget of admin and experiment routes (ms); training and deploys they start run in the background on their own budgets',
      }),
      healthDeadlineMs: Type.Integer({
        minimum: 50,
        maximum: 1000,
        default: 800,
        description:
          '/health and /ready answer within this (ms) whatever the backends do, naming what did not answer (orchestrator probes wait 1 s by default)',
      }),
      degradedAnswers: Type.Boolean({
        default: true,
        description:
          'When Elasticsearch times out or is unavailable, answer recommendation requests from the cached popular list (200, "degraded": true) where one is cached; off: 503 with Retry-After',
      }),
      breakerFailures: Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 5,
        description:
          'Consecutive Elasticsearch failures or timeouts of request-path calls that open the circuit breaker: requests then fail fast without calling it',
      }),
      breakerOpenMs: Type.Integer({
        minimum: 100,
        maximum: 600000,
        default: 5000,
        description:
          'How long an open breaker refuses before letting one probe request through (half-open); its success closes the breaker, its failure opens it again',
      }),
      filterFields: Type.Object(
        {
          keyword: Type.Array(Type.String({ pattern: fieldName }), {
            minItems: 1,
            default: ['category', 'tags', 'brand'],
            retiredEnv: 'API_FILTER_KEYWORD_FIELDS',
            description: 'Keyword item fields clients may filter on (any-of)',
          }),
          boolean: Type.Array(Type.String({ pattern: fieldName }), {
            default: ['available'],
            retiredEnv: 'API_FILTER_BOOLEAN_FIELDS',
            description: 'Boolean item fields clients may filter on',
          }),
          range: Type.Array(Type.String({ pattern: fieldName }), {
            default: ['price'],
            retiredEnv: 'API_FILTER_RANGE_FIELDS',
            description: 'Numeric item fields with <field>_min / <field>_max filters',
          }),
        },
        { description: 'The filter whitelist: item fields clients may filter on, by kind' },
      ),
    },
    { description: 'How the API answers recommendation requests' },
  ),
  experiments: Type.Object(
    {
      minShare: Type.Number({
        minimum: 0.0001,
        maximum: 0.5,
        default: 0.01,
        description:
          'Smallest share of users either arm of an A/B experiment may get: treatment_share must lie in [min_share, 1 − min_share]',
      }),
    },
    { description: 'A/B experiments started through the API' },
  ),
  als: Type.Object(
    {
      factors: Type.Integer({
        minimum: 2,
        maximum: 4096,
        default: 64,
        retiredEnv: 'ALS_FACTORS',
        description: 'Latent factors k (searched by the tuner unless set)',
      }),
      regularization: Type.Number({
        minimum: 0,
        default: 1,
        retiredEnv: 'ALS_REGULARIZATION',
        description: 'λ (L2 regularisation; searched by the tuner unless set)',
      }),
      alpha: Type.Number({
        exclusiveMinimum: 0,
        default: 10,
        retiredEnv: 'ALS_ALPHA',
        description: 'α in confidence 1 + α·r (searched by the tuner unless set)',
      }),
      iterations: Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: 15,
        retiredEnv: 'ALS_ITERATIONS',
        description: 'ALS sweeps',
      }),
      weighting: oneOf(['linear', 'log', 'bm25', 'tfidf'], {
        default: 'linear',
        retiredEnv: 'ALS_WEIGHTING',
        description:
          'Confidence weighting w(r) in 1 + α·w(r): linear r, log log(1 + r), bm25 / tfidf as implicit weights rows (searched by the tuner unless set)',
      }),
      solver: oneOf(['cg', 'cholesky'], {
        default: 'cg',
        retiredEnv: 'ALS_SOLVER',
        description: 'Per-row solver',
      }),
      threads: Type.Integer({
        minimum: 1,
        maximum: 256,
        default: 2,
        retiredEnv: 'ALS_THREADS',
        description: 'worker_threads for training',
      }),
    },
    {
      description:
        'Implicit ALS. factors, regularization, alpha and weighting set here (or for one run) are never overridden by the tuner',
    },
  ),
  tune: Type.Object(
    {
      mode: oneOf(['auto', 'off', 'always'], {
        default: 'auto',
        retiredEnv: 'TUNE_MODE',
        description:
          'auto: a training run searches α, λ, k and weighting when no tuned parameters exist, they are older than max_age_days or the data grew by growth_factor, else reuses them; always: search every run; off: never ([als] values and defaults)',
      }),
      maxAgeDays: Type.Number({
        exclusiveMinimum: 0,
        default: 30,
        retiredEnv: 'TUNE_MAX_AGE_DAYS',
        description: 'Tuned parameters older than this are searched again',
      }),
      growthFactor: Type.Number({
        exclusiveMinimum: 1,
        default: 2,
        retiredEnv: 'TUNE_GROWTH_FACTOR',
        description:
          'Search again when the interactions grew to this many times those the parameters were tuned on',
      }),
      budgetFactor: Type.Number({
        minimum: 1,
        maximum: 100,
        default: 3,
        retiredEnv: 'TUNE_BUDGET_FACTOR',
        description:
          'Search budget in fits: the search stops after this many times the measured time of one fit',
      }),
    },
    { description: 'The tuner: when a training run searches the ALS parameters' },
  ),
  training: Type.Object(
    {
      windowDays: Type.Number({
        minimum: 0,
        default: 0,
        retiredEnv: 'TRAIN_WINDOW_DAYS',
        description: 'Only events newer than this many days (0 = all)',
      }),
      halfLifeDays: Type.Number({
        minimum: 0,
        default: 0,
        retiredEnv: 'TRAIN_HALF_LIFE_DAYS',
        description: 'Time-decay half-life of event weights (0 = none)',
      }),
      readSlices: Type.Integer({
        minimum: 1,
        maximum: 64,
        default: 2,
        retiredEnv: 'TRAIN_READ_SLICES',
        description:
          'Parallel sliced point-in-time reads of the training window (one per ES core is a good start)',
      }),
      minUserInteractions: Type.Integer({
        minimum: 1,
        default: 1,
        retiredEnv: 'TRAIN_MIN_USER_INTERACTIONS',
        description: 'Drop users with fewer distinct items',
      }),
      minItemInteractions: Type.Integer({
        minimum: 1,
        default: 1,
        retiredEnv: 'TRAIN_MIN_ITEM_INTERACTIONS',
        description: 'Drop items with fewer distinct users',
      }),
    },
    { description: 'What a training run reads from the event store' },
  ),
  gate: Type.Object(
    {
      tolerance: Type.Number({
        minimum: 0,
        maximum: 1,
        default: 0.02,
        retiredEnv: 'GATE_TOLERANCE',
        description: 'Max relative nDCG@10 drop vs the live model',
      }),
    },
    { description: 'The quality gate a new model passes before it is deployed' },
  ),
  models: Type.Object(
    {
      keep: Type.Integer({
        minimum: 1,
        maximum: 100,
        default: 3,
        retiredEnv: 'MODELS_KEEP',
        description: 'Model versions kept for rollback',
      }),
    },
    { description: 'Trained model versions' },
  ),
  deploy: Type.Object(
    {
      lsh: Type.Boolean({
        default: false,
        retiredEnv: 'DEPLOY_LSH',
        description:
          'Build LSH tables and bucket terms at deploy (mode=lsh). Off by default: at catalogue scale its recall stayed well below ann while it was slower and cost deploy time (docs/decisions/0005-lsh-off-by-default.md)',
      }),
      similarAnn: autoOrBool({
        default: 'auto',
        retiredEnv: 'DEPLOY_SIMILAR_ANN',
        description:
          "Build the HNSW graph of the unit vectors, so similar items (mode=ann) search a graph. auto: unless the live model's deploy timed its graph no faster than exact search for every kind of request (then the model after this one builds and times it again); false: similar items search the flat unit vectors exactly (recall 1, cost linear in the catalogue) and the deploy builds one graph fewer",
      }),
      mipsAnn: autoOrBool({
        default: 'auto',
        retiredEnv: 'DEPLOY_MIPS_ANN',
        description:
          'Build the HNSW graph of the raw factors for user → item ann. auto: only when, on the sampled users, the norm-bounded exact search that answers ann instead would score more than [serving] ann_exact_max_scored items for over 10 % of them; false: ann is always that exact search (recall 1)',
      }),
      leaseSeconds: Type.Integer({
        minimum: 2,
        maximum: 86_400,
        default: 300,
        description:
          'A running deploy renews a lease on its model this often × 3; a model left `deploying` whose lease has lapsed (its process died) is marked failed and its half-built indices removed by the next deploy, training run or scheduler tick. Longer than any step that blocks the deploying process',
      }),
    },
    { description: 'What a deploy builds besides the exact vectors, and how a crashed one is recovered' },
  ),
});

export type Deployment = Static<typeof DEPLOYMENT>;
export type Settings = Static<typeof SETTINGS>;

/** The ALS parameters the tuner searches; set explicitly, they are pinned. */
export const SEARCHED_ALS = ['factors', 'regularization', 'alpha', 'weighting'] as const;
export type SearchedAls = (typeof SEARCHED_ALS)[number];

/** What loading adds to the settings: computed once so consumers do not recompute them. */
export interface Derived {
  es: { local: boolean };
  kafka: { local: boolean };
  localDir: string;
  modelDir: string;
  recommendationIds: { secretIsDefault: boolean };
  events: { earliestMs: number };
  /** searched ALS parameters set explicitly (file or overrides): tuning never overrides them */
  tune: { pinned: SearchedAls[] };
}

/** The validated configuration every part of the system reads. */
export type Config = Deployment & Settings & Derived;

type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends Record<string, unknown>
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** Settings given in code (tests, benchmarks, CLI flags): any subset, same shape as the file. */
export type SettingsOverrides = DeepPartial<Settings>;

export type { TSchema };
