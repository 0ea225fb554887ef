// Life of the event store beyond writing: retention by dropping whole buckets, and migration of
// buckets of another granularity (e.g. the daily indices of earlier versions) into the configured
// layout. Both are idempotent and can be interrupted and run again.

import type { AppContext } from '../app/context.ts';
import { bucketRange } from '../config/buckets.ts';
import type { SinkDoc } from '../repositories/bulk-store.ts';
import { eventWrite } from './event-write.ts';

const DAY = 86_400_000;

export interface RetentionReport {
  retentionDays: number;
  dropped: string[];
  kept: number;
}

/** Drops every bucket whose whole time range is older than [events] retention_days (0 = keep all). */
export async function applyRetention(
  ctx: AppContext,
  opts: { now?: number; dryRun?: boolean; retentionDays?: number } = {},
): Promise<RetentionReport> {
  const days = opts.retentionDays ?? ctx.config.events.retentionDays;
  const buckets = await ctx.repos.events.bucketIndices();
  if (days <= 0) return { retentionDays: days, dropped: [], kept: buckets.length };
  const cutoff = (opts.now ?? Date.now()) - days * DAY;
  const doomed = buckets.filter((b) => b.end <= cutoff).map((b) => b.index);
  if (!opts.dryRun) await ctx.repos.events.dropBuckets(doomed);
  if (doomed.length)
    ctx.log.info(
      { dropped: doomed, retentionDays: days, dryRun: Boolean(opts.dryRun) },
      'event-store retention',
    );
  return { retentionDays: days, dropped: doomed, kept: buckets.length - doomed.length };
}

export interface MigrationReport {
  /** buckets of another granularity copied into the configured layout and then removed */
  migrated: Array<{ from: string; events: number; written: number; duplicates: number }>;
  /** buckets already in the layout whose events were claimed in the dedup ledger */
  claimed: Array<{ index: string; events: number }>;
}

/**
 * Brings an existing store to the configured layout: a bucket of another granularity is copied
 * event by event through the same idempotent, ledger-checked write as ingest and removed once
 * every event is accounted for (written or already there); buckets already in the layout get
 * their ledger claims, so duplicates of events stored before the ledger existed are caught too.
 */
export async function migrateEvents(
  ctx: AppContext,
  opts: { onProgress?: (index: string, done: number, total: number) => void } = {},
): Promise<MigrationReport> {
  const { repos, names, log, config } = ctx;
  const report: MigrationReport = { migrated: [], claimed: [] };
  const policy = { initialMs: 500, maxMs: 10_000, deadlineMs: 5 * 60_000 };
  for (const b of await repos.events.bucketIndices()) {
    const label = b.index.slice(names.eventsIndexPrefix.length);
    const inLayout = bucketRange(label)?.granularity === config.events.bucket;
    const total = await repos.events.count(b.index);
    // claims naming the old bucket would make its own events look like duplicates of themselves
    if (!inLayout) await repos.events.releaseClaims([b.index]);
    let done = 0;
    let written = 0;
    let duplicates = 0;
    for await (const page of repos.events.documents(b.index)) {
      const docs: SinkDoc[] = page.map(({ id, doc }, origin) =>
        // in layout: only the claim (the event is where it belongs); otherwise claim and copy
        inLayout
          ? { index: names.eventIds, id, op: 'create', origin, doc: { b: b.index } }
          : eventWrite(names, { id, timestamp: String(doc['timestamp']), doc }, origin),
      );
      const out = await repos.documents.storeAll(docs, policy, log);
      if (out.failures.length)
        throw new Error(
          `migration of ${b.index}: ${out.failures.length} events refused (first: ${out.failures[0]!.reason}: ${out.failures[0]!.message}); nothing removed, fix and run again`,
        );
      written += out.written;
      duplicates += out.duplicates;
      done += page.length;
      opts.onProgress?.(b.index, done, total);
    }
    if (inLayout) {
      report.claimed.push({ index: b.index, events: done });
      continue;
    }
    if (written + duplicates !== done || done !== total)
      throw new Error(
        `migration of ${b.index}: ${done} of ${total} events read, ${written} written + ${duplicates} already there; not removed, run again`,
      );
    await repos.events.dropBuckets([b.index]);
    // the dropped bucket's ledger entries went with it; the copies hold their own claims
    report.migrated.push({ from: b.index, events: done, written, duplicates });
    log.info({ from: b.index, events: done }, 'bucket migrated');
  }
  return report;
}
