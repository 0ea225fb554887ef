// The replay's events through the real stream: each step is produced to Kafka by the event
// producer, stored by the real ingest consumer (validation, dedup ledger, monthly buckets), and the
// trainer reads the ratings back from the event store with its own sliced scan. Only the clock is
// the loop's: a step is revealed when the loop says so, and the read's `now` is the step's cut.

import type { AppContext } from '../app/context.ts';
import { createRegistry } from '../infra/metrics.ts';
import { EventProducer } from '../ingest/producer.ts';
import { startIngest } from '../ingest/service.ts';
import type { RatingRules } from '../events/rating.ts';
import type { EventRow, EventsRepository } from '../repositories/events.ts';
import { readRatingsByScan } from '../train/ratings.ts';
import type { ReplayEvent, ReplaySource } from './replay.ts';

export interface PipelineSourceOptions {
  rules: RatingRules;
  /** ES requests made so far by the context's client (the caller counts them, e.g. from the client's diagnostics) */
  roundTrips: () => number;
  /** how long one step may take to become searchable, default 120 s */
  storeTimeoutMs?: number;
  pollMs?: number;
  produceChunk?: number;
}

export interface PipelineSource extends ReplaySource {
  /** events produced, and the seconds spent producing and waiting for the store to hold them */
  stats(): { produced: number; stored: number; revealSeconds: number };
  close(): Promise<void>;
}

/** Starts the ingest consumers on the context's (set-up) topics and returns the source. */
export async function pipelineSource(ctx: AppContext, opts: PipelineSourceOptions): Promise<PipelineSource> {
  const ingest = await startIngest(ctx, createRegistry(false), { lagIntervalMs: 600_000 });
  const producer = new EventProducer(ctx.kafka, ctx.names.topics.events);
  const pollMs = opts.pollMs ?? 200;
  const timeoutMs = opts.storeTimeoutMs ?? 120_000;
  const chunk = opts.produceChunk ?? 5_000;
  let produced = 0;
  let stored = 0;
  let revealSeconds = 0;
  return {
    async reveal(events: readonly ReplayEvent[]) {
      const t0 = performance.now();
      for (let i = 0; i < events.length; i += chunk) await producer.send(events.slice(i, i + chunk));
      produced += events.length;
      // the trainer may read only once the store holds the whole step (the loop's cut is exact)
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        stored = await ctx.repos.events.countAfterRefresh();
        if (stored >= produced) break;
        if (Date.now() > deadline)
          throw new Error(
            `event store holds ${stored} of ${produced} produced events after ${timeoutMs / 1000} s: is ingest dead-lettering them (see the DLQ topic ${ctx.names.topics.dlq})?`,
          );
        await new Promise((r) => setTimeout(r, pollMs));
      }
      revealSeconds += (performance.now() - t0) / 1000;
    },
    async readRatings(cutoff: number) {
      const before = opts.roundTrips();
      let docs = 0;
      const repo = ctx.repos.events;
      // counts what the scan hands the reader; the scan itself is the repository's
      const counted = {
        async *scan(
          sinceMs: number | undefined,
          pageSize?: number,
          slices?: number,
        ): AsyncGenerator<EventRow[]> {
          for await (const page of repo.scan(sinceMs, pageSize, slices)) {
            docs += page.length;
            yield page;
          }
        },
      };
      const rows = await readRatingsByScan(counted as unknown as EventsRepository, {
        rules: opts.rules,
        now: cutoff,
        slices: ctx.config.training.readSlices,
      });
      return { rows, cost: { esRoundTrips: opts.roundTrips() - before, esDocsRead: docs } };
    },
    stats: () => ({ produced, stored, revealSeconds }),
    async close() {
      await producer.disconnect();
      await ingest.stop();
    },
  };
}
