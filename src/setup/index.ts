import type { Client } from '@elastic/elasticsearch';
import type { Kafka } from 'kafkajs';
import type { Config } from '../config/index.ts';
import type { Names } from '../config/names.ts';
import type { Logger } from '../infra/logger.ts';
import { filterFieldMappings } from '../catalog/item-fields.ts';
import { loadMapping, loadTemplate } from './mappings.ts';
import { esErrorType } from '../infra/es-errors.ts';

export interface SetupReport {
  templates: string[];
  indicesCreated: string[];
  indicesExisting: string[];
  topicsCreated: string[];
  topicsExisting: string[];
}

/** Applies es-mappings/ and creates the Kafka topics. Safe to run any number of times. */
export async function setup(
  es: Client,
  kafka: Kafka,
  config: Config,
  names: Names,
  log: Logger,
): Promise<SetupReport> {
  const report: SetupReport = {
    templates: [],
    indicesCreated: [],
    indicesExisting: [],
    topicsCreated: [],
    topicsExisting: [],
  };

  // Templates are PUT every time: the newest mapping wins for indices created from now on.
  for (const [name, file] of [
    [names.eventsTemplate, 'templates/events.json'],
    [names.recommendationsTemplate, 'templates/recommendations.json'],
  ] as const) {
    await es.indices.putIndexTemplate({ name, ...loadTemplate(file, names.prefix) });
    report.templates.push(name);
  }
  // Buckets already created take the strict recommendations mapping's new fields (an attribution's
  // position_pending, arm, …): the current one would otherwise refuse them until the next bucket.
  const recommendations = loadMapping('templates/recommendations.json') as {
    template: { mappings: { properties: Record<string, unknown> } };
  };
  await putMapping(es, names.recommendationsPattern, {
    properties: recommendations.template.mappings.properties,
  });

  // the filter whitelist's undeclared fields, mapped explicitly (the item indices map nothing dynamically)
  const filterMappings = filterFieldMappings(config.serving.filterFields);
  for (const [index, file] of [
    [names.itemMetadata, 'indices/item-metadata.json'],
    [names.userMetadata, 'indices/user-metadata.json'],
    [names.models, 'indices/models.json'],
    [names.experiments, 'indices/experiments.json'],
    [names.locks, 'indices/locks.json'],
    [names.artifacts, 'indices/artifacts.json'],
    [names.tuning, 'indices/tuning.json'],
    [names.eventIds, 'indices/event-ids.json'],
    [names.tombstones, 'indices/tombstones.json'],
    [names.privacyJobs, 'indices/privacy-jobs.json'],
    [names.privacyAudit, 'indices/privacy-audit.json'],
    [names.userMerges, 'indices/user-merges.json'],
  ] as const) {
    const body = loadMapping(file);
    const mappings = body['mappings'] as { properties: Record<string, unknown> };
    if (index === names.itemMetadata) mappings.properties = { ...filterMappings, ...mappings.properties };
    const created = await createIndexIfMissing(es, index, body);
    (created ? report.indicesCreated : report.indicesExisting).push(index);
    // An existing index picks up fields added to its mapping file (and to the filter whitelist)
    // since it was created, and its `dynamic` setting; dynamic templates no longer in the file go.
    if (!created) await putMapping(es, index, { dynamic_templates: [], ...mappings });
  }
  // The deployed items-<model_id> indices: created by deploy from versioned/items.json, they get
  // the same switch (no dynamic mapping) and whitelist fields, so the live one stops growing now,
  // not at the next deploy. Documents stored before a field was mapped are indexed by the next deploy.
  await putMapping(es, names.itemsPattern, {
    dynamic: false,
    dynamic_templates: [],
    properties: filterMappings,
  });

  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = [names.topics.events, names.topics.dlq, names.topics.recommendations];
    const missing = wanted.filter((t) => !existing.has(t));
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({
          topic,
          numPartitions: config.kafka.partitions,
          replicationFactor: config.kafka.replicationFactor,
          // The DLQ is the evidence of what was rejected: keep it a month.
          configEntries:
            topic === names.topics.dlq ? [{ name: 'retention.ms', value: String(30 * 86_400_000) }] : [],
        })),
      });
    }
    report.topicsCreated = missing;
    report.topicsExisting = wanted.filter((t) => existing.has(t));
  } finally {
    await admin.disconnect();
  }
  log.info(report, 'setup done');
  return report;
}

/** putMapping with the index named in the error (e.g. a whitelisted field already mapped with another type). */
async function putMapping(es: Client, index: string, mappings: Record<string, unknown>): Promise<void> {
  try {
    await es.indices.putMapping({ index, allow_no_indices: true, expand_wildcards: 'open', ...mappings });
  } catch (e) {
    const reason =
      (e as { meta?: { body?: { error?: { reason?: string } } } }).meta?.body?.error?.reason ??
      (e as Error).message;
    // a field an older version left to dynamic mapping (e.g. a metric mapped long): types cannot change in place
    const hint = /cannot be changed from type/.test(reason)
      ? '; the index was created with another type for this field: reindex it into a new index made by setup (docs/operations.md: "Checking an existing models index")'
      : '';
    throw new Error(`setup: the mapping of ${index} cannot be updated: ${reason}${hint}`, { cause: e });
  }
}

export async function createIndexIfMissing(
  es: Client,
  index: string,
  body: Record<string, unknown>,
): Promise<boolean> {
  if (await es.indices.exists({ index })) return false;
  try {
    await es.indices.create({ index, ...body });
    return true;
  } catch (e) {
    // Lost a race with another `setup`: the index exists now, which is what we wanted.
    if (esErrorType(e) === 'resource_already_exists_exception') return false;
    throw e;
  }
}
