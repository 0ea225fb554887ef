import { errors } from '@elastic/elasticsearch';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isEsUnavailable } from '../../src/infra/es-errors.ts';
import {
  backoffDelay,
  isRetriable,
  isRetriableItem,
  RetriesExhaustedError,
  RetryAbortedError,
  RetryError,
  withRetry,
} from '../../src/infra/retry.ts';

function response(statusCode: number, body: unknown = {}): errors.ResponseError {
  return new errors.ResponseError({ statusCode, body, headers: {}, warnings: null, meta: {} as never });
}
const esError = (status: number, type: string, extra: Record<string, unknown> = {}) =>
  response(status, { error: { type, reason: `${type} reason`, ...extra }, status });

describe('isRetriable: the one rule', () => {
  it.each([
    ['429 es_rejected_execution_exception', esError(429, 'es_rejected_execution_exception')],
    ['429 circuit_breaking_exception', esError(429, 'circuit_breaking_exception')],
    ['429 without a body', response(429)],
    ['502', response(502)],
    ['503 unavailable_shards_exception', esError(503, 'unavailable_shards_exception')],
    ['504', response(504)],
    [
      'a rejection wrapped in a 500 (caused_by)',
      esError(500, 'search_phase_execution_exception', {
        caused_by: { type: 'es_rejected_execution_exception', reason: 'queue full' },
      }),
    ],
    [
      'a rejection as a root cause',
      esError(500, 'search_phase_execution_exception', {
        root_cause: [{ type: 'es_rejected_execution_exception', reason: 'x' }],
      }),
    ],
    [
      'a rejection in failed_shards',
      esError(500, 'search_phase_execution_exception', {
        failed_shards: [{ shard: 0, reason: { type: 'es_rejected_execution_exception', reason: 'x' } }],
      }),
    ],
    ['ConnectionError', new errors.ConnectionError('connect ECONNREFUSED 127.0.0.1:9200')],
    ['TimeoutError', new errors.TimeoutError('Request timed out')],
    ['NoLivingConnectionsError', new errors.NoLivingConnectionsError('no living connections', {} as never)],
    [
      'an error wrapping a retriable one (cause)',
      new Error('deploy step failed', { cause: new errors.ConnectionError('socket hang up') }),
    ],
    ['a RetryError asking for a retry', new RetryError('items rejected', { retriable: true })],
  ])('retries %s', (_name, e) => {
    expect(isRetriable(e)).toBe(true);
    expect(isEsUnavailable(e)).toBe(true);
  });

  it.each([
    ['400 mapper_parsing_exception', esError(400, 'mapper_parsing_exception')],
    ['401', response(401)],
    ['403', response(403)],
    ['404 index_not_found_exception', esError(404, 'index_not_found_exception')],
    ['409 version_conflict_engine_exception', esError(409, 'version_conflict_engine_exception')],
    [
      'a plain 500 (ES failed; nothing says a retry goes differently)',
      esError(500, 'illegal_state_exception'),
    ],
    ['a 500 without a body', response(500)],
    ['a plain Error', new Error('boom')],
    ['a TypeError', new TypeError('x is undefined')],
    ['a DeserializationError', new errors.DeserializationError('bad json', '{')],
    ['a string', 'nope'],
    ['undefined', undefined],
    ['a RetryError that is final', new RetryError('bad', { retriable: false })],
    [
      'RetriesExhaustedError (final, even with a retriable cause)',
      new RetriesExhaustedError('gave up', 3, 10, response(429)),
    ],
  ])('does not retry %s', (_name, e) => {
    expect(isRetriable(e)).toBe(false);
  });

  it('isEsUnavailable: a retrier that gave up on unavailability is still unavailable (503), on anything else not', () => {
    expect(isEsUnavailable(new RetriesExhaustedError('gave up', 3, 10, response(429)))).toBe(true);
    expect(isEsUnavailable(new RetryAbortedError('stopped', 3, new errors.ConnectionError('x')))).toBe(true);
    expect(isEsUnavailable(new RetriesExhaustedError('gave up', 3, 10, new Error('x')))).toBe(false);
    expect(isEsUnavailable(esError(500, 'illegal_state_exception'))).toBe(false);
    expect(isEsUnavailable(esError(400, 'mapper_parsing_exception'))).toBe(false);
  });

  it('bulk items follow the same rule', () => {
    for (const s of [429, 502, 503, 504]) expect(isRetriableItem(s)).toBe(true);
    expect(isRetriableItem(429, 'es_rejected_execution_exception')).toBe(true);
    expect(isRetriableItem(500, 'es_rejected_execution_exception')).toBe(true);
    for (const s of [400, 404, 409, 500]) expect(isRetriableItem(s)).toBe(false);
    expect(isRetriableItem(400, 'document_parsing_exception')).toBe(false);
    expect(isRetriableItem(500, 'illegal_state_exception')).toBe(false);
  });
});

describe('backoffDelay', () => {
  it('doubles from initialMs, is capped at maxMs, and jitters between half and all of it', () => {
    const p = { initialMs: 100, maxMs: 1000 };
    const top = [1, 2, 3, 4, 5, 6, 30, 1000].map((a) => backoffDelay(a, { ...p, random: () => 0.999999 }));
    expect(top).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
    const bottom = [1, 2, 3, 4, 5].map((a) => backoffDelay(a, { ...p, random: () => 0 }));
    expect(bottom).toEqual([50, 100, 200, 400, 500]);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, p);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });
});

