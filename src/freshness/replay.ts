// Prequential ("test-then-train") replay of a time-ordered history: at each step the next step's
// interactions are scored BEFORE they are revealed, for batch-only models retrained every N steps,
// the same models plus the online fold-in of each user's new events, and recent popularity.
//
// The loop owns only the order of things; the pieces are the pipeline's own: the trainer's read
// (a ReplaySource, source.ts: the real one reads the event store the events reached through
// Kafka), ALS (AlsModel.fit), the fold-in (training's rating of the user's events, then
// AlsModel.recalculateUser: variants.ts) and the ranking metrics of src/train/evaluate
// (scoring.ts). Every list scored is checked against what its variant knew: an interaction at or
// before the newest event behind it is a leak and stops the run, so a source that reads ahead
// cannot produce figures.

import type { RatingRules } from '../events/rating.ts';
import type { AlsParams } from '../types/index.ts';
import { countBefore, RevealedHistory, type TimedEvent } from './revealed.ts';
import {
  scoreUser,
  stepTargets,
  userKind,
  VariantScores,
  type ScoredList,
  type ScoreProbe,
  type VariantMetrics,
} from './scoring.ts';
import type { ReplayEvent, ReplaySource } from './source.ts';
import {
  batchList,
  replayFoldIn,
  onlineList,
  recentPopularity,
  topPopular,
  trainBatchModel,
  variantNames,
  type BatchModel,
  type Folded,
  type TrainedModel,
} from './variants.ts';

export { memorySource, type ReadCost, type ReplayEvent, type ReplaySource } from './source.ts';
export {
  USER_KINDS,
  type MetricCell,
  type ScoreProbe,
  type UserKind,
  type VariantMetrics,
} from './scoring.ts';
export { recentPopularity, variantNames } from './variants.ts';

const DAY = 86_400_000;

export interface ReplayOptions {
  params: AlsParams;
  rules: RatingRules;
  /** step length, default one day */
  stepMs?: number;
  /** steps of history revealed before the first scored step, default 14 */
  warmupSteps?: number;
  /** batch retrain periods in steps, default [1, 7]; the online variant rides on each period > 1 */
  retrainEvery?: number[];
  /** popularity window (the floor and the batch model's cold-start list), default 7 days */
  popularityDays?: number;
  newUserDays?: number;
  driftDays?: number;
  /** list length, default 10 */
  k?: number;
  /** items kept as seen on the user document ([serving] seen_events_limit) */
  seenLimit?: number;
  /** how far the online consumer is behind the stream: events of the last lag ms before a cut are not yet folded in (default 0) */
  onlineLagMs?: number;
  /** ground truth when known (the generator's): when each drifting user's taste changed */
  driftAt?: ReadonlyMap<string, number>;
  onStep?: (s: StepResult) => void;
  probe?: (p: ScoreProbe) => void;
}

export interface StepResult {
  step: number;
  cutoff: string;
  /** scored interactions (new user–item pairs of the step) and the users they belong to */
  interactions: number;
  users: number;
  retrained: number[];
  variants: Record<string, VariantMetrics>;
}

export interface VariantCost {
  retrains: number;
  /** training reads of the event store (measured by the source) */
  readRoundTrips: number;
  readDocs: number;
  /** of trainSeconds, the read */
  readSeconds: number;
  trainSeconds: number;
  foldIns: number;
  /** what src/online/user-refresh.ts issues per fold-in: one search of the user's latest events, one mget of item factors, one index */
  foldInRoundTrips: number;
  foldInDocsRead: number;
  foldInSeconds: number;
}

export interface ReplayResult {
  variants: string[];
  steps: StepResult[];
  overall: Record<string, VariantMetrics>;
  cost: Record<string, VariantCost>;
  settings: {
    stepMs: number;
    onlineLagMs: number;
    warmupSteps: number;
    retrainEvery: number[];
    popularityDays: number;
    k: number;
    factors: number;
    first: string;
    last: string;
    events: number;
  };
}

/** The options with their defaults, checked. */
export interface ReplaySettings {
  stepMs: number;
  warmupSteps: number;
  /** retrain periods, ascending, each once */
  periods: number[];
  popularityDays: number;
  k: number;
  seenLimit: number;
  newUserMs: number;
  driftMs: number;
  lagMs: number;
  variants: string[];
}

