import { LshHasher, chooseLshParams, maxNorm, type ModelLsh } from '../lsh/index.ts';

export type { ModelLsh } from '../lsh/index.ts';
export { ModelHashers } from '../lsh/index.ts';

// (L, b) settings worth serving: fewer than 4 tables is too brittle, more than 32 too many terms per doc.
const GRID = [4, 8, 16, 32].flatMap((tables) => [6, 8, 10, 12, 14].map((bits) => ({ tables, bits })));

export interface LshChoiceInput {
  factors: number;
  itemFactors: Float32Array;
  userFactors: Float32Array;
  /** fixed (L, b) instead of tuning on a sample */
  fixed?: { tables: number; bits: number; seed: number };
  targetRecall?: number;
  seed?: number;
}

function sampleRows(flat: Float32Array, dims: number, n: number, seed: number): Float32Array {
  const rows = flat.length / dims;
  if (rows <= n) return flat;
  const out = new Float32Array(n * dims);
  // a fixed stride walk is a deterministic, spread-out sample
  const stride = rows / n;
  for (let i = 0; i < n; i++) {
    const r = Math.floor((i * stride + seed) % rows);
    out.set(flat.subarray(r * dims, (r + 1) * dims), i * dims);
  }
  return out;
}

/**
 * Picks L and b for both spaces from a sample of the real factors (recall@10 of the candidate
 * set ≥ target with the smallest candidate set). For inner products it tries the MIPS
 * augmentation and plain angular hashing of the raw vectors and keeps the one needing fewer
 * candidates: on ALS factors with a narrow norm spread the augmentation's extra coordinate
 * dominates and costs recall (Yan et al. 2018), so this is measured, not assumed.
 */
export function chooseModelLsh(input: LshChoiceInput): ModelLsh {
  const k = input.factors;
  const seed = input.seed ?? 1;
  const M = maxNorm(input.itemFactors, k) || 1;
  if (input.fixed) {
    const f = input.fixed;
    const mips = new LshHasher({ tables: f.tables, bits: f.bits, dims: k + 1, seed: f.seed });
    const cosine = new LshHasher({ tables: f.tables, bits: f.bits, dims: k, seed: f.seed + 1 });
    return { mips: { ...mips.serialize(), augmented: true, maxNorm: M }, cosine: cosine.serialize() };
  }
  const items = sampleRows(input.itemFactors, k, 10_000, seed);
  const users = sampleRows(
    input.userFactors.length ? input.userFactors : input.itemFactors,
    k,
    100,
    seed + 7,
  );
  const itemQueries = sampleRows(input.itemFactors, k, 100, seed + 13);
  const target = input.targetRecall ?? 0.9;
  // At most 10 % of a large catalogue as candidates: beyond that exact search is as cheap. Below
  // ~50,000 items exact scoring of 5,000 candidates costs nothing worth trading recall for.
  const nItems = input.itemFactors.length / k;
  const common = {
    dims: k,
    k: 10,
    targetRecall: target,
    seed,
    candidates: GRID,
    maxCandidateFraction: Math.max(0.1, 5000 / nItems),
  };
  const aug = chooseLshParams({ ...common, items, queries: users, mode: 'mips', augment: true });
  const raw = chooseLshParams({ ...common, items, queries: users, mode: 'mips', augment: false });
  const better = rank(aug) <= rank(raw) ? aug : raw;
  const cos = chooseLshParams({ ...common, items, queries: itemQueries, mode: 'cosine' });
  const mips = new LshHasher(better.params);
  return {
    mips: { ...mips.serialize(), augmented: better.augmented, maxNorm: M },
    cosine: new LshHasher(cos.params).serialize(),
    tuning: {
      mips: { recall: better.chosen.recall, candidateFraction: better.chosen.candidateFraction },
      cosine: { recall: cos.chosen.recall, candidateFraction: cos.chosen.candidateFraction },
    },
  };
}

// meeting the target first, then fewest candidates, then recall
function rank(c: ReturnType<typeof chooseLshParams>): number {
  return c.meetsTarget ? c.chosen.candidateFraction : 10 - c.chosen.recall;
}