describe('withRetry', () => {
  afterEach(() => void vi.useRealTimers());

  it('returns at once when the first attempt succeeds', async () => {
    const onWait = vi.fn();
    expect(await withRetry(async (attempt) => `ok ${attempt}`, { initialMs: 1, maxMs: 1, onWait })).toBe(
      'ok 1',
    );
    expect(onWait).not.toHaveBeenCalled();
  });

  it('retries retriable failures with growing, capped waits until it succeeds', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        if (++calls < 6) throw response(429);
        return 'stored';
      },
      { initialMs: 2, maxMs: 10, random: () => 0.999999, onRetry: (_a, _e, d) => delays.push(d) },
    );
    expect(result).toBe('stored');
    expect(calls).toBe(6);
    expect(delays).toEqual([2, 4, 8, 10, 10]);
  });

  it('rethrows a non-retriable error at once, without waiting', async () => {
    const onWait = vi.fn();
    const bad = esError(400, 'mapper_parsing_exception');
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw bad;
        },
        { initialMs: 1000, maxMs: 1000, onWait },
      ),
    ).rejects.toBe(bad);
    expect(calls).toBe(1);
    expect(onWait).not.toHaveBeenCalled();
  });

  it('a non-retriable error after retriable ones is rethrown as it is', async () => {
    let calls = 0;
    const bad = new TypeError('bug');
    await expect(
      withRetry(
        async () => {
          if (++calls < 3) throw new errors.ConnectionError('down');
          throw bad;
        },
        { initialMs: 1, maxMs: 1 },
      ),
    ).rejects.toBe(bad);
    expect(calls).toBe(3);
  });

  it('gives up after maxAttempts with RetriesExhaustedError carrying the last cause', async () => {
    let calls = 0;
    const last = esError(503, 'unavailable_shards_exception');
    const e = await withRetry(
      async () => {
        calls++;
        throw calls === 4 ? last : response(429);
      },
      { initialMs: 1, maxMs: 2, maxAttempts: 4, label: 'test op' },
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetriesExhaustedError);
    const ex = e as RetriesExhaustedError;
    expect(ex.cause).toBe(last);
    expect(ex.attempts).toBe(4);
    expect(ex.retriable).toBe(false);
    expect(ex.message).toMatch(/^test op: gave up after 4 attempts/);
    expect(calls).toBe(4);
  });

  it('gives up at deadlineMs, shortening the last wait to end at the deadline', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const delays: number[] = [];
    const p = withRetry(
      async () => {
        calls++;
        throw response(429);
      },
      {
        initialMs: 1000,
        maxMs: 4000,
        deadlineMs: 10_000,
        random: () => 0.999999,
        onRetry: (_a, _e, d) => delays.push(d),
      },
    ).catch((x: unknown) => x);
    await vi.advanceTimersByTimeAsync(20_000);
    const e = await p;
    expect(e).toBeInstanceOf(RetriesExhaustedError);
    // waits 1000, 2000, 4000, then only the 3000 left of the budget
    expect(delays).toEqual([1000, 2000, 4000, 3000]);
    expect(calls).toBe(5);
    expect((e as RetriesExhaustedError).elapsedMs).toBe(10_000);
  });

  it('calls onWait during waits at least every second (chunked), with the attempt and the error', async () => {
    vi.useFakeTimers();
    const beats: Array<{ at: number; attempt: number; error: unknown }> = [];
    const start = Date.now();
    const down = new errors.ConnectionError('down');
    let calls = 0;
    const p = withRetry(
      async () => {
        if (++calls < 3) throw down;
        return 'ok';
      },
      {
        initialMs: 3500,
        maxMs: 3500,
        random: () => 0.999999,
        onWait: (attempt, error) => void beats.push({ at: Date.now() - start, attempt, error }),
      },
    );
    await vi.advanceTimersByTimeAsync(7000);
    expect(await p).toBe('ok');
    expect(beats.map((b) => b.at)).toEqual([1000, 2000, 3000, 3500, 4500, 5500, 6500, 7000]);
    expect(beats.map((b) => b.attempt)).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    expect(beats.every((b) => b.error === down)).toBe(true);
  });

  it('an onWait that throws (e.g. a rebalanced consumer) ends the retries with its error', async () => {
    const lost = new Error('The group is rebalancing');
    await expect(
      withRetry(
        async () => {
          throw response(503);
        },
        {
          initialMs: 1,
          maxMs: 1,
          onWait: () => {
            throw lost;
          },
        },
      ),
    ).rejects.toBe(lost);
  });

  it('unbounded by default: keeps retrying (here 50 times) until success', async () => {
    let calls = 0;
    expect(
      await withRetry(
        async () => {
          if (++calls < 50) throw new errors.TimeoutError('timeout');
          return calls;
        },
        { initialMs: 0, maxMs: 0 },
      ),
    ).toBe(50);
  });

  it('shouldAbort stops before the next wait with RetryAbortedError carrying the last cause', async () => {
    let calls = 0;
    const down = new errors.ConnectionError('down');
    const e = await withRetry(
      async () => {
        calls++;
        throw down;
      },
      { initialMs: 1, maxMs: 1, shouldAbort: () => calls >= 2 },
    ).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RetryAbortedError);
    expect((e as RetryAbortedError).cause).toBe(down);
    expect(calls).toBe(2);
  });

  it('shouldAbort is honoured in the middle of a long wait, not only after it', async () => {
    vi.useFakeTimers();
    let stop = false;
    const start = Date.now();
    const p = withRetry(
      async () => {
        throw response(429);
      },
      { initialMs: 60_000, maxMs: 60_000, shouldAbort: () => stop },
    ).catch((x: unknown) => x);
    await vi.advanceTimersByTimeAsync(2500);
    stop = true;
    await vi.advanceTimersByTimeAsync(1000);
    const e = await p;
    expect(e).toBeInstanceOf(RetryAbortedError);
    expect(Date.now() - start).toBeLessThanOrEqual(3500);
  });
});
