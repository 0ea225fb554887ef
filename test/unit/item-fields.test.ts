import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  filterFieldMappings,
  ITEM_ATTRIBUTES,
  ITEM_SYSTEM_FIELDS,
  KNOWN_ITEM_FIELDS,
} from '../../src/catalog/item-fields.ts';
import { PROJECT_ROOT } from '../../src/config/index.ts';

function mappedFields(file: string): Record<string, { type: string }> {
  const body = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'es-mappings', file), 'utf8')) as {
    mappings: { properties: Record<string, { type: string }> };
  };
  return body.mappings.properties;
}

// what a JSON schema type may be stored as
const STORABLE: Record<string, string[]> = {
  string: ['keyword', 'text', 'date'],
  number: ['float', 'double', 'long', 'scaled_float'],
  boolean: ['boolean'],
  array: ['keyword'],
};

describe('item fields: one definition, and the mappings agree with it', () => {
  for (const file of ['indices/item-metadata.json', 'versioned/items.json']) {
    it(`${file} maps every declared attribute with a type its schema allows`, () => {
      const mapped = mappedFields(file);
      for (const [name, schema] of Object.entries(ITEM_ATTRIBUTES)) {
        const s = schema as { type: string; format?: string };
        expect(mapped[name], `${name} is not mapped in ${file}`).toBeDefined();
        const allowed = s.format === 'date-time' ? ['date'] : STORABLE[s.type]!;
        expect(allowed, `${name}: ${mapped[name]!.type}`).toContain(mapped[name]!.type);
      }
    });
  }

  it('the versioned items mapping has every system field, and no field the list does not know', () => {
    const mapped = Object.keys(mappedFields('versioned/items.json'));
    for (const f of ITEM_SYSTEM_FIELDS) expect(mapped).toContain(f);
    for (const f of mapped) expect(KNOWN_ITEM_FIELDS).toContain(f);
  });

  it('the item indices map nothing dynamically', () => {
    for (const file of ['indices/item-metadata.json', 'versioned/items.json']) {
      const body = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'es-mappings', file), 'utf8')) as {
        mappings: Record<string, unknown>;
      };
      expect(body.mappings['dynamic'], file).toBe(false);
      expect(body.mappings['dynamic_templates'], file).toBeUndefined();
    }
  });

  it('whitelisted filter fields that are not declared get explicit mappings of their filter type', () => {
    expect(
      filterFieldMappings({
        keyword: ['category', 'tags', 'color'],
        boolean: ['available', 'fragile'],
        range: ['price', 'weight_kg', 'popularity'],
      }),
    ).toEqual({
      color: { type: 'keyword', ignore_above: 256 },
      fragile: { type: 'boolean' },
      weight_kg: { type: 'float' },
    });
    expect(() => filterFieldMappings({ keyword: ['color'], boolean: ['color'], range: [] })).toThrow(
      /both keyword and boolean/,
    );
  });
});
