import { bucketOf, type BucketGranularity } from './buckets.ts';
import type { Config } from './index.ts';

/** Every index, alias, template and topic name, derived once from the configured prefixes. */
export interface Names {
  prefix: string;
  eventsTemplate: string;
  eventsPattern: string;
  /** the event-store bucket index of an event time (granularity EVENTS_BUCKET) */
  eventsIndex(date: Date): string;
  /** prefix of every event-store bucket index: `${eventsIndexPrefix}<bucket>` */
  eventsIndexPrefix: string;
  /** the dedup ledger: event_id → the bucket that holds it */
  eventIds: string;
  itemMetadata: string;
  userMetadata: string;
  itemsAlias: string;
  itemsIndex(modelId: string): string;
  itemsPattern: string;
  usersAlias: string;
  usersIndex(modelId: string): string;
  usersPattern: string;
  models: string;
  experiments: string;
  locks: string;
  /** model artefacts: manifests and chunked files (src/repositories/artifacts.ts) */
  artifacts: string;
  tuning: string;
  /** forgotten users and removed items (hashed ids) that ingest, fold-in and training skip */
  tombstones: string;
  /** privacy jobs (forget, remove item, merge): state, per-store progress and counts */
  privacyJobs: string;
  /** one audit record per finished privacy job: who, when, counts (never the data) */
  privacyAudit: string;
  /** anonymous id (hashed) → the user it was merged into */
  userMerges: string;
  recommendationsTemplate: string;
  recommendationsPattern: string;
  recommendationsIndex(date: Date): string;
  recommendationsIndexPrefix: string;
  topics: { events: string; dlq: string; recommendations: string };
  groups: { ingest: string; online: string; recommendations: string };
}

export function createNames(
  indexPrefix: string,
  topicPrefix: string,
  bucket: BucketGranularity = 'month',
): Names {
  const p = indexPrefix;
  const t = topicPrefix;
  return {
    prefix: p,
    eventsTemplate: `${p}events`,
    eventsPattern: `${p}events-*`,
    eventsIndex: (date) => `${p}events-${bucketOf(date, bucket)}`,
    eventsIndexPrefix: `${p}events-`,
    eventIds: `${p}event-ids`,
    itemMetadata: `${p}item-metadata`,
    userMetadata: `${p}user-metadata`,
    itemsAlias: `${p}items`,
    itemsIndex: (id) => `${p}items-${id}`,
    itemsPattern: `${p}items-*`,
    usersAlias: `${p}user-factors`,
    usersIndex: (id) => `${p}users-${id}`,
    usersPattern: `${p}users-*`,
    models: `${p}models`,
    experiments: `${p}experiments`,
    locks: `${p}locks`,
    artifacts: `${p}artifacts`,
    tuning: `${p}tuning`,
    tombstones: `${p}tombstones`,
    privacyJobs: `${p}privacy-jobs`,
    privacyAudit: `${p}privacy-audit`,
    userMerges: `${p}user-merges`,
    recommendationsTemplate: `${p}recommendations`,
    recommendationsPattern: `${p}recommendations-*`,
    recommendationsIndex: (date) => `${p}recommendations-${bucketOf(date, bucket)}`,
    recommendationsIndexPrefix: `${p}recommendations-`,
    topics: { events: `${t}events`, dlq: `${t}events.dlq`, recommendations: `${t}recommendations` },
    groups: {
      ingest: `${t}recsys-ingest`,
      online: `${t}recsys-online`,
      recommendations: `${t}recsys-recommendations`,
    },
  };
}

export function namesFor(config: Config): Names {
  return createNames(config.indexPrefix, config.topicPrefix, config.events.bucket);
}
