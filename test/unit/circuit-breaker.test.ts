import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type BreakerState } from '../../src/infra/circuit-breaker.ts';
import { Deadline, currentDeadline, detached, settleWithin, withDeadline } from '../../src/infra/deadline.ts';
import { budgetKind } from '../../src/api/deadlines.ts';

function breaker(failureThreshold = 3, openMs = 1000) {
  let now = 0;
  const changes: BreakerState[] = [];
  const b = new CircuitBreaker('es', {
    failureThreshold,
    openMs,
    now: () => now,
    onChange: (s) => changes.push(s),
  });
  return { b, changes, advance: (ms: number) => (now += ms) };
}

describe('circuit breaker', () => {
  it('opens after the threshold of consecutive failures, and a success in between resets the count', () => {
    const { b } = breaker(3);
    b.failure(b.acquire());
    b.failure(b.acquire());
    b.success(b.acquire());
    b.failure(b.acquire());
    b.failure(b.acquire());
    expect(b.state).toBe('closed');
    b.failure(b.acquire());
    expect(b.state).toBe('open');
    expect(b.acquire()).toBe('reject');
  });

  it('lets exactly one probe through after openMs; its success closes, its failure reopens', () => {
    const { b, changes, advance } = breaker(1, 1000);
    b.failure(b.acquire());
    advance(999);
    expect(b.acquire()).toBe('reject');
    expect(b.retryInMs()).toBe(1);
    advance(1);
    const probe = b.acquire();
    expect(probe).toBe('probe');
    expect(b.state).toBe('half_open');
    expect(b.acquire()).toBe('reject');
    b.failure(probe);
    expect(b.state).toBe('open');
    expect(b.retryInMs()).toBe(1000);
    advance(1000);
    const again = b.acquire();
    b.success(again);
    expect(b.state).toBe('closed');
    expect(b.acquire()).toBe('pass');
    expect(changes).toEqual(['open', 'half_open', 'open', 'half_open', 'closed']);
  });
});

describe('request deadlines', () => {
  it('are carried through awaits, and detached work runs without one', async () => {
    const d = new Deadline(10_000);
    await withDeadline(d, async () => {
      await Promise.resolve();
      expect(currentDeadline()).toBe(d);
      await detached(async () => {
        await Promise.resolve();
        expect(currentDeadline()).toBeUndefined();
      });
    });
    expect(currentDeadline()).toBeUndefined();
    d.dispose();
  });

  it('settleWithin answers with the fallback once the budget is spent, whatever the promise does', async () => {
    const d = new Deadline(5);
    const never = new Promise<string>(() => undefined);
    expect(await settleWithin(never, d, () => 'late')).toBe('late');
    expect(d.expired).toBe(true);
    expect(await settleWithin(Promise.resolve('now'), new Deadline(10_000), () => 'late')).toBe('now');
  });

  it('every API route has its budget kind; probes and metrics have none', () => {
    expect(budgetKind('GET', '/v1/users/u1/recommendations')).toBe('read');
    expect(budgetKind('POST', '/v1/users/u1/recommendations')).toBe('read');
    expect(budgetKind('GET', '/v1/items/i1/similar')).toBe('read');
    expect(budgetKind('POST', '/v1/events')).toBe('write');
    expect(budgetKind('PUT', '/v1/items')).toBe('write');
    expect(budgetKind('POST', '/v1/train')).toBe('admin');
    expect(budgetKind('GET', '/v1/models/m1/report')).toBe('admin');
    expect(budgetKind('POST', '/v1/experiments/e1/stop')).toBe('admin');
    expect(budgetKind('GET', '/health')).toBe('health');
    expect(budgetKind('GET', '/ready')).toBe('health');
    expect(budgetKind('GET', '/live')).toBeUndefined();
    expect(budgetKind('GET', '/metrics')).toBeUndefined();
  });
});
