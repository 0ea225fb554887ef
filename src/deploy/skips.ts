// The documents a deploy may skip instead of failing: counted per stage, up to a limit.

import type { LoadDoc, Refusal } from '../repositories/bulk-load.ts';
import { truncateId, type SkipLog } from '../types/skipped.ts';

/** At most max(10, 0.1 %) of a deploy's item or user documents may be skipped. */
export const DEFAULT_SKIP_LIMIT = { min: 10, fraction: 0.001 } as const;

export type DeployStage = 'items' | 'users';

/** How many of `total` documents a stage may skip: max(min, fraction × total). */
export function skipLimit(total: number, opts: { min: number; fraction: number }): number {
  return Math.max(opts.min, Math.floor(opts.fraction * total));
}

/**
 * Skips of one deploy: counted per stage (items / users), and the deploy fails once a stage skips
 * more than its limit (a share that large is a broken input or mapping, not a few bad rows). The
 * log is the deploy's own, made before the totals are known, so a failure records what it holds.
 */
export class DeploySkips {
  private readonly limits: Record<DeployStage, { limit: number; total: number }>;

  constructor(
    readonly log: SkipLog,
    itemsTotal: number,
    usersTotal: number,
    opts: { min: number; fraction: number },
  ) {
    const limit = (total: number) => ({ limit: skipLimit(total, opts), total });
    this.limits = { items: limit(itemsTotal), users: limit(usersTotal) };
  }

  add(stage: DeployStage, reason: string, id: string, detail: string): void {
    this.log.add(stage, reason, id, detail);
    const { limit, total } = this.limits[stage];
    const n = this.log.count(stage);
    if (n > limit)
      throw new Error(
        `${n} of ${total} ${stage} documents skipped (invalid id or refused by the cluster), more than the ${limit} allowed; latest: ${truncateId(id)}: ${reason}: ${detail.slice(0, 300)}`,
      );
  }

  /** A document the cluster refused for good. */
  refused(stage: DeployStage) {
    return (doc: LoadDoc, r: Refusal) => this.add(stage, r.type, doc.id, r.reason);
  }
}
