// How a long-running command ends: on SIGTERM/SIGINT it stops its parts in order (finish the batch
// in hand, commit, disconnect) within a grace period (SHUTDOWN_GRACE_SECONDS), then exits the
// process itself. A broker restart can leave kafkajs connections or reconnect timers that keep the
// event loop alive forever, and a disconnect that waits on a dead connection never returns; neither
// may stall a rolling restart. Whatever was not committed in time is redelivered to the next member.

import type { Logger } from '../infra/logger.ts';
import { untilSignal } from './signals.ts';

export interface ShutdownOptions {
  log: Logger;
  graceMs: number;
  /** the process's exit (tests pass their own) */
  exit?: (code: number) => void;
}

/**
 * Waits for the first signal, runs `stop` and exits: 0 when it finished within the grace period,
 * 1 when it failed, ran out of time, or a second signal asked to stop at once.
 */
export async function stopOnSignal(stop: () => Promise<void>, opts: ShutdownOptions): Promise<void> {
  const { log, graceMs } = opts;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const signal = await untilSignal();
  log.info({ signal, graceMs }, 'stopping: finishing the work in hand, committing, exiting');
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    stop().then(
      () => 'stopped' as const,
      (e: unknown) => {
        log.error({ err: (e as Error).message }, 'stopping failed');
        return 'failed' as const;
      },
    ),
    new Promise<'grace period over'>((r) => (timer = setTimeout(() => r('grace period over'), graceMs))),
    untilSignal().then(() => 'second signal' as const),
  ]);
  clearTimeout(timer);
  if (outcome === 'stopped') log.info('stopped');
  else log.warn({ outcome }, 'exiting before every part stopped; what was not committed is redelivered');
  exit(outcome === 'stopped' ? 0 : 1);
}
