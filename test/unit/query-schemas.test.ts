import { describe, expect, it } from 'vitest';
import { buildOpenApi } from '../../src/api/openapi.ts';
import { resolveApiOptions } from '../../src/api/options.ts';
import { recommendationParsers } from '../../src/api/routes/recommendations.ts';
import { loadConfig } from '../../src/config/index.ts';
import { checkMetadata } from '../../src/catalog/metadata.ts';

describe('metadata schemas', () => {
  it('accepts typed known fields and extra string/number/boolean attributes', () => {
    expect(
      checkMetadata('items', [
        {
          item_id: 'a',
          name: 'A',
          tags: ['x'],
          price: 0,
          available: true,
          created_at: '2026-01-02T03:04:05Z',
          color: 'red',
          weight_g: 120,
          fragile: false,
        },
      ]),
    ).toEqual([]);
    expect(checkMetadata('users', [{ user_id: 'u', country: 'DE', vip: true }])).toEqual([]);
  });

  it.each([
    [{ name: 'no id' }, 'item_id', /required/],
    [{ item_id: ' padded ' }, 'item_id', /pattern/],
    [{ item_id: 'a', price: -1 }, 'price', />= 0/],
    [{ item_id: 'a', tags: 'x' }, 'tags', /array/],
    [{ item_id: 'a', available: 'yes' }, 'available', /boolean/],
    [{ item_id: 'a', created_at: 'yesterday' }, 'created_at', /format/],
    [{ item_id: 'a', popularity: 5 }, 'popularity', /reserved/],
    [{ item_id: 'a', factor: [1, 2] }, 'factor', /reserved/],
    [{ item_id: 'a', 'bad name': 1 }, 'bad name', /reserved or not a valid/],
    [{ item_id: 'a', nested: { x: 1 } }, 'nested', /string .* number or a boolean/],
  ])('rejects %j at %s', (doc, field, message) => {
    const [e] = checkMetadata('items', [{ item_id: 'ok' }, doc]);
    expect(e).toMatchObject({ index: 1, field });
    expect(e!.message).toMatch(message);
  });

  // a shop whitelists undeclared attributes as filters: they are typed like their mapping
  const whitelist = {
    keyword: ['category', 'color'],
    boolean: ['available', 'fragile'],
    range: ['price', 'weight_kg'],
  };

  it('accepts whitelisted extras of their filter type (keyword: a string or strings)', () => {
    expect(
      checkMetadata(
        'items',
        [
          { item_id: 'a', color: 'red', fragile: true, weight_kg: 1.5 },
          { item_id: 'b', color: ['red', 'blue'] },
        ],
        whitelist,
      ),
    ).toEqual([]);
  });

  it.each([
    [{ item_id: 'a', color: 5 }, 'color', /keyword filter field/],
    [{ item_id: 'a', color: [1] }, 'color', /keyword filter field/],
    [{ item_id: 'a', fragile: 'yes' }, 'fragile', /boolean filter field/],
    [{ item_id: 'a', weight_kg: 'heavy' }, 'weight_kg', /range filter field/],
    [{ item_id: 'a', price: 'cheap' }, 'price', /number/],
  ])('with a whitelist, rejects %j at %s', (doc, field, message) => {
    const [e] = checkMetadata('items', [doc], whitelist);
    expect(e).toMatchObject({ index: 0, field });
    expect(e!.message).toMatch(message);
    // without the whitelist an undeclared attribute may be any scalar
    if (field !== 'price' && !Array.isArray((doc as Record<string, unknown>)[field]))
      expect(checkMetadata('items', [doc])).toEqual([]);
  });
});

describe('OpenAPI document', () => {
  const options = resolveApiOptions(loadConfig({ env: {}, file: null }), {
    filterFields: { keyword: ['category', 'tags', 'brand', 'color'] },
  });
  const doc = buildOpenApi(recommendationParsers(options), options) as {
    openapi: string;
    paths: Record<
      string,
      Record<
        string,
        {
          parameters?: Array<{ name: string; in: string; schema: Record<string, unknown> }>;
          security?: unknown[];
        }
      >
    >;
    components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
  };

  it('documents the whitelisted filters as query parameters with the validation schema', () => {
    const params = doc.paths['/v1/users/{user_id}/recommendations']!['get']!.parameters!;
    expect(params.map((p) => p.name)).toEqual([
      'user_id',
      'k',
      'mode',
      'exclude',
      'q',
      'exclude_seen',
      'category',
      'tags',
      'brand',
      'color',
      'available',
      'price_min',
      'price_max',
    ]);
    expect(params.find((p) => p.name === 'mode')!.schema).toMatchObject({
      enum: ['exact', 'ann', 'lsh'],
      default: 'ann',
    });
    const similar = doc.paths['/v1/items/{item_id}/similar']!['get']!.parameters!.map((p) => p.name);
    expect(similar).not.toContain('q');
    expect(similar).not.toContain('exclude_seen');
  });

  it('uses the same body schemas as validation, and marks write/admin endpoints as keyed', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.schemas['RecommendationRequest']!.properties!)).toContain('color');
    expect(doc.components.schemas['Event']!.properties).toHaveProperty('recommendation_id');
    expect(doc.components.schemas['ItemMetadata']!.properties).toHaveProperty('price');
    for (const [p, m] of [
      ['/v1/events', 'post'],
      ['/v1/items', 'put'],
      ['/v1/models', 'get'],
      ['/v1/train', 'post'],
    ] as const)
      expect(doc.paths[p]![m]!.security).toEqual([{ ApiKey: [] }]);
    expect(doc.paths['/v1/users/{user_id}/recommendations']!['get']!.security).toBeUndefined();
  });
});
