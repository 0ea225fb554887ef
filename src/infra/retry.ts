// The one answer to "is this Elasticsearch failure worth retrying?" and the one retry loop.
//
// Rule: retry what says "the cluster is overloaded or out of reach right now", never what says
// "this request is wrong". That is
//   - no answer at all: connection refused / reset, request timeout, no living node;
//   - HTTP 429 (rejected: queue full, circuit breaker, flood-stage block), 502, 503, 504;
//   - an es_rejected_execution_exception anywhere in the error (ES sometimes reports a thread-pool
//     rejection inside a search_phase_execution_exception or as a caused_by / root_cause);
// and the same for a single bulk item (isRetriableItem).
//
// A plain 500 is NOT retried, neither for a whole request nor for a bulk item. ES answers 500
// for its own failures (a bug, a script or ingest failure, an unexpected exception on a shard)
// and nothing says the next attempt goes differently. The ingest sink retries without bound, so a
// deterministic 500 retried there would wedge a partition silently; thrown instead, the batch is
// left uncommitted and kafkajs restarts the consumer and redelivers it with its own backoff,
// visibly. The API maps the same rule to 503 and a 500 stays a 500. (The old bulk-store retried
// every 5xx on the grounds that a bulk request carries no client mistake; no test relied on it:
// the ES-cut-off tests fail with connection errors, which are retried.) The transport client's own
// maxRetries already retries 502/503/504 and connection errors a few times before we see them.

import { errors } from '@elastic/elasticsearch';

/** HTTP statuses that mean "not now" rather than "not this". */
export const RETRIABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
/** ES error types that mean "not now", whatever status they came with. */
export const RETRIABLE_ERROR_TYPES: ReadonlySet<string> = new Set(['es_rejected_execution_exception']);

/**
 * An error that says itself whether retrying may help (kafkajs style). Thrown by retried
 * functions to ask for another attempt (`retriable: true`), and by the retrier when it gives up.
 */
