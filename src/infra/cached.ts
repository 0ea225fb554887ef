/**
 * One value looked up at most every `ttlMs`, shared by concurrent callers: what the request path
 * reads instead of asking Elasticsearch per request (the live model's alias, the running
 * experiment). `fresh()` always asks; `invalidate()` makes the next `find()` ask.
 */
export class CachedLookup<T> {
  private cached?: { at: number; value: T };
  private inflight?: Promise<T>;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly ttlMs: number,
  ) {}

  async find(): Promise<T> {
    if (this.cached && Date.now() - this.cached.at < this.ttlMs) return this.cached.value;
    return this.fresh();
  }

  fresh(): Promise<T> {
    this.inflight ??= this.load().then(
      (value) => {
        this.cached = { at: Date.now(), value };
        this.inflight = undefined;
        return value;
      },
      (e: unknown) => {
        this.inflight = undefined;
        throw e;
      },
    );
    return this.inflight;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}
