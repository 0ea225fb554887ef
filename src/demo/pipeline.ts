import type { AppContext } from '../app/context.ts';
import { createRegistry } from '../infra/metrics.ts';
import { EventProducer } from '../ingest/producer.ts';
import { startIngest } from '../ingest/service.ts';
import { setup } from '../setup/index.ts';
import { removeDeployment } from '../setup/teardown.ts';
import { runTraining, type TrainRunOptions, type TrainRunResult } from '../release/run.ts';
import { generateDataset, itemMetadata, userMetadata, type Dataset } from './generate.ts';

export interface DemoSize {
  users: number;
  items: number;
  events: number;
  days: number;
  seed: number;
}

export const DEMO_SIZE: DemoSize = { users: 3000, items: 1500, events: 200_000, days: 42, seed: 2026 };

export interface DemoHooks {
  step?: (name: string) => void;
  progress?: (label: string, done: number, total: number) => void;
  train?: TrainRunOptions['onProgress'];
}

export interface DemoResult {
  data: Dataset;
  stored: number;
  train: TrainRunResult;
  stopIngest(): Promise<void>;
}

/**
 * The demo end to end, without the interactive parts: setup, generate, produce every event
 * (and the malformed ones) through Kafka, ingest into the event store, then train → evaluate →
 * gate → deploy. The ingest consumer keeps running until stopIngest().
 */
export async function runDemoPipeline(
  ctx: AppContext,
  size: DemoSize = DEMO_SIZE,
  hooks: DemoHooks = {},
  opts: { reset?: boolean } = {},
): Promise<DemoResult> {
  const { es, names } = ctx;
  if (opts.reset) {
    hooks.step?.(`reset: removing the previous demo's indices (${names.prefix}*) and topics`);
    // The generator is seeded: a re-run would write the same event ids at shifted timestamps.
    await removeDeployment(es, ctx.kafka, ctx.config);
  }
  hooks.step?.('setup: mappings and topics');
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);

  hooks.step?.(
    `generate: ${size.users} users, ${size.items} items, ~${size.events} events over ${size.days} days (seed ${size.seed})`,
  );
  const startDate = new Date(Date.now() - size.days * 86_400_000);
  const data = generateDataset({ ...size, startDate });
  // through the same upsert as PUT /v1/items and `recsys import`, so the sample is schema-checked
  const items = await ctx.repos.metadata.upsertItems(
    data.items.map((i) => itemMetadata(i) as unknown as Record<string, unknown>),
    { refresh: 'wait_for' },
  );
  const users = await ctx.repos.metadata.upsertUsers(data.users.map(userMetadata), { refresh: 'wait_for' });
  const rejected = [...items.errors, ...users.errors];
  if (rejected.length) throw new Error(`sample metadata rejected: ${JSON.stringify(rejected.slice(0, 3))}`);

  hooks.step?.(
    `produce: ${data.events.length} events + ${data.malformed.length} malformed → Kafka topic ${names.topics.events}`,
  );
  const producer = new EventProducer(ctx.kafka, names.topics.events);
  const messages = [
    ...data.events.map((e) => ({ key: e.user_id, value: JSON.stringify(e) })),
    ...data.malformed.map((m) => ({ key: m.key, value: m.raw })),
  ];
  for (let i = 0; i < messages.length; i += 5000) {
    await producer.sendRaw(messages.slice(i, i + 5000));
    hooks.progress?.('produce', Math.min(i + 5000, messages.length), messages.length);
  }
  await producer.disconnect();

  hooks.step?.('ingest: Kafka → event store (invalid → DLQ)');
  const ingest = await startIngest(ctx, createRegistry(false));
  const count = () => ctx.repos.events.countAfterRefresh();
  let stored = 0;
  const deadline = Date.now() + 10 * 60_000;
  while ((stored = await count()) < data.events.length) {
    hooks.progress?.('ingest', stored, data.events.length);
    if (Date.now() > deadline) throw new Error(`ingest stalled at ${stored}/${data.events.length}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  hooks.progress?.('ingest', stored, data.events.length);

  hooks.step?.('train: ratings → implicit ALS → holdout metrics vs popularity → gate → deploy');
  const train = await runTraining(ctx, { trigger: 'demo', onProgress: hooks.train });
  return { data, stored, train, stopIngest: () => ingest.stop() };
}
