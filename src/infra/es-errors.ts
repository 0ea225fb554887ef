import { isTransient } from './retry.ts';

/** HTTP status of an ES response error (undefined for connection-level errors). */
export function esStatus(e: unknown): number | undefined {
  return (e as { meta?: { statusCode?: number } } | undefined)?.meta?.statusCode;
}

/** ES error type of a response error, e.g. index_not_found_exception. */
export function esErrorType(e: unknown): string | undefined {
  return (e as { meta?: { body?: { error?: { type?: string } } } } | undefined)?.meta?.body?.error?.type;
}

export function isIndexNotFound(e: unknown): boolean {
  return esStatus(e) === 404 && esErrorType(e) === 'index_not_found_exception';
}

/**
 * The cluster cannot be reached or is overloaded (as opposed to: the request is wrong); the API
 * answers 503. The same rule the retrier uses (isRetriable), plus its verdict of giving up on
 * such a failure: a retried operation that ran out of budget on one is still "unavailable".
 */
export function isEsUnavailable(e: unknown): boolean {
  return isTransient(e);
}
