// Domain errors: what went wrong, in the domain's words, with a stable code and, where it applies,
// the offending field. They carry no HTTP status: only src/api maps them to one (api/http-errors.ts).

export type ErrorKind = 'invalid' | 'not_found' | 'conflict' | 'unavailable';

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The caller's input can never succeed as given (HTTP 400). */
export class ValidationError extends DomainError {
  constructor(message: string, field?: string, code = 'invalid_request') {
    super('invalid', code, message, field);
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string, code = 'not_found') {
    super('not_found', code, message);
  }
}

/** The request is valid but the current state refuses it (no such deployment, a run in progress). */
export class ConflictError extends DomainError {
  constructor(message: string, code = 'conflict') {
    super('conflict', code, message);
  }
}

/** A dependency is not there right now; the same request may succeed later. */
export class UnavailableError extends DomainError {
  constructor(message: string, code = 'unavailable') {
    super('unavailable', code, message);
  }
}
