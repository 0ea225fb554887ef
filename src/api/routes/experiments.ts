import { Router, type RequestHandler } from 'express';
import { ValidationError } from '../../errors/index.ts';
import type { ExperimentService } from '../../experiments/service.ts';
import { endpoint, jsonBody, noQueryParams } from '../middleware.ts';

const START_FIELDS = new Set(['candidate_model_id', 'treatment_share']);
const EXPERIMENT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function experimentId(raw: unknown): string {
  if (typeof raw !== 'string' || !EXPERIMENT_ID.test(raw))
    throw new ValidationError(
      'experiment_id must be an experiment id (lower-case letters, digits, _, -)',
      'experiment_id',
      'invalid_parameter',
    );
  return raw;
}

function parseLimit(raw: unknown): number {
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n < 1 || n > 500)
    throw new ValidationError('limit must be an integer 1–500', 'limit', 'invalid_parameter');
  return n;
}

/** POST/GET /v1/experiments, GET /v1/experiments/:id, POST /v1/experiments/:id/stop|promote (API key) */
export function experimentRoutes(
  experiments: ExperimentService,
  auth: RequestHandler,
  json: RequestHandler,
  onChange: () => void,
): Router {
  const r = Router();

  r.post('/v1/experiments', endpoint('start_experiment'), auth, json, async (req, res) => {
    noQueryParams(req);
    const body = jsonBody(req);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new ValidationError('the body must be a JSON object', undefined, 'invalid_body');
    const extra = Object.keys(body).find((k) => !START_FIELDS.has(k));
    if (extra) throw new ValidationError(`unknown parameter ${extra}`, extra, 'unknown_parameter');
    const b = body as Record<string, unknown>;
    const doc = await experiments.start({
      candidate_model_id: b['candidate_model_id'],
      treatment_share: b['treatment_share'],
    });
    onChange();
    res.status(201).json(doc);
  });

  r.get('/v1/experiments', endpoint('list_experiments'), auth, async (req, res) => {
    const { limit, ...rest } = req.query as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra) throw new ValidationError(`unknown parameter ${extra}`, extra, 'unknown_parameter');
    res.json({ experiments: await experiments.list(parseLimit(limit)) });
  });

  r.get('/v1/experiments/:experiment_id', endpoint('experiment'), auth, async (req, res) => {
    noQueryParams(req);
    res.json(await experiments.get(experimentId(req.params['experiment_id'])));
  });

  r.post('/v1/experiments/:experiment_id/stop', endpoint('stop_experiment'), auth, async (req, res) => {
    noQueryParams(req);
    const doc = await experiments.stop(experimentId(req.params['experiment_id']));
    onChange();
    res.json(doc);
  });

  r.post('/v1/experiments/:experiment_id/promote', endpoint('promote_experiment'), auth, async (req, res) => {
    noQueryParams(req);
    const doc = await experiments.promote(experimentId(req.params['experiment_id']));
    onChange();
    res.json(doc);
  });

  return r;
}
