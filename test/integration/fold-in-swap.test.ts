// The architecture review suspected that right after a model swap, fold-in could combine the new
// model's item factors (read through the alias) with the old model's YᵀY (cached for up to 5 s) and
// tag the user document with the old model id. This file pins the required behaviour: a fold-in
// right after a swap is computed entirely from the new model and written to its users index.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlsModel, gramian, recalculateUser } from '../../src/als/index.ts';
import { deployModel, type DeployInput } from '../../src/deploy/index.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { EventProducer } from '../../src/ingest/producer.ts';
import { modelLifecycle } from '../../src/model/lifecycle.ts';
import { LiveModelResolver } from '../../src/model/live-model.ts';
import { startOnline, type OnlineService } from '../../src/online/service.ts';
import { setup } from '../../src/setup/index.ts';
import { testContext } from './harness.ts';
import { waitUntil } from './wait.ts';
import { plantedModel } from './planted.ts';

const ctx = testContext('swapfold');
const { es, names } = ctx;
const K = 8;
const N_ITEMS = 50;
const producer = new EventProducer(ctx.kafka, names.topics.events);
let online: OnlineService | undefined;

function planted(modelId: string, seed: number) {
  return { ...plantedModel(modelId, seed, { factors: K, items: N_ITEMS, users: 1 }), userIds: ['seed-user'] };
}

/** What the ALS user step gives for these (item index, rating) pairs against one model. */
const modelParams = {
  factors: K,
  regularization: ctx.config.als.regularization,
  alpha: ctx.config.als.alpha,
  weighting: 'linear' as const,
};

function expectedFactor(model: DeployInput, items: Array<[number, number]>): number[] {
  const als = new AlsModel({
    params: modelParams,
    userFactors: model.userFactors,
    itemFactors: model.itemFactors,
  });
  return Array.from(als.recalculateUser(items)!);
}

async function userDoc(index: string, id: string) {
  return (
    await es
      .get<{ model_id: string; factor: number[] }>({ index, id, _source_includes: ['model_id', 'factor'] })
      .catch(() => undefined)
  )?._source;
}

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
});

afterAll(async () => {
  await online?.stop();
  await producer.disconnect();
  await ctx.dispose();
});

describe('fold-in across a model swap', () => {
  it('a fold-in right after a swap uses the new model’s item factors and YᵀY and writes to its users index', async () => {
    const a = planted('mswapa', 11);
    const b = planted('mswapb', 29);
    await deployModel(ctx, a);
    // a long alias TTL: a resolver that trusted its cache would still see model A after the swap
    online = await startOnline(ctx, createRegistry(false), {
      resolver: new LiveModelResolver(ctx.repos, names, ctx.log, 600_000),
    });

    // warm up against A: the consumer is running and has resolved A
    const now = Date.now();
    const send = (id: string, user: string, item: string, type: string, at: number) =>
      producer.send([
        {
          event_id: id,
          user_id: user,
          item_id: item,
          event_type: type,
          timestamp: new Date(at).toISOString(),
        },
      ]);
    await waitUntil(
      'the warm-up user is folded in against model A',
      async () => {
        await send(`warm-${Date.now()}`, 'warm-user', 'i3', 'page_view', now);
        return (await userDoc(names.usersIndex('mswapa'), 'warm-user'))?.model_id === 'mswapa';
      },
      60_000,
      1_000,
    );

    // u1's earlier purchase is already in the event store; the new event arrives right after the swap
    await es.index({
      index: names.eventsIndex(new Date(now - 60_000)),
      id: 'u1-old',
      document: {
        event_id: 'u1-old',
        user_id: 'u1',
        item_id: 'i1',
        event_type: 'purchase',
        timestamp: new Date(now - 60_000).toISOString(),
      },
      refresh: true,
    });
    await deployModel(ctx, b, { lifecycle: modelLifecycle(ctx) });
    expect(await modelLifecycle(ctx).liveModelId()).toBe('mswapb');
    await send('u1-new', 'u1', 'i2', 'page_view', now);

    await waitUntil('u1 is folded in', async () => (await userDoc(names.usersAlias, 'u1')) !== undefined);
    const doc = (await userDoc(names.usersAlias, 'u1'))!;
    expect(doc.model_id).toBe('mswapb');
    const want = expectedFactor(b, [
      [1, 5],
      [2, 1],
    ]);
    doc.factor.forEach((x, d) => expect(x).toBeCloseTo(want[d]!, 4));
    // the mixed pairing the review feared (B's factors, A's YᵀY) gives a measurably different vector
    const withOldGram = Array.from(
      recalculateUser({ ...modelParams, nItems: N_ITEMS, yty: gramian(a.itemFactors, K) }, [
        { factor: b.itemFactors.subarray(K, 2 * K), rating: 5 },
        { factor: b.itemFactors.subarray(2 * K, 3 * K), rating: 1 },
      ])!,
    );
    expect(withOldGram.some((x, d) => Math.abs(x - want[d]!) > 1e-3)).toBe(true);
    // nothing about u1 was written to the retired model's index
    expect(await userDoc(names.usersIndex('mswapa'), 'u1')).toBeUndefined();
  });
});
