// Fitting ALS: drives the engine (engine.ts: both factor matrices and both CSR orientations in one
// shared WebAssembly memory) through the user and item sweeps, on the worker pool (pool.ts) when
// threads > 1. AlsModel.fit (model.ts) is how the rest of the code fits a model; this file returns
// the bare factors it wraps.

import type { AlsParams, RatingsMatrix } from '../types/index.ts';
import { AlsEngine, createAlsMemory } from './engine.ts';
import { sumSquares } from './kernels.ts';
import { AlsWorkerPool } from './pool.ts';
import { uniformSource } from '../random/rng.ts';
import { WEIGHTING_SCHEMES, weightMatrix } from './weighting.ts';

export interface AlsIterationInfo {
  /** 1-based */
  iteration: number;
  loss: number;
  /** wall time of this iteration's user and item sweeps (loss evaluation excluded) */
  seconds: number;
  /** live views of the current factors: valid during the callback only, copy to keep */
  userFactors: Float32Array;
  itemFactors: Float32Array;
}

export type AlsIterationCallback = (info: AlsIterationInfo) => void | Promise<void>;

/** What a fit produces: the factors and how the loss went. */
export interface AlsFit {
  factors: number;
  /** nUsers × factors, row-major */
  userFactors: Float32Array;
  /** nItems × factors, row-major */
  itemFactors: Float32Array;
  /** weighted implicit loss after each iteration */
  loss: number[];
  secondsPerIteration: number[];
  /** per-item BM25 length norms of the weighting (bm25 only): fold-in weights a new row with them */
  itemNorms?: Float32Array;
}

function validate(matrix: RatingsMatrix, p: AlsParams): void {
  const int = (v: number, min: number, name: string): void => {
    if (!Number.isInteger(v) || v < min)
      throw new RangeError(`ALS: ${name} must be an integer ≥ ${min}, got ${v}`);
  };
  int(p.factors, 1, 'factors');
  int(p.iterations, 0, 'iterations');
  int(p.cgSteps, 1, 'cgSteps');
  int(p.threads, 1, 'threads');
  if (!(p.regularization >= 0)) throw new RangeError('ALS: regularization must be ≥ 0');
  if (!(p.alpha >= 0)) throw new RangeError('ALS: alpha must be ≥ 0');
  if (p.weighting !== undefined && !WEIGHTING_SCHEMES.includes(p.weighting))
    throw new RangeError(`ALS: unknown weighting ${String(p.weighting)}`);
  if (p.solver !== 'cg' && p.solver !== 'cholesky')
    throw new RangeError(`ALS: unknown solver ${String(p.solver)}`);
  if (matrix.indptr.length !== matrix.nUsers + 1)
    throw new RangeError('ALS: indptr length must be nUsers + 1');
}

/**
 * Splits rows [0, n) into `parts` contiguous chunks of roughly equal cost, where a row costs
 * its non-zeros plus a fixed per-row overhead (≈ k/2 non-zeros' worth).
 */
export function splitRows(indptr: Int32Array, parts: number, rowOverhead: number): Array<[number, number]> {
  const n = indptr.length - 1;
  const total = indptr[n]! + rowOverhead * n;
  const chunks: Array<[number, number]> = [];
  let start = 0;
  for (let p = 1; p <= parts; p++) {
    let end = n;
    if (p < parts) {
      const target = (total * p) / parts;
      // smallest end with cost(0..end) ≥ target (binary search; cost is monotone)
      let lo = start;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (indptr[mid]! + rowOverhead * mid >= target) hi = mid;
        else lo = mid + 1;
      }
      end = lo;
    }
    chunks.push([start, end]);
    start = end;
  }
  return chunks;
}

/**
 * Implicit-feedback ALS (Hu, Koren & Volinsky 2008): preference 1 on the non-zeros, confidence
 * 1 + α·w(r) with the weighting scheme of the params (weighting.ts), L2 regularisation λ; users are solved first, then items, each iteration.
 * Deterministic for a given seed, and independent of `threads`. The row solves run in
 * WebAssembly SIMD kernels over one shared memory (see engine.ts), on `threads` worker threads
 * when threads > 1, else on the calling thread.
 */
