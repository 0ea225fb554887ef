import type { Config } from './index.ts';

/** Every index, alias, template and topic name, derived once from the configured prefixes. */
export interface Names {
  prefix: string;
  eventsTemplate: string;
  eventsPattern: string;
  eventsIndex(date: Date): string;
  itemMetadata: string;
  userMetadata: string;
  itemsAlias: string;
  itemsIndex(modelId: string): string;
  itemsPattern: string;
  usersAlias: string;
  usersIndex(modelId: string): string;
  usersPattern: string;
  models: string;
  locks: string;
  tuning: string;
  recommendationsTemplate: string;
  recommendationsPattern: string;
  recommendationsIndex(date: Date): string;
  topics: { events: string; dlq: string; recommendations: string };
  groups: { ingest: string; online: string; recommendations: string };
}

/** events-YYYY.MM.DD in UTC, the partitioning unit of the event store. */
export function dayStamp(date: Date): string {
  const y = date.getUTCFullYear();
  const m = String(date.getUTCMonth() + 1).padStart(2, '0');
  const d = String(date.getUTCDate()).padStart(2, '0');
  return `${y}.${m}.${d}`;
}

export function createNames(indexPrefix: string, topicPrefix: string): Names {
  const p = indexPrefix;
  const t = topicPrefix;
  return {
    prefix: p,
    eventsTemplate: `${p}events`,
    eventsPattern: `${p}events-*`,
    eventsIndex: (date) => `${p}events-${dayStamp(date)}`,
    itemMetadata: `${p}item-metadata`,
    userMetadata: `${p}user-metadata`,
    itemsAlias: `${p}items`,
    itemsIndex: (id) => `${p}items-${id}`,
    itemsPattern: `${p}items-*`,
    usersAlias: `${p}user-factors`,
    usersIndex: (id) => `${p}users-${id}`,
    usersPattern: `${p}users-*`,
    models: `${p}models`,
    locks: `${p}locks`,
    tuning: `${p}tuning`,
    recommendationsTemplate: `${p}recommendations`,
    recommendationsPattern: `${p}recommendations-*`,
    recommendationsIndex: (date) => `${p}recommendations-${dayStamp(date)}`,
    topics: { events: `${t}events`, dlq: `${t}events.dlq`, recommendations: `${t}recommendations` },
    groups: {
      ingest: `${t}recsys-ingest`,
      online: `${t}recsys-online`,
      recommendations: `${t}recsys-recommendations`,
    },
  };
}

export function namesFor(config: Config): Names {
  return createNames(config.indexPrefix, config.topicPrefix);
}
