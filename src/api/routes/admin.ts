import { Router, type RequestHandler } from 'express';
import { NotFoundError, ValidationError } from '../../errors/index.ts';
import type { LiveModelResolver } from '../../model/live-model.ts';
import { checkModelId } from '../../query/params.ts';
import type { AdminOps } from '../../release/admin-ops.ts';
import { modelReport, reportUrl } from '../../release/report.ts';
import { REPORT_CSP } from '../../report/index.ts';
import { endpoint, noQueryParams } from '../middleware.ts';

function parseLimit(raw: unknown): number {
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n < 1 || n > 500)
    throw new ValidationError('limit must be an integer 1–500', 'limit', 'invalid_parameter');
  return n;
}

/** GET /v1/models, GET /v1/models/:model_id/report, POST /v1/models/:model_id/activate|stage, POST /v1/train, GET /v1/train/:run_id */
export function adminRoutes(
  admin: AdminOps,
  live: LiveModelResolver,
  auth: RequestHandler,
  json: RequestHandler,
): Router {
  const r = Router();

  r.get('/v1/models', endpoint('list_models'), auth, async (req, res) => {
    const { limit, ...rest } = req.query as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra) throw new ValidationError(`unknown parameter ${extra}`, extra, 'unknown_parameter');
    const [models, current] = await Promise.all([admin.listModels(parseLimit(limit)), live.find()]);
    res.json({
      live_model_id: current?.modelId ?? null,
      models: models.map((m) => ({ ...m, report_url: reportUrl(m.model_id) })),
    });
  });

  r.get('/v1/models/:model_id/report', endpoint('model_report'), auth, async (req, res) => {
    noQueryParams(req);
    const id = checkModelId(req.params['model_id'], 'model_id');
    const html = await modelReport((m) => admin.getModel(m), id);
    if (!html) throw new NotFoundError(`model ${id} does not exist`, 'model_not_found');
    res.type('html').set('content-security-policy', REPORT_CSP).send(html);
  });

  r.post('/v1/models/:model_id/activate', endpoint('activate_model'), auth, async (req, res) => {
    noQueryParams(req);
    const id = checkModelId(req.params['model_id'], 'model_id');
    await admin.activate(id);
    live.invalidate();
    res.json({ model_id: id, status: 'live' });
  });

  r.post('/v1/models/:model_id/stage', endpoint('stage_model'), auth, async (req, res) => {
    noQueryParams(req);
    const id = checkModelId(req.params['model_id'], 'model_id');
    const r = await admin.stageModel(id);
    res.status(202).json({ ...r, status_url: `/v1/train/${encodeURIComponent(id)}` });
  });

  r.post('/v1/train', endpoint('start_training'), auth, json, async (req, res) => {
    noQueryParams(req);
    const body = req.body as unknown;
    if (
      body !== undefined &&
      (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).length)
    ) {
      const extra =
        body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body)[0] : undefined;
      throw new ValidationError(
        extra ? `unknown parameter ${extra}` : 'the body must be empty or {}',
        extra,
        extra ? 'unknown_parameter' : 'invalid_body',
      );
    }
    const run = await admin.startTraining();
    res.status(202).json({ run_id: run.run_id, status_url: `/v1/train/${encodeURIComponent(run.run_id)}` });
  });

  r.get('/v1/train/:run_id', endpoint('training_run'), auth, async (req, res) => {
    noQueryParams(req);
    const id = checkModelId(req.params['run_id'], 'run_id');
    const doc = await admin.getModel(id);
    if (!doc) throw new NotFoundError(`training run ${id} does not exist`, 'run_not_found');
    res.json({ ...doc, report_url: reportUrl(doc.model_id) });
  });

  return r;
}
