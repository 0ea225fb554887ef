import type { Client, estypes } from '@elastic/elasticsearch';
import { withRetry, type RetryPolicy } from '../infra/retry.ts';

/** Each page of a scan may wait out a short overload or outage (a training run's read takes minutes). */
export const DEFAULT_SCAN_RETRY: RetryPolicy = { initialMs: 500, maxMs: 10_000, deadlineMs: 60_000 };

export interface ScanRequest {
  index: string;
  query?: estypes.QueryDslQueryContainer;
  /** doc values to return per hit (cheaper than _source for a few keyword/numeric fields) */
  docvalueFields?: Array<string | { field: string; format?: string }>;
  /** _source to return; false = none */
  source?: boolean | string[];
  pageSize?: number;
  retry?: Partial<RetryPolicy>;
}

/**
 * The one point-in-time scan: pages of hits in _shard_doc order (the cheapest sort), the PIT
 * always closed. Every full read of an index family (ratings, catalogue) goes through it.
 */
export async function* scanPages<T>(es: Client, req: ScanRequest): AsyncGenerator<Array<estypes.SearchHit<T>>> {
  const size = req.pageSize ?? 10_000;
  const policy = { ...DEFAULT_SCAN_RETRY, label: `scan of ${req.index}`, ...req.retry };
  const pit = await withRetry(() => es.openPointInTime({ index: req.index, keep_alive: '2m', ignore_unavailable: true }), policy);
  try {
    let after: estypes.SortResults | undefined;
    for (;;) {
      const r = await withRetry(() => es.search<T>({
        pit: { id: pit.id, keep_alive: '2m' },
        size,
        sort: [{ _shard_doc: 'asc' }],
        ...(req.query ? { query: req.query } : {}),
        ...(req.docvalueFields ? { docvalue_fields: req.docvalueFields } : {}),
        _source: req.source ?? true,
        track_total_hits: false,
        ...(after ? { search_after: after } : {}),
      }), policy);
      const hits = r.hits.hits;
      if (hits.length) yield hits;
      if (hits.length < size) return;
      after = hits.at(-1)!.sort;
    }
  } finally {
    await es.closePointInTime({ id: pit.id }).catch(() => undefined);
  }
}
