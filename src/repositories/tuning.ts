import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';

/** The `tuning` index: one document per evaluated parameter point of a search. */
export class TuningRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  async record(runId: string, points: Array<Record<string, unknown>>): Promise<void> {
    if (!points.length) return;
    const now = new Date().toISOString();
    await this.es.bulk({ refresh: 'wait_for', operations: points.flatMap((p, i) => [{ index: { _index: this.names.tuning } }, { run_id: runId, rank: i + 1, created_at: now, ...p }]) });
  }
}
