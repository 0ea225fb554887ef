import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/index.ts';
import { createProducer } from '../../src/infra/clients.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { startIngest } from '../../src/ingest/service.ts';
import { setup } from '../../src/setup/index.ts';
import { testContext } from './harness.ts';
import { committedOffsets, withAdmin } from './kafka-wait.ts';
import { describeGroups } from '../../src/infra/consumer-groups.ts';

// Finding 6 of issue 35: with its metrics port taken, ingest claimed 6,000 events in the ledger
// and then died of an unhandled EADDRINUSE. It must fail before it consumes anything.

const ctx = testContext('order');
let taken: net.Server;
let port: number;

beforeAll(async () => {
  await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
  taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, ctx.config.api.host, r));
  port = (taken.address() as net.AddressInfo).port;
}, 120_000);

afterAll(async () => {
  await new Promise((r) => taken.close(r));
  await ctx.dispose();
});

describe('ingest with its metrics port taken', () => {
  it('refuses to start, naming the port, before it consumes or claims a single event', async () => {
    const producer = createProducer(ctx.kafka, 'reliable');
    await producer.connect();
    await producer.send({
      topic: ctx.names.topics.events,
      acks: -1,
      messages: Array.from({ length: 20 }, (_, n) => ({
        key: `u${n}`,
        value: JSON.stringify({
          event_id: `e${n}`,
          user_id: `u${n}`,
          item_id: 'i1',
          event_type: 'click',
          timestamp: new Date().toISOString(),
        }),
      })),
    });
    await producer.disconnect();

    const start = startIngest(ctx, createRegistry(false), { metricsPort: port });
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toThrow(/INGEST_METRICS_PORT/);

    // it never joined the group (kafkajs's run() returns once joined: a consumer started before the
    // port would be a member here), committed nothing, claimed nothing, stored nothing
    const [group] = await withAdmin(ctx.kafka, (admin) =>
      describeGroups(admin, [{ groupId: ctx.names.groups.ingest, topic: ctx.names.topics.events }]),
    );
    expect(group!.members).toBe(0);
    const committed = await committedOffsets(ctx.kafka, ctx.names.groups.ingest, ctx.names.topics.events);
    expect([...committed.values()].every((o) => o < 0)).toBe(true);
    const stores = `${ctx.names.eventsPattern},${ctx.names.eventIds}`;
    await ctx.es.indices.refresh({ index: stores, ignore_unavailable: true });
    expect((await ctx.es.count({ index: stores, ignore_unavailable: true })).count).toBe(0);
  }, 120_000);
});
