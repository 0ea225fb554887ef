// Seconds per deploy step, in the order the steps ran: the model document and the report show them.

export class StepTimings {
  readonly seconds: Record<string, number> = {};

  /** Records the seconds since `since` (ms) under `name`. */
  lap(name: string, since: number): void {
    this.seconds[name] = (Date.now() - since) / 1000;
  }

  /** Runs a synchronous step and records its seconds (nothing when it throws: the deploy fails). */
  time<T>(name: string, step: () => T): T {
    const t = Date.now();
    const out = step();
    this.lap(name, t);
    return out;
  }

  /** Runs a step and records its seconds (nothing when it throws: the deploy fails). */
  async timeAsync<T>(name: string, step: () => Promise<T>): Promise<T> {
    const t = Date.now();
    const out = await step();
    this.lap(name, t);
    return out;
  }
}
