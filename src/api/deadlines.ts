// Every API request's end-to-end budget, chosen by route in one place and enforced at the edge: the
// budget is started before any handler runs, carried to every Elasticsearch call (infra/deadline.ts,
// infra/es-guard.ts), and when it runs out the request is answered at once, whatever is still
// pending below: by the route's own fallback (a degraded list, events "pending") or a 503 with
// Retry-After. /health and /ready answer within theirs themselves, naming what did not answer.

import type { RequestHandler, Response } from 'express';
import { Deadline, withDeadline } from '../infra/deadline.ts';
import { HttpError } from './http-errors.ts';
import type { ApiOptions } from './options.ts';

export type BudgetKind = 'read' | 'write' | 'admin' | 'health';

/** Which budget a request runs under (undefined: none, e.g. /live, /metrics, /openapi.json). */
export function budgetKind(method: string, path: string): BudgetKind | undefined {
  if (path === '/health' || path === '/ready') return 'health';
  if (!path.startsWith('/v1/')) return undefined;
  if (/^\/v1\/users\/[^/]+\/recommendations\/?$/.test(path) || /^\/v1\/items\/[^/]+\/similar\/?$/.test(path))
    return 'read';
  if (path === '/v1/events' || path === '/v1/items' || path === '/v1/users') return 'write';
  if (/^\/v1\/(models|train|experiments)(\/|$)/.test(path)) return 'admin';
  // any other /v1 path is answered 404 by the router; a budget costs nothing there
  return method === 'GET' ? 'read' : 'write';
}

export function budgetMs(kind: BudgetKind, options: ApiOptions): number {
  switch (kind) {
    case 'read':
      return options.deadlineMs;
    case 'write':
      return options.writeDeadlineMs;
    case 'admin':
      return options.adminDeadlineMs;
    case 'health':
      return options.healthDeadlineMs;
  }
}

/**
 * What a route answers instead when its budget runs out (a handler sets it once it knows enough,
 * e.g. the parsed request): true when it answered, false to fall back to the 503.
 */
export type OnDeadline = () => boolean;

export function requestDeadline(res: Response): Deadline | undefined {
  return res.locals['deadline'] as Deadline | undefined;
}

export function setOnDeadline(res: Response, fallback: OnDeadline): void {
  res.locals['onDeadline'] = fallback;
}

/** 503 + Retry-After, the answer to a request that cannot be served in time. */
export function unavailable(res: Response, code: string, message: string, retryAfterS = 1): void {
  res
    .status(503)
    .set('retry-after', String(Math.max(1, Math.ceil(retryAfterS))))
    .json(new HttpError(503, code, message).toJSON());
}

export function deadlines(
  options: ApiOptions,
  onFallback?: (res: Response, answer: string) => void,
): RequestHandler {
  return (req, res, next) => {
    const kind = budgetKind(req.method, req.path);
    if (!kind) return next();
    const deadline = new Deadline(budgetMs(kind, options));
    res.locals['deadline'] = deadline;
    res.on('close', () => deadline.dispose());
    if (kind !== 'health')
      deadline.signal.addEventListener(
        'abort',
        () => {
          if (res.headersSent) return;
          const fallback = res.locals['onDeadline'] as OnDeadline | undefined;
          if (fallback?.()) return;
          unavailable(
            res,
            'deadline_exceeded',
            `no answer within the request's budget of ${deadline.budgetMs} ms, try again`,
          );
          onFallback?.(res, 'unavailable');
        },
        { once: true },
      );
    withDeadline(deadline, next);
  };
}
