// Retries against the real Elasticsearch, with rejections injected by an HTTP proxy in front of
// it: a deploy and metadata upserts survive 429s (whole requests and single bulk items), a
// non-retriable item still fails a deploy at once, an exhausted budget gives up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkLoad } from '../../src/repositories/bulk-load.ts';
import { modelLifecycle } from '../../src/model/lifecycle.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { createEsClient, LOCAL_ES_URL } from '../../src/infra/clients.ts';
import { RetriesExhaustedError } from '../../src/infra/retry.ts';
import { setup } from '../../src/setup/index.ts';
import { startEsFaultProxy, type FaultProxy } from './es-fault-proxy.ts';
import { onClient, testContext } from './harness.ts';
import { plantedModel } from './planted.ts';

const ctx = testContext('deployretry');
const { es, names } = ctx;
const K = 4;
// > 2 chunks of 1000, so several item bulks are in flight at once and get rejected
const N_ITEMS = 2500;
const N_USERS = 50;
const N_META = 30;

let proxy: FaultProxy;
let proxied: typeof ctx;

const planted = (modelId: string, seed: number) =>
  plantedModel(modelId, seed, { factors: K, items: N_ITEMS, users: N_USERS });

async function allDocs(index: string, fields: string[]): Promise<Map<string, Record<string, unknown>>> {
  await es.indices.refresh({ index });
  const r = await es.search<Record<string, unknown>>({
    index,
    size: 10_000,
    _source: fields,
    query: { match_all: {} },
  });
  return new Map(r.hits.hits.map((h) => [h._id!, h._source!]));
}

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  await es.bulk({
    refresh: true,
    operations: Array.from({ length: N_META }, (_, i) => [
      { index: { _index: names.itemMetadata, _id: `i${i}` } },
      { item_id: `i${i}`, category: i % 2 ? 'books' : 'garden' },
    ]).flat(),
  });
  proxy = await startEsFaultProxy(ctx.config.es.url ?? LOCAL_ES_URL);
  // the production client settings (createEsClient), pointed at the proxy
  const proxiedEs = createEsClient({ ...ctx.config, es: { ...ctx.config.es, url: proxy.url } });
  proxied = onClient(ctx, proxiedEs);
});

afterAll(async () => {
  await proxied?.es.close();
  await proxy?.close();
  await ctx.dispose();
});

