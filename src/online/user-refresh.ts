// One user's refresh by the online consumer: the user's latest events read back from the event
// store, rated as training rates them, folded into the live model's factors (the ALS user step of
// src/als/model.ts, against the item factors read from the model's items index) and written to the
// model's users index with the user's recent items.

import { recalculateUser, type RatedItem } from '../als/index.ts';
import { rateUserHistory, windowStart, type RatingRules } from '../events/rating.ts';
import type { FoldInModel, LiveModel } from '../model/live-model.ts';
import type { Repositories } from '../repositories/index.ts';
import type { RecentEvent } from '../repositories/events.ts';

/** A user's latest events a fold-in rates (training reads them all; beyond this, old taste barely moves the solve). */
export const FOLD_IN_HISTORY = 500;

export interface UserRefreshDeps {
  repos: Pick<Repositories, 'events' | 'items' | 'users'>;
  rules: RatingRules;
  /** latest events of a user read back for the fold-in */
  history: number;
  /** distinct recent items kept on the user document as seen ([serving] seen_events_limit) */
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
export async function refreshUser(
  deps: UserRefreshDeps,
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
  const { ratings, recent } = rateUserHistory(byId.values(), rules, now, deps.seen);
  const found = ratings.size ? await repos.items.factors(model.itemsIndex, [...ratings.keys()]) : undefined;
  const x = found && recalculateUser(fm, ratedItems(ratings, found, fm.factors));
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
 * The rated items that have a factor of the model's width in its items index, with the BM25 norm
 * the deploy wrote on each item document.
 */
function ratedItems(
  ratings: ReadonlyMap<string, number>,
  found: ReadonlyMap<string, { factor: ArrayLike<number>; weightNorm?: number }>,
  k: number,
): RatedItem[] {
  const out: RatedItem[] = [];
  for (const [itemId, rating] of ratings) {
    const it = found.get(itemId);
    if (it && it.factor.length === k)
      out.push({
        factor: it.factor,
        rating,
        ...(it.weightNorm !== undefined ? { weightNorm: it.weightNorm } : {}),
      });
  }
  return out;
}
