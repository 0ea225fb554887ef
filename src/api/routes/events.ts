import { Router, type RequestHandler } from 'express';
import { UnavailableError, ValidationError } from '../../errors/index.ts';
import type { Logger } from '../../infra/logger.ts';
import { acceptEvents } from '../../ingest/accept.ts';
import type { EventProducer } from '../../ingest/producer.ts';
import type { ApiOptions } from '../options.ts';
import { endpoint, jsonBody, noQueryParams } from '../middleware.ts';

/** A single object or an array of 1..maxBatch, as an array; `what` names the field in errors. */
export function batchOf(body: unknown, what: string, maxBatch: number): unknown[] {
  const list = Array.isArray(body) ? body : [body];
  if (!list.length)
    throw new ValidationError(`send at least one ${what.replace(/s$/, '')}`, what, 'empty_batch');
  if (list.length > maxBatch)
    throw new ValidationError(
      `at most ${maxBatch} ${what} per request (got ${list.length})`,
      what,
      'batch_too_large',
    );
  return list;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** POST /v1/events: validate each event, produce the valid ones, report the rest by index. */
export function eventRoutes(
  producer: EventProducer,
  options: ApiOptions,
  authThenBody: RequestHandler[],
  log: Logger,
): Router {
  const r = Router();
  r.post('/v1/events', endpoint('events'), ...authThenBody, async (req, res) => {
    noQueryParams(req);
    const list = batchOf(jsonBody(req), 'events', options.maxBatch);
    const { accepted, errors } = acceptEvents(list, options.eventRules);
    if (!accepted.length) {
      const first = errors[0]!;
      res.status(400).json({
        accepted: 0,
        ids: [],
        errors,
        error: {
          code: 'invalid_events',
          message: `none of the ${list.length} events is valid (first: [${first.index}].${first.field} ${first.message})`,
          field: first.field,
        },
      });
      return;
    }
    try {
      await withTimeout(producer.send(accepted), options.eventsSendTimeoutMs);
    } catch (e) {
      log.warn({ err: (e as Error).message, events: accepted.length }, 'could not produce events');
      throw new UnavailableError(
        'the event stream is unavailable, retry (events that carry an event_id are deduplicated)',
        'events_unavailable',
      );
    }
    res.status(202).json({ accepted: accepted.length, ids: accepted.map((e) => e.event_id), errors });
  });
  return r;
}
