import { describe, expect, it, onTestFinished } from 'vitest';
import { deployModel } from '../../src/deploy/index.ts';
import { modelLifecycle } from '../../src/model/lifecycle.ts';
import { setup } from '../../src/setup/index.ts';
import type { Client } from '@elastic/elasticsearch';
import { onClient, testContext } from './harness.ts';
import { waitUntil } from './wait.ts';
import { plantedModel } from './planted.ts';

const K = 8;
const N_ITEMS = 400;
const N_USERS = 40;

const planted = (modelId: string, seed: number) =>
  plantedModel(modelId, seed, {
    factors: K,
    items: N_ITEMS,
    users: N_USERS,
    lsh: { tables: 4, bits: 6 },
    extras: true,
  });

/**
 * Each test deploys into its own prefix (aliases, registry, versions kept), so none depends on
 * what an earlier one left live; removed when the test ends.
 */
async function freshDeployment() {
  const ctx = testContext('deploy', { models: { keep: 3 } });
  onTestFinished(() => ctx.dispose());
  await setup(ctx.es, ctx.kafka, ctx.config, ctx.names, ctx.log);
  // catalogue: every factor item plus 10 new items the model has never seen
  const ops = Array.from({ length: N_ITEMS + 10 }, (_, i) => [
    { index: { _index: ctx.names.itemMetadata, _id: `i${i}` } },
    { item_id: `i${i}`, name: `Item ${i}`, category: i % 2 ? 'books' : 'garden', price: i, available: true },
  ]).flat();
  await ctx.es.bulk({ operations: ops, refresh: true });
  return { ctx, es: ctx.es, names: ctx.names };
}

