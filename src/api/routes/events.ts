import { Router, type RequestHandler } from 'express';
import { ValidationError } from '../../errors/index.ts';
import { HttpError } from '../http-errors.ts';
import { setOnDeadline } from '../deadlines.ts';
import type { CircuitBreaker } from '../../infra/circuit-breaker.ts';
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

/**
 * POST /v1/events: validate each event, produce the valid ones, report the rest by index. Never
 * "retry" for events that may still arrive: 202 with the ids once the broker acknowledged them, or
 * 202 `delivery: pending` when the write budget ran out with the send still under way (it goes on;
 * the ids are the ones they will be stored under); 503 only when the send failed, and then a retry
 * is harmless too, because an event sent without an id gets one hashed from its body.
 */
export function eventRoutes(
  producer: EventProducer,
  options: ApiOptions,
  authThenBody: RequestHandler[],
  log: Logger,
  onFallback?: (answer: 'pending' | 'unavailable') => void,
  /** the broker's breaker: while open, nothing is sent and the answer is a 503 that is certain */
  breaker?: CircuitBreaker,
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
    const ids = accepted.map((e) => e.event_id);
    const unavailable = (retryAfterMs: number, message: string) => {
      onFallback?.('unavailable');
      res
        .status(503)
        .set('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))))
        .json({ ...new HttpError(503, 'events_unavailable', message).toJSON(), ids });
    };
    const permit = breaker?.acquire() ?? 'pass';
    if (permit === 'reject')
      return unavailable(
        breaker!.retryInMs(),
        'the event stream is unavailable (recent sends failed); nothing was sent, send again later (they keep these ids)',
      );
    setOnDeadline(res, () => {
      res.status(202).json({ accepted: accepted.length, ids, errors, delivery: 'pending' });
      onFallback?.('pending');
      return true;
    });
    try {
      await producer.send(accepted);
      breaker?.success(permit);
    } catch (e) {
      breaker?.failure(permit);
      if (res.headersSent) {
        // answered "pending" already: the client holds the ids and may send them again
        log.error(
          { err: (e as Error).message, events: accepted.length },
          'events answered pending were not delivered',
        );
        return;
      }
      log.warn({ err: (e as Error).message, events: accepted.length }, 'could not produce events');
      unavailable(
        1000,
        'the event stream refused the events; sending them again is safe (they keep these ids)',
      );
      return;
    }
    if (!res.headersSent)
      res.status(202).json({ accepted: accepted.length, ids, errors, delivery: 'acknowledged' });
  });
  return r;
}
