// How a replay scores a step: the new user–item pairs of the step are the targets, each list a
// variant serves is checked against what it knew (a leak stops the run) and ranked against them,
// and the metrics add up per variant and user kind.

import { rankingMetricsAtK } from '../train/evaluate/index.ts';
import type { TimedEvent } from './revealed.ts';

export const USER_KINDS = ['first_visit', 'new', 'drifted', 'returning'] as const;
/** first_visit: nothing before the cut; new: first event less than newUserDays before it; drifted: taste changed less than driftDays before it */
export type UserKind = (typeof USER_KINDS)[number];

export interface MetricCell {
  users: number;
  ndcg: number;
  recall: number;
}
export type VariantMetrics = MetricCell & { byKind: Record<UserKind, MetricCell> };

export interface ScoreProbe {
  variant: string;
  userId: string;
  kind: UserKind;
  /** timestamps of the interactions this list is scored on */
  scoredTs: number[];
  /** the newest event behind the list: the model's training rows, the user's folded-in events, the popularity counts */
  knownMaxTs: number;
  cutoff: number;
}

/** A user's items of the step not touched before it, each at its first time in the step. */
export function stepTargets(
  upcoming: readonly TimedEvent[],
  itemsBefore: (userId: string) => ReadonlySet<string> | undefined,
): Map<string, Map<string, number>> {
  const targets = new Map<string, Map<string, number>>();
  for (const { e, ts } of upcoming) {
    if (itemsBefore(e.user_id)?.has(e.item_id)) continue;
    const t = targets.get(e.user_id) ?? new Map<string, number>();
    if (!t.has(e.item_id)) t.set(e.item_id, ts);
    targets.set(e.user_id, t);
  }
  return targets;
}

export function userKind(
  cut: number,
  firstSeen: number | undefined,
  driftAt: number | undefined,
  newUserMs: number,
  driftMs: number,
): UserKind {
  if (firstSeen === undefined) return 'first_visit';
  if (cut - firstSeen < newUserMs) return 'new';
  if (driftAt !== undefined && driftAt < cut && cut - driftAt <= driftMs) return 'drifted';
  return 'returning';
}

function emptyCell(): MetricCell {
  return { users: 0, ndcg: 0, recall: 0 };
}

function emptyMetrics(): VariantMetrics {
  return {
    ...emptyCell(),
    byKind: Object.fromEntries(USER_KINDS.map((k) => [k, emptyCell()])) as Record<UserKind, MetricCell>,
  };
}

function mean(m: VariantMetrics): VariantMetrics {
  const cell = (c: MetricCell): MetricCell => ({
    users: c.users,
    ndcg: c.users ? c.ndcg / c.users : 0,
    recall: c.users ? c.recall / c.users : 0,
  });
  return {
    ...cell(m),
    byKind: Object.fromEntries(USER_KINDS.map((k) => [k, cell(m.byKind[k])])) as Record<UserKind, MetricCell>,
  };
}

/** Sums of nDCG and recall per variant and user kind; `means()` averages them per scored list. */
export class VariantScores {
  private readonly sums: Map<string, VariantMetrics>;

  constructor(private readonly variants: readonly string[]) {
    this.sums = new Map(variants.map((v) => [v, emptyMetrics()]));
  }

  add(variant: string, kind: UserKind, ndcg: number, recall: number): void {
    const m = this.sums.get(variant);
    if (!m) throw new Error(`replay: no variant ${variant}`);
    for (const c of [m, m.byKind[kind]]) {
      c.users++;
      c.ndcg += ndcg;
      c.recall += recall;
    }
  }

  means(): Record<string, VariantMetrics> {
    return Object.fromEntries(this.variants.map((v) => [v, mean(this.sums.get(v) ?? emptyMetrics())]));
  }
}

export interface ScoredList {
  variant: string;
  items: string[];
  knownMaxTs: number;
}

/** One user at a cut: the step's targets (item → time) and the list each variant serves. */
export interface UserAtCut {
  userId: string;
  kind: UserKind;
  cutoff: number;
  targets: ReadonlyMap<string, number>;
  lists: readonly ScoredList[];
}

/**
 * Scores a user's lists on the user's targets into every table of `into` (k = list length), after
 * checking that no list knew anything at or after the first target.
 */
export function scoreUser(
  at: UserAtCut,
  k: number,
  into: readonly VariantScores[],
  probe?: (p: ScoreProbe) => void,
): void {
  const { userId, kind, cutoff } = at;
  const relevantIds = [...at.targets.keys()];
  const scoredTs = [...at.targets.values()];
  const minTs = Math.min(...scoredTs);
  // one id space per user: the relevant items first, then whatever the lists bring
  const ids = new Map<string, number>(relevantIds.map((id, i) => [id, i]));
  const relevant = new Set(relevantIds.map((_, i) => i));
  for (const { variant, items, knownMaxTs } of at.lists) {
    if (minTs <= knownMaxTs)
      throw new Error(
        `prequential leak: ${variant} scores ${userId} on an interaction at ${new Date(minTs).toISOString()}, not after the newest event it knew (${new Date(knownMaxTs).toISOString()})`,
      );
    probe?.({ variant, userId, kind, scoredTs, knownMaxTs, cutoff });
    const ranked = items.map((id) => {
      let i = ids.get(id);
      if (i === undefined) ids.set(id, (i = ids.size));
      return i;
    });
    const r = rankingMetricsAtK(ranked, relevant, k);
    for (const t of into) t.add(variant, kind, r.ndcg, r.recall);
  }
}
