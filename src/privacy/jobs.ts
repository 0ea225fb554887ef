// The privacy job runner: a job is a list of store steps, run in order, each checkpointed in the
// job document when it finishes (with its counts, and the parts of a long store already done).
// Asking again for the same operation on the same subject finds the same job id: an unfinished job
// resumes where its last checkpoint left it, a finished one runs again (every step is idempotent,
// so a second run only finds what arrived since). The job document and the audit record carry the
// subject's hash, never the id: resuming needs the caller to give the id again.

import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from '../infra/logger.ts';
import type {
  PrivacyJob,
  PrivacyJobsRepository,
  PrivacyOperation,
  StoreProgress,
} from '../repositories/privacy-jobs.ts';

export interface StoreStep {
  store: string;
  /**
   * Does (or finishes) the step. `progress` is what earlier runs recorded (counts to add to, parts
   * done); `checkpoint` saves it mid-step, after each part of a long store.
   */
  run(progress: StoreProgress, checkpoint: () => Promise<void>): Promise<void>;
}

export interface JobHooks {
  /** called once the job document is written, before the first store (the API answers then) */
  onOpen?(job: PrivacyJob): void;
  /**
   * Called after every checkpoint: each part of a long store (`part` set) and each finished store.
   * A test throws here to stop a job midway, as a crash would.
   */
  afterCheckpoint?(store: string, part: string | undefined, job: PrivacyJob): void | Promise<void>;
}

export interface JobSpec {
  operation: PrivacyOperation;
  /** the subject's hash (subjectHash) */
  subject: string;
  /** extra key material of the job id (a merge: both subjects) */
  idKey?: string;
  actor: string;
  options?: Record<string, unknown>;
  /** the steps, given the job (its salt and start time seed pseudonyms and the tombstone) */
  plan(job: PrivacyJob): StoreStep[];
}

const SHORT: Record<PrivacyOperation, string> = {
  forget_user: 'forget',
  remove_item: 'remove-item',
  merge_user: 'merge',
};

/** The job id of an operation on a subject: the same request always names the same job. */
export function privacyJobId(operation: PrivacyOperation, subject: string, idKey = ''): string {
  const h = createHash('sha256').update(`${operation}\u0000${subject}\u0000${idKey}`).digest('hex');
  return `${SHORT[operation]}-${h.slice(0, 32)}`;
}

/** Creates, resumes or re-runs the job and runs its remaining steps; returns the finished job. */
export async function runPrivacyJob(
  jobs: PrivacyJobsRepository,
  spec: JobSpec,
  log: Logger,
  hooks: JobHooks = {},
): Promise<PrivacyJob> {
  const job = await openJob(jobs, spec);
  const started = new Date().toISOString();
  const steps = spec.plan(job);
  for (const s of steps) job.stores[s.store] ??= { status: 'pending', counts: {} };
  const save = async () => {
    job.updated_at = new Date().toISOString();
    await jobs.put(job);
  };
  await save();
  hooks.onOpen?.(job);
  try {
    for (const step of steps) {
      const progress = job.stores[step.store]!;
      if (progress.status === 'done') continue;
      await step.run(progress, async () => {
        await save();
        await hooks.afterCheckpoint?.(step.store, progress.parts?.at(-1), job);
      });
      progress.status = 'done';
      await save();
      await hooks.afterCheckpoint?.(step.store, undefined, job);
    }
  } catch (e) {
    job.status = 'failed';
    // the error's kind and message, which name stores and indices, not documents
    job.error = String((e as Error).message ?? e).slice(0, 500);
    await save().catch(() => undefined);
    log.warn({ job: job.job_id, err: job.error }, 'privacy job stopped; run it again to resume');
    throw e;
  }
  job.status = 'done';
  job.finished_at = new Date().toISOString();
  delete job.error;
  await save();
  await jobs.audit({
    job_id: job.job_id,
    operation: job.operation,
    subject: job.subject,
    actor: spec.actor,
    started_at: started,
    finished_at: job.finished_at,
    counts: Object.fromEntries(Object.entries(job.stores).map(([k, v]) => [k, v.counts])),
  });
  log.info({ job: job.job_id, operation: job.operation }, 'privacy job done');
  return job;
}

async function openJob(jobs: PrivacyJobsRepository, spec: JobSpec): Promise<PrivacyJob> {
  const id = privacyJobId(spec.operation, spec.subject, spec.idKey);
  const now = new Date().toISOString();
  const prior = await jobs.get(id);
  if (prior && prior.status !== 'done')
    return { ...prior, status: 'running', runs: prior.runs + 1, actor: spec.actor };
  return {
    job_id: id,
    operation: spec.operation,
    subject: spec.subject,
    status: 'running',
    actor: spec.actor,
    created_at: now,
    updated_at: now,
    runs: (prior?.runs ?? 0) + 1,
    salt: prior?.salt ?? randomBytes(16).toString('hex'),
    ...(spec.options ? { options: spec.options } : {}),
    stores: {},
  };
}

/** Adds to a store's counts. */
export function add(progress: StoreProgress, counts: Record<string, number>): void {
  for (const [k, v] of Object.entries(counts)) progress.counts[k] = (progress.counts[k] ?? 0) + v;
}
