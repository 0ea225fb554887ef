// Prequential ("test-then-train") replay of a time-ordered history: at each step the next step's
// interactions are scored BEFORE they are revealed, for batch-only models retrained every N steps,
// the same models plus the online fold-in of each user's new events, and recent popularity.
//
// The loop owns only the order of things; the pieces are the pipeline's own: the trainer's read
// (a ReplaySource: the real one reads the event store the events reached through Kafka), ALS
// (AlsModel.fit), the fold-in (training's rating of the user's events, then
// AlsModel.recalculateUser) and the ranking metrics of src/train/evaluate. Every list scored is checked against what
// its variant knew: an interaction at or before the newest event behind it is a leak and stops the
// run, so a source that reads ahead cannot produce figures.

import { AlsModel, buildCsr } from '../als/index.ts';
import { eventWeight, rateUserHistory, type RatingRules } from '../events/rating.ts';
import type { EventRow, EventsRepository, RecentEvent } from '../repositories/events.ts';
import { canonicalOrder, readRatingsByScan } from '../train/ratings.ts';
import { FOLD_IN_HISTORY } from '../online/user-refresh.ts';
import { rankingMetricsAtK, type Interaction } from '../train/evaluate/index.ts';
import type { AlsParams } from '../types/index.ts';

const DAY = 86_400_000;

/** An event of a replayed history: what the event store keeps and the fold-in reads back. */
export type ReplayEvent = RecentEvent;

export const USER_KINDS = ['first_visit', 'new', 'drifted', 'returning'] as const;
/** first_visit: nothing before the cut; new: first event less than newUserDays before it; drifted: taste changed less than driftDays before it */
export type UserKind = (typeof USER_KINDS)[number];

export interface ReadCost {
  esRoundTrips: number;
  esDocsRead: number;
}

/** Where the replay's events go and where training reads them back from. */
export interface ReplaySource {
  /** makes one step's events visible to the trainer (the real source: Kafka → ingest → event store) */
  reveal(events: readonly ReplayEvent[]): Promise<void>;
  /** the ratings training reads at `cutoff` (every revealed event, rated and summed per pair) */
  readRatings(cutoff: number): Promise<{ rows: Interaction[]; cost: ReadCost }>;
}

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
  /** items kept as seen on the user document (SEEN_EVENTS_LIMIT) */
  seenLimit?: number;
  /** how far the online consumer is behind the stream: events of the last lag ms before a cut are not yet folded in (default 0) */
  onlineLagMs?: number;
  /** ground truth when known (the generator's): when each drifting user's taste changed */
  driftAt?: ReadonlyMap<string, number>;
  onStep?: (s: StepResult) => void;
  probe?: (p: ScoreProbe) => void;
}

export interface MetricCell {
  users: number;
  ndcg: number;
  recall: number;
}
export type VariantMetrics = MetricCell & { byKind: Record<UserKind, MetricCell> };

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

interface Popular {
  ranked: string[];
  maxTs: number;
}

interface BatchModel {
  cutoff: number;
  /** newest training row: nothing at or before it may be scored against this model */
  dataMaxTs: number;
  als: AlsModel;
  /** items of each user in the training rows: what exclude_seen knows without the stream */
  seen: Map<string, Set<string>>;
  popular: Popular;
}

interface Folded {
  x: Float32Array;
  maxTs: number;
}

/** Items by summed rating of what happened in [cut − days, cut), best first (ties: id). */
export function recentPopularity(
  entries: Iterable<{ itemId: string; weight: number; ts: number }>,
  cut: number,
  days: number,
  limit = 1000,
): Popular {
  const from = cut - days * DAY;
  const sum = new Map<string, number>();
  let maxTs = -Infinity;
  for (const e of entries) {
    if (e.ts < from || e.ts >= cut || !(e.weight > 0)) continue;
    sum.set(e.itemId, (sum.get(e.itemId) ?? 0) + e.weight);
    if (e.ts > maxTs) maxTs = e.ts;
  }
  const ranked = [...sum.keys()]
    .sort((a, b) => sum.get(b)! - sum.get(a)! || (a < b ? -1 : 1))
    .slice(0, limit);
  return { ranked, maxTs };
}

function topPopular(p: Popular, k: number, seen: ReadonlySet<string> | undefined): string[] {
  const out: string[] = [];
  for (const id of p.ranked) {
    if (out.length >= k) break;
    if (!seen?.has(id)) out.push(id);
  }
  return out;
}

