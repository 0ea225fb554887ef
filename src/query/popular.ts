// Popular items (popularity desc) per filter set: the cold-start list and the backfill.
//
// For each (items index, filter set) the first `poolSize` items are fetched once and cached for
// `ttlMs` (default 30 s); a request takes the first n of them that it does not exclude. Only when
// the exclusions eat into a full pool (there may be more items beyond it) does it query ES
// directly with the exclusions. Requests with a text query are not cached. The cache holds at most
// `maxEntries` filter sets (oldest dropped first) so arbitrary filter values cannot grow it.

import type { ItemsRepository } from '../repositories/items.ts';
import { filtersKey } from './filters.ts';
import { hitToItem, type ItemSourceDoc } from './hits.ts';
import { popularSearchBody } from './search-body.ts';
import type { Filters, ServedItem } from './types.ts';

export interface PopularOptions {
  ttlMs: number;
  poolSize: number;
  maxEntries?: number;
  textFields?: string[];
}

interface Entry {
  at: number;
  items: Promise<ServedItem[]>;
}

export class PopularItems {
  private readonly cache = new Map<string, Entry>();
  /** the last pool fetched per key, whatever its age: what a degraded answer is made of */
  private readonly lastGood = new Map<string, ServedItem[]>();
  /** pools fetched from ES (for tests and metrics) */
  fetches = 0;

  constructor(
    private readonly items: ItemsRepository,
    private readonly opts: PopularOptions,
  ) {}

  /** Up to n popular items passing `filters`, none of them in `exclude`. */
  async top(
    index: string,
    filters: Filters,
    exclude: ReadonlySet<string>,
    n: number,
    q?: string,
  ): Promise<ServedItem[]> {
    if (n <= 0) return [];
    if (q) return this.fetch(index, filters, exclude, n, q);
    const pool = await this.pool(index, filters);
    const out: ServedItem[] = [];
    for (const item of pool) {
      if (exclude.has(item.item_id)) continue;
      out.push(item);
      if (out.length === n) return out;
    }
    if (pool.length < this.opts.poolSize) return out; // the pool is the whole filtered catalogue
    return this.fetch(index, filters, exclude, n);
  }

  clear(): void {
    this.cache.clear();
    this.lastGood.clear();
  }

  /**
   * Up to n items of the last pool fetched for (index, filters), however old, without asking
   * Elasticsearch; undefined when none was ever fetched. For answering while the cluster is not.
   */
  cached(index: string, filters: Filters, exclude: ReadonlySet<string>, n: number): ServedItem[] | undefined {
    const pool = this.lastGood.get(`${index}\u0000${filtersKey(filters)}`);
    return pool?.filter((i) => !exclude.has(i.item_id)).slice(0, n);
  }

  private pool(index: string, filters: Filters): Promise<ServedItem[]> {
    const key = `${index}\u0000${filtersKey(filters)}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < this.opts.ttlMs) return hit.items;
    const items = this.fetch(index, filters, new Set(), this.opts.poolSize);
    this.cache.delete(key);
    this.cache.set(key, { at: now, items });
    items.then(
      (pool) => {
        this.lastGood.delete(key);
        this.lastGood.set(key, pool);
        while (this.lastGood.size > max) this.lastGood.delete(this.lastGood.keys().next().value!);
      },
      () => this.cache.get(key)?.items === items && this.cache.delete(key),
    );
    const max = this.opts.maxEntries ?? 500;
    while (this.cache.size > max) this.cache.delete(this.cache.keys().next().value!);
    return items;
  }

  private async fetch(
    index: string,
    filters: Filters,
    exclude: ReadonlySet<string>,
    size: number,
    q?: string,
  ): Promise<ServedItem[]> {
    this.fetches++;
    const body = popularSearchBody({ filters, exclude, size, q, textFields: this.opts.textFields });
    const hits = await this.items.search<ItemSourceDoc>(index, body);
    return hits.map((h) => hitToItem(h, 'popular', h._source?.popularity ?? 0));
  }
}
