// The privacy operations as the API and the CLI call them: start (or resume) a job and get its id
// at once, read a job, export a user, and the merge map attribution asks.

import { ValidationError } from '../errors/index.ts';
import type { PrivacyJob } from '../repositories/privacy-jobs.ts';
import { subjectHash } from '../repositories/tombstones.ts';
import { idProblem } from '../types/ids.ts';
import { exportUser } from './export.ts';
import { privacyJobId, runPrivacyJob, type JobHooks, type JobSpec } from './jobs.ts';
import { forgetPlan, mergePlan, removeItemPlan, type PrivacyContext } from './plan.ts';

export interface StartedJob {
  job: PrivacyJob;
  /** settles when the job finishes (rejects when it stops) */
  finished: Promise<PrivacyJob>;
}

export class PrivacyService {
  /** jobs running in this process, by id: asking again while one runs joins it */
  private readonly running = new Map<string, Promise<StartedJob>>();

  constructor(private readonly ctx: PrivacyContext) {}

  /** Forget a user in every store (job `forget-…`). */
  forgetUser(userId: string, actor: string, hooks: JobHooks = {}): Promise<StartedJob> {
    checkId(userId, 'user_id');
    return this.start(
      {
        operation: 'forget_user',
        subject: subjectHash('user', userId),
        actor,
        plan: (job) => forgetPlan(this.ctx, job, userId),
      },
      hooks,
    );
  }

  /** Remove an item from the catalogue, every items index and training; its events too when `events`. */
  removeItem(
    itemId: string,
    opts: { events: boolean },
    actor: string,
    hooks: JobHooks = {},
  ): Promise<StartedJob> {
    checkId(itemId, 'item_id');
    return this.start(
      {
        operation: 'remove_item',
        subject: subjectHash('item', itemId),
        idKey: opts.events ? 'events' : '',
        actor,
        options: { events: opts.events },
        plan: (job) => removeItemPlan(this.ctx, job, itemId, opts),
      },
      hooks,
    );
  }

  /** Merge an anonymous id's history into a user and forget the anonymous id. */
  mergeUsers(userId: string, anonymousId: string, actor: string, hooks: JobHooks = {}): Promise<StartedJob> {
    checkId(userId, 'user_id');
    checkId(anonymousId, 'anonymous_id');
    if (userId === anonymousId)
      throw new ValidationError(
        'anonymous_id must differ from the user id',
        'anonymous_id',
        'invalid_parameter',
      );
    return this.start(
      {
        operation: 'merge_user',
        subject: subjectHash('user', anonymousId),
        idKey: subjectHash('user', userId),
        actor,
        plan: (job) => mergePlan(this.ctx, job, userId, anonymousId),
      },
      hooks,
    );
  }

  job(jobId: string): Promise<PrivacyJob | undefined> {
    return this.ctx.repos.privacyJobs.get(jobId);
  }

  /** The job id a request names, before it runs (the same request always names the same job). */
  static jobIdOf(operation: JobSpec['operation'], subject: string, idKey?: string): string {
    return privacyJobId(operation, subject, idKey);
  }

  exportUser(userId: string): AsyncGenerator<string> {
    checkId(userId, 'user_id');
    return exportUser(this.ctx, userId);
  }

  /** The user an anonymous id was merged into (attribution credits the anonymous id's actions to them). */
  mergedInto(anonymousId: string): Promise<string | undefined> {
    return this.ctx.repos.privacyJobs.mergedInto(anonymousId);
  }

  /** Starts the job and resolves once its document is written (its id readable); `finished` follows. */
  private start(spec: JobSpec, hooks: JobHooks): Promise<StartedJob> {
    const id = privacyJobId(spec.operation, spec.subject, spec.idKey);
    const inFlight = this.running.get(id);
    if (inFlight) return inFlight;
    const started = new Promise<StartedJob>((resolve, reject) => {
      let opened = false;
      const finished = runPrivacyJob(this.ctx.repos.privacyJobs, spec, this.ctx.log, {
        ...hooks,
        onOpen: (job) => {
          opened = true;
          hooks.onOpen?.(job);
          resolve({ job: structuredClone(job), finished });
        },
      });
      finished.then(
        () => this.running.delete(id),
        (e: unknown) => {
          this.running.delete(id);
          if (!opened) reject(e as Error);
        },
      );
    });
    this.running.set(id, started);
    started.catch(() => this.running.delete(id));
    return started;
  }
}

function checkId(id: string, field: string): void {
  const problem = idProblem(id);
  if (problem) throw new ValidationError(`${field} ${problem}`, field, 'invalid_parameter');
}
