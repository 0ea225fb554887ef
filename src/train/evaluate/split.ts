import type { RatingsMatrix } from '../../types/index.ts';
import { buildCsr } from '../../als/csr.ts';
import { uniformSource } from '../../random/rng.ts';

/** One aggregated (user, item) interaction, as read from the event store. */
export interface Interaction {
  userId: string;
  itemId: string;
  weight: number;
  /** time of the latest event for the pair: epoch ms, ISO string or Date */
  lastTs: number | string | Date;
}

export interface SplitOptions {
  /**
   * A user is split only if at least this many of their interactions stay in train;
   * users with fewer interactions stay entirely in train. Default 2.
   */
  minTrain?: number;
}

export interface Split<T> {
  train: T[];
  test: T[];
}

function toMs(ts: number | string | Date): number {
  if (typeof ts === 'number') return ts;
  const ms = ts instanceof Date ? ts.getTime() : Date.parse(ts);
  if (Number.isNaN(ms)) throw new RangeError(`invalid timestamp: ${String(ts)}`);
  return ms;
}

/** How many of a user's n interactions to hold out: a count (integer ≥ 1) or a fraction in (0, 1). */
function holdoutCount(n: number, holdout: number): number {
  if (holdout >= 1) return Math.floor(holdout);
  return Math.max(1, Math.round(n * holdout));
}

function checkHoldout(holdout: number): void {
  if (!(holdout > 0) || (holdout >= 1 && !Number.isInteger(holdout))) {
    throw new RangeError(`holdout must be an integer ≥ 1 (per user) or a fraction in (0, 1), got ${holdout}`);
  }
}

/**
 * Index-level split: for each user (users[j] in [0, nUsers)), the interactions with the largest
 * `order` keys are held out (ties: later row first). Returns a mask, 1 = test.
 */
export function holdoutMask(
  users: ArrayLike<number>,
  nUsers: number,
  order: ArrayLike<number>,
  holdout: number,
  options: SplitOptions = {},
): Uint8Array {
  checkHoldout(holdout);
  const minTrain = options.minTrain ?? 2;
  const n = users.length;
  const start = new Int32Array(nUsers + 1);
  for (let j = 0; j < n; j++) start[(users[j] as number) + 1]!++;
  for (let u = 0; u < nUsers; u++) start[u + 1]! += start[u]!;
  const pos = start.slice(0, nUsers);
  const rows = new Int32Array(n);
  for (let j = 0; j < n; j++) rows[pos[users[j] as number]!++] = j;
  const mask = new Uint8Array(n);
  const buf: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    const s = start[u]!;
    const e = start[u + 1]!;
    const cnt = e - s;
    if (cnt === 0) continue;
    const h = holdoutCount(cnt, holdout);
    if (cnt - h < minTrain) continue;
    buf.length = 0;
    for (let q = s; q < e; q++) buf.push(rows[q]!);
    buf.sort((a, b) => (order[a] as number) - (order[b] as number) || a - b);
    for (let q = cnt - h; q < cnt; q++) mask[buf[q]!] = 1;
  }
  return mask;
}

function splitBy<T extends { userId: string }>(
  interactions: readonly T[],
  order: Float64Array,
  holdout: number,
  options: SplitOptions,
): Split<T> {
  const ids = new Map<string, number>();
  const users = new Int32Array(interactions.length);
  interactions.forEach((r, j) => {
    let u = ids.get(r.userId);
    if (u === undefined) {
      u = ids.size;
      ids.set(r.userId, u);
    }
    users[j] = u;
  });
  const mask = holdoutMask(users, ids.size, order, holdout, options);
  const train: T[] = [];
  const test: T[] = [];
  interactions.forEach((r, j) => (mask[j] ? test : train).push(r));
  return { train, test };
}

/**
 * Holds out each user's latest interactions by lastTs: `holdout` ≥ 1 is a count per user,
 * 0 < holdout < 1 a fraction (at least one). Users left with fewer than `minTrain` train
 * interactions stay entirely in train.
 */
export function temporalSplit<T extends Interaction>(
  interactions: readonly T[],
  holdout: number,
  options: SplitOptions = {},
): Split<T> {
  const order = Float64Array.from(interactions, (r) => toMs(r.lastTs));
  return splitBy(interactions, order, holdout, options);
}

/** Like temporalSplit, but the held-out interactions of each user are chosen at random (seeded). */
export function randomSplit<T extends { userId: string }>(
  interactions: readonly T[],
  holdout: number,
  seed: number,
  options: SplitOptions = {},
): Split<T> {
  const rand = uniformSource(seed);
  const order = Float64Array.from(interactions, () => rand());
  return splitBy(interactions, order, holdout, options);
}

/**
 * Train and test matrices over the same id mapping (the train matrix's). Test pairs whose user
 * or item never occurs in train are dropped: they cannot be ranked.
 */
export function splitToMatrices(split: Split<Interaction>): { train: RatingsMatrix; test: RatingsMatrix } {
  const train = buildCsr(split.train);
  const test = buildCsr(split.test, { userIds: train.userIds, itemIds: train.itemIds, unknown: 'drop' });
  return { train, test };
}