function topAls(
  m: BatchModel,
  user: number | Float32Array,
  k: number,
  seen: ReadonlySet<string> | undefined,
): string[] {
  const ids = m.als.itemIds;
  return m.als.recommend(user, k, seen ? (i) => seen.has(ids[i]!) : undefined).map((t) => ids[t.index]!);
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
function add(m: VariantMetrics, kind: UserKind, ndcg: number, recall: number): void {
  for (const c of [m, m.byKind[kind]]) {
    c.users++;
    c.ndcg += ndcg;
    c.recall += recall;
  }
}
function finish(m: VariantMetrics): VariantMetrics {
  const mean = (c: MetricCell): MetricCell => ({
    users: c.users,
    ndcg: c.users ? c.ndcg / c.users : 0,
    recall: c.users ? c.recall / c.users : 0,
  });
  return {
    ...mean(m),
    byKind: Object.fromEntries(USER_KINDS.map((k) => [k, mean(m.byKind[k])])) as Record<UserKind, MetricCell>,
  };
}

export function variantNames(retrainEvery: readonly number[], popularityDays: number): string[] {
  return [
    ...retrainEvery.map((n) => `batch-${n}`),
    ...retrainEvery.filter((n) => n > 1).map((n) => `batch-${n}+online`),
    `popularity-${popularityDays}d`,
  ];
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
  const stepMs = opts.stepMs ?? DAY;
  const warmup = opts.warmupSteps ?? 14;
  const periods = [...new Set(opts.retrainEvery ?? [1, 7])].sort((a, b) => a - b);
  if (!periods.length || periods.some((n) => !Number.isInteger(n) || n < 1))
    throw new RangeError(`retrain periods must be integers ≥ 1, got ${periods.join(',')}`);
  const popDays = opts.popularityDays ?? 7;
  const k = opts.k ?? 10;
  const seenLimit = opts.seenLimit ?? 500;
  const newUserMs = (opts.newUserDays ?? 7) * DAY;
  const driftMs = (opts.driftDays ?? 14) * DAY;
  const lagMs = opts.onlineLagMs ?? 0;
  if (!(lagMs >= 0)) throw new RangeError(`onlineLagMs must be ≥ 0, got ${lagMs}`);
  const { rules, params } = opts;
  const names = variantNames(periods, popDays);
  const popName = `popularity-${popDays}d`;

  const sorted = events.map((e) => ({ e, ts: Date.parse(e.timestamp) })).sort((a, b) => a.ts - b.ts);
  if (!sorted.length) throw new RangeError('no events to replay');
  const first = sorted[0]!.ts;
  const last = sorted[sorted.length - 1]!.ts;
  const cut0 = Math.floor(first / DAY) * DAY + warmup * stepMs;
  const nSteps = Math.floor((last + 1 - cut0) / stepMs);
  if (nSteps < 1)
    throw new RangeError(
      `the history (${new Date(first).toISOString()} – ${new Date(last).toISOString()}) is shorter than the warm-up of ${warmup} steps plus one`,
    );

  // what has been revealed, per user, in time order
  const history = new Map<string, Array<{ e: ReplayEvent; ts: number }>>();
  const seenAll = new Map<string, Set<string>>();
  const firstTs = new Map<string, number>();
  const revealed: Array<{ itemId: string; weight: number; ts: number }> = [];
  let pos = 0;
  const revealUntil = async (until: number): Promise<Array<{ e: ReplayEvent; ts: number }>> => {
    const batch: Array<{ e: ReplayEvent; ts: number }> = [];
    while (pos < sorted.length && sorted[pos]!.ts < until) batch.push(sorted[pos++]!);
    await source.reveal(batch.map((b) => b.e));
    for (const b of batch) {
      const u = b.e.user_id;
      const h = history.get(u) ?? [];
      h.push(b);
      history.set(u, h);
      const s = seenAll.get(u) ?? new Set<string>();
      s.add(b.e.item_id);
      seenAll.set(u, s);
      if (!firstTs.has(u)) firstTs.set(u, b.ts);
      // the event's own weight: popularity counts what happened in its window, undecayed
      revealed.push({ itemId: b.e.item_id, weight: eventWeight(b.e, rules.weights), ts: b.ts });
    }
    return batch;
  };

  const cost: Record<string, VariantCost> = Object.fromEntries(
    names.map((n) => [
      n,
      {
        retrains: 0,
        readRoundTrips: 0,
        readDocs: 0,
        readSeconds: 0,
        trainSeconds: 0,
        foldIns: 0,
        foldInRoundTrips: 0,
        foldInDocsRead: 0,
        foldInSeconds: 0,
      },
    ]),
  );
  const overall: Record<string, VariantMetrics> = Object.fromEntries(names.map((n) => [n, emptyMetrics()]));
  const steps: StepResult[] = [];
  const models = new Map<number, BatchModel>();
  const folded = new Map<number, Map<string, Folded>>();

  const train = async (
    cut: number,
  ): Promise<{ model: BatchModel; read: ReadCost; readSeconds: number; seconds: number }> => {
    const t0 = performance.now();
    const { rows, cost: read } = await source.readRatings(cut);
    const readSeconds = (performance.now() - t0) / 1000;
    // the same order as a training run's: the same figures from the event store and the in-memory source
    canonicalOrder(rows);
    const als = await AlsModel.fit(buildCsr(rows), params);
    const seen = new Map<string, Set<string>>();
    let dataMaxTs = -Infinity;
    for (const r of rows) {
      const ts = Number(typeof r.lastTs === 'number' ? r.lastTs : new Date(r.lastTs).getTime());
      if (ts > dataMaxTs) dataMaxTs = ts;
      const s = seen.get(r.userId) ?? new Set<string>();
      s.add(r.itemId);
      seen.set(r.userId, s);
    }
    const popular = recentPopularity(
      rows.map((r) => ({ itemId: r.itemId, weight: r.weight, ts: Number(new Date(r.lastTs).getTime()) })),
      cut,
      popDays,
    );
    const model: BatchModel = { cutoff: cut, dataMaxTs, als, seen, popular };
    return { model, read, readSeconds, seconds: (performance.now() - t0) / 1000 };
  };

  await revealUntil(cut0);
  for (let s = 0; s < nSteps; s++) {
    const cut = cut0 + s * stepMs;
    // 1. the models as they stand at the cut
    const retrained = periods.filter((n) => s % n === 0);
    if (retrained.length) {
      const t = await train(cut);
      for (const n of retrained) {
        models.set(n, t.model);
        folded.set(n, new Map());
        for (const name of [`batch-${n}`, ...(n > 1 ? [`batch-${n}+online`] : [])]) {
          const c = cost[name]!;
          c.retrains++;
          c.readRoundTrips += t.read.esRoundTrips;
          c.readDocs += t.read.esDocsRead;
          c.readSeconds += t.readSeconds;
          c.trainSeconds += t.seconds;
        }
      }
    }
    // the online consumer folds in every user with events since the last step; their last fold-in
    // of the step is what a request at the cut sees, so one fold-in per user and step is the same.
    // A lagging consumer has reached only cut − lag.
    const reached = cut - lagMs;
    const active = [...history.entries()]
      .filter(([, h]) => h.some((b) => b.ts >= reached - stepMs && b.ts < reached))
      .map(([u]) => u);
    const upTo = (h: Array<{ ts: number }>): number => {
      let n = h.length;
      while (n > 0 && h[n - 1]!.ts >= reached) n--;
      return n;
    };
    for (const n of periods) {
      if (n === 1 || retrained.includes(n)) continue;
      const m = models.get(n)!;
      const f = folded.get(n)!;
      const c = cost[`batch-${n}+online`]!;
      const t0 = performance.now();
      for (const u of active) {
        const h = history.get(u)!;
        const n = upTo(h);
        const latest = h.slice(Math.max(0, n - FOLD_IN_HISTORY), n);
        const { ratings } = rateUserHistory(
          latest.map((b) => b.e),
          rules,
          cut,
          seenLimit,
        );
        const x = m.als.recalculateUser(m.als.ratedByIds(ratings));
        c.foldIns++;
        c.foldInRoundTrips += 3;
        c.foldInDocsRead += latest.length + ratings.size;
        if (x) f.set(u, { x, maxTs: latest[latest.length - 1]!.ts });
      }
      c.foldInSeconds += (performance.now() - t0) / 1000;
    }
    const popular = recentPopularity(revealed, cut, popDays);

    // 2. score the next step before revealing it: each user's new items of the step
    const next: Array<{ e: ReplayEvent; ts: number }> = [];
    for (let p = pos; p < sorted.length && sorted[p]!.ts < cut + stepMs; p++) next.push(sorted[p]!);
    const targets = new Map<string, Map<string, number>>();
    for (const { e, ts } of next) {
      if (seenAll.get(e.user_id)?.has(e.item_id)) continue;
      const t = targets.get(e.user_id) ?? new Map<string, number>();
      if (!t.has(e.item_id)) t.set(e.item_id, ts);
      targets.set(e.user_id, t);
    }
    const stepMetrics: Record<string, VariantMetrics> = Object.fromEntries(
      names.map((n) => [n, emptyMetrics()]),
    );
    let interactions = 0;
    for (const [u, t] of targets) {
      interactions += t.size;
      const relevantIds = [...t.keys()];
      const scoredTs = [...t.values()];
      const fts = firstTs.get(u);
      const drift = opts.driftAt?.get(u);
      const kind: UserKind =
        fts === undefined
          ? 'first_visit'
          : cut - fts < newUserMs
            ? 'new'
            : drift !== undefined && drift < cut && cut - drift <= driftMs
              ? 'drifted'
              : 'returning';
      const lists: Array<[string, string[], number]> = [];
      for (const n of periods) {
        const m = models.get(n)!;
        const ui = m.als.userIndex(u);
        const seen = m.seen.get(u);
        lists.push([
          `batch-${n}`,
          ui === undefined ? topPopular(m.popular, k, seen) : topAls(m, ui, k, seen),
          ui === undefined ? Math.max(m.dataMaxTs, m.popular.maxTs) : m.dataMaxTs,
        ]);
        if (n === 1) continue;
        const f = folded.get(n)!.get(u);
        // the user document's recent items are as fresh as the consumer
        const fresh =
          lagMs === 0
            ? seenAll.get(u)
            : new Set([
                ...(seen ?? []),
                ...(history.get(u) ?? []).slice(0, upTo(history.get(u) ?? [])).map((b) => b.e.item_id),
              ]);
        if (f) lists.push([`batch-${n}+online`, topAls(m, f.x, k, fresh), Math.max(m.dataMaxTs, f.maxTs)]);
        else if (ui !== undefined) lists.push([`batch-${n}+online`, topAls(m, ui, k, fresh), m.dataMaxTs]);
        else
          lists.push([
            `batch-${n}+online`,
            topPopular(m.popular, k, fresh),
            Math.max(m.dataMaxTs, m.popular.maxTs),
          ]);
      }
      lists.push([popName, topPopular(popular, k, seenAll.get(u)), popular.maxTs]);
      // one id space per user: the relevant items first, then whatever the lists bring
      const ids = new Map<string, number>(relevantIds.map((id, i) => [id, i]));
      const relevant = new Set(relevantIds.map((_, i) => i));
      for (const [variant, list, knownMaxTs] of lists) {
        const minTs = Math.min(...scoredTs);
        if (minTs <= knownMaxTs)
          throw new Error(
            `prequential leak: ${variant} scores ${u} on an interaction at ${new Date(minTs).toISOString()}, not after the newest event it knew (${new Date(knownMaxTs).toISOString()})`,
          );
        opts.probe?.({ variant, userId: u, kind, scoredTs, knownMaxTs, cutoff: cut });
        const ranked = list.map((id) => {
          let i = ids.get(id);
          if (i === undefined) ids.set(id, (i = ids.size));
          return i;
        });
        const r = rankingMetricsAtK(ranked, relevant, k);
        add(stepMetrics[variant]!, kind, r.ndcg, r.recall);
        add(overall[variant]!, kind, r.ndcg, r.recall);
      }
    }
    const step: StepResult = {
      step: s,
      cutoff: new Date(cut).toISOString(),
      interactions,
      users: targets.size,
      retrained,
      variants: Object.fromEntries(names.map((n) => [n, finish(stepMetrics[n]!)])),
    };
    steps.push(step);
    opts.onStep?.(step);

    // 3. reveal it
    await revealUntil(cut + stepMs);
  }
  return {
    variants: names,
    steps,
    overall: Object.fromEntries(names.map((n) => [n, finish(overall[n]!)])),
    cost,
    settings: {
      stepMs,
      onlineLagMs: lagMs,
      warmupSteps: warmup,
      retrainEvery: periods,
      popularityDays: popDays,
      k,
      factors: params.factors,
      first: new Date(first).toISOString(),
      last: new Date(last).toISOString(),
      events: sorted.length,
    },
  };
}

/**
 * The in-memory source: the trainer's own reader (readRatingsByScan) over what has been revealed,
 * as the event store would page it, without Elasticsearch (unit tests, dry runs).
 */
export function memorySource(rules: RatingRules): ReplaySource & { revealed: ReplayEvent[] } {
  const revealed: ReplayEvent[] = [];
  const store = {
    async *scan(): AsyncGenerator<EventRow[]> {
      yield revealed.map((e) => ({
        userId: e.user_id,
        itemId: e.item_id,
        eventType: e.event_type,
        ...(e.weight !== undefined ? { weight: e.weight } : {}),
        ts: Date.parse(e.timestamp),
      }));
    },
  };
  return {
    revealed,
    async reveal(events) {
      revealed.push(...events);
    },
    async readRatings(cutoff) {
      const rows = await readRatingsByScan(store as unknown as EventsRepository, { rules, now: cutoff });
      return { rows, cost: { esRoundTrips: 0, esDocsRead: 0 } };
    },
  };
}
