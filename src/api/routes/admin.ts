import type { Client } from '@elastic/elasticsearch';
import { Router, type RequestHandler } from 'express';
import type { Names } from '../../config/names.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/index.ts';
import { esStatus } from '../../query/es-errors.ts';
import type { LiveModelResolver } from '../../query/live-model.ts';
import { checkPathId } from '../../query/params.ts';
import { endpoint, noQueryParams } from '../middleware.ts';

/** Operations the API triggers but does not implement (deploy / training code), injected. */
export interface AdminOps {
  /** make an already deployed model live (alias swap); rollback and roll-forward */
  activate(modelId: string): Promise<void>;
  /** start a training run in the background */
  startTraining(): Promise<{ run_id: string }>;
}

/** Registry fields too large or too internal for the API. */
const HIDDEN_MODEL_FIELDS = ['lsh', 'yty'];

async function getModelDoc(es: Client, names: Names, id: string): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await es.get<Record<string, unknown>>({ index: names.models, id, _source_excludes: HIDDEN_MODEL_FIELDS });
    return r._source;
  } catch (e) {
    if (esStatus(e) === 404) return undefined;
    throw e;
  }
}

function parseLimit(raw: unknown): number {
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(n) || n < 1 || n > 500) throw new ValidationError('limit must be an integer 1–500', 'limit', 'invalid_parameter');
  return n;
}

/** GET /v1/models, POST /v1/models/:model_id/activate, POST /v1/train, GET /v1/train/:run_id */
export function adminRoutes(es: Client, names: Names, admin: AdminOps, live: LiveModelResolver, auth: RequestHandler): Router {
  const r = Router();

  r.get('/v1/models', endpoint('list_models'), auth, async (req, res) => {
    const { limit, ...rest } = req.query as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra) throw new ValidationError(`unknown parameter ${extra}`, extra, 'unknown_parameter');
    const size = parseLimit(limit);
    const [found, current] = await Promise.all([
      es.search<Record<string, unknown>>({
        index: names.models,
        ignore_unavailable: true,
        allow_no_indices: true,
        size,
        sort: [{ created_at: { order: 'desc', unmapped_type: 'date' } }],
        _source: { excludes: HIDDEN_MODEL_FIELDS },
      }),
      live.find(),
    ]);
    res.json({ live_model_id: current?.modelId ?? null, models: found.hits.hits.map((h) => h._source) });
  });

  r.post('/v1/models/:model_id/activate', endpoint('activate_model'), auth, async (req, res) => {
    noQueryParams(req);
    const id = checkPathId(req.params['model_id'], 'model_id');
    const doc = await getModelDoc(es, names, id);
    if (!doc) throw new NotFoundError(`model ${id} does not exist`, 'model_not_found');
    if (doc['status'] === 'failed' || doc['status'] === 'training') throw new ConflictError(`model ${id} is ${String(doc['status'])} and cannot be activated`, 'model_not_deployable');
    const [items, users] = await Promise.all([es.indices.exists({ index: names.itemsIndex(id) }), es.indices.exists({ index: names.usersIndex(id) })]);
    if (!items || !users) throw new ConflictError(`model ${id} has no deployed indices (deploy it first)`, 'model_not_deployed');
    await admin.activate(id);
    live.invalidate();
    res.json({ model_id: id, status: 'live' });
  });

  r.post('/v1/train', endpoint('start_training'), auth, async (req, res) => {
    noQueryParams(req);
    const body = req.body as unknown;
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).length)) {
      const extra = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body)[0] : undefined;
      throw new ValidationError(extra ? `unknown parameter ${extra}` : 'the body must be empty or {}', extra, extra ? 'unknown_parameter' : 'invalid_body');
    }
    const run = await admin.startTraining();
    res.status(202).json({ run_id: run.run_id, status_url: `/v1/train/${encodeURIComponent(run.run_id)}` });
  });

  r.get('/v1/train/:run_id', endpoint('training_run'), auth, async (req, res) => {
    noQueryParams(req);
    const id = checkPathId(req.params['run_id'], 'run_id');
    const doc = await getModelDoc(es, names, id);
    if (!doc) throw new NotFoundError(`training run ${id} does not exist`, 'run_not_found');
    res.json(doc);
  });

  return r;
}
