import { createRng } from '../../random/rng.ts';
import { topKFromScores } from '../../als/recommend.ts';
import type { Interaction } from './split.ts';

export interface PlantedOptions {
  nUsers: number;
  nItems: number;
  /** rank of the planted taste factors */
  rank: number;
  /** target mean interactions per user (the realised total is within a few % of nUsers × mean) */
  meanPerUser: number;
  /** per-user count bounds; default [5, nItems / 2] */
  minPerUser?: number;
  maxPerUser?: number;
  /** σ of the log-normal activity distribution; 0 = every user has meanPerUser. Default 0.8 */
  activitySpread?: number;
  /** Zipf exponent of item popularity (0 = none). Default 0.8 */
  popularityExponent?: number;
  /** weight of taste (x_uᵀy_i, unit variance) in the choice logit. Default 2 */
  signal?: number;
  /** σ of Gaussian noise added to each (user, item) logit. Default 0.5 */
  noise?: number;
  seed: number;
  /** timestamps are spread over [start, start + spanMs). Default 2024-01-01, 365 days */
  startMs?: number;
  spanMs?: number;
}

/** Index-level interactions (one row per distinct user–item pair) plus the planted truth. */
export interface PlantedData {
  nUsers: number;
  nItems: number;
  users: Int32Array;
  items: Int32Array;
  /** 1..5, higher for better-matching items */
  weights: Float32Array;
  ts: Float64Array;
  userFactors: Float64Array;
  itemFactors: Float64Array;
  popularity: Float64Array;
}

/**
 * Planted low-rank implicit data: user u picks n_u distinct items without replacement with
 * probability ∝ pop_i · exp(signal · x_uᵀy_i + noise) (Gumbel top-n), where pop is a shuffled
 * Zipf law and x, y ~ N(0, I/√rank) so x_uᵀy_i has roughly unit variance.
 */
export function plantedInteractions(opts: PlantedOptions): PlantedData {
  const { nUsers, nItems, rank, seed } = opts;
  const rng = createRng(seed);
  const rand = () => rng.next();
  const normal = () => rng.gaussian();
  const spread = opts.activitySpread ?? 0.8;
  const zipf = opts.popularityExponent ?? 0.8;
  const signal = opts.signal ?? 2;
  const noise = opts.noise ?? 0.5;
  const minN = Math.max(1, opts.minPerUser ?? 5);
  const maxN = Math.min(nItems, opts.maxPerUser ?? Math.floor(nItems / 2));
  const start = opts.startMs ?? Date.UTC(2024, 0, 1);
  const span = opts.spanMs ?? 365 * 86_400_000;

  const scale = 1 / Math.sqrt(Math.sqrt(rank));
  const X = Float64Array.from({ length: nUsers * rank }, () => normal() * scale);
  const Y = Float64Array.from({ length: nItems * rank }, () => normal() * scale);

  // shuffled Zipf popularity
  const perm = Int32Array.from({ length: nItems }, (_, i) => i);
  for (let i = nItems - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  const pop = new Float64Array(nItems);
  const logPop = new Float64Array(nItems);
  for (let r = 0; r < nItems; r++) {
    pop[perm[r]!] = Math.pow(r + 1, -zipf);
    logPop[perm[r]!] = -zipf * Math.log(r + 1);
  }

  // log-normal activity, with μ bisected so the clamped mean hits meanPerUser
  const z = Float64Array.from({ length: nUsers }, () => normal());
  const countsFor = (mu: number): Int32Array =>
    Int32Array.from(z, (zz) => Math.min(maxN, Math.max(minN, Math.round(Math.exp(mu + spread * zz)))));
  let lo = Math.log(minN) - 5 * spread - 1;
  let hi = Math.log(maxN) + 5 * spread + 1;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    const c = countsFor(mid);
    let sum = 0;
    for (let u = 0; u < nUsers; u++) sum += c[u]!;
    if (sum / nUsers < opts.meanPerUser) lo = mid;
    else hi = mid;
  }
  const counts = countsFor((lo + hi) / 2);
  let total = 0;
  for (let u = 0; u < nUsers; u++) total += counts[u]!;

  const users = new Int32Array(total);
  const items = new Int32Array(total);
  const weights = new Float32Array(total);
  const ts = new Float64Array(total);
  const keys = new Float64Array(nItems);
  const aff = new Float64Array(nItems);
  let out = 0;
  for (let u = 0; u < nUsers; u++) {
    const xo = u * rank;
    for (let i = 0; i < nItems; i++) {
      const yo = i * rank;
      let s = 0;
      for (let a = 0; a < rank; a++) s += X[xo + a]! * Y[yo + a]!;
      aff[i] = s;
      let g = rand();
      while (g === 0) g = rand();
      const gumbel = -Math.log(-Math.log(g));
      keys[i] = logPop[i]! + signal * s + (noise > 0 ? noise * normal() : 0) + gumbel;
    }
    const chosen = topKFromScores(keys, counts[u]!);
    for (const { index } of chosen) {
      users[out] = u;
      items[out] = index;
      weights[out] = Math.min(5, Math.max(1, Math.round(3 + aff[index]! + 0.7 * normal())));
      ts[out] = start + Math.floor(rand() * span);
      out++;
    }
  }
  return { nUsers, nItems, users, items, weights, ts, userFactors: X, itemFactors: Y, popularity: pop };
}

/** The planted data as Interaction rows with ids `u<index>` / `i<index>`. */
export function plantedToInteractions(d: PlantedData): Interaction[] {
  const rows: Interaction[] = [];
  for (let j = 0; j < d.users.length; j++) {
    rows.push({
      userId: `u${d.users[j]!}`,
      itemId: `i${d.items[j]!}`,
      weight: d.weights[j]!,
      lastTs: d.ts[j]!,
    });
  }
  return rows;
}
