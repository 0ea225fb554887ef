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
  /** parallel slices of the one point in time (ES `slice`), each its own search_after loop */
  slices?: number;
  /**
   * false: hits carry no _id and no _source (stored_fields _none_), only doc values and the sort
   * key. Loading _id is a stored-field read per hit: a read of doc values only skips it.
   */
  ids?: boolean;
}

/**
 * The one point-in-time scan: pages of hits in _shard_doc order (the cheapest sort), the PIT
 * always closed. With `slices` > 1 the PIT is read by that many concurrent sliced loops (ES keeps
 * more than one core busy while Node decodes), their pages yielded as they arrive. Every full read
 * of an index family (ratings, catalogue) goes through it.
 */
export async function* scanPages<T>(
  es: Client,
  req: ScanRequest,
): AsyncGenerator<Array<estypes.SearchHit<T>>> {
  const policy = { ...DEFAULT_SCAN_RETRY, label: `scan of ${req.index}`, ...req.retry };
  const pit = await withRetry(
    () => es.openPointInTime({ index: req.index, keep_alive: '2m', ignore_unavailable: true }),
    policy,
  );
  const slices = Math.max(1, Math.floor(req.slices ?? 1));
  try {
    if (slices === 1) {
      yield* slicePages<T>(es, req, pit.id, policy);
      return;
    }
    yield* merge(
      Array.from({ length: slices }, (_, id) => slicePages<T>(es, req, pit.id, policy, { id, max: slices })),
    );
  } finally {
    await es.closePointInTime({ id: pit.id }).catch(() => undefined);
  }
}

async function* slicePages<T>(
  es: Client,
  req: ScanRequest,
  pitId: string,
  policy: RetryPolicy,
  slice?: { id: number; max: number },
): AsyncGenerator<Array<estypes.SearchHit<T>>> {
  const size = req.pageSize ?? 10_000;
  let after: estypes.SortResults | undefined;
  for (;;) {
    const r = await withRetry(
      () =>
        es.search<T>({
          pit: { id: pitId, keep_alive: '2m' },
          size,
          sort: [{ _shard_doc: 'asc' }],
          ...(slice ? { slice } : {}),
          ...(req.query ? { query: req.query } : {}),
          ...(req.docvalueFields ? { docvalue_fields: req.docvalueFields } : {}),
          ...(req.ids === false ? { stored_fields: ['_none_'] } : { _source: req.source ?? true }),
          track_total_hits: false,
          // only what the caller reads: hits' fields/_source, their sort key, _id and _index (a scan of a pattern)
          filter_path:
            req.ids === false
              ? ['hits.hits.fields', 'hits.hits.sort']
              : [
                  'hits.hits._index',
                  'hits.hits._id',
                  'hits.hits._source',
                  'hits.hits.fields',
                  'hits.hits.sort',
                ],
          ...(after ? { search_after: after } : {}),
        }),
      policy,
    );
    const hits = r.hits?.hits ?? [];
    if (hits.length) yield hits;
    if (hits.length < size) return;
    after = hits.at(-1)!.sort;
  }
}

/** Yields from several generators as their values arrive. */
async function* merge<T>(gens: Array<AsyncGenerator<T>>): AsyncGenerator<T> {
  const next = (g: AsyncGenerator<T>, i: number) => g.next().then((r) => ({ r, i }));
  const pending = new Map(gens.map((g, i) => [i, next(g, i)]));
  try {
    while (pending.size) {
      const { r, i } = await Promise.race(pending.values());
      if (r.done) pending.delete(i);
      else {
        pending.set(i, next(gens[i]!, i));
        yield r.value;
      }
    }
  } finally {
    await Promise.all(gens.map((g) => g.return(undefined).catch(() => undefined)));
  }
}