export function replaySettings(opts: ReplayOptions): ReplaySettings {
  const periods = [...new Set(opts.retrainEvery ?? [1, 7])].sort((a, b) => a - b);
  if (!periods.length || periods.some((n) => !Number.isInteger(n) || n < 1))
    throw new RangeError(`retrain periods must be integers ≥ 1, got ${periods.join(',')}`);
  const lagMs = opts.onlineLagMs ?? 0;
  if (!(lagMs >= 0)) throw new RangeError(`onlineLagMs must be ≥ 0, got ${lagMs}`);
  const popularityDays = opts.popularityDays ?? 7;
  return {
    stepMs: opts.stepMs ?? DAY,
    warmupSteps: opts.warmupSteps ?? 14,
    periods,
    popularityDays,
    k: opts.k ?? 10,
    seenLimit: opts.seenLimit ?? 500,
    newUserMs: (opts.newUserDays ?? 7) * DAY,
    driftMs: (opts.driftDays ?? 14) * DAY,
    lagMs,
    variants: variantNames(periods, popularityDays),
  };
}

export interface ReplayTimeline {
  /** every event with its time, in time order */
  sorted: TimedEvent[];
  first: number;
  last: number;
  /** the first scored step's cut: the UTC day of the first event plus the warm-up */
  firstCut: number;
  /** whole steps with events after them */
  steps: number;
}

export function replayTimeline(
  events: readonly ReplayEvent[],
  stepMs: number,
  warmupSteps: number,
): ReplayTimeline {
  const sorted = events.map((e) => ({ e, ts: Date.parse(e.timestamp) })).sort((a, b) => a.ts - b.ts);
  const first = sorted[0]?.ts;
  const last = sorted[sorted.length - 1]?.ts;
  if (first === undefined || last === undefined) throw new RangeError('no events to replay');
  const firstCut = Math.floor(first / DAY) * DAY + warmupSteps * stepMs;
  const steps = Math.floor((last + 1 - firstCut) / stepMs);
  if (steps < 1)
    throw new RangeError(
      `the history (${new Date(first).toISOString()} – ${new Date(last).toISOString()}) is shorter than the warm-up of ${warmupSteps} steps plus one`,
    );
  return { sorted, first, last, firstCut, steps };
}

/** Each retrain period's current model and the online consumer's fold-ins into it since its retrain. */
class BatchVariants {
  private readonly byPeriod = new Map<number, { model: BatchModel; folded: Map<string, Folded> }>();

  retrain(period: number, model: BatchModel): void {
    this.byPeriod.set(period, { model, folded: new Map() });
  }

  /** Every period retrains at step 0, so every later step finds a model here. */
  of(period: number): { model: BatchModel; folded: Map<string, Folded> } {
    const v = this.byPeriod.get(period);
    if (!v) throw new Error(`replay: no model of period ${period} yet`);
    return v;
  }
}

function emptyCost(): VariantCost {
  return {
    retrains: 0,
    readRoundTrips: 0,
    readDocs: 0,
    readSeconds: 0,
    trainSeconds: 0,
    foldIns: 0,
    foldInRoundTrips: 0,
    foldInDocsRead: 0,
    foldInSeconds: 0,
  };
}

/** Cost per variant. */
class VariantCosts {
  readonly byVariant: Record<string, VariantCost>;

  constructor(variants: readonly string[]) {
    this.byVariant = Object.fromEntries(variants.map((v) => [v, emptyCost()]));
  }

  of(variant: string): VariantCost {
    const c = this.byVariant[variant];
    if (!c) throw new Error(`replay: no variant ${variant}`);
    return c;
  }
}

/** Step `step`'s retrains at `cut`: one fit shared by every period due, charged to each of its variants. */
async function retrainDue(
  step: number,
  cut: number,
  set: ReplaySettings,
  source: ReplaySource,
  params: AlsParams,
  batches: BatchVariants,
  costs: VariantCosts,
): Promise<number[]> {
  const due = set.periods.filter((n) => step % n === 0);
  if (!due.length) return due;
  const t: TrainedModel = await trainBatchModel(source, params, set.popularityDays, cut);
  for (const n of due) {
    batches.retrain(n, t.model);
    for (const name of [`batch-${n}`, ...(n > 1 ? [`batch-${n}+online`] : [])]) {
      const c = costs.of(name);
      c.retrains++;
      c.readRoundTrips += t.read.esRoundTrips;
      c.readDocs += t.read.esDocsRead;
      c.readSeconds += t.readSeconds;
      c.trainSeconds += t.seconds;
    }
  }
  return due;
}

/**
 * The online consumer's fold-ins up to the cut: every user with events in the step it has reached
 * (cut − lag), folded into each model not retrained at this cut. The last fold-in of a user in a
 * step is what a request at the cut sees, so one per user and step is the same.
 */
function foldInStep(
  cut: number,
  retrained: readonly number[],
  set: ReplaySettings,
  rules: RatingRules,
  revealed: RevealedHistory,
  batches: BatchVariants,
  costs: VariantCosts,
): void {
  const reached = cut - set.lagMs;
  const active = revealed.activeBetween(reached - set.stepMs, reached);
  for (const n of set.periods) {
    if (n === 1 || retrained.includes(n)) continue;
    const { model, folded } = batches.of(n);
    const c = costs.of(`batch-${n}+online`);
    const t0 = performance.now();
    for (const [userId, events] of active) {
      const r = replayFoldIn(
        model.als,
        events.slice(0, countBefore(events, reached)),
        rules,
        cut,
        set.seenLimit,
      );
      c.foldIns++;
      c.foldInRoundTrips += 3;
      c.foldInDocsRead += r.docsRead;
      if (r.folded) folded.set(userId, r.folded);
    }
    c.foldInSeconds += (performance.now() - t0) / 1000;
  }
}

