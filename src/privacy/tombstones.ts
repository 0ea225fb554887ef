// How long a user's tombstone must live: as long as a message produced before the forget can still
// be read from a topic. Kafka deletes a segment once its newest record is older than retention.ms,
// and the segment holding the last such record may stay open for up to segment.ms before it is
// rolled; so the last copy is gone at the latest retention.ms + segment.ms after the forget.

import type { Kafka } from 'kafkajs';
import type { Logger } from '../infra/logger.ts';

/** Kafka's defaults, used when a topic's config cannot be read: 7 days each. */
const DEFAULT_RETENTION_MS = 7 * 86_400_000;
const DEFAULT_SEGMENT_MS = 7 * 86_400_000;

export interface TopicRetention {
  topic: string;
  /** -1: kept forever */
  retentionMs: number;
  segmentMs: number;
  /** read from the broker, or Kafka's defaults assumed */
  source: 'broker' | 'default';
}

/** retention.ms and segment.ms of these topics (Kafka's defaults for any it cannot read). */
export async function topicRetention(kafka: Kafka, topics: string[], log: Logger): Promise<TopicRetention[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const r = await admin.describeConfigs({
      resources: topics.map((name) => ({
        type: 2 /* TOPIC */,
        name,
        configNames: ['retention.ms', 'segment.ms'],
      })),
      includeSynonyms: false,
    });
    return topics.map((topic) => {
      const entries = r.resources.find((x) => x.resourceName === topic)?.configEntries ?? [];
      const num = (name: string) => {
        const v = Number(entries.find((c) => c.configName === name)?.configValue);
        return Number.isFinite(v) ? v : undefined;
      };
      const retentionMs = num('retention.ms');
      const segmentMs = num('segment.ms');
      return {
        topic,
        retentionMs: retentionMs ?? DEFAULT_RETENTION_MS,
        segmentMs: segmentMs ?? DEFAULT_SEGMENT_MS,
        source: retentionMs !== undefined ? 'broker' : 'default',
      };
    });
  } catch (e) {
    log.warn(
      { topics, err: (e as Error).message },
      "could not read the topics' retention; assuming Kafka's defaults",
    );
    return topics.map((topic) => ({
      topic,
      retentionMs: DEFAULT_RETENTION_MS,
      segmentMs: DEFAULT_SEGMENT_MS,
      source: 'default' as const,
    }));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** When a tombstone written at `at` may expire; null while any topic keeps messages forever. */
export function tombstoneExpiry(at: Date, retention: readonly TopicRetention[]): Date | null {
  let longest = 0;
  for (const r of retention) {
    if (r.retentionMs < 0) return null;
    longest = Math.max(longest, r.retentionMs + Math.max(0, r.segmentMs));
  }
  return new Date(at.getTime() + longest);
}
