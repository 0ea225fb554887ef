// Seeded synthetic model for the query benchmark: clustered factors (real ALS factors are far from
// isotropic noise), log-normal item norms, categories correlated with the clusters, Zipf-ish
// popularity. Everything is a pure function of the seed, so reruns query the same catalogue.

import { createRng } from '../../src/random/rng.ts';

export interface BenchModel {
  factors: number;
  itemIds: string[];
  itemFactors: Float32Array;
  userIds: string[];
  userFactors: Float32Array;
  categories: string[];
  itemCategory: Uint16Array;
  popularity: Float32Array;
  recent: Map<string, string[]>;
}

export function rng(seed: number) {
  const r = createRng(seed);
  return { uniform: () => r.next(), gauss: () => r.gaussian() };
}

export function generateBenchModel(opts: {
  items: number;
  users: number;
  factors: number;
  categories: number;
  clusters: number;
  seed: number;
}): BenchModel {
  const { items, users, factors: k, clusters } = opts;
  const r = rng(opts.seed);
  const centers = Float32Array.from({ length: clusters * k }, () => r.gauss());
  const itemFactors = new Float32Array(items * k);
  const itemCategory = new Uint16Array(items);
  const popularity = new Float32Array(items);
  for (let i = 0; i < items; i++) {
    const c = Math.floor(r.uniform() * clusters);
    const norm = Math.exp(0.3 * r.gauss()) * 0.5;
    for (let d = 0; d < k; d++) itemFactors[i * k + d] = (centers[c * k + d]! + 0.8 * r.gauss()) * norm;
    // mostly the cluster's category, sometimes another one
    itemCategory[i] = r.uniform() < 0.8 ? c % opts.categories : Math.floor(r.uniform() * opts.categories);
    popularity[i] = Math.round((1000 / Math.pow(1 + r.uniform() * items, 0.7)) * 1e4) / 1e4;
  }
  const userFactors = new Float32Array(users * k);
  const recent = new Map<string, string[]>();
  const userIds = Array.from({ length: users }, (_, u) => `u${u}`);
  for (let u = 0; u < users; u++) {
    const a = Math.floor(r.uniform() * clusters);
    const b = Math.floor(r.uniform() * clusters);
    for (let d = 0; d < k; d++)
      userFactors[u * k + d] = 0.7 * centers[a * k + d]! + 0.3 * centers[b * k + d]! + 0.5 * r.gauss();
    recent.set(
      userIds[u]!,
      Array.from({ length: 5 }, () => `i${Math.floor(r.uniform() * items)}`),
    );
  }
  return {
    factors: k,
    itemIds: Array.from({ length: items }, (_, i) => `i${i}`),
    itemFactors,
    userIds,
    userFactors,
    categories: Array.from({ length: opts.categories }, (_, c) => `cat${c}`),
    itemCategory,
    popularity,
    recent,
  };
}

/**
 * The same shape of model, but with factors ALS really produced: a generated shop's interactions
 * fitted with this repo's AlsModel.fit. Unlike the clustered benchmark factors, item norms then spread
 * as ALS spreads them (popular items long, items seen once or twice short, items never seen left
 * without a vector), which is where MIPS graphs lose recall. The shop is sampled in time linear in
 * its interactions (the planted generator of src/train/evaluate scores every user against every
 * item, too slow at 1M items): each item belongs to one of `clusters` tastes and has a Zipf-like
 * rank inside it; a user mostly picks by rank inside two tastes of their own, sometimes anywhere.
 */
export async function alsBenchModel(opts: {
  items: number;
  users: number;
  factors: number;
  categories: number;
  clusters: number;
  seed: number;
  meanPerUser: number;
  iterations: number;
}): Promise<BenchModel & { interactions: number; trainSeconds: number }> {
  const { AlsModel, csrFromCoo } = await import('../../src/als/index.ts');
  const { items: nItems, users: nUsers, clusters } = opts;
  const r = rng(opts.seed);
  const clusterOf = new Uint16Array(nItems);
  const members: number[][] = Array.from({ length: clusters }, () => []);
  const itemCategory = new Uint16Array(nItems);
  for (let i = 0; i < nItems; i++) {
    const c = Math.floor(r.uniform() * clusters);
    clusterOf[i] = c;
    members[c]!.push(i);
    itemCategory[i] = r.uniform() < 0.8 ? c % opts.categories : Math.floor(r.uniform() * opts.categories);
  }
  // log-uniform rank: P(rank ≤ x) = log x / log n, a Zipf law of exponent 1
  const zipfPick = (n: number) => Math.min(n - 1, Math.floor(Math.pow(n, r.uniform())) - 1);
  const us: number[] = [];
  const is: number[] = [];
  const ws: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    const n = Math.min(500, Math.max(5, Math.round(opts.meanPerUser * Math.exp(0.8 * r.gauss() - 0.32))));
    const tastes = [Math.floor(r.uniform() * clusters), Math.floor(r.uniform() * clusters)];
    for (let j = 0; j < n; j++) {
      const x = r.uniform();
      const pool = x < 0.6 ? members[tastes[0]!]! : x < 0.85 ? members[tastes[1]!]! : undefined;
      const item = pool ? pool[zipfPick(pool.length)]! : zipfPick(nItems);
      us.push(u);
      is.push(item);
      ws.push(1 + Math.floor(r.uniform() * 5));
    }
  }
  const m = csrFromCoo(nUsers, nItems, us, is, ws);
  const itemIds = Array.from({ length: nItems }, (_, i) => `i${i}`);
  const userIds = Array.from({ length: nUsers }, (_, u) => `u${u}`);
  const t = performance.now();
  const model = await AlsModel.fit(
    { ...m, userIds, itemIds },
    {
      factors: opts.factors,
      regularization: 1,
      alpha: 10,
      weighting: 'linear',
      iterations: opts.iterations,
      solver: 'cg',
      cgSteps: 3,
      seed: opts.seed,
      threads: 2,
    },
  );
  const trainSeconds = (performance.now() - t) / 1000;
  const popularity = new Float32Array(nItems);
  for (let j = 0; j < m.indices.length; j++) popularity[m.indices[j]!]! += 1;
  const recent = new Map<string, string[]>();
  for (let u = 0; u < nUsers; u++) {
    const end = m.indptr[u + 1]!;
    recent.set(
      userIds[u]!,
      Array.from(m.indices.subarray(Math.max(m.indptr[u]!, end - 5), end), (i) => itemIds[i]!),
    );
  }
  return {
    factors: opts.factors,
    itemIds,
    itemFactors: model.itemFactors,
    userIds,
    userFactors: model.userFactors,
    categories: Array.from({ length: opts.categories }, (_, c) => `cat${c}`),
    itemCategory,
    popularity,
    recent,
    interactions: m.indices.length,
    trainSeconds,
  };
}
