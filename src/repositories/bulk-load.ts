import type { Client } from '@elastic/elasticsearch';

export interface LoadDoc {
  id: string;
  doc: Record<string, unknown>;
}

/**
 * Bulk-loads a stream of documents into one index with a few requests in flight, failing on the
 * first rejected item (a deploy is all-or-nothing: a half-loaded index never goes live).
 */
export async function bulkLoad(es: Client, index: string, docs: Iterable<LoadDoc>, opts: { chunk?: number; concurrency?: number; onProgress?: (n: number) => void } = {}): Promise<number> {
  const chunk = opts.chunk ?? 1000;
  const concurrency = opts.concurrency ?? 2;
  const inFlight = new Set<Promise<void>>();
  let done = 0;
  let failure: Error | undefined;
  let batch: LoadDoc[] = [];

  const send = (items: LoadDoc[]) => {
    const p = (async () => {
      const r = await es.bulk({ operations: items.flatMap((d) => [{ index: { _index: index, _id: d.id } }, d.doc]), filter_path: 'errors,items.*.error' });
      if (r.errors) {
        const first = r.items.map((i) => Object.values(i)[0]?.error).find(Boolean);
        throw new Error(`bulk load into ${index} rejected a document: ${first?.type}: ${first?.reason}`);
      }
      done += items.length;
      opts.onProgress?.(done);
    })().catch((e: Error) => {
      failure ??= e;
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    return p;
  };

  for (const d of docs) {
    if (failure) break;
    batch.push(d);
    if (batch.length >= chunk) {
      send(batch);
      batch = [];
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
  }
  if (batch.length && !failure) send(batch);
  await Promise.all(inFlight);
  if (failure) throw failure;
  return done;
}
