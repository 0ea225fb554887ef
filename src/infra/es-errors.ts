import { errors as esErrors } from '@elastic/elasticsearch';

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

/** The cluster cannot be reached or is overloaded (as opposed to: the request is wrong). */
export function isEsUnavailable(e: unknown): boolean {
  if (e instanceof esErrors.ConnectionError || e instanceof esErrors.TimeoutError || e instanceof esErrors.NoLivingConnectionsError) return true;
  if (e instanceof esErrors.ResponseError) {
    const s = e.meta.statusCode;
    return s === 429 || s === 502 || s === 503 || s === 504;
  }
  return false;
}