/** Every variant's list for one user at the cut, batch and batch + online per period, then popularity. */
function variantLists(
  userId: string,
  cut: number,
  set: ReplaySettings,
  revealed: RevealedHistory,
  batches: BatchVariants,
  popular: ReturnType<typeof recentPopularity>,
): ScoredList[] {
  const lists: ScoredList[] = [];
  for (const n of set.periods) {
    const { model, folded } = batches.of(n);
    const seen = model.seen.get(userId);
    lists.push({ variant: `batch-${n}`, ...batchList(model, userId, set.k, seen) });
    if (n === 1) continue;
    // the user document's recent items are as fresh as the consumer
    const events = revealed.events(userId);
    const fresh =
      set.lagMs === 0
        ? revealed.items(userId)
        : new Set([
            ...(seen ?? []),
            ...events.slice(0, countBefore(events, cut - set.lagMs)).map((b) => b.e.item_id),
          ]);
    lists.push({
      variant: `batch-${n}+online`,
      ...onlineList(model, folded.get(userId), userId, set.k, fresh),
    });
  }
  lists.push({
    variant: `popularity-${set.popularityDays}d`,
    items: topPopular(popular, set.k, revealed.items(userId)),
    knownMaxTs: popular.maxTs,
  });
  return lists;
}

/** Scores the step after `cut` before it is revealed: each user's new items of the step. */
function scoreStep(
  step: number,
  cut: number,
  retrained: number[],
  set: ReplaySettings,
  opts: ReplayOptions,
  revealed: RevealedHistory,
  batches: BatchVariants,
  overall: VariantScores,
): StepResult {
  const popular = recentPopularity(revealed.weighted, cut, set.popularityDays);
  const targets = stepTargets(revealed.upcoming(cut + set.stepMs), (u) => revealed.items(u));
  const scores = new VariantScores(set.variants);
  let interactions = 0;
  for (const [userId, t] of targets) {
    interactions += t.size;
    const kind = userKind(
      cut,
      revealed.firstSeen(userId),
      opts.driftAt?.get(userId),
      set.newUserMs,
      set.driftMs,
    );
    const lists = variantLists(userId, cut, set, revealed, batches, popular);
    scoreUser({ userId, kind, cutoff: cut, targets: t, lists }, set.k, [scores, overall], opts.probe);
  }
  return {
    step,
    cutoff: new Date(cut).toISOString(),
    interactions,
    users: targets.size,
    retrained,
    variants: scores.means(),
  };
}

/**
 * Runs the replay over `events` (any order; sorted here by time). Steps start at the UTC day of the
 * first event plus the warm-up; the last step is the last whole step with events after it.
 */
export async function runReplay(
  events: readonly ReplayEvent[],
  source: ReplaySource,
  opts: ReplayOptions,
): Promise<ReplayResult> {
  const set = replaySettings(opts);
  const time = replayTimeline(events, set.stepMs, set.warmupSteps);
  const revealed = new RevealedHistory(time.sorted, opts.rules.weights);
  const batches = new BatchVariants();
  const costs = new VariantCosts(set.variants);
  const overall = new VariantScores(set.variants);
  const steps: StepResult[] = [];

  await revealed.revealUntil(time.firstCut, source);
  for (let s = 0; s < time.steps; s++) {
    const cut = time.firstCut + s * set.stepMs;
    // 1. the models as they stand at the cut
    const retrained = await retrainDue(s, cut, set, source, opts.params, batches, costs);
    foldInStep(cut, retrained, set, opts.rules, revealed, batches, costs);
    // 2. score the next step before revealing it
    const step = scoreStep(s, cut, retrained, set, opts, revealed, batches, overall);
    steps.push(step);
    opts.onStep?.(step);
    // 3. reveal it
    await revealed.revealUntil(cut + set.stepMs, source);
  }
  return {
    variants: set.variants,
    steps,
    overall: overall.means(),
    cost: costs.byVariant,
    settings: {
      stepMs: set.stepMs,
      onlineLagMs: set.lagMs,
      warmupSteps: set.warmupSteps,
      retrainEvery: set.periods,
      popularityDays: set.popularityDays,
      k: set.k,
      factors: opts.params.factors,
      first: new Date(time.first).toISOString(),
      last: new Date(time.last).toISOString(),
      events: time.sorted.length,
    },
  };
}
