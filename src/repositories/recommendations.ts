import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';

export interface ServedRef {
  recommendation_id: string;
  model_id: string;
  endpoint?: string;
  experiment_id?: string;
  arm?: string;
}

/** Per arm of an experiment: served lists, and attributed actions by kind. */
export interface ArmCounts {
  /** served lists (impressions) */
  served: number;
  /** distinct users they were served to */
  users: number;
  /** the models that served the arm (control follows whatever is live) */
  models: string[];
  /** attribution records of this kind, and the distinct served lists they fall on */
  actions: Record<'click' | 'conversion', { records: number; lists: number }>;
}

/**
 * Cardinality is HyperLogLog++: exact in practice below its precision threshold (40,000 distinct
 * values, the maximum), within about 1 % above. One search, whatever the retention.
 */
const EXACT_BELOW = 40_000;

/** Served lists and their attributed actions (recommendations-*). */
export class RecommendationsRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  /** The served records of these recommendation ids that are already searchable. */
  async servedBy(ids: string[]): Promise<Map<string, ServedRef>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return new Map();
    const res = await this.es.search<ServedRef>({
      index: this.names.recommendationsPattern,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: unique.length,
      query: { bool: { filter: [{ term: { kind: 'served' } }, { terms: { recommendation_id: unique } }] } },
      _source: ['recommendation_id', 'model_id', 'endpoint', 'experiment_id', 'arm'],
    });
    return new Map(res.hits.hits.map((h) => [h._source!.recommendation_id, h._source!]));
  }

  /** One aggregation over recommendations-* of everything tagged with this experiment, per arm. */
  async experimentCounts(experimentId: string): Promise<Map<string, ArmCounts>> {
    type Bucket = { key: string; doc_count: number };
    type KindBucket = Bucket & { lists: { value: number }; users: { value: number }; models: { buckets: Bucket[] } };
    const res = await this.es.search<unknown, Record<string, { buckets: Array<Bucket & { kinds: { buckets: KindBucket[] } }> }>>({
      index: this.names.recommendationsPattern,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 0,
      query: { term: { experiment_id: experimentId } },
      aggs: {
        arms: {
          terms: { field: 'arm', size: 10 },
          aggs: {
            kinds: {
              terms: { field: 'kind', size: 10 },
              aggs: {
                lists: { cardinality: { field: 'recommendation_id', precision_threshold: EXACT_BELOW } },
                users: { cardinality: { field: 'user_id', precision_threshold: EXACT_BELOW } },
                models: { terms: { field: 'model_id', size: 10 } },
              },
            },
          },
        },
      },
    });
    const out = new Map<string, ArmCounts>();
    for (const arm of res.aggregations?.['arms']?.buckets ?? []) {
      const counts: ArmCounts = { served: 0, users: 0, models: [], actions: { click: { records: 0, lists: 0 }, conversion: { records: 0, lists: 0 } } };
      for (const k of arm.kinds.buckets) {
        if (k.key === 'served') {
          counts.served = k.doc_count;
          counts.users = k.users.value;
          counts.models = k.models.buckets.map((b) => b.key);
        } else if (k.key === 'click' || k.key === 'conversion') counts.actions[k.key] = { records: k.doc_count, lists: k.lists.value };
      }
      out.set(arm.key, counts);
    }
    return out;
  }
}
