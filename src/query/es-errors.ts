import { AppError, UnavailableError } from '../errors/index.ts';
import { isEsUnavailable } from '../infra/es-errors.ts';

export { esErrorType, esStatus, isEsUnavailable, isIndexNotFound } from '../infra/es-errors.ts';

/**
 * Maps anything thrown below the API to an AppError: ours pass through, ES unavailability becomes
 * 503, every other ES error a generic 500 (its message is logged, never returned).
 */
export function toAppError(e: unknown): AppError {
  if (e instanceof AppError) return e;
  if (isEsUnavailable(e)) return new UnavailableError('the search cluster is unavailable, try again shortly', 'search_unavailable');
  return new AppError(500, 'internal_error', 'internal error');
}
