import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { jsonDepth, MAX_JSON_DEPTH } from '../infra/json.ts';
import { ValidationError } from '../errors/index.ts';
import type { Logger } from '../infra/logger.ts';
import { ForbiddenError, HttpError, UnauthorizedError, toHttpError } from './http-errors.ts';
import type { ApiMetrics } from './metrics.ts';

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export interface Locals {
  requestId: string;
  startedAt: number;
  endpoint?: string;
  mode?: string;
}

export function locals(res: Response): Locals {
  return res.locals as Locals;
}

/** Honours a sane x-request-id or makes one; echoes it on the response. */
export const requestId: RequestHandler = (req, res, next) => {
  const given = req.get('x-request-id');
  const id = given && REQUEST_ID.test(given) ? given : randomUUID();
  res.locals['requestId'] = id;
  res.locals['startedAt'] = performance.now();
  res.setHeader('x-request-id', id);
  // no response of this API is meant to be sniffed into another type (a JSON error rendered as HTML)
  res.setHeader('x-content-type-options', 'nosniff');
  next();
};

/** Names the endpoint for metrics and logs (a fixed label, never the raw path). */
export function endpoint(name: string): RequestHandler {
  return (_req, res, next) => {
    res.locals['endpoint'] = name;
    next();
  };
}

export function recordMetrics(metrics: ApiMetrics, log: Logger): RequestHandler {
  return (req, res, next) => {
    res.on('finish', () => {
      const l = locals(res);
      const status = String(res.statusCode);
      const ep = l.endpoint ?? 'unmatched';
      const seconds = (performance.now() - l.startedAt) / 1000;
      metrics.duration.observe({ endpoint: ep, mode: l.mode ?? 'none', status }, seconds);
      metrics.requests.inc({ endpoint: ep, status });
      log.debug(
        {
          requestId: l.requestId,
          method: req.method,
          endpoint: ep,
          status: res.statusCode,
          ms: Math.round(seconds * 1000),
        },
        'request',
      );
    });
    next();
  };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** x-api-key must be one of `keys`: missing → 401, not accepted → 403 (constant-time compare). */
export function requireApiKey(keys: string[]): RequestHandler {
  const accepted = keys.map(digest);
  return (req, _res, next) => {
    const key = req.get('x-api-key');
    if (!key) throw new UnauthorizedError();
    const d = digest(key);
    if (!accepted.some((a) => timingSafeEqual(a, d))) throw new ForbiddenError();
    next();
  };
}

/** A JSON body is required (POST/PUT endpoints that take one). */
export function jsonBody(req: Request): unknown {
  if (req.body === undefined) {
    if (
      req.headers['content-length'] &&
      req.headers['content-length'] !== '0' &&
      !req.is('application/json')
    ) {
      throw new HttpError(415, 'unsupported_media_type', 'send the body as application/json');
    }
    if (!req.headers['content-length'] && !req.headers['transfer-encoding'])
      throw new ValidationError('a JSON body is required', undefined, 'missing_body');
    throw new HttpError(415, 'unsupported_media_type', 'send the body as application/json');
  }
  return req.body;
}

/** Query parameters on an endpoint that takes none (or whose parameters go in the body). */
export function noQueryParams(req: Request): void {
  const first = Object.keys(req.query as Record<string, unknown>)[0];
  if (first !== undefined)
    throw new ValidationError(`unknown parameter ${first}`, first, 'unknown_parameter');
}

export const notFound: RequestHandler = (req, _res, next: NextFunction) => {
  next(new HttpError(404, 'route_not_found', `no route ${req.method} ${req.path}`));
};

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

/**
 * The JSON body parser: size-limited, and nesting deeper than MAX_JSON_DEPTH refused before
 * parsing (a 50,000-deep body once reached a recursion limit and came back as a 503).
 */
export function jsonParser(limit: string): RequestHandler {
  return express.json({
    limit,
    type: ['application/json', 'application/*+json'],
    verify: (_req, _res, buf) => {
      if (jsonDepth(buf, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
        throw Object.assign(new Error('nested too deeply'), { status: 400, type: 'entity.too.deep' });
    },
  });
}

/** Every error as `{ error: { code, message, field? } }`; internals are logged, never returned. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let app: HttpError;
    const bp = err as BodyParserError;
    if (bp?.type === 'entity.parse.failed')
      app = toHttpError(new ValidationError('the body is not valid JSON', undefined, 'invalid_json'));
    else if (bp?.type === 'entity.too.deep')
      app = toHttpError(
        new ValidationError(`the body is nested deeper than ${MAX_JSON_DEPTH} levels`, undefined, 'too_deep'),
      );
    else if (bp?.type === 'entity.too.large')
      app = new HttpError(413, 'payload_too_large', 'the body is too large');
    else if (bp?.type === 'encoding.unsupported' || bp?.type === 'charset.unsupported')
      app = new HttpError(415, 'unsupported_media_type', 'unsupported body encoding');
    else if (bp?.type === 'request.aborted' || bp?.type === 'request.size.invalid')
      app = toHttpError(
        new ValidationError('the body was not received completely', undefined, 'invalid_body'),
      );
    else if (
      !(err instanceof HttpError) &&
      typeof bp?.status === 'number' &&
      bp.status >= 400 &&
      bp.status < 500
    ) {
      // express / http-errors client errors, e.g. a path parameter that is not valid percent-encoding
      app = new HttpError(bp.status, 'invalid_request', 'malformed request');
    } else app = toHttpError(err);
    const l = locals(res);
    // the budget ran out and the request was answered already: what failed below is its echo
    if (res.headersSent && (res.locals['deadline'] as { expired?: boolean } | undefined)?.expired) return;
    const where = { requestId: l.requestId, endpoint: l.endpoint, path: req.path, code: app.code };
    const e = err as Error;
    if (app.status === 500)
      log.error({ ...where, err: { name: e?.name, message: e?.message, stack: e?.stack } }, 'request failed');
    else if (
      app.code === 'deadline_exceeded' ||
      (err as { retryAfterMs?: unknown })?.retryAfterMs !== undefined
    )
      // one per request while a backend is down: counted in metrics, the breaker logs the outage once
      log.debug({ ...where }, 'request answered without its backend');
    else if (app.status >= 500)
      log.warn(
        { ...where, cause: err === app ? undefined : `${e?.name}: ${e?.message}` },
        'request failed: dependency unavailable',
      );
    else log.debug({ ...where, field: app.field }, 'request rejected');
    if (res.headersSent) return;
    // a 503 always says when to try again: when an open circuit breaker lets a probe through, else soon
    if (app.status === 503) {
      const ms = (err as { retryAfterMs?: unknown })?.retryAfterMs;
      res.set('retry-after', String(Math.max(1, Math.ceil((typeof ms === 'number' ? ms : 1000) / 1000))));
    }
    res.status(app.status).json(app.toJSON());
  };
}
