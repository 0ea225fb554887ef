// The variants a replay compares, and the list each serves a user at a cut: batch ALS models
// retrained every N steps, the same models plus the online consumer's fold-ins, recent popularity.

import { AlsModel, buildCsr } from '../als/index.ts';
import { rateUserHistory, type RatingRules } from '../events/rating.ts';
import { FOLD_IN_HISTORY } from '../online/user-refresh.ts';
import { canonicalOrder } from '../train/ratings.ts';
import type { AlsParams } from '../types/index.ts';
import type { TimedEvent } from './revealed.ts';
import type { ReadCost, ReplaySource } from './source.ts';

const DAY = 86_400_000;

export function variantNames(retrainEvery: readonly number[], popularityDays: number): string[] {
  return [
    ...retrainEvery.map((n) => `batch-${n}`),
    ...retrainEvery.filter((n) => n > 1).map((n) => `batch-${n}+online`),
    `popularity-${popularityDays}d`,
  ];
}

export interface Popular {
  ranked: string[];
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
  const ranked = [...sum]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, limit)
    .map(([itemId]) => itemId);
  return { ranked, maxTs };
}

export function topPopular(p: Popular, k: number, seen: ReadonlySet<string> | undefined): string[] {
  const out: string[] = [];
  for (const id of p.ranked) {
    if (out.length >= k) break;
    if (!seen?.has(id)) out.push(id);
  }
  return out;
}

export interface BatchModel {
  cutoff: number;
  /** newest training row: nothing at or before it may be scored against this model */
  dataMaxTs: number;
  als: AlsModel;
  /** items of each user in the training rows: what exclude_seen knows without the stream */
  seen: Map<string, Set<string>>;
  popular: Popular;
}

export interface TrainedModel {
  model: BatchModel;
  read: ReadCost;
  readSeconds: number;
  /** the read and the fit */
  seconds: number;
}

/** A batch retrain at `cut`: the trainer's read of the source, then ALS on it. */
export async function trainBatchModel(
  source: Pick<ReplaySource, 'readRatings'>,
  params: AlsParams,
  popularityDays: number,
  cut: number,
): Promise<TrainedModel> {
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
    popularityDays,
  );
  const model: BatchModel = { cutoff: cut, dataMaxTs, als, seen, popular };
  return { model, read, readSeconds, seconds: (performance.now() - t0) / 1000 };
}

export interface Folded {
  x: Float32Array;
  /** the newest event folded in */
  maxTs: number;
}

/**
 * One user's fold-in as the online consumer does it (src/online/user-refresh.ts): the latest
 * FOLD_IN_HISTORY of the events it has reached, rated at `cut`, the user recalculated against the
 * model. `docsRead` is what the consumer reads for it: the events, then one item per rated item.
 */
export function replayFoldIn(
  model: AlsModel,
  reached: readonly TimedEvent[],
  rules: RatingRules,
  cut: number,
  seenLimit: number,
): { folded: Folded | undefined; docsRead: number } {
  const latest = reached.slice(-FOLD_IN_HISTORY);
  const { ratings } = rateUserHistory(
    latest.map((b) => b.e),
    rules,
    cut,
    seenLimit,
  );
  const x = model.recalculateUser(model.ratedByIds(ratings));
  const newest = latest.at(-1);
  const docsRead = latest.length + ratings.size;
  return { folded: x && newest ? { x, maxTs: newest.ts } : undefined, docsRead };
}

/** A list a variant serves a user, and the newest event behind it (anything at or before it is known). */
export interface ServedList {
  items: string[];
  knownMaxTs: number;
}

function topAls(
  als: AlsModel,
  user: number | Float32Array,
  k: number,
  seen: ReadonlySet<string> | undefined,
): string[] {
  const ids = als.itemIds;
  return als.recommend(user, k, seen ? (i) => seen.has(ids[i]!) : undefined).map((t) => ids[t.index]!);
}

/** The batch model's list: the user's factor, or its popularity list for a user it never saw. */
export function batchList(
  m: BatchModel,
  userId: string,
  k: number,
  exclude: ReadonlySet<string> | undefined,
): ServedList {
  const u = m.als.userIndex(userId);
  return u === undefined
    ? { items: topPopular(m.popular, k, exclude), knownMaxTs: Math.max(m.dataMaxTs, m.popular.maxTs) }
    : { items: topAls(m.als, u, k, exclude), knownMaxTs: m.dataMaxTs };
}

/** The batch model with the online consumer: the folded-in factor when there is one, else the batch list. */
export function onlineList(
  m: BatchModel,
  folded: Folded | undefined,
  userId: string,
  k: number,
  exclude: ReadonlySet<string> | undefined,
): ServedList {
  if (!folded) return batchList(m, userId, k, exclude);
  return { items: topAls(m.als, folded.x, k, exclude), knownMaxTs: Math.max(m.dataMaxTs, folded.maxTs) };
}
