import { hostname } from 'node:os';
import cron from 'node-cron';
import type { AppContext } from '../app/context.ts';
import { TRAIN_LOCK, TRAIN_LOCK_TTL_MS } from './training-lock.ts';
import { applyRetention } from '../ingest/event-store.ts';
import { runTraining, type TrainRunOptions, type TrainRunResult } from './run.ts';

export interface Scheduler {
  /** one scheduled run now (what the cron fires); undefined when another scheduler holds the lock */
  tick(): Promise<TrainRunResult | undefined>;
  stop(): Promise<void>;
}

/**
 * `recsys schedule`: train → evaluate → gate → deploy on a cron expression. Single-flight across
 * every scheduler sharing the cluster through a lock document with an expiry (a crashed holder's
 * lock lapses after lockTtlMs).
 */
export function startScheduler(
  ctx: AppContext,
  opts: { cron?: string; lockTtlMs?: number; run?: TrainRunOptions; start?: boolean } = {},
): Scheduler {
  const owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const expression = opts.cron ?? ctx.config.trainSchedule;
  if (!cron.validate(expression)) throw new Error(`invalid cron expression "${expression}" (TRAIN_SCHEDULE)`);
  let running: Promise<TrainRunResult | undefined> | undefined;

  const tick = async (): Promise<TrainRunResult | undefined> => {
    const lock = await ctx.repos.locks.acquire(TRAIN_LOCK, owner, opts.lockTtlMs ?? TRAIN_LOCK_TTL_MS);
    if (!lock) {
      ctx.log.info({ owner }, 'another scheduler is training; skipping this tick');
      return undefined;
    }
    try {
      // retention first: the run then reads only what the store keeps
      await applyRetention(ctx).catch((e: Error) =>
        ctx.log.error({ err: e.message }, 'event-store retention failed; training anyway'),
      );
      return await runTraining(ctx, { ...opts.run, trigger: 'schedule' });
    } finally {
      await lock.release();
    }
  };

  const task = cron.schedule(
    expression,
    () => {
      if (running) return; // this process is still on the previous run
      running = tick()
        .catch((e: Error) => void ctx.log.error({ err: e.message }, 'scheduled run crashed'))
        .finally(() => (running = undefined)) as Promise<TrainRunResult | undefined>;
    },
    { noOverlap: true },
  );
  if (opts.start === false) void task.stop();
  ctx.log.info({ cron: expression, owner }, 'training scheduler started');

  return {
    tick,
    async stop() {
      await task.stop();
      await running;
    },
  };
}
