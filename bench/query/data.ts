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

export function generateBenchModel(opts: { items: number; users: number; factors: number; categories: number; clusters: number; seed: number }): BenchModel {
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
    popularity[i] = Math.round(1000 / Math.pow(1 + r.uniform() * items, 0.7) * 1e4) / 1e4;
  }
  const userFactors = new Float32Array(users * k);
  const recent = new Map<string, string[]>();
  const userIds = Array.from({ length: users }, (_, u) => `u${u}`);
  for (let u = 0; u < users; u++) {
    const a = Math.floor(r.uniform() * clusters);
    const b = Math.floor(r.uniform() * clusters);
    for (let d = 0; d < k; d++) userFactors[u * k + d] = 0.7 * centers[a * k + d]! + 0.3 * centers[b * k + d]! + 0.5 * r.gauss();
    recent.set(userIds[u]!, Array.from({ length: 5 }, () => `i${Math.floor(r.uniform() * items)}`));
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
