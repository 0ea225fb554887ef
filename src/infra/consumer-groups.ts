// Consumer groups as the broker sees them: whether anyone is consuming, and how far behind. Read
// from Kafka itself, so the API can report the ingest and fold-in processes it does not run.

import type { Admin } from 'kafkajs';

export interface GroupHealth {
  groupId: string;
  topic: string;
  /** Kafka's group state: Stable, PreparingRebalance, CompletingRebalance, Empty, Dead */
  state: string;
  members: number;
  /** messages behind the log end, per partition (uncommitted partitions count from the log start) */
  lag: Record<string, number>;
  totalLag: number;
}

/** Per-partition lag of a consumer group: log-end offset minus committed offset. */
export async function consumerLag(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<Array<{ partition: number; lag: number }>> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  return ends.map((e) => {
    const end = Number(e.high);
    const at = done.get(e.partition) ?? -1;
    // -1 = nothing committed yet: the whole retained log is lag
    return { partition: e.partition, lag: at < 0 ? end - Number(e.low) : Math.max(0, end - at) };
  });
}

export async function describeGroups(
  admin: Admin,
  groups: Array<{ groupId: string; topic: string }>,
): Promise<GroupHealth[]> {
  if (!groups.length) return [];
  const described = new Map(
    (await admin.describeGroups(groups.map((g) => g.groupId))).groups.map((g) => [g.groupId, g]),
  );
  return Promise.all(
    groups.map(async ({ groupId, topic }) => {
      const g = described.get(groupId);
      const lags = await consumerLag(admin, groupId, topic);
      return {
        groupId,
        topic,
        state: g?.state ?? 'Dead',
        members: g?.members.length ?? 0,
        lag: Object.fromEntries(lags.map((l) => [String(l.partition), l.lag])),
        totalLag: lags.reduce((a, l) => a + l.lag, 0),
      };
    }),
  );
}
