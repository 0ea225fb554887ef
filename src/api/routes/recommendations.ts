import { Router, type RequestHandler } from 'express';
import { checkPathId, createParamsParser, type ParamsParser } from '../../query/params.ts';
import type { RecommendationService } from '../../query/service.ts';
import type { QueryOptions, RecRequest } from '../../query/types.ts';
import { endpoint, jsonBody, locals, noQueryParams } from '../middleware.ts';
import { UnavailableError } from '../../errors/index.ts';
import { isEsUnavailable } from '../../infra/es-errors.ts';
import type { RecResponse } from '../../query/types.ts';
import { setOnDeadline } from '../deadlines.ts';

/** How a recommendation route answers when Elasticsearch cannot: degraded (200) or not at all. */
export interface Fallback {
  degradedAnswers: boolean;
  /** counts the answer given (metrics) */
  onFallback?: (endpoint: string, answer: 'degraded' | 'unavailable') => void;
}

/** The failures a degraded answer stands in for: the cluster, not the request, is the problem. */
function cannotReachSearch(e: unknown): boolean {
  return (e instanceof UnavailableError && e.code !== 'no_live_model') || isEsUnavailable(e);
}

export interface RecommendationParsers {
  user: ParamsParser;
  similar: ParamsParser;
}

export function recommendationParsers(options: QueryOptions): RecommendationParsers {
  return { user: createParamsParser('user', options), similar: createParamsParser('similar', options) };
}

/** GET|POST /v1/users/:user_id/recommendations, GET /v1/items/:item_id/similar */
export function recommendationRoutes(
  service: RecommendationService,
  parsers: RecommendationParsers,
  json: RequestHandler,
  fallback: Fallback = { degradedAnswers: false },
): Router {
  const r = Router();

  /**
   * Runs the query; when its budget runs out or the search cluster fails it, answers with the
   * cached popular list marked degraded (a shop's page keeps a list) if one is cached, else the
   * error goes on to the 503 with Retry-After.
   */
  const answer = async (
    res: import('express').Response,
    params: RecRequest,
    target: { userId: string } | { itemId: string },
    run: () => Promise<RecResponse>,
  ) => {
    const l = locals(res);
    const call = { requestId: l.requestId, startedAt: l.startedAt };
    const degrade = () => {
      if (!fallback.degradedAnswers || res.headersSent) return false;
      const body = service.degraded(params, call, target);
      if (!body) return false;
      res.set('x-recsys-degraded', 'search_unavailable').json(body);
      fallback.onFallback?.(l.endpoint ?? 'unmatched', 'degraded');
      return true;
    };
    setOnDeadline(res, degrade);
    let body: RecResponse;
    try {
      body = await run();
    } catch (e) {
      if (res.headersSent || (cannotReachSearch(e) && degrade())) return;
      if (cannotReachSearch(e)) fallback.onFallback?.(l.endpoint ?? 'unmatched', 'unavailable');
      throw e;
    }
    if (!res.headersSent) res.json(body);
  };

  // express answers HEAD with the GET handler: that would run a query and log a served list nobody saw
  r.head(
    ['/v1/users/:user_id/recommendations', '/v1/items/:item_id/similar'],
    endpoint('head'),
    (_req, res) => {
      res.set('allow', 'GET, POST').status(405).end();
    },
  );

  const forUser = async (userId: unknown, params: RecRequest, res: import('express').Response) => {
    const l = locals(res);
    const id = checkPathId(userId, 'user_id');
    l.mode = params.mode;
    await answer(res, params, { userId: id }, () =>
      service.forUser(id, params, { requestId: l.requestId, startedAt: l.startedAt }),
    );
  };

  r.get('/v1/users/:user_id/recommendations', endpoint('user_recommendations'), async (req, res) => {
    await forUser(req.params['user_id'], parsers.user.parse(req.query, 'query'), res);
  });

  r.post('/v1/users/:user_id/recommendations', endpoint('user_recommendations'), json, async (req, res) => {
    noQueryParams(req);
    const body =
      req.body === undefined && !req.headers['content-length'] && !req.headers['transfer-encoding']
        ? {}
        : jsonBody(req);
    await forUser(req.params['user_id'], parsers.user.parse(body, 'body'), res);
  });

  r.get('/v1/items/:item_id/similar', endpoint('similar_items'), async (req, res) => {
    const l = locals(res);
    const params = parsers.similar.parse(req.query, 'query');
    const id = checkPathId(req.params['item_id'], 'item_id');
    l.mode = params.mode;
    await answer(res, params, { itemId: id }, () =>
      service.similar(id, params, { requestId: l.requestId, startedAt: l.startedAt }),
    );
  });

  return r;
}
