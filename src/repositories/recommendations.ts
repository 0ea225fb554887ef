import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';

export interface ServedRef {
  recommendation_id: string;
  model_id: string;
  endpoint?: string;
}

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
      _source: ['recommendation_id', 'model_id', 'endpoint'],
    });
    return new Map(res.hits.hits.map((h) => [h._source!.recommendation_id, h._source!]));
  }
}