describe('retries against a rejecting cluster', () => {
  it('a deploy survives whole-request and item-level 429s and goes live with every document', async () => {
    proxy.reset({
      // the 1st, 4th, 7th … bulk requests are rejected whole, every 7th item of the others
      wholeRequest: (n) => n % 3 === 1 && n < 12,
      item: (n, i) => n < 12 && i % 7 === n % 7,
    });
    const input = planted('mretry', 1);
    const report = await deployModel(proxied, input);
    expect(proxy.stats.wholeRejected).toBeGreaterThan(0);
    expect(proxy.stats.itemsRejected).toBeGreaterThan(0);
    expect(report.items).toBe(N_ITEMS);
    expect(report.itemsWithFactor).toBe(N_ITEMS);
    expect(await modelLifecycle(ctx).liveModelId()).toBe('mretry');
    expect((await ctx.repos.models.get('mretry'))?.status).toBe('live');

    const items = await allDocs(names.itemsIndex('mretry'), ['factor_exact', 'model_id', 'category']);
    expect(items.size).toBe(N_ITEMS);
    input.itemIds.forEach((id, i) => {
      const doc = items.get(id);
      expect(doc, id).toBeDefined();
      expect(doc!['model_id']).toBe('mretry');
      // exact once read back as the float32 values Elasticsearch holds (deploy writes 9 digits)
      expect(Float32Array.from(doc!['factor_exact'] as number[])).toEqual(
        input.itemFactors.subarray(i * K, (i + 1) * K),
      );
    });
    expect(items.get('i3')!['category']).toBe('books');
    const users = await allDocs(names.usersIndex('mretry'), ['factor']);
    expect(users.size).toBe(N_USERS);
    input.userIds.forEach((id, u) =>
      expect(users.get(id)?.['factor']).toEqual(Array.from(input.userFactors.subarray(u * K, (u + 1) * K))),
    );
  });

  it('metadata upserts (metadata index and live items index) survive 429s, with a clean report', async () => {
    proxy.reset({ wholeRequest: (n) => n === 1 || n === 3, item: (n, i) => n < 5 && i % 3 === 0 });
    const docs = Array.from({ length: 40 }, (_, i) => ({
      item_id: `i${i}`,
      name: `Item ${i}`,
      brand: `b${i % 4}`,
    }));
    // i2500.. are new to the live model: created without a factor in the live index
    docs.push(
      ...Array.from({ length: 5 }, (_, i) => ({
        item_id: `i${N_ITEMS + i}`,
        name: `New ${i}`,
        brand: 'fresh',
      })),
    );
    const report = await proxied.repos.metadata.upsertItems(docs);
    expect(proxy.stats.wholeRejected).toBe(2);
    expect(proxy.stats.itemsRejected).toBeGreaterThan(0);
    expect(report.errors).toEqual([]);
    expect(report.upserted).toBe(45);
    expect(report.metadata.failed).toBe(0);
    expect(report.metadata.created + report.metadata.updated).toBe(45);
    expect(report.live).toMatchObject({ modelId: 'mretry', failed: 0 });
    expect(report.live!.created + report.live!.updated).toBe(45);

    const meta = await allDocs(names.itemMetadata, ['name', 'brand', 'category']);
    for (const d of docs) expect(meta.get(d.item_id)).toMatchObject({ name: d.name, brand: d.brand });
    expect(meta.get('i3')!['category']).toBe('books');
    const live = await allDocs(names.itemsIndex('mretry'), ['name', 'brand', 'has_factor', 'factor_exact']);
    expect(live.get('i7')).toMatchObject({ name: 'Item 7', brand: 'b3', has_factor: true });
    expect((live.get('i7')!['factor_exact'] as number[]).length).toBe(K);
    expect(live.get(`i${N_ITEMS + 2}`)).toMatchObject({ name: 'New 2', brand: 'fresh', has_factor: false });

    proxy.reset({ wholeRequest: (n) => n === 1, item: (n, i) => n === 2 && i === 0 });
    const users = await proxied.repos.metadata.upsertUsers([
      { user_id: 'u1', country: 'DE' },
      { user_id: 'u2', segment: 'vip' },
    ]);
    expect(users.errors).toEqual([]);
    expect(users.upserted).toBe(2);
    expect(proxy.stats.itemsRejected).toBe(1);
    expect(
      (await es.get<Record<string, unknown>>({ index: names.userMetadata, id: 'u1' }))._source,
    ).toMatchObject({ country: 'DE' });
  });

  it('metadata items still rejected when the budget runs out come back as errors, as before', async () => {
    proxy.reset({ item: (_n, _i, id) => id === 'u11' });
    const report = await proxied.repos.metadata.upsertUsers(
      [{ user_id: 'u10' }, { user_id: 'u11' }, { user_id: 'u12' }],
      { retry: { initialMs: 50, maxMs: 100, deadlineMs: 1000 } },
    );
    expect(proxy.stats.bulkRequests).toBeGreaterThan(2);
    expect(report.upserted).toBe(2);
    expect(report.metadata.failed).toBe(1);
    expect(report.errors).toEqual([
      { index: 1, id: 'u11', target: 'metadata', message: 'temporarily rejected by the cluster, retry' },
    ]);
  });

  it('a bulk load that keeps being rejected gives up when its budget runs out', async () => {
    proxy.reset({ wholeRequest: () => true });
    const started = Date.now();
    const docs = [{ id: 'a', doc: { x: 1 } }];
    const e = await bulkLoad(proxied.es, `${ctx.config.indexPrefix}scratch`, docs, {
      retry: { initialMs: 50, maxMs: 200, deadlineMs: 1500 },
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetriesExhaustedError);
    expect((e as Error).message).toMatch(
      /bulk load into .*scratch: gave up after \d+ attempts.*es_rejected_execution_exception/s,
    );
    expect(proxy.stats.wholeRejected).toBeGreaterThan(2);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a mapping conflict that hits more documents than the skip limit fails the deploy at once, 429s in the same request notwithstanding', async () => {
    // A real mapping conflict: item-metadata does not map undeclared fields, so it keeps `lsh` as
    // an object in _source; in items-<model_id> lsh is a keyword (the LSH bucket terms), and a
    // catalogue item without a factor keeps its metadata's lsh. 30 such items: more than the
    // max(10, 0.1 %) a deploy may skip. Their chunk also gets retriable 429 items.
    const broken = Array.from({ length: 30 }, (_, j) => `broken${j}`);
    await es.bulk({
      refresh: true,
      operations: broken.flatMap((id) => [
        { index: { _index: names.itemMetadata, _id: id } },
        { item_id: id, lsh: { not: 'a term' } },
      ]),
    });
    const sent = new Map<string, number>();
    try {
      proxy.reset({
        item: (_n, i) => i % 5 === 2,
        onBulk: (_n, body) => {
          for (const id of broken) if (body.includes(`"_id":"${id}"`)) sent.set(id, (sent.get(id) ?? 0) + 1);
        },
      });
      const started = Date.now();
      await expect(deployModel(proxied, planted('mconflict', 2))).rejects.toThrow(
        /items documents skipped .*more than the 10 allowed.*(document_parsing_exception|mapper_parsing_exception)/,
      );
      // refused documents are never retried; the load stopped once the limit was passed
      expect([...sent.values()].every((n) => n === 1)).toBe(true);
      expect(sent.size).toBeGreaterThan(10);
      expect(proxy.stats.itemsRejected).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(60_000);
      const doc = await ctx.repos.models.get('mconflict');
      expect(doc?.status).toBe('failed');
      expect((doc?.deploy as { skipped?: { total: number } } | undefined)?.skipped?.total).toBe(11);
      expect(await modelLifecycle(ctx).liveModelId()).toBe('mretry');
      expect(await es.indices.exists({ index: names.itemsIndex('mconflict') })).toBe(false);
    } finally {
      await es.bulk({
        refresh: true,
        operations: broken.map((id) => ({ delete: { _index: names.itemMetadata, _id: id } })),
      });
    }
  });
});
