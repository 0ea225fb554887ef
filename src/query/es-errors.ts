import { errors as esErrors } from '@elastic/elasticsearch';
import { AppError, UnavailableError } from '../errors/index.ts';

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

/** The cluster cannot be reached or is overloaded: a 503 for the client, never its message. */
export function isEsUnavailable(e: unknown): boolean {
  if (e instanceof esErrors.ConnectionError || e instanceof esErrors.TimeoutError || e instanceof esErrors.NoLivingConnectionsError) return true;
  if (e instanceof esErrors.ResponseError) {
    const s = e.meta.statusCode;
    return s === 429 || s === 502 || s === 503 || s === 504;
  }
  return false;
}

/**
 * Maps anything thrown below the API to an AppError: ours pass through, ES unavailability becomes
 * 503, every other ES error a generic 500 (its message is logged, never returned).
 */
export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (isEsUnavailable(e)) return new UnavailableError('the search cluster is unavailable, try again shortly', 'search_unavailable');
  return new AppError(500, 'internal_error', 'internal error');
}
