import type { Client } from '@elastic/elasticsearch';
import type { Names } from '../config/names.ts';
import { esStatus } from '../infra/es-errors.ts';
import { subjectHash } from './tombstones.ts';

export type PrivacyOperation = 'forget_user' | 'remove_item' | 'merge_user';
export type JobStatus = 'running' | 'done' | 'failed';

export interface StoreProgress {
  status: 'pending' | 'done';
  /** what the store step did: documents deleted, pseudonymised, re-keyed, … */
  counts: Record<string, number>;
  /** parts of the store already finished (bucket indices), so a rerun skips them */
  parts?: string[];
}

export interface PrivacyJob {
  job_id: string;
  operation: PrivacyOperation;
  /** the subject's hash (subjectHash), never the id */
  subject: string;
  status: JobStatus;
  actor: string;
  created_at: string;
  updated_at: string;
  finished_at?: string;
  /** how many times the job was started (1 + resumptions and re-runs) */
  runs: number;
  /** random per job: seeds its pseudonyms */
  salt: string;
  options?: Record<string, unknown>;
  stores: Record<string, StoreProgress>;
  error?: string;
}

export interface AuditRecord {
  job_id: string;
  operation: PrivacyOperation;
  subject: string;
  actor: string;
  started_at: string;
  finished_at: string;
  counts: Record<string, Record<string, number>>;
}

/** Privacy job state, the audit trail and the merge map. */
export class PrivacyJobsRepository {
  constructor(
    private readonly es: Client,
    private readonly names: Names,
  ) {}

  async get(jobId: string): Promise<PrivacyJob | undefined> {
    try {
      return (await this.es.get<PrivacyJob>({ index: this.names.privacyJobs, id: jobId }))._source;
    } catch (e) {
      if (esStatus(e) === 404) return undefined;
      throw e;
    }
  }

  /** Writes the whole job document (the checkpoint after each store). */
  async put(job: PrivacyJob): Promise<void> {
    await this.es.index({ index: this.names.privacyJobs, id: job.job_id, document: job });
  }

  async audit(record: AuditRecord): Promise<void> {
    await this.es.index({ index: this.names.privacyAudit, document: record, refresh: true });
  }

  /** Audit records of one job, oldest first. */
  async auditOf(jobId: string): Promise<AuditRecord[]> {
    const r = await this.es.search<AuditRecord>({
      index: this.names.privacyAudit,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 1000,
      query: { term: { job_id: jobId } },
      sort: [{ finished_at: 'asc' }],
    });
    return r.hits.hits.map((h) => h._source!);
  }

  /** Records that `anonymousId` now belongs to `userId` (idempotent). */
  async putMerge(anonymousId: string, userId: string, at: Date): Promise<void> {
    await this.es.index({
      index: this.names.userMerges,
      id: subjectHash('user', anonymousId),
      document: { into: userId, at: at.toISOString() },
      refresh: true,
    });
  }

  /** The user an anonymous id was merged into, if it was (one realtime GET). */
  async mergedInto(anonymousId: string): Promise<string | undefined> {
    try {
      const r = await this.es.get<{ into: string }>({
        index: this.names.userMerges,
        id: subjectHash('user', anonymousId),
      });
      return r._source?.into;
    } catch (e) {
      if (esStatus(e) === 404) return undefined;
      throw e;
    }
  }

  /** The merges into this user: when, and the hash of the anonymous id (the id itself is not kept). */
  async mergedFrom(userId: string): Promise<Array<{ anonymous_subject: string; at: string }>> {
    const r = await this.es.search<{ at: string }>({
      index: this.names.userMerges,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 10_000,
      query: { term: { into: userId } },
      _source: ['at'],
    });
    return r.hits.hits.map((h) => ({ anonymous_subject: h._id!, at: h._source!.at }));
  }

  /** The users these anonymous ids were merged into, in one realtime mget (attribution, per batch). */
  async mergedIntoMany(anonymousIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const ids = [...new Set(anonymousIds)];
    if (!ids.length) return out;
    const r = await this.es.mget<{ into: string }>({
      index: this.names.userMerges,
      ids: ids.map((id) => subjectHash('user', id)),
      realtime: true,
    });
    r.docs.forEach((d, i) => {
      if ('error' in d && d.error) {
        if (d.error.type === 'index_not_found_exception') return;
        throw new Error(`merge lookup failed: ${d.error.type}`);
      }
      if ('found' in d && d.found && d._source?.into) out.set(ids[i]!, d._source.into);
    });
    return out;
  }

  /** Merge records naming this user as the one merged into (a forget removes them); returns how many. */
  async removeMergesInto(userId: string): Promise<number> {
    await this.es.indices.refresh({ index: this.names.userMerges, ignore_unavailable: true });
    const r = await this.es.search({
      index: this.names.userMerges,
      ignore_unavailable: true,
      allow_no_indices: true,
      size: 10_000,
      query: { term: { into: userId } },
      _source: false,
    });
    if (!r.hits.hits.length) return 0;
    const b = await this.es.bulk({
      operations: r.hits.hits.map((h) => ({ delete: { _index: h._index, _id: h._id! } })),
      refresh: true,
    });
    return b.items.filter((i) => i.delete?.result === 'deleted').length;
  }
}