describe('deploy', () => {
  it('writes factor, buckets and model_id for every item, new items without a vector, and goes live', async () => {
    const { ctx, es, names } = await freshDeployment();
    const report = await deployModel(ctx, planted('mone', 1));
    expect(report.items).toBe(N_ITEMS + 10);
    expect(report.itemsWithFactor).toBe(N_ITEMS);
    expect(await modelLifecycle(ctx).liveModelId()).toBe('mone');
    const doc = (await es.get<Record<string, unknown>>({ index: names.itemsAlias, id: 'i7' }))._source!;
    expect(doc['model_id']).toBe('mone');
    expect(doc['category']).toBe('books');
    // asked for by name: 9.x leaves vectors out of a whole _source (index.mapping.exclude_source_vectors)
    const vector = await es.get<{ factor_exact?: number[] }>({
      index: names.itemsAlias,
      id: 'i7',
      _source_includes: ['factor_exact'],
    });
    expect(vector._source?.factor_exact?.length).toBe(K);
    expect((doc['lsh'] as string[]).length).toBe(4);
    expect((doc['lsh'] as string[])[0]).toMatch(/^0_[01]{6}$/);
    const fresh = (
      await es.get<Record<string, unknown>>({
        index: names.itemsAlias,
        id: `i${N_ITEMS + 3}`,
        _source_includes: ['has_factor', 'factor_exact'], // by name, or 9.x would never show a vector
      })
    )._source!;
    expect(fresh['has_factor']).toBe(false);
    expect(fresh['factor_exact']).toBeUndefined();
    const user = (await es.get<Record<string, unknown>>({ index: names.usersAlias, id: 'u3' }))._source!;
    expect(user['recent_items']).toEqual(['i3']);
    const model = await ctx.repos.models.get('mone');
    expect(model?.status).toBe('live');
    expect((model?.lsh as { mips: { tables: number } }).mips.tables).toBe(4);
  });

  it('swaps atomically: a query loop during the second deploy never errors and never mixes models', async () => {
    const { ctx, es, names } = await freshDeployment();
    await deployModel(ctx, planted('mone', 1));
    let stop = false;
    const seen: string[] = [];
    const errors: string[] = [];
    const loop = (async () => {
      while (!stop) {
        try {
          // One search over both aliases: ES resolves them against a single cluster state, which
          // is what the swap promises. (An msearch resolves each sub-search on its own, so two of
          // them can straddle the swap without anything being wrong.)
          const r = await es.search({
            index: `${names.itemsAlias},${names.usersAlias}`,
            size: 0,
            aggs: { models: { terms: { field: 'model_id' } }, indices: { terms: { field: '_index' } } },
          });
          const buckets = (name: string) =>
            (r.aggregations![name] as { buckets: Array<{ key: string }> }).buckets.map((b) => b.key);
          if (buckets('indices').length !== 2) throw new Error(`searched ${buckets('indices').join(',')}`);
          const models = new Set(buckets('models'));
          seen.push([...models].sort().join('+'));
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    })();
    // the loop has seen the first model before the second deploy starts …
    await waitUntil(
      'the query loop has answered once',
      async () => seen.length + errors.length > 0,
      30_000,
      10,
    );
    await deployModel(ctx, planted('mtwo', 2));
    // … and keeps answering after the swap for a few rounds
    const atSwap = seen.length + errors.length;
    await waitUntil(
      'the query loop has answered after the swap',
      async () => seen.length + errors.length >= atSwap + 5,
      30_000,
      10,
    );
    stop = true;
    await loop;
    expect(errors).toEqual([]);
    expect(new Set(seen)).toEqual(new Set(['mone', 'mtwo']));
    expect(seen.indexOf('mtwo')).toBeGreaterThan(0);
    // once the new model shows up, the old one never comes back
    expect(seen.slice(seen.indexOf('mtwo')).every((m) => m === 'mtwo')).toBe(true);
    expect((await ctx.repos.models.get('mone'))?.status).toBe('retired');
  });

  it('swaps in one step: right after every alias change, the items and users aliases name one model', async () => {
    const { ctx, es, names } = await freshDeployment();
    await deployModel(ctx, planted('mone', 1));
    // Rather than sample for the swap instant, stop the deploy right after each alias change it
    // makes and look: were the swap two changes (items, then users), the look between them would
    // find the two aliases on different models.
    const looks: string[][] = [];
    const look = async () => {
      const r = await es.search({
        index: `${names.itemsAlias},${names.usersAlias}`,
        size: 0,
        aggs: { models: { terms: { field: 'model_id' } } },
      });
      looks.push(
        (r.aggregations!['models'] as { buckets: Array<{ key: string }> }).buckets.map((b) => b.key),
      );
    };
    await deployModel(onClient(ctx, afterAliasChanges(es, look)), planted('mtwo', 2));
    expect(looks.length).toBeGreaterThan(0);
    for (const models of looks) expect(models).toHaveLength(1);
    expect(looks.at(-1)).toEqual(['mtwo']);
  });

  it('rollback returns the previous model in one action, and roll forward works too', async () => {
    const { ctx, es, names } = await freshDeployment();
    await deployModel(ctx, planted('mone', 1));
    await deployModel(ctx, planted('mtwo', 2));
    const r = await modelLifecycle(ctx).rollback();
    expect(r).toEqual({ modelId: 'mone', previousModelId: 'mtwo' });
    expect(await modelLifecycle(ctx).liveModelId()).toBe('mone');
    expect(
      (await es.get<{ model_id: string }>({ index: names.usersAlias, id: 'u1' }))._source!.model_id,
    ).toBe('mone');
    await modelLifecycle(ctx).activate('mtwo');
    expect(await modelLifecycle(ctx).liveModelId()).toBe('mtwo');
    await expect(modelLifecycle(ctx).activate('nope')).rejects.toThrow(/does not exist/);
  });

  it('a deploy that fails midway leaves the live model serving and removes its half-built index', async () => {
    const { ctx, es, names } = await freshDeployment();
    await deployModel(ctx, planted('mtwo', 2));
    await expect(
      deployModel(ctx, planted('mbad', 3), {
        beforeSwap: () => Promise.reject(new Error('deploy aborted before the swap (test fault)')),
      }),
    ).rejects.toThrow(/before the swap/);
    expect(await modelLifecycle(ctx).liveModelId()).toBe('mtwo');
    expect(await es.indices.exists({ index: names.itemsIndex('mbad') })).toBe(false);
    const bad = await ctx.repos.models.get('mbad');
    expect(bad?.status).toBe('failed');
    expect(bad?.error).toMatch(/deploy/);
    const hits = await es.search({ index: names.itemsAlias, size: 1, query: { match_all: {} } });
    expect(hits.hits.hits.length).toBe(1);
  });

  it('keeps the newest N versions and deletes older ones', async () => {
    const { ctx, es, names } = await freshDeployment();
    await deployModel(ctx, planted('mone', 1));
    await deployModel(ctx, planted('mtwo', 2));
    await deployModel(ctx, planted('mthree', 4));
    await deployModel(ctx, planted('mfour', 5));
    const versions = await ctx.repos.modelIndices.versions();
    expect(versions).toEqual(['mfour', 'mthree', 'mtwo']);
    expect(await es.indices.exists({ index: names.itemsIndex('mone') })).toBe(false);
  });
});

/** The same client, calling `after` once each alias change has been acknowledged. */
function afterAliasChanges(es: Client, after: () => Promise<void>): Client {
  const bind = (target: object, prop: string | symbol) => {
    const v = Reflect.get(target, prop) as unknown;
    return typeof v === 'function' ? v.bind(target) : v;
  };
  const indices = new Proxy(es.indices, {
    get(target, prop) {
      if (prop !== 'updateAliases') return bind(target, prop);
      return async (...args: Parameters<Client['indices']['updateAliases']>) => {
        const r = await target.updateAliases(...args);
        await after();
        return r;
      };
    },
  });
  return new Proxy(es, { get: (target, prop) => (prop === 'indices' ? indices : bind(target, prop)) });
}
