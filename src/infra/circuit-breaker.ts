// A circuit breaker per backend: after `failureThreshold` consecutive failures it opens and callers
// fail fast instead of queueing on a backend known to be down; after `openMs` it lets exactly one
// call through as a probe (half-open): success closes it, failure opens it for another `openMs`.

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  failureThreshold: number;
  openMs: number;
  now?: () => number;
  onChange?: (state: BreakerState) => void;
}

/** What a caller may do: call as usual, call as the one probe, or not call at all. */
export type Permit = 'pass' | 'probe' | 'reject';

export class CircuitBreaker {
  private _state: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private readonly now: () => number;

  constructor(
    readonly name: string,
    private readonly opts: BreakerOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  get state(): BreakerState {
    return this._state;
  }

  /** Milliseconds until an open breaker lets a probe through (0 when it would now). */
  retryInMs(): number {
    return this._state === 'open' ? Math.max(0, this.openedAt + this.opts.openMs - this.now()) : 0;
  }

  acquire(): Permit {
    if (this._state === 'closed') return 'pass';
    if (this._state === 'open') {
      if (this.retryInMs() > 0) return 'reject';
      this.set('half_open');
    }
    if (this.probing) return 'reject';
    this.probing = true;
    return 'probe';
  }

  success(permit: Permit): void {
    if (permit === 'probe') this.probing = false;
    this.failures = 0;
    if (this._state !== 'closed') this.set('closed');
  }

  failure(permit: Permit): void {
    if (permit === 'probe') this.probing = false;
    this.failures++;
    if (
      this._state === 'half_open' ||
      (this._state === 'closed' && this.failures >= this.opts.failureThreshold)
    ) {
      this.openedAt = this.now();
      this.set('open');
    }
  }

  private set(state: BreakerState): void {
    this._state = state;
    this.opts.onChange?.(state);
  }
}
