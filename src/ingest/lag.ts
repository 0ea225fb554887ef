import type { Admin } from 'kafkajs';

/** Per-partition lag of a consumer group: log-end offset minus committed offset. */
export async function consumerLag(admin: Admin, groupId: string, topic: string): Promise<Array<{ partition: number; lag: number }>> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  return ends.map((e) => {
    const end = Number(e.high);
    const at = done.get(e.partition) ?? -1;
    // -1 = nothing committed yet: the whole retained log is lag
    return { partition: e.partition, lag: at < 0 ? end - Number(e.low) : Math.max(0, end - at) };
  });
}
