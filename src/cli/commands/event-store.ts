import type { Command } from 'commander';
import { createContext } from '../../app/context.ts';
import { applyRetention, migrateEvents } from '../../ingest/event-store.ts';
import { progressBar } from '../progress.ts';

export function registerEventStoreCommands(program: Command): void {
  program
    .command('retention')
    .description(
      'drop event-store buckets wholly older than [events] retention_days (also run by every scheduled training)',
    )
    .option('--days <n>', 'override [events] retention_days')
    .option('--dry-run', 'only list what would be dropped')
    .action(async (o: { days?: string; dryRun?: boolean }) => {
      const ctx = createContext();
      try {
        const r = await applyRetention(ctx, {
          dryRun: o.dryRun,
          ...(o.days !== undefined ? { retentionDays: Number(o.days) } : {}),
        });
        if (r.retentionDays <= 0)
          console.log(`retention is off ([events] retention_days = 0): ${r.kept} buckets kept`);
        else
          console.log(
            `${o.dryRun ? 'would drop' : 'dropped'} ${r.dropped.length} buckets older than ${r.retentionDays} days${r.dropped.length ? `: ${r.dropped.join(', ')}` : ''}; ${r.kept} kept`,
          );
      } finally {
        await ctx.close();
      }
    });

  program
    .command('migrate-events')
    .description(
      'move buckets of another granularity (e.g. daily indices) into the [events] bucket layout and claim every event id in the dedup ledger; idempotent, resumable',
    )
    .action(async () => {
      const ctx = createContext();
      const bars = new Map<string, ReturnType<typeof progressBar>>();
      try {
        const r = await migrateEvents(ctx, {
          onProgress: (index, done, total) =>
            (bars.get(index) ?? bars.set(index, progressBar(index, total)).get(index)!).update(done),
        });
        for (const b of bars.values()) b.stop();
        for (const m of r.migrated)
          console.log(
            `${m.from}: ${m.events} events → ${m.written} written, ${m.duplicates} already there; removed`,
          );
        console.log(
          `${r.migrated.length} buckets migrated, ${r.claimed.length} buckets already in the ${ctx.config.events.bucket} layout (${r.claimed.reduce((a, c) => a + c.events, 0)} event ids claimed)`,
        );
      } finally {
        for (const b of bars.values()) b.stop();
        await ctx.close();
      }
    });
}
