// The item fields, defined once: what a client may send as catalogue metadata, what deploy adds,
// what a recommendation returns and how the OpenAPI document describes it. The Elasticsearch
// mapping (es-mappings/indices/item-metadata.json, versioned/items.json) is checked against this
// list by test/unit/item-fields.test.ts.

const keyword = { type: 'string', minLength: 1, maxLength: 256 } as const;

/** Declared catalogue attributes and their JSON schema (besides item_id). */
export const ITEM_ATTRIBUTES = {
  name: { type: 'string', maxLength: 1000 },
  description: { type: 'string', maxLength: 20_000 },
  category: keyword,
  tags: { type: 'array', items: keyword, maxItems: 100 },
  brand: keyword,
  price: { type: 'number', minimum: 0 },
  available: { type: 'boolean' },
  created_at: { type: 'string', format: 'date-time' },
} as const;

export type ItemAttribute = keyof typeof ITEM_ATTRIBUTES;

/** Fields written by deploy and the metadata upsert, never by clients. */
export const ITEM_SYSTEM_FIELDS = [
  'updated_at',
  'model_id',
  'has_factor',
  'popularity',
  'factor',
  'factor_exact',
  'factor_unit',
  'factor_unit_exact',
  'lsh',
  'lsh_cos',
  'weight_norm',
  'norm_head',
  'factor_norm',
] as const;

/** Attributes returned with every recommended item (besides id, score and source). */
export const ITEM_DISPLAY_ATTRIBUTES = [
  'name',
  'category',
  'brand',
  'price',
  'available',
  'tags',
] as const satisfies readonly ItemAttribute[];

/** What a search asks ES for to build a served item. */
export const ITEM_RESPONSE_FIELDS = ['item_id', ...ITEM_DISPLAY_ATTRIBUTES] as const;

/** Every field an items-<model_id> document can have. */
export const KNOWN_ITEM_FIELDS: readonly string[] = [
  'item_id',
  ...Object.keys(ITEM_ATTRIBUTES),
  ...ITEM_SYSTEM_FIELDS,
];

/** JSON schema of the display attributes as they are returned (no input limits). */
export function itemDisplaySchema(): Record<string, object> {
  const out: Record<string, object> = {};
  for (const name of ITEM_DISPLAY_ATTRIBUTES) {
    const s = ITEM_ATTRIBUTES[name] as { type: string; items?: { type: string } };
    out[name] = s.type === 'array' ? { type: 'array', items: { type: s.items!.type } } : { type: s.type };
  }
  return out;
}

/** The filter whitelist ([serving.filter_fields]): item fields clients may filter on, by filter kind. */
export interface FilterFieldLists {
  keyword: readonly string[];
  boolean: readonly string[];
  range: readonly string[];
}

export type FilterKind = keyof FilterFieldLists;

/** How a whitelisted field that is not declared is mapped (matches what each filter kind queries). */
const FILTER_FIELD_MAPPING: Record<FilterKind, Record<string, unknown>> = {
  keyword: { type: 'keyword', ignore_above: 256 },
  boolean: { type: 'boolean' },
  range: { type: 'float' },
};

/**
 * Whitelisted filter fields that are neither declared attributes nor system fields, with their
 * filter kind. The item indices do not map undeclared attributes (dynamic: false, so a catalogue
 * cannot grow the mapping without bound); these are the exceptions, mapped explicitly. A field
 * listed under two kinds is a configuration error.
 */
export function whitelistedExtras(fields: FilterFieldLists): Map<string, FilterKind> {
  const out = new Map<string, FilterKind>();
  for (const kind of ['keyword', 'boolean', 'range'] as const) {
    for (const name of fields[kind]) {
      if (KNOWN_ITEM_FIELDS.includes(name)) continue;
      const other = out.get(name);
      if (other && other !== kind)
        throw new Error(`filter field "${name}" is whitelisted as both ${other} and ${kind}`);
      out.set(name, kind);
    }
  }
  return out;
}

/**
 * The mapping properties the item indices (item-metadata, items-<model_id>) get on top of their
 * mapping files: one per whitelisted extra field, so it is indexed with the type its filter needs.
 * Setup applies them to item-metadata, deploy to each new versioned items index.
 */
export function filterFieldMappings(fields: FilterFieldLists): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, kind] of whitelistedExtras(fields)) out[name] = { ...FILTER_FIELD_MAPPING[kind] };
  return out;
}