export class RetryError extends Error {
  readonly retriable: boolean;
  constructor(message: string, opts: { retriable: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.retriable = opts.retriable;
  }
}

/** The retry budget (maxAttempts or deadlineMs) ran out; `cause` is the last failure. */
export class RetriesExhaustedError extends RetryError {
  constructor(
    message: string,
    readonly attempts: number,
    readonly elapsedMs: number,
    cause: unknown,
  ) {
    super(message, { retriable: false, cause });
  }
}

/** The caller asked to stop (shouldAbort, e.g. shutdown) while failures were being retried; `cause` is the last one. */
export class RetryAbortedError extends RetryError {
  constructor(
    message: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(message, { retriable: false, cause });
  }
}

/** A single bulk item's result: retriable on the same rule as a whole request. */
export function isRetriableItem(status: number, errorType?: string): boolean {
  return RETRIABLE_STATUSES.has(status) || (errorType !== undefined && RETRIABLE_ERROR_TYPES.has(errorType));
}

/** Whether `e` is a failure worth another attempt (see the rule at the top of this file). */
export function isRetriable(e: unknown): boolean {
  return retriable(e, 0);
}

/**
 * A failure of the moment rather than of the input: retriable by the rule, or a retried operation
 * that gave up or was stopped while failing retriably. Callers holding a batch let it be
 * redelivered; the API answers 503. Everything else is about the data and is skipped or refused.
 */
export function isTransient(e: unknown): boolean {
  return (
    isRetriable(e) ||
    ((e instanceof RetriesExhaustedError || e instanceof RetryAbortedError) && isRetriable(e.cause))
  );
}

function retriable(e: unknown, depth: number): boolean {
  if (depth > 5 || e === null || typeof e !== 'object') return false;
  // our own typed errors decide for themselves (RetriesExhaustedError is final even though its cause was retriable)
  if (e instanceof RetryError) return e.retriable;
  if (
    e instanceof errors.ConnectionError ||
    e instanceof errors.TimeoutError ||
    e instanceof errors.NoLivingConnectionsError
  )
    return true;
  if (e instanceof errors.ResponseError) {
    if (RETRIABLE_STATUSES.has(e.meta.statusCode ?? 0)) return true;
    if (hasRetriableType(e.meta.body, 0)) return true;
  }
  // kafkajs errors carry the broker's own verdict (e.g. NOT_LEADER: yes; MESSAGE_TOO_LARGE: no)
  // (by shape: kafkajs is CommonJS and Node's ESM loader does not see its error classes as named exports)
  const k = e as { name?: unknown; retriable?: unknown };
  if (typeof k.name === 'string' && k.name.startsWith('KafkaJS') && typeof k.retriable === 'boolean')
    return k.retriable;
  // wrapped: new Error('…', { cause })
  return 'cause' in e && retriable((e as { cause?: unknown }).cause, depth + 1);
}

/** Looks for a retriable ES error type in a response body: error.type, caused_by, root_cause, failed_shards[].reason. */
function hasRetriableType(node: unknown, depth: number): boolean {
  if (depth > 6 || node === null || typeof node !== 'object') return false;
  const n = node as {
    error?: unknown;
    type?: unknown;
    caused_by?: unknown;
    root_cause?: unknown;
    failed_shards?: unknown;
    reason?: unknown;
  };
  if (typeof n.type === 'string' && RETRIABLE_ERROR_TYPES.has(n.type)) return true;
  const children: unknown[] = [n.error, n.caused_by, typeof n.reason === 'object' ? n.reason : undefined];
  if (Array.isArray(n.root_cause)) children.push(...(n.root_cause as unknown[]));
  if (Array.isArray(n.failed_shards)) children.push(...(n.failed_shards as unknown[]));
  return children.some((c) => hasRetriableType(c, depth + 1));
}

export interface RetryPolicy {
  /** first wait; each further wait doubles, up to maxMs */
  initialMs: number;
  maxMs: number;
  /** total attempts, the first one included; unbounded when neither this nor deadlineMs is set */
  maxAttempts?: number;
  /** total time budget from the first attempt; the last wait is shortened to end at the deadline */
  deadlineMs?: number;
  /**
   * Called during waits, at least every `heartbeatMs` (e.g. the Kafka heartbeat, so a consumer
   * holding a batch for a long outage keeps its partitions). May throw to give up at once.
   */
  onWait?: (attempt: number, error: unknown) => void | Promise<void>;
  /** called once per failed attempt that will be retried, with the wait before the next one (for logging) */
  onRetry?: (attempt: number, error: unknown, delayMs: number) => void;
  /** true once the caller wants out (shutdown): the retrier throws RetryAbortedError instead of waiting */
  shouldAbort?: () => boolean;
  /** longest stretch of waiting between onWait calls; default 1000 */
  heartbeatMs?: number;
  /** [0, 1) source for jitter; default Math.random (tests pin it) */
  random?: () => number;
  /** names the operation in RetriesExhaustedError / RetryAbortedError messages */
  label?: string;
}

/**
 * The wait before attempt `attempt + 1` after `attempt` failures: exponential from initialMs,
 * capped at maxMs, with "equal jitter" (between half and all of it) so that clients rejected
 * together do not come back together, while the wait still grows with each failure.
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'initialMs' | 'maxMs' | 'random'>,
): number {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  const r = (policy.random ?? Math.random)();
  return Math.round(base / 2 + (base / 2) * r);
}

/**
 * Runs `fn` until it succeeds. A failure that is not retriable (isRetriable) is rethrown at once;
 * a retriable one is retried after a capped, jittered exponential backoff, until the budget
 * (maxAttempts / deadlineMs) runs out (RetriesExhaustedError, cause = last failure) or
 * shouldAbort() says stop (RetryAbortedError). `fn` gets the attempt number, from 1.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  const started = Date.now();
  const deadline = policy.deadlineMs === undefined ? Infinity : started + policy.deadlineMs;
  const label = policy.label ?? 'operation';
  for (let attempt = 1; ; attempt++) {
    let error: unknown;
    try {
      return await fn(attempt);
    } catch (e) {
      if (!isRetriable(e)) throw e;
      error = e;
    }
    const elapsed = Date.now() - started;
    const remaining = deadline - Date.now();
    if ((policy.maxAttempts !== undefined && attempt >= policy.maxAttempts) || remaining <= 0) {
      throw new RetriesExhaustedError(
        `${label}: gave up after ${attempt} attempts in ${(elapsed / 1000).toFixed(1)}s: ${message(error)}`,
        attempt,
        elapsed,
        error,
      );
    }
    if (policy.shouldAbort?.())
      throw new RetryAbortedError(
        `${label}: abandoned after ${attempt} attempts on shutdown: ${message(error)}`,
        attempt,
        error,
      );
    const delay = Math.min(backoffDelay(attempt, policy), remaining);
    policy.onRetry?.(attempt, error, delay);
    await waitChunked(delay, policy, attempt, error);
    if (policy.shouldAbort?.())
      throw new RetryAbortedError(
        `${label}: abandoned after ${attempt} attempts on shutdown: ${message(error)}`,
        attempt,
        error,
      );
  }
}

async function waitChunked(ms: number, policy: RetryPolicy, attempt: number, error: unknown): Promise<void> {
  const step = Math.max(1, policy.heartbeatMs ?? 1000);
  const until = Date.now() + ms;
  for (;;) {
    const left = until - Date.now();
    if (left > 0) await new Promise((r) => setTimeout(r, Math.min(step, left)));
    await policy.onWait?.(attempt, error);
    if (Date.now() >= until || policy.shouldAbort?.()) return;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
