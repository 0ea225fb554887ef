import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import { isIndexNotFound } from '../infra/es-errors.ts';

/** The outcome of one search, stored so later runs adopt its parameters without searching again. */
export interface TuningWinner {
  search_id: string;
  created_at: string;
  /** which data the parameters were tuned on: the rating rules' fingerprint */
  data_key: string;
  /** interactions (user–item pairs) of the run that searched: growth past TUNE_GROWTH_FACTOR × this searches again */
  interactions: number;
  params: Record<string, number | string>;
  validation_ndcg: number;
  budget_seconds: number;
  used_seconds: number;
  trials: number;
}

/** The `tuning` index: one document per evaluated parameter point of a search, and one `winner` document per search. */
export class TuningRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  async record(runId: string, points: Array<Record<string, unknown>>): Promise<void> {
    if (!points.length) return;
    const now = new Date().toISOString();
    await this.es.bulk({
      refresh: 'wait_for',
      operations: points.flatMap((p, i) => [
        { index: { _index: this.names.tuning } },
        { run_id: runId, kind: 'trial', rank: i + 1, created_at: now, ...p },
      ]),
    });
  }

  // wait_for: the next run (any process) must find it, without this code assuming when a refresh happens
  async recordWinner(w: TuningWinner): Promise<void> {
    await this.es.index({
      index: this.names.tuning,
      id: `winner-${w.search_id}`,
      document: { kind: 'winner', run_id: w.search_id, ...w },
      refresh: 'wait_for',
    });
  }

  /** The newest search's winner for this data, undefined when none was ever stored. */
  async latestWinner(dataKey: string): Promise<TuningWinner | undefined> {
    try {
      const r = await this.es.search<TuningWinner>({
        index: this.names.tuning,
        size: 1,
        query: { bool: { filter: [{ term: { kind: 'winner' } }, { term: { data_key: dataKey } }] } },
        sort: [{ created_at: { order: 'desc' } }],
      });
      return r.hits.hits[0]?._source;
    } catch (e) {
      if (isIndexNotFound(e)) return undefined;
      throw e;
    }
  }
}
