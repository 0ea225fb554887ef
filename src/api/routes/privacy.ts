import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Router, type Request, type RequestHandler } from 'express';
import { NotFoundError, ValidationError } from '../../errors/index.ts';
import type { PrivacyService, StartedJob } from '../../privacy/service.ts';
import type { PrivacyJob } from '../../repositories/privacy-jobs.ts';
import { endpoint, jsonBody, noQueryParams } from '../middleware.ts';

/** Who asked, for the audit record: the API key's fingerprint, never the key. */
function actor(req: Request): string {
  const key = req.get('x-api-key') ?? '';
  return `api-key:${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/** A job as the API shows it: no salt. */
export function publicJob(job: PrivacyJob): Omit<PrivacyJob, 'salt'> & { status_url: string } {
  const { salt: _salt, ...rest } = job;
  return { ...rest, status_url: `/v1/privacy/jobs/${encodeURIComponent(job.job_id)}` };
}

/**
 * DELETE /v1/users/:user_id (forget), GET /v1/users/:user_id/export, POST /v1/users/:user_id/merge,
 * DELETE /v1/items/:item_id[?events=true], GET /v1/privacy/jobs/:job_id. All behind the API key.
 */
export function privacyRoutes(
  privacy: PrivacyService,
  auth: RequestHandler,
  json: RequestHandler,
  /** after an item removal: drop what this process cached about the catalogue (popular lists) */
  onItemRemoved: () => void,
): Router {
  const r = Router();

  r.delete('/v1/users/:user_id', endpoint('forget_user'), auth, async (req, res) => {
    noQueryParams(req);
    const started = await privacy.forgetUser(String(req.params['user_id']), actor(req));
    background(started);
    res.status(202).json(publicJob(started.job));
  });

  r.post('/v1/users/:user_id/merge', endpoint('merge_user'), auth, json, async (req, res) => {
    noQueryParams(req);
    const body = jsonBody(req);
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new ValidationError('the body must be {"anonymous_id": "..."}', undefined, 'invalid_body');
    const { anonymous_id, ...rest } = body as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra) throw new ValidationError(`unknown parameter ${extra}`, extra, 'unknown_parameter');
    if (typeof anonymous_id !== 'string')
      throw new ValidationError('anonymous_id must be a string', 'anonymous_id', 'invalid_parameter');
    const started = await privacy.mergeUsers(String(req.params['user_id']), anonymous_id, actor(req));
    background(started);
    res.status(202).json(publicJob(started.job));
  });

  r.get('/v1/users/:user_id/export', endpoint('export_user'), auth, async (req, res) => {
    noQueryParams(req);
    const chunks = privacy.exportUser(String(req.params['user_id']));
    // the first chunk before the headers: a failure to start is still an error response
    const first = await chunks.next();
    res.status(200).type('application/json');
    res.setHeader('content-disposition', 'attachment; filename="export.json"');
    if (!first.done) res.write(first.value);
    try {
      for await (const chunk of chunks) if (!res.write(chunk)) await once(res, 'drain');
    } catch (e) {
      // headers are gone: end the body unfinished, so the client sees invalid JSON, not a short export
      res.destroy(e as Error);
      return;
    }
    res.end();
  });

  r.delete('/v1/items/:item_id', endpoint('remove_item'), auth, async (req, res) => {
    const { events, ...rest } = req.query as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra) throw new ValidationError(`unknown parameter ${extra}`, extra, 'unknown_parameter');
    if (events !== undefined && events !== 'true' && events !== 'false')
      throw new ValidationError('events must be true or false', 'events', 'invalid_parameter');
    const started = await privacy.removeItem(
      String(req.params['item_id']),
      { events: events === 'true' },
      actor(req),
    );
    if (events === 'true') {
      background(started);
      res.status(202).json(publicJob(started.job));
      return;
    }
    // without its events the job is a handful of requests: answer when the item is gone everywhere
    const job = await started.finished;
    onItemRemoved();
    res.json(publicJob(job));
  });

  r.get('/v1/privacy/jobs/:job_id', endpoint('privacy_job'), auth, async (req, res) => {
    noQueryParams(req);
    const id = String(req.params['job_id']);
    if (!/^[a-z-]+-[0-9a-f]{32}$/.test(id))
      throw new ValidationError('not a privacy job id', 'job_id', 'invalid_parameter');
    const job = await privacy.job(id);
    if (!job) throw new NotFoundError(`privacy job ${id} does not exist`, 'job_not_found');
    res.json(publicJob(job));
  });

  return r;
}

/** A job left running after the answer: its failure is on its job document (and logged by the runner). */
function background(started: StartedJob): void {
  started.finished.catch(() => undefined);
}
