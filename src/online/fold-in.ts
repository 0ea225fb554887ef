import { foldInUser, weightRow } from '../als/index.ts';
import { rateEvent, windowStart, type RatingRules } from '../events/rating.ts';
import type { FoldInModel, LiveModel } from '../model/live-model.ts';
import type { Repositories } from '../repositories/index.ts';
import type { RecentEvent } from '../repositories/events.ts';

/** A user's latest events a fold-in rates (training reads them all; beyond this, old taste barely moves the solve). */
export const FOLD_IN_HISTORY = 500;

export interface FoldInDeps {
  repos: Pick<Repositories, 'events' | 'items' | 'users'>;
  rules: RatingRules;
  /** latest events of a user read back for the fold-in */
  history: number;
  /** distinct recent items kept on the user document as seen (SEEN_EVENTS_LIMIT) */
  seen: number;
}

/**
 * Recomputes one user's factor by the ALS user step against one model's item factors and YᵀY, and
 * writes it to that model's users index. The user's history is rated exactly as training rates it
 * (weight, window, decay), so an online vector is the vector a batch run would give the user
 * against the same item factors. Works for users the model never saw (cold start).
 * The user document also carries the user's recent items, which the API excludes as seen: it is
 * written even when no factor can be computed (a factor from training then stays), so a purchase
 * is excluded within a second for users with and without a factor, with no event-store search on
 * the request path. Returns false when none of the user's items has a factor in this model.
 */
export async function foldInAndStore(
  deps: FoldInDeps,
  model: LiveModel,
  fm: FoldInModel,
  userId: string,
  fresh: RecentEvent[],
  now = Date.now(),
): Promise<boolean> {
  if (fm.modelId !== model.modelId)
    throw new Error(`fold-in: YᵀY of ${fm.modelId} with the indices of ${model.modelId}`);
  const { repos, rules } = deps;
  // the store's latest events plus those just consumed (not yet searchable), deduplicated by id
  const byId = new Map<string, RecentEvent>();
  for (const e of await repos.events.latestOfUser(userId, deps.history, windowStart(rules, now)))
    byId.set(e.event_id, e);
  for (const e of fresh) byId.set(e.event_id, e);
  const { ratings, recent } = rateHistory(byId.values(), rules, now, deps.seen);
  if (!ratings.size) {
    await repos.users.putRecent(model.usersIndex, userId, model.modelId, recent);
    return false;
  }
  const found = await repos.items.factors(model.itemsIndex, [...ratings.keys()]);
  const x = foldInRatings(ratings, (itemId) => found.get(itemId), fm);
  if (!x) {
    await repos.users.putRecent(model.usersIndex, userId, model.modelId, recent);
    return false;
  }
  await repos.users.put(model.usersIndex, {
    user_id: userId,
    model_id: model.modelId,
    factor: Array.from(x),
    recent_items: recent,
    source: 'online',
    updated_at: new Date().toISOString(),
  });
  return true;
}

/**
 * A user's history as the fold-in sees it: each item's rating (training's rating of every event,
 * summed) and the `seen` most recently touched items, newest first. Pure, so an offline replay
 * (src/freshness) folds in exactly what this consumer does.
 */
export function rateHistory(
  events: Iterable<Pick<RecentEvent, 'item_id' | 'event_type' | 'weight' | 'timestamp'>>,
  rules: RatingRules,
  now: number,
  seen: number,
): { ratings: Map<string, number>; recent: string[] } {
  const ratings = new Map<string, number>();
  const lastSeen = new Map<string, string>();
  for (const e of events) {
    const r = rateEvent(e, Date.parse(e.timestamp), rules, now);
    if (r > 0) ratings.set(e.item_id, (ratings.get(e.item_id) ?? 0) + r);
    if ((lastSeen.get(e.item_id) ?? '') < e.timestamp) lastSeen.set(e.item_id, e.timestamp);
  }
  const recent = [...lastSeen.keys()]
    .sort((a, b) => lastSeen.get(b)!.localeCompare(lastSeen.get(a)!))
    .slice(0, seen);
  return { ratings, recent };
}

/** An item as the fold-in needs it: its factor and, for bm25, the model's length norm of it. */
export interface FoldInItem {
  factor: ArrayLike<number>;
  weightNorm?: number;
}

/**
 * The ALS user step over the rated items that have a factor of the model's width, with the model's
 * own confidence weighting applied to the row as training applied it; undefined when no item has.
 */
export function foldInRatings(
  ratings: ReadonlyMap<string, number>,
  itemOf: (itemId: string) => FoldInItem | undefined,
  fm: Pick<FoldInModel, 'factors' | 'yty' | 'regularization' | 'alpha' | 'weighting' | 'nItems'>,
): Float32Array | undefined {
  const k = fm.factors;
  const factors: number[] = [];
  const values: number[] = [];
  const norms: number[] = [];
  for (const [itemId, r] of ratings) {
    const it = itemOf(itemId);
    if (!it || it.factor.length !== k) continue;
    for (let a = 0; a < k; a++) factors.push(it.factor[a]!);
    values.push(r);
    norms.push(it.weightNorm ?? 1);
  }
  if (!values.length) return undefined;
  const weights = weightRow(fm.weighting, values, norms, fm.nItems);
  return foldInUser(
    Float32Array.from(factors),
    fm.yty,
    Array.from(values, (_, i) => i),
    weights,
    fm,
  );
}
