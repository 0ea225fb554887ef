import { AssignerProtocol, type Admin, type Kafka } from 'kafkajs';
import { waitUntil } from './wait.ts';

// Readiness of Kafka consumers, read from the broker instead of guessed with a sleep.

export async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Log-end offset (high watermark) per partition of `topic`. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  return withAdmin(
    kafka,
    async (admin) =>
      new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)])),
  );
}

/** Records written to `topic` so far (sum of high watermarks; the topics here are never truncated). */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  return [...(await endOffsets(kafka, topic)).values()].reduce((a, b) => a + b, 0);
}

/** Committed offset per partition of `topic` for `groupId` (-1 = nothing committed). */
export async function committedOffsets(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<Map<number, number>> {
  return withAdmin(kafka, async (admin) => {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((t?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  });
}

/** True when the group is Stable and every partition of `topic` is assigned to one of its members. */
export async function groupHasAssigned(kafka: Kafka, groupId: string, topic: string): Promise<boolean> {
  return withAdmin(kafka, async (admin) => {
    const [{ groups }, partitions] = await Promise.all([
      admin.describeGroups([groupId]),
      admin.fetchTopicOffsets(topic),
    ]);
    const group = groups[0];
    if (!group || group.state !== 'Stable' || group.members.length === 0) return false;
    const assigned = new Set<number>();
    for (const m of group.members) {
      const a = AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
      for (const p of a?.assignment[topic] ?? []) assigned.add(p);
    }
    return partitions.every((p) => assigned.has(p.partition));
  });
}

/** Waits until consumer group `groupId` has joined (Stable) and holds every partition of `topic`. */
export async function waitForGroupAssigned(
  kafka: Kafka,
  groupId: string,
  topic: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitUntil(
    `group ${groupId} stable with all partitions of ${topic} assigned`,
    () => groupHasAssigned(kafka, groupId, topic),
    timeoutMs,
  );
}

/** Waits until `groupId` has committed the log-end offset of every partition of `topic`: all read, all committed. */
export async function waitForGroupCommittedToEnd(
  kafka: Kafka,
  groupId: string,
  topic: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitUntil(
    `group ${groupId} committed to the end of ${topic}`,
    async () => {
      const [ends, committed] = await Promise.all([
        endOffsets(kafka, topic),
        committedOffsets(kafka, groupId, topic),
      ]);
      return [...ends].every(([p, end]) => end === 0 || committed.get(p) === end);
    },
    timeoutMs,
  );
}
