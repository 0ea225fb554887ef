import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import { esStatus } from '../infra/es-errors.ts';

export type ExperimentStatus = 'running' | 'stopped' | 'promoted';

/** One online experiment (index `experiments`, kind experiment, _id = experiment_id). */
export interface ExperimentDoc {
  experiment_id: string;
  candidate_model_id: string;
  /** the live model when the experiment started (control is whatever is live at serving time) */
  control_model_id?: string;
  treatment_share: number;
  salt: string;
  status: ExperimentStatus;
  created_at: string;
  stopped_at?: string;
  promoted_at?: string;
  updated_at?: string;
}

const SLOT_ID = 'running';

/** The `experiments` index: experiment documents and the one "running" slot. */
export class ExperimentsRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  async get(experimentId: string): Promise<ExperimentDoc | undefined> {
    if (experimentId === SLOT_ID) return undefined;
    try {
      const r = await this.es.get<ExperimentDoc & { kind?: string }>({
        index: this.names.experiments,
        id: experimentId,
      });
      const { kind: _k, ...doc } = r._source!;
      return doc;
    } catch (e) {
      if (esStatus(e) === 404) return undefined;
      throw e;
    }
  }

  async create(doc: ExperimentDoc): Promise<void> {
    await this.es.index({
      index: this.names.experiments,
      id: doc.experiment_id,
      op_type: 'create',
      document: { kind: 'experiment', ...doc },
      refresh: true,
    });
  }

  async update(experimentId: string, patch: Partial<ExperimentDoc>): Promise<void> {
    await this.es.update({
      index: this.names.experiments,
      id: experimentId,
      doc: { ...patch, updated_at: new Date().toISOString() },
      refresh: true,
      retry_on_conflict: 3,
    });
  }

  /** Newest first. */
  async list(size = 50): Promise<ExperimentDoc[]> {
    const r = await this.es.search<ExperimentDoc & { kind?: string }>({
      index: this.names.experiments,
      ignore_unavailable: true,
      allow_no_indices: true,
      size,
      query: { term: { kind: 'experiment' } },
      sort: [{ created_at: { order: 'desc', unmapped_type: 'date' } }],
    });
    return r.hits.hits.map((h) => {
      const { kind: _k, ...doc } = h._source!;
      return doc;
    });
  }

  /**
   * Takes the single running slot for an experiment (op_type=create): false when another
   * experiment holds it. Two API instances starting at once cannot both win.
   */
  async claimSlot(experimentId: string): Promise<boolean> {
    try {
      await this.es.index({
        index: this.names.experiments,
        id: SLOT_ID,
        op_type: 'create',
        document: { kind: 'slot', experiment_id: experimentId, created_at: new Date().toISOString() },
        refresh: true,
      });
      return true;
    } catch (e) {
      if (esStatus(e) === 409) return false;
      throw e;
    }
  }

  /** The experiment holding the running slot (a realtime GET: no refresh needed to see a start). */
  async slotHolder(): Promise<string | undefined> {
    try {
      return (await this.es.get<{ experiment_id: string }>({ index: this.names.experiments, id: SLOT_ID }))
        ._source?.experiment_id;
    } catch (e) {
      if (esStatus(e) === 404) return undefined;
      throw e;
    }
  }

  /** Frees the slot if this experiment holds it (compare-and-delete, so a newer holder is never freed). */
  async releaseSlot(experimentId: string): Promise<void> {
    let current;
    try {
      current = await this.es.get<{ experiment_id: string }>({ index: this.names.experiments, id: SLOT_ID });
    } catch (e) {
      if (esStatus(e) === 404) return;
      throw e;
    }
    if (current._source?.experiment_id !== experimentId) return;
    try {
      await this.es.delete({
        index: this.names.experiments,
        id: SLOT_ID,
        if_seq_no: current._seq_no!,
        if_primary_term: current._primary_term!,
        refresh: true,
      });
    } catch (e) {
      if (esStatus(e) !== 404 && esStatus(e) !== 409) throw e;
    }
  }
}
