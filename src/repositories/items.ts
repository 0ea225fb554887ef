import { errors, type Client, type estypes } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import { esStatus, isIndexNotFound } from '../infra/es-errors.ts';
import { scanPages } from './scan.ts';

export type Metadata = Record<string, unknown>;

/** The catalogue (item-metadata) and the versioned items-<model_id> indices the API searches. */
export class ItemsRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  /** The whole catalogue, item_id → metadata (deploy joins it with the factors). */
  async allMetadata(): Promise<Map<string, Metadata>> {
    const out = new Map<string, Metadata>();
    if (!(await this.es.indices.exists({ index: this.names.itemMetadata }))) return out;
    for await (const hits of scanPages<Metadata>(this.es, { index: this.names.itemMetadata }))
      for (const h of hits) out.set(h._id!, h._source!);
    return out;
  }

  /** One search on one items index (the request path's single item search). */
  async search<T>(
    index: string,
    body: Omit<estypes.SearchRequest, 'index'>,
  ): Promise<Array<estypes.SearchHit<T>>> {
    const r = await this.es.search<T>({ index, ...body });
    return r.hits.hits;
  }

  /**
   * Several searches on one items index in one round trip (_msearch), hits per search in order.
   * A search that failed inside the batch is thrown as the ES error it would have been alone
   * (same status and type), so callers tell a missing index or an overload apart as usual.
   */
  async msearch<T>(
    index: string,
    bodies: Array<Omit<estypes.SearchRequest, 'index'>>,
  ): Promise<Array<Array<estypes.SearchHit<T>>>> {
    const r = await this.es.msearch<T>({
      index,
      searches: bodies.flatMap((b) => [{}, b as estypes.MsearchMultisearchBody]),
    });
    return r.responses.map((res) => {
      if ('error' in res) throw msearchError(res.status, res.error);
      return res.hits.hits;
    });
  }

  /**
   * One item document's fields, undefined when the item is not in the index. A missing index is
   * rethrown: it means the model was swapped away mid-request and the caller retries.
   */
  async get<T>(index: string, itemId: string, fields: string[]): Promise<T | undefined> {
    try {
      return (await this.es.get<T>({ index, id: itemId, _source_includes: fields }))._source;
    } catch (e) {
      if (esStatus(e) === 404 && !isIndexNotFound(e)) return undefined;
      throw e;
    }
  }

  /**
   * The `size` longest item vectors of one items index (by factor_norm), as the norm probe of
   * exact search needs them, with the doc values of `docValueFields`; none for an index deployed
   * before factor_norm existed.
   */
  async longestFactors(
    index: string,
    size: number,
    docValueFields: readonly string[] = [],
  ): Promise<Array<{ id: string; vector: Float32Array; fields: Record<string, unknown[]> }>> {
    const r = await this.es.search<{ factor_exact?: number[] }>({
      index,
      size,
      query: { exists: { field: 'factor_norm' } },
      sort: [{ factor_norm: { order: 'desc', unmapped_type: 'float' } }],
      _source: ['factor_exact'],
      ...(docValueFields.length ? { docvalue_fields: [...docValueFields] } : {}),
      track_total_hits: false,
    });
    return r.hits.hits.flatMap((h) =>
      Array.isArray(h._source?.factor_exact)
        ? [
            {
              id: h._id!,
              vector: Float32Array.from(h._source.factor_exact),
              fields: (h.fields ?? {}) as Record<string, unknown[]>,
            },
          ]
        : [],
    );
  }

  /** How many items of one index have a factor_norm, and its 0th…100th percentiles (none: total 0). */
  async normDistribution(index: string): Promise<{ total: number; percentiles: number[] }> {
    const percents = Array.from({ length: 101 }, (_, i) => i);
    const r = await this.es.search({
      index,
      size: 0,
      query: { exists: { field: 'factor_norm' } },
      aggs: { norms: { percentiles: { field: 'factor_norm', percents, keyed: false } } },
      track_total_hits: true,
    });
    const total = typeof r.hits.total === 'number' ? r.hits.total : (r.hits.total?.value ?? 0);
    const values = (
      (r.aggregations?.['norms'] as { values?: Array<{ value: number | null }> } | undefined)?.values ?? []
    ).map((v) => v.value ?? NaN);
    return {
      total,
      percentiles: values.every(Number.isFinite) && values.length === percents.length ? values : [],
    };
  }

  /** How these fields are mapped in one index (type, normalizer, doc_values); unmapped fields are left out. */
  async fieldMappings(
    index: string,
    fields: readonly string[],
  ): Promise<Map<string, { type: string; normalizer?: string; docValues?: boolean }>> {
    const out = new Map<string, { type: string; normalizer?: string; docValues?: boolean }>();
    if (!fields.length) return out;
    const r = await this.es.indices.getFieldMapping({ index, fields: [...fields] });
    for (const idx of Object.values(r)) {
      for (const [name, m] of Object.entries(idx.mappings)) {
        const leaf = m.mapping[name.split('.').at(-1)!] as
          { type?: unknown; normalizer?: unknown; doc_values?: unknown } | undefined;
        if (typeof leaf?.type !== 'string') continue;
        out.set(name, {
          type: leaf.type,
          ...(typeof leaf.normalizer === 'string' ? { normalizer: leaf.normalizer } : {}),
          ...(leaf.doc_values === false ? { docValues: false } : {}),
        });
      }
    }
    return out;
  }

  /**
   * Factors (and the model's weighting norm, when it has one) of these items in one items index;
   * items without a factor are left out. Vectors come back as the float32 values Elasticsearch
   * holds: deploy writes them with 9 significant digits (src/deploy/vector-json.ts), exact only
   * once read back as float32.
   */
  async factors(
    index: string,
    itemIds: string[],
  ): Promise<Map<string, { factor: Float32Array; weightNorm?: number }>> {
    const out = new Map<string, { factor: Float32Array; weightNorm?: number }>();
    if (!itemIds.length) return out;
    // factor_exact: every item with a factor has it (the norm head has no graph field `factor`)
    const r = await this.es.mget<{ factor_exact?: number[]; weight_norm?: number }>({
      index,
      ids: itemIds,
      _source: ['factor_exact', 'weight_norm'],
    });
    for (const d of r.docs) {
      if ('found' in d && d.found && d._source?.factor_exact)
        out.set(d._id, {
          factor: Float32Array.from(d._source.factor_exact),
          ...(typeof d._source.weight_norm === 'number' ? { weightNorm: d._source.weight_norm } : {}),
        });
    }
    return out;
  }
}

/**
 * One failed search of an _msearch as the client's own ResponseError (statusCode, body.error), so
 * the retry rule, the API's 503 mapping and isIndexNotFound read it like a failed single search.
 */
function msearchError(status: number, error: estypes.ErrorCause): errors.ResponseError {
  return new errors.ResponseError({
    body: { error, status },
    statusCode: status,
    headers: {},
    warnings: null,
    meta: {},
  } as unknown as ConstructorParameters<typeof errors.ResponseError>[0]);
}
