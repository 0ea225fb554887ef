import type { estypes } from '@elastic/elasticsearch';
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

/** A search hit as a served item with the few display fields that are present. */
export function hitToItem(hit: estypes.SearchHit<ItemSourceDoc>, source: ItemSource, score: number): ServedItem {
  const s = hit._source ?? {};
  const item: ServedItem = { item_id: s.item_id ?? hit._id!, score, source };
  if (s.name !== undefined) item.name = s.name;
  if (s.category !== undefined) item.category = s.category;
  if (s.brand !== undefined) item.brand = s.brand;
  if (s.price !== undefined) item.price = s.price;
  if (s.available !== undefined) item.available = s.available;
  if (s.tags !== undefined) item.tags = Array.isArray(s.tags) ? s.tags : [s.tags];
  return item;
}
