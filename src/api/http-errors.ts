import { DomainError, type ErrorKind } from '../errors/index.ts';
import { isEsUnavailable } from '../infra/es-errors.ts';

/** An error as the API answers it: status, stable code, message and, where it applies, the field. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }

  toJSON(): { error: { code: string; message: string; field?: string } } {
    return {
      error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) },
    };
  }
}

export class UnauthorizedError extends HttpError {
  constructor(message = 'missing API key (header x-api-key)') {
    super(401, 'unauthorized', message);
  }
}

export class ForbiddenError extends HttpError {
  constructor(message = 'API key not accepted') {
    super(403, 'forbidden', message);
  }
}

const STATUS: Record<ErrorKind, number> = { invalid: 400, not_found: 404, conflict: 409, unavailable: 503 };

/**
 * The one mapping from anything thrown below the API to an answer: domain errors by kind, ES
 * unavailability → 503 (retry later), everything else a generic 500 (logged, never returned).
 */
export function toHttpError(e: unknown): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof DomainError) return new HttpError(STATUS[e.kind], e.code, e.message, e.field);
  if (isEsUnavailable(e))
    return new HttpError(503, 'search_unavailable', 'the search cluster is unavailable, try again shortly');
  return new HttpError(500, 'internal_error', 'internal error');
}
