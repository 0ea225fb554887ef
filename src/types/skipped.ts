// Rows a pipeline step skipped instead of failing on them (an event with an id today's rules
// refuse, a document Elasticsearch refuses): counted by stage and reason, with a few examples,
// so a run reports and records them on its model document (models.json maps these fields).

import { utf8Bytes } from './ids.ts';

export interface SkipExample {
  /** where: events (training read), items / users (deploy) */
  stage: string;
  /** a stable code: invalid_user_id, invalid_item_id, invalid_id, or the refusing ES error type */
  reason: string;
  /** the row's id, truncated */
  id: string;
  /** what exactly was wrong, truncated */
  detail?: string;
}

export interface SkipSummary {
  total: number;
  by_reason: Array<{ stage: string; reason: string; count: number }>;
  /** the first MAX_SKIP_EXAMPLES skipped rows */
  examples: SkipExample[];
}

export const MAX_SKIP_EXAMPLES = 20;
const MAX_ID_CHARS = 64;
const MAX_DETAIL_CHARS = 300;

/** An id as an example shows it: at most 64 characters, with its real size when cut. */
export function truncateId(id: unknown): string {
  const s = typeof id === 'string' ? id : (JSON.stringify(id) ?? String(id));
  return s.length <= MAX_ID_CHARS ? s : `${s.slice(0, MAX_ID_CHARS)}… (${utf8Bytes(s)} bytes)`;
}

export class SkipLog {
  private readonly reasons = new Map<string, { stage: string; reason: string; count: number }>();
  private readonly examples: SkipExample[] = [];
  private readonly perStage = new Map<string, number>();
  total = 0;

  /** Counts `count` skipped rows (a composite bucket stands for several events) under stage and reason. */
  add(stage: string, reason: string, id: unknown, detail?: string, count = 1): void {
    const key = `${stage}\u0000${reason}`;
    const r = this.reasons.get(key) ?? { stage, reason, count: 0 };
    r.count += count;
    this.reasons.set(key, r);
    this.perStage.set(stage, (this.perStage.get(stage) ?? 0) + count);
    this.total += count;
    if (this.examples.length < MAX_SKIP_EXAMPLES) {
      this.examples.push({
        stage,
        reason,
        id: truncateId(id),
        ...(detail ? { detail: detail.slice(0, MAX_DETAIL_CHARS) } : {}),
      });
    }
  }

  /** Skipped rows of one stage. */
  count(stage: string): number {
    return this.perStage.get(stage) ?? 0;
  }

  summary(): SkipSummary {
    return {
      total: this.total,
      by_reason: [...this.reasons.values()].map((r) => ({ ...r })),
      examples: this.examples.map((e) => ({ ...e })),
    };
  }
}
