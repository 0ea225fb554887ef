// Bounds the Elasticsearch calls a request makes by the request's deadline (deadline.ts) and stops
// them altogether while the cluster is known to be down (circuit-breaker.ts). Only calls made under
// a deadline are touched: ingest, fold-in, deploys and anything `detached` keep the client's own
// timeouts and retries, and their outcomes do not move the breaker.

import { errors, type Client } from '@elastic/elasticsearch';
import { UnavailableError } from '../errors/index.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import { currentDeadline, DeadlineExceededError } from './deadline.ts';
import { isEsUnavailable } from './es-errors.ts';

/** The breaker refused the call: the answer is a 503 with Retry-After, without asking ES. */
export class BreakerOpenError extends UnavailableError {
  constructor(
    backend: string,
    readonly retryAfterMs: number,
  ) {
    super(`${backend} is unavailable (circuit open), try again shortly`, 'search_unavailable');
  }
}

type Request = Client['transport']['request'];
const GUARDED = Symbol('recsys.esGuard');
type Guarded = Client['transport'] & { [GUARDED]?: CircuitBreaker };

/**
 * Installs the guard on this client's transport and returns its breaker (once per client: later
 * calls return the breaker installed first). Every call under a deadline gets `requestTimeout` = what is left of it, the
 * deadline's abort signal, and no client-side retries (a retry cannot fit a sub-second budget).
 */
export function guardElasticsearch(client: Client, makeBreaker: () => CircuitBreaker): CircuitBreaker {
  const transport = client.transport as Guarded;
  const installed = transport[GUARDED];
  if (installed) return installed;
  const breaker = makeBreaker();
  transport[GUARDED] = breaker;
  const original = transport.request.bind(transport) as (p: unknown, o?: unknown) => Promise<unknown>;
  const guarded = async (
    params: unknown,
    options: { requestTimeout?: number | string; signal?: AbortSignal } = {},
  ) => {
    const deadline = currentDeadline();
    if (!deadline) return original(params, options);
    const remaining = Math.floor(deadline.remainingMs());
    if (remaining <= 0) throw new DeadlineExceededError(deadline.budgetMs);
    const permit = breaker.acquire();
    if (permit === 'reject') throw new BreakerOpenError('Elasticsearch', breaker.retryInMs());
    const own = typeof options.requestTimeout === 'number' ? options.requestTimeout : Infinity;
    try {
      const result = await original(params, {
        ...options,
        requestTimeout: Math.min(own, remaining),
        signal: options.signal ? AbortSignal.any([options.signal, deadline.signal]) : deadline.signal,
        maxRetries: 0,
      });
      breaker.success(permit);
      return result;
    } catch (e) {
      const timedOut = e instanceof errors.TimeoutError || e instanceof errors.RequestAbortedError;
      // an answer, even an error answer (404, 400), shows the cluster is there
      if (timedOut || isEsUnavailable(e)) breaker.failure(permit);
      else breaker.success(permit);
      if (timedOut && (deadline.expired || remaining < own))
        throw new DeadlineExceededError(deadline.budgetMs);
      throw e;
    }
  };
  transport.request = guarded as Request;
  return breaker;
}
