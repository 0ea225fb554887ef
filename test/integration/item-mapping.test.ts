// Free-form item attributes do not grow the mapping: item-metadata and items-<model_id> map
// nothing dynamically (dynamic: false), undeclared attributes stay in _source; the filter
// whitelist's undeclared fields are mapped explicitly with their filter type and type-checked at
// the API. Also: setup switches an index created with the old dynamic templates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { estypes } from '@elastic/elasticsearch';
import { startServer, type AdminOps, type RunningServer } from '../../src/api/app.ts';
import { deployModel } from '../../src/deploy/index.ts';
import { createRegistry } from '../../src/infra/metrics.ts';
import { setup } from '../../src/setup/index.ts';
import { testContext } from './harness.ts';

const ctx = testContext('itemmap', {
  serving: {
    filterFields: {
      keyword: ['category', 'tags', 'brand', 'color'],
      boolean: ['available', 'fragile'],
      range: ['price', 'weight_kg'],
    },
  },
});
const { es, names } = ctx;
const KEY = 'itemmap-key';
const MODEL = 'mmap1';
const K = 4;
const N_ITEMS = 40;
const COLORS = ['red', 'green', 'blue', 'amber'];
const itemIds = Array.from({ length: N_ITEMS }, (_, i) => `i${i}`);
const noop: AdminOps = {
  listModels: async () => [],
  getModel: async () => undefined,
  activate: async () => undefined,
  startTraining: async () => ({ run_id: 'x' }),
  stageModel: async (id) => ({ model_id: id, status: 'deploying' }),
};

