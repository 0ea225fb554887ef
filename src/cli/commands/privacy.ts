import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { createContext } from '../../app/context.ts';
import { PrivacyService } from '../../privacy/service.ts';
import type { PrivacyJob } from '../../repositories/privacy-jobs.ts';

function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

function printJob(job: PrivacyJob): void {
  console.log(`job ${job.job_id}: ${job.status} (run ${job.runs})`);
  for (const [store, p] of Object.entries(job.stores)) {
    const counts = Object.entries(p.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(`  ${store.padEnd(16)} ${p.status.padEnd(8)} ${counts}`);
  }
}

export function registerPrivacyCommands(program: Command): void {
  program
    .command('forget-user <user_id>')
    .description(
      'forget a user in every store and tombstone them for ingest and training (idempotent: run it again to resume an interrupted job)',
    )
    .action(async (userId: string) => {
      const ctx = createContext();
      try {
        const started = await new PrivacyService(ctx).forgetUser(userId, cliActor());
        printJob(await started.finished);
      } finally {
        await ctx.close();
      }
    });

  program
    .command('remove-item <item_id>')
    .description('remove an item from the catalogue, every items index and training')
    .option('--events', "also delete the item's events (kept by default: they are the users' history)")
    .action(async (itemId: string, o: { events?: boolean }) => {
      const ctx = createContext();
      try {
        const started = await new PrivacyService(ctx).removeItem(
          itemId,
          { events: Boolean(o.events) },
          cliActor(),
        );
        printJob(await started.finished);
      } finally {
        await ctx.close();
      }
    });

  program
    .command('merge-user <user_id> <anonymous_id>')
    .description("merge an anonymous id's history into a user and forget the anonymous id")
    .action(async (userId: string, anonymousId: string) => {
      const ctx = createContext();
      try {
        const started = await new PrivacyService(ctx).mergeUsers(userId, anonymousId, cliActor());
        printJob(await started.finished);
      } finally {
        await ctx.close();
      }
    });

  program
    .command('export-user <user_id>')
    .description('everything held about a user, as one JSON document on stdout')
    .action(async (userId: string) => {
      const ctx = createContext();
      try {
        for await (const chunk of new PrivacyService(ctx).exportUser(userId))
          if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
      } finally {
        await ctx.close();
      }
    });
}