export async function fitAls(
  ratings: RatingsMatrix,
  params: AlsParams,
  onIteration?: AlsIterationCallback,
): Promise<AlsFit> {
  validate(ratings, params);
  const { matrix, itemNorms } = weightMatrix(ratings, params.weighting ?? 'linear');
  const k = params.factors;
  const { nUsers, nItems } = matrix;
  const threads = Math.max(1, Math.min(params.threads, Math.max(nUsers, nItems, 1)));
  const reg = params.regularization;
  const alpha = params.alpha;

  const { memory, layout: L } = createAlsMemory(matrix, nUsers, nItems, k, alpha, threads);
  const { kp } = L;
  // this thread's engine: computes the Gram matrices, and solves everything when threads = 1
  const engine = new AlsEngine(memory, L, 0);
  const X = engine.X;
  const Y = engine.Y;
  // uniform [0, 0.01) like implicit; users first, then items; padding columns stay 0
  const rand = uniformSource(params.seed);
  for (let u = 0; u < nUsers; u++) for (let a = 0; a < k; a++) X[u * kp + a] = rand() * 0.01;
  for (let i = 0; i < nItems; i++) for (let a = 0; a < k; a++) Y[i * kp + a] = rand() * 0.01;

  const pool = threads > 1 ? await AlsWorkerPool.create(threads, { memory, layout: L }) : null;
  // per-row cost in non-zero equivalents: CG's 4 (YᵀY + λI)·v products ≈ kp/2 non-zeros;
  // Cholesky's k³/6 factorisation (float64) ≈ kp non-zeros of the float32 syrk
  const overhead = Math.max(1, params.solver === 'cg' ? kp / 2 : kp);
  const userChunks = splitRows(matrix.indptr, threads, overhead);
  const itemChunks = splitRows(
    engine.i32.subarray(L.itemIndptr >>> 2, (L.itemIndptr >>> 2) + nItems + 1),
    threads,
    overhead,
  );

  const sweep = async (side: 'users' | 'items'): Promise<void> => {
    const users = side === 'users';
    engine.writeGram(users ? 'Y' : 'X', reg);
    if (pool) {
      await pool.run(
        (users ? userChunks : itemChunks).map(([start, end]) => ({
          type: 'solve' as const,
          side,
          solver: params.solver,
          cgSteps: params.cgSteps,
          start,
          end,
        })),
      );
    } else {
      engine.solveRows(side, params.solver, params.cgSteps, 0, users ? nUsers : nItems);
    }
  };

  const computeLoss = async (): Promise<number> => {
    engine.writeGram('Y', null);
    let data = 0;
    let norm = 0;
    if (pool) {
      const parts = await pool.run(userChunks.map(([start, end]) => ({ type: 'loss' as const, start, end })));
      for (const p of parts) {
        data += p.data ?? 0;
        norm += p.norm ?? 0;
      }
    } else {
      const parts = engine.lossRows(0, nUsers);
      data = parts.data;
      norm = parts.norm;
    }
    return data + reg * (norm + sumSquares(Y));
  };

  /** Unpadded, non-shared copy of a factor matrix. */
  const compact = (F: Float32Array, rows: number): Float32Array => {
    if (kp === k) return F.slice();
    const out = new Float32Array(rows * k);
    for (let r = 0; r < rows; r++) out.set(F.subarray(r * kp, r * kp + k), r * k);
    return out;
  };

  const loss: number[] = [];
  const secondsPerIteration: number[] = [];
  try {
    for (let it = 1; it <= params.iterations; it++) {
      const t0 = performance.now();
      await sweep('users');
      await sweep('items');
      const seconds = (performance.now() - t0) / 1000;
      const l = await computeLoss();
      loss.push(l);
      secondsPerIteration.push(seconds);
      if (onIteration) {
        await onIteration({
          iteration: it,
          loss: l,
          seconds,
          userFactors: kp === k ? X : compact(X, nUsers),
          itemFactors: kp === k ? Y : compact(Y, nItems),
        });
      }
    }
  } finally {
    await pool?.close();
  }

  return {
    factors: k,
    userFactors: compact(X, nUsers),
    itemFactors: compact(Y, nItems),
    loss,
    secondsPerIteration,
    ...(itemNorms ? { itemNorms } : {}),
  };
}