let server: RunningServer;

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; field?: string } };
}> {
  const res = await fetch(server.url + path, {
    method,
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Every mapped field of an index, multi-fields and object sub-fields included (dotted paths). */
async function mappedFields(index: string): Promise<string[]> {
  const r = await es.indices.getMapping({ index });
  const out: string[] = [];
  const walk = (props: Record<string, estypes.MappingProperty> | undefined, prefix: string) => {
    for (const [name, p] of Object.entries(props ?? {})) {
      out.push(prefix + name);
      const q = p as {
        properties?: Record<string, estypes.MappingProperty>;
        fields?: Record<string, estypes.MappingProperty>;
      };
      walk(q.properties, `${prefix}${name}.`);
      walk(q.fields, `${prefix}${name}.`);
    }
  };
  walk(Object.values(r)[0]!.mappings.properties, '');
  return out.sort();
}

async function mappingOf(index: string): Promise<estypes.MappingTypeMapping> {
  return Object.values(await es.indices.getMapping({ index }))[0]!.mappings;
}

beforeAll(async () => {
  await setup(es, ctx.kafka, ctx.config, names, ctx.log);
  const report = await ctx.repos.metadata.upsertItems(
    itemIds.map((id, i) => ({
      item_id: id,
      name: `Item ${i}`,
      category: `c${i % 3}`,
      price: i,
      color: COLORS[i % 4],
      fragile: i % 2 === 0,
      weight_kg: i / 10,
    })),
    { refresh: true },
  );
  expect(report.errors).toEqual([]);
  let s = 7;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  await deployModel(ctx, {
    modelId: MODEL,
    factors: K,
    itemIds,
    itemFactors: Float32Array.from({ length: N_ITEMS * K }, () => rnd() || 0.5),
    userIds: ['u1', 'u2'],
    userFactors: Float32Array.from({ length: 2 * K }, () => rnd() || 0.5),
    lsh: { tables: 2, bits: 4, seed: 3 },
  });
  server = await startServer({
    ctx,
    registry: createRegistry(false),
    admin: noop,
    port: 0,
    host: '127.0.0.1',
    options: { apiKeys: [KEY], defaultMode: 'exact' },
  });
});

afterAll(async () => {
  await server?.close();
  await ctx.dispose();
});

describe('item mappings do not grow with free-form attributes', () => {
  it('item-metadata and the live items index map nothing dynamically, and map the whitelisted extras with their filter type', async () => {
    for (const index of [names.itemMetadata, names.itemsIndex(MODEL)]) {
      const m = await mappingOf(index);
      expect(String(m.dynamic), index).toBe('false');
      expect(m.properties?.['color'], index).toMatchObject({ type: 'keyword' });
      expect(m.properties?.['fragile'], index).toMatchObject({ type: 'boolean' });
      expect(m.properties?.['weight_kg'], index).toMatchObject({ type: 'float' });
    }
  });

  it('PUT /v1/items with 20 new attribute names: no field is added to either mapping, the values are in _source', async () => {
    const before = {
      meta: await mappedFields(names.itemMetadata),
      live: await mappedFields(names.itemsIndex(MODEL)),
    };
    const attrs = Object.fromEntries(
      Array.from({ length: 20 }, (_, j) => [
        `attr_${j}`,
        j % 3 === 0 ? `v${j}` : j % 3 === 1 ? j : j % 2 === 0,
      ]),
    );
    const res = await call('PUT', '/v1/items', [
      { item_id: 'i3', ...attrs },
      { item_id: 'brand-new', name: 'New', ...attrs },
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      upserted: 2,
      live: { modelId: MODEL, updated: 1, created: 1, failed: 0 },
    });
    await es.indices.refresh({ index: `${names.itemMetadata},${names.itemsIndex(MODEL)}` });
    expect(await mappedFields(names.itemMetadata)).toEqual(before.meta);
    expect(await mappedFields(names.itemsIndex(MODEL))).toEqual(before.live);
    for (const index of [names.itemMetadata, names.itemsIndex(MODEL)]) {
      for (const id of ['i3', 'brand-new'])
        expect(
          (await es.get<Record<string, unknown>>({ index, id }))._source,
          `${index}/${id}`,
        ).toMatchObject(attrs);
    }
    // kept, not indexed: a search on one finds nothing
    expect((await es.count({ index: names.itemMetadata, query: { term: { attr_0: 'v0' } } })).count).toBe(0);
  });

  it('a whitelisted extra attribute (color) is filterable; boolean and range extras too', async () => {
    const red = await call('GET', '/v1/users/u1/recommendations?k=50&mode=exact&color=red');
    expect(red.status).toBe(200);
    const ids = (red.body['items'] as Array<{ item_id: string }>).map((x) => x.item_id);
    expect(ids.sort()).toEqual(itemIds.filter((_, i) => COLORS[i % 4] === 'red').sort());
    // a color set through the API after the deploy is indexed in the live index at once
    expect((await call('PUT', '/v1/items', [{ item_id: 'i1', color: 'red' }])).status).toBe(200);
    await es.indices.refresh({ index: names.itemsIndex(MODEL) });
    const red2 = await call('GET', '/v1/users/u1/recommendations?k=50&mode=exact&color=red');
    expect((red2.body['items'] as Array<{ item_id: string }>).map((x) => x.item_id)).toContain('i1');

    const fragileHeavy = await call(
      'GET',
      '/v1/users/u1/recommendations?k=50&mode=exact&fragile=true&weight_kg_min=3',
    );
    expect(fragileHeavy.status).toBe(200);
    const got = (fragileHeavy.body['items'] as Array<{ item_id: string }>).map((x) => x.item_id).sort();
    expect(got).toEqual(itemIds.filter((_, i) => i % 2 === 0 && i / 10 >= 3).sort());
  });

  it.each([
    [{ item_id: 'i5', price: 'cheap' }, 'price'],
    [{ item_id: 'i5', fragile: 'yes' }, 'fragile'],
    [{ item_id: 'i5', color: 42 }, 'color'],
    [{ item_id: 'i5', weight_kg: 'heavy' }, 'weight_kg'],
  ])(
    'a value of the wrong type for a declared or whitelisted field (%j) is a 400 naming %s, nothing written',
    async (doc, field) => {
      const res = await call('PUT', '/v1/items', [{ item_id: 'i6', name: 'fine' }, doc]);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_items', field: `items[1].${field}` });
      expect(res.body.error!.message).toContain(field);
    },
  );

  it('an import (the repository upsert) rejects the same rows and writes the others', async () => {
    const report = await ctx.repos.metadata.upsertItems([
      { item_id: 'imp-1', fragile: 'yes' },
      { item_id: 'imp-2', color: 'teal' },
      { item_id: 'imp-3', price: 'cheap' },
    ]);
    expect(report.errors.map((e) => ({ index: e.index, target: e.target, field: e.field }))).toEqual([
      { index: 0, target: 'schema', field: 'fragile' },
      { index: 2, target: 'schema', field: 'price' },
    ]);
    expect(report.upserted).toBe(1);
  });

  it('an undeclared, unlisted attribute may change type between documents: it is not mapped', async () => {
    expect((await call('PUT', '/v1/items', [{ item_id: 'i8', size_cm: 12 }])).status).toBe(200);
    expect((await call('PUT', '/v1/items', [{ item_id: 'i9', size_cm: 'large' }])).status).toBe(200);
    expect(
      (await es.get<Record<string, unknown>>({ index: names.itemsIndex(MODEL), id: 'i9' }))._source,
    ).toMatchObject({ size_cm: 'large' });
  });
});

describe('setup on indices created with the old dynamic mapping', () => {
  it('switches item-metadata and deployed items indices to dynamic: false and maps the whitelist', async () => {
    const old = testContext('itemmapold', {
      serving: { filterFields: { keyword: ['category', 'tags', 'brand', 'color'] } },
    });
    try {
      const templates = [
        {
          strings_as_keywords: {
            match_mapping_type: 'string' as const,
            mapping: { type: 'keyword' as const, ignore_above: 256 },
          },
        },
      ];
      for (const index of [old.names.itemMetadata, old.names.itemsIndex('mold')]) {
        await es.indices.create({
          index,
          mappings: {
            dynamic_templates: templates,
            properties: { item_id: { type: 'keyword' }, price: { type: 'float' } },
          },
        });
        await es.index({
          index,
          id: 'a',
          document: { item_id: 'a', legacy: 'x', color: 'red' },
          refresh: true,
        });
      }
      expect(String((await mappingOf(old.names.itemMetadata)).properties?.['legacy']?.type)).toBe('keyword');

      const report = await setup(es, old.kafka, old.config, old.names, old.log);
      expect(report.indicesExisting).toContain(old.names.itemMetadata);

      for (const index of [old.names.itemMetadata, old.names.itemsIndex('mold')]) {
        const m = await mappingOf(index);
        expect(String(m.dynamic), index).toBe('false');
        expect(m.dynamic_templates ?? [], index).toEqual([]);
        expect(m.properties?.['color'], index).toMatchObject({ type: 'keyword' });
        const before = await mappedFields(index);
        await es.index({
          index,
          id: 'b',
          document: { item_id: 'b', brand_new_attr: 'y', color: 'blue' },
          refresh: true,
        });
        expect(await mappedFields(index)).toEqual(before);
        expect((await es.count({ index, query: { term: { color: 'blue' } } })).count).toBe(1);
        expect((await es.get<Record<string, unknown>>({ index, id: 'b' }))._source).toMatchObject({
          brand_new_attr: 'y',
        });
      }
      // setup stays repeatable on the switched indices
      await setup(es, old.kafka, old.config, old.names, old.log);
    } finally {
      await old.dispose();
    }
  });
});
