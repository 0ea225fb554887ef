import type { Config } from '../config/index.ts';
import type { EventRules } from '../events/validate.ts';
import {
  DEFAULT_QUERY_OPTIONS,
  type FilterFields,
  type HybridOptions,
  type QueryOptions,
} from '../query/types.ts';

/** Everything the API can be tuned with; resolveApiOptions fills defaults. */
export interface ApiOptions extends QueryOptions {
  /** admin / write keys (header x-api-key); empty = every key is refused */
  apiKeys: string[];
  /** largest accepted JSON body (express/body-parser syntax) */
  bodyLimit: string;
  /** max events / metadata documents per request */
  maxBatch: number;
  /** end-to-end budget of recommendation / similar-items requests ([serving] deadline_ms) */
  deadlineMs: number;
  /** budget of POST /v1/events and PUT /v1/items|users ([serving] write_deadline_ms) */
  writeDeadlineMs: number;
  /** budget of admin and experiment routes ([serving] admin_deadline_ms) */
  adminDeadlineMs: number;
  /** /health and /ready answer within this ([serving] health_deadline_ms) */
  healthDeadlineMs: number;
  /** on timeout / unavailability, answer recommendations from the cached popular list, marked degraded */
  degradedAnswers: boolean;
  /** the Elasticsearch circuit breaker: consecutive failures that open it, and how long it stays open */
  breaker: { failures: number; openMs: number };
  /** Kafka reachability is probed at most this often by /health */
  healthCacheMs: number;
  /** a Kafka probe slower than this counts as unreachable (/health reports the last finished one meanwhile) */
  healthTimeoutMs: number;
  /** consumer groups that must have members for /health to say ok */
  healthConsumerGroups: Array<'ingest' | 'recommendations' | 'online'>;
  servedLog: { lingerMs: number; maxQueue: number };
  eventRules: EventRules;
}

export type ApiOptionsInput = Partial<Omit<ApiOptions, 'hybrid' | 'filterFields' | 'servedLog'>> & {
  hybrid?: Partial<HybridOptions>;
  filterFields?: Partial<FilterFields>;
  servedLog?: Partial<ApiOptions['servedLog']>;
};

/** Options from the validated config (API_KEYS, [serving], [events]) plus explicit overrides. */
export function resolveApiOptions(config: Config, input: ApiOptionsInput = {}): ApiOptions {
  const d = DEFAULT_QUERY_OPTIONS;
  return {
    ...d,
    apiKeys: config.api.apiKeys,
    defaultMode: config.serving.defaultMode,
    annCandidatesFactor: config.serving.annCandidatesFactor,
    annMinCandidates: config.serving.annMinCandidates,
    annExactMaxScored: config.serving.annExactMaxScored,
    popularCacheMs: config.serving.popularCacheSeconds * 1000,
    seenEventsLimit: config.serving.seenEventsLimit,
    bodyLimit: '1mb',
    maxBatch: 1000,
    deadlineMs: config.serving.deadlineMs,
    writeDeadlineMs: config.serving.writeDeadlineMs,
    adminDeadlineMs: config.serving.adminDeadlineMs,
    healthDeadlineMs: config.serving.healthDeadlineMs,
    degradedAnswers: config.serving.degradedAnswers,
    breaker: { failures: config.serving.breakerFailures, openMs: config.serving.breakerOpenMs },
    healthCacheMs: 5_000,
    healthTimeoutMs: 2_000,
    healthConsumerGroups: config.api.healthConsumerGroups,
    eventRules: config.events,
    ...input,
    hybrid: { ...d.hybrid, rrfK: config.serving.hybridRrfK, ...input.hybrid },
    filterFields: { ...d.filterFields, ...config.serving.filterFields, ...input.filterFields },
    servedLog: { lingerMs: 20, maxQueue: 10_000, ...input.servedLog },
  };
}
