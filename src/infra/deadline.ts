// A request's end-to-end budget, carried implicitly (AsyncLocalStorage) from the API's edge down to
// every Elasticsearch call it makes, so no repository signature has to grow a parameter: the ES
// guard (es-guard.ts) reads the current deadline and sends what is left as the call's timeout and
// abort signal. Work that must outlive a request (a deploy or training run an admin route starts,
// a shared background load) runs `detached`, on its own budget.

import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { UnavailableError } from '../errors/index.ts';

/** The budget ran out before the answer was ready (the API answers 503 or a degraded list). */
export class DeadlineExceededError extends UnavailableError {
  constructor(readonly budgetMs: number) {
    super(`no answer within the request's budget of ${budgetMs} ms`, 'deadline_exceeded');
  }
}

export class Deadline {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly expiresAt: number;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly budgetMs: number) {
    // backends are cut a little before the budget ends: answering after the cut (a 503, a degraded
    // list) takes time too, tens of ms for cold concurrent requests, and must fit in the budget
    const reserve = Math.min(50, Math.floor(budgetMs * 0.1));
    this.expiresAt = performance.now() + budgetMs - reserve;
    this.signal = this.controller.signal;
    this.timer = setTimeout(
      () => this.controller.abort(new DeadlineExceededError(budgetMs)),
      budgetMs - reserve,
    );
    this.timer.unref();
  }

  /** What backends may still spend: the budget less the reserve for answering. */
  remainingMs(): number {
    return Math.max(0, this.expiresAt - performance.now());
  }

  get expired(): boolean {
    return this.signal.aborted;
  }

  /** The request ended: release the timer (a finished request must not abort anything later). */
  dispose(): void {
    clearTimeout(this.timer);
  }
}

const current = new AsyncLocalStorage<Deadline | undefined>();

/** Runs fn with `deadline` as the budget of everything it awaits. */
export function withDeadline<T>(deadline: Deadline, fn: () => T): T {
  return current.run(deadline, fn);
}

/** The budget of the request this code runs for, if any. */
export function currentDeadline(): Deadline | undefined {
  return current.getStore();
}

/** Runs fn outside any request's budget (it outlives the request that started it). */
export function detached<T>(fn: () => T): T {
  return current.run(undefined, fn);
}

/**
 * p, or `fallback()` when the deadline runs out first: for callers that must answer in time
 * whatever p does (a health check waiting on a Kafka probe).
 */
export function settleWithin<T>(p: Promise<T>, deadline: Deadline, fallback: () => T): Promise<T> {
  if (deadline.expired) return Promise.resolve(fallback());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => resolve(fallback());
    deadline.signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => deadline.signal.removeEventListener('abort', onAbort));
  });
}
