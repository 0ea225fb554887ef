import { Router, type RequestHandler } from 'express';
import { checkPathId, createParamsParser, type ParamsParser } from '../../query/params.ts';
import type { RecommendationService } from '../../query/service.ts';
import type { QueryOptions, RecRequest } from '../../query/types.ts';
import { endpoint, jsonBody, locals, noQueryParams } from '../middleware.ts';

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
): Router {
  const r = Router();

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
    res.json(await service.forUser(id, params, { requestId: l.requestId, startedAt: l.startedAt }));
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
    res.json(await service.similar(id, params, { requestId: l.requestId, startedAt: l.startedAt }));
  });

  return r;
}
