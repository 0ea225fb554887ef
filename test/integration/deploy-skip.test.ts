// A deploy never fails on a few bad documents: ids today's rules refuse (768-byte ids in the factor
// input) are skipped before they are sent, documents the cluster refuses (a catalogue value that
// does not fit the mapping) are skipped when refused; all are counted on the report and the model
// document, and the deploy goes live. More than the skip limit still fails it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gramian } from '../../src/als/index.ts';
import type { Config } from '../../src/config/index.ts';
import { deployModel, type DeployInput } from '../../src/deploy/index.ts';
import { modelLifecycle } from '../../src/model/lifecycle.ts';
import { setup } from '../../src/setup/index.ts';
import type { SkipSummary } from '../../src/types/skipped.ts';
import { testContext } from './harness.ts';

// weight_kg is whitelisted as a range filter now; the catalogue was filled before it was
const ctx = testContext('deployskip', { serving: { filterFields: { range: ['price', 'weight_kg'] } } });
const { es, names } = ctx;
const K = 4;
const N_ITEMS = 300;
const N_USERS = 30;
const LONG = (j: number) => `${'€'.repeat(256)}${j}`; // 769 bytes: over ours (256) and ES's (512) limit
/** catalogue items whose weight_kg was stored as text before weight_kg became a float filter */
const UNFIT = ['i5', 'i6', 'legacy-1'];

function planted(modelId: string): DeployInput {
  let s = 5;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const itemIds = [...Array.from({ length: N_ITEMS }, (_, i) => `i${i}`), LONG(1), LONG(2)];
  const userIds = [...Array.from({ length: N_USERS }, (_, u) => `u${u}`), LONG(3)];
  return {
    modelId,
    factors: K,
    itemIds,
    itemFactors: Float32Array.from({ length: itemIds.length * K }, () => rnd() || 0.5),
    userIds,
    userFactors: Float32Array.from({ length: userIds.length * K }, () => rnd() || 0.5),
    lsh: { tables: 2, bits: 4, seed: 3 },
  };
}

const reasons = (s: SkipSummary | undefined) =>
  Object.fromEntries(
    (s?.by_reason ?? []).map((b) => [`${b.stage}:${/parsing/.test(b.reason) ? 'unfit' : b.reason}`, b.count]),
  );

beforeAll(async () => {
  const before: Config = {
    ...ctx.config,
    serving: {
      ...ctx.config.serving,
      filterFields: { ...ctx.config.serving.filterFields, range: ['price'] },
    },
  };
  await setup(es, ctx.kafka, before, names, ctx.log);
  const docs = [
    ...Array.from({ length: N_ITEMS }, (_, i) => ({
      item_id: `i${i}`,
      name: `Item ${i}`,
      price: i,
      weight_kg: i / 100,
    })),
    { item_id: 'legacy-1', name: 'Legacy' },
  ].map((d) => (UNFIT.includes(d.item_id) ? { ...d, weight_kg: 'heavy' } : d));
  await es.bulk({
    refresh: true,
    operations: docs.flatMap((d) => [{ index: { _index: names.itemMetadata, _id: d.item_id } }, d]),
  });
  // the whitelist change is applied: weight_kg is mapped as float from now on
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
});

afterAll(() => ctx.dispose());

describe('deploy skips bad documents', () => {
  it('skips ids over the limit and documents the mapping refuses, counts them, and goes live', async () => {
    const input = planted('mskip');
    const report = await deployModel(ctx, input);
    expect(reasons(report.skipped)).toEqual({
      'items:invalid_id': 2,
      'items:unfit': 3,
      'users:invalid_id': 1,
    });
    expect(report.skippedItems).toBe(5);
    expect(report.skippedUsers).toBe(1);
    expect(report.items).toBe(N_ITEMS + 1 + 2 - 5);
    expect(report.users).toBe(N_USERS);
    expect(report.itemsWithFactor).toBe(N_ITEMS - 2);
    expect(await modelLifecycle(ctx).liveModelId()).toBe('mskip');

    const doc = await ctx.repos.models.get('mskip');
    expect(doc?.status).toBe('live');
    const deploy = doc!.deploy as {
      items: number;
      skipped_items: number;
      skipped_users: number;
      skipped: SkipSummary;
    };
    expect(deploy).toMatchObject({ items: N_ITEMS - 2, skipped_items: 5, skipped_users: 1 });
    expect(reasons(deploy.skipped)).toEqual(reasons(report.skipped));
    expect(deploy.skipped.examples).toHaveLength(6);
    for (const e of deploy.skipped.examples) expect(e.id.length).toBeLessThanOrEqual(64 + 20);
    expect(deploy.skipped.examples.find((e) => e.stage === 'users')).toMatchObject({
      reason: 'invalid_id',
      id: expect.stringMatching(/^€+… \(769 bytes\)$/),
    });
    expect(
      deploy.skipped.examples
        .filter((e) => /parsing/.test(e.reason))
        .map((e) => e.id)
        .sort(),
    ).toEqual([...UNFIT].sort());

    // the served YᵀY is over exactly the deployed item factors
    const yty = new Float64Array(Uint8Array.from(Buffer.from(doc!.yty!, 'base64')).buffer);
    expect(yty.length).toBe(K * K);
    const kept = input.itemIds.flatMap((id, i) => (id.length < 100 && !UNFIT.includes(id) ? [i] : []));
    const want = gramian(
      Float32Array.from(kept.flatMap((i) => Array.from(input.itemFactors.subarray(i * K, (i + 1) * K)))),
      K,
    );
    yty.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 6));

    // the others are there, with the new whitelist's mapping
    await es.indices.refresh({ index: names.itemsAlias });
    expect(
      (await es.count({ index: names.itemsAlias, query: { range: { weight_kg: { gte: 2 } } } })).count,
    ).toBe(100);
    expect((await es.get({ index: names.itemsAlias, id: 'i7' })).found).toBe(true);
    expect((await es.get({ index: names.usersAlias, id: 'u3' })).found).toBe(true);
  });

  it('more skips than the limit fail the deploy; the live model stays and the record says what was skipped', async () => {
    const live = await modelLifecycle(ctx).liveModelId();
    await expect(deployModel(ctx, planted('mskip2'), { skipLimit: { min: 3, fraction: 0 } })).rejects.toThrow(
      /4 of \d+ items documents skipped .*more than the 3 allowed/,
    );
    const doc = await ctx.repos.models.get('mskip2');
    expect(doc?.status).toBe('failed');
    expect((doc?.deploy as { skipped?: SkipSummary }).skipped?.total).toBe(4);
    expect(await modelLifecycle(ctx).liveModelId()).toBe(live);
    expect(await es.indices.exists({ index: names.itemsIndex('mskip2') })).toBe(false);
  });
});
