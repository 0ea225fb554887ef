import type { estypes } from '@elastic/elasticsearch';
import { ITEM_DISPLAY_ATTRIBUTES } from '../catalog/item-fields.ts';
import type { ItemSource, ServedItem } from './types.ts';

export interface ItemSourceDoc {
  item_id?: string;
  name?: string;
  category?: string;
  brand?: string;
  price?: number;
  available?: boolean;
  tags?: string[] | string;
  popularity?: number;
}

/** A search hit as a served item with the display attributes that are present. */
export function hitToItem(
  hit: estypes.SearchHit<ItemSourceDoc>,
  source: ItemSource,
  score: number,
): ServedItem {
  const s = (hit._source ?? {}) as Record<string, unknown>;
  const item: ServedItem = { item_id: (s['item_id'] as string | undefined) ?? hit._id!, score, source };
  for (const name of ITEM_DISPLAY_ATTRIBUTES) {
    const v = s[name];
    if (v === undefined) continue;
    // ES returns a one-value keyword array as it was sent: a bare string
    (item as unknown as Record<string, unknown>)[name] = name === 'tags' && !Array.isArray(v) ? [v] : v;
  }
  return item;
}
