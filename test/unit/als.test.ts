import { Matrix, solve } from 'ml-matrix';
import { gaussianSource, uniformSource } from '../../src/random/rng.ts';
import { describe, expect, it } from 'vitest';
import type { AlsParams, RatingsMatrix } from '../../src/types/index.ts';
import {
  AlsModel,
  buildCsr,
  choleskyInPlace,
  choleskySolveInPlace,
  gramian,
  recommendTopK,
  splitRows,
  topKFromScores,
  transposeCsr,
} from '../../src/als/index.ts';
import { AlsEngine, createAlsMemory, planLayout } from '../../src/als/engine.ts';
import { createScratch, lossRows } from '../../src/als/kernels.ts';
import { createSharedMemory, instantiateKernels } from '../../src/als/wasm.ts';
import {
  alsScorer,
  evaluateRanking,
  plantedInteractions,
  plantedToInteractions,
  popularityBaseline,
  splitToMatrices,
  temporalSplit,
} from '../../src/train/evaluate/index.ts';

const base: AlsParams = {
  factors: 5,
  regularization: 0.1,
  alpha: 1,
  iterations: 15,
  solver: 'cholesky',
  cgSteps: 3,
  seed: 1,
  threads: 1,
};

function randomFactors(rows: number, k: number, seed: number): Float32Array {
  const normal = gaussianSource(seed);
  return Float32Array.from({ length: rows * k }, () => normal() * 0.3);
}

function dense(m: RatingsMatrix): number[][] {
  const out = Array.from({ length: m.nUsers }, () => new Array<number>(m.nItems).fill(0));
  for (let u = 0; u < m.nUsers; u++) {
    for (let j = m.indptr[u]!; j < m.indptr[u + 1]!; j++) out[u]![m.indices[j]!] = m.data[j]!;
  }
  return out;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

function allScores(m: {
  factors: number;
  userFactors: Float32Array;
  itemFactors: Float32Array;
}): Float64Array {
  const k = m.factors;
  const nU = m.userFactors.length / k;
  const nI = m.itemFactors.length / k;
  const out = new Float64Array(nU * nI);
  for (let u = 0; u < nU; u++) {
    for (let i = 0; i < nI; i++) {
      let s = 0;
      for (let a = 0; a < k; a++) s += m.userFactors[u * k + a]! * m.itemFactors[i * k + a]!;
      out[u * nI + i] = s;
    }
  }
  return out;
}

// Planted data shared by several tests: 300 users × 200 items from rank-5 taste factors, 25
// interactions per user on average, weak popularity (Zipf 0.5), 5 latest per user held out.
const planted = plantedInteractions({
  nUsers: 300,
  nItems: 200,
  rank: 5,
  meanPerUser: 25,
  seed: 7,
  popularityExponent: 0.5,
  signal: 3,
});
const { train: plantedTrain, test: plantedTest } = splitToMatrices(
  temporalSplit(plantedToInteractions(planted), 5),
);

describe('cholesky', () => {
  it.each([3, 17, 64])('matches ml-matrix solve on a random SPD system (n = %i)', (n) => {
    const rand = uniformSource(n);
    const B = Matrix.rand(n, n, { random: rand });
    const spd = B.mmul(B.transpose()).add(Matrix.eye(n, n).mul(0.5));
    const b = Matrix.rand(n, 1, { random: rand });
    const expected = solve(spd, b).to1DArray();

    const A = Float64Array.from(spd.to1DArray());
    const x = Float64Array.from(b.to1DArray());
    expect(choleskyInPlace(A, n)).toBe(true);
    choleskySolveInPlace(A, n, x);
    for (let i = 0; i < n; i++) expect(x[i]).toBeCloseTo(expected[i]!, 8);
  });

  it('reports a non-positive-definite matrix', () => {
    const A = Float64Array.from([1, 2, 2, 1]); // eigenvalues 3, −1
    expect(choleskyInPlace(A, 2)).toBe(false);
  });

  it.each([1, 3, 17, 64])('the wasm factorisation equals the JS one (n = %i)', (n) => {
    const rand = uniformSource(100 + n);
    const B = Matrix.rand(n, n, { random: rand });
    const spd = Float64Array.from(B.mmul(B.transpose()).add(Matrix.eye(n, n).mul(0.5)).to1DArray());
    const memory = createSharedMemory(16 + n * n * 8);
    const kern = instantiateKernels(memory);
    const view = new Float64Array(memory.buffer, 16, n * n);
    view.set(spd);
    expect(kern.cholesky(16, n)).toBe(1);
    const js = spd.slice();
    choleskyInPlace(js, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) expect(view[i * n + j]).toBeCloseTo(js[i * n + j]!, 10);
    if (n >= 2) {
      const bad = new Float64Array(n * n);
      for (let i = 0; i < n; i++) bad[i * n + i] = 1;
      bad[n] = 2; // A[1][0] = 2 with unit diagonal: not positive definite
      view.set(bad);
      expect(kern.cholesky(16, n)).toBe(0);
    }
  });
});

describe('gramian', () => {
  it('equals FᵀF', () => {
    const k = 7;
    const F = randomFactors(30, k, 3);
    const G = gramian(F, k);
    const M = new Matrix(Array.from({ length: 30 }, (_, r) => Array.from(F.subarray(r * k, (r + 1) * k))));
    const expected = M.transpose().mmul(M);
    for (let a = 0; a < k; a++)
      for (let c = 0; c < k; c++) expect(G[a * k + c]).toBeCloseTo(expected.get(a, c), 5);
  });
});

describe('planLayout', () => {
  it('keeps every offset positive, ordered and 16-byte aligned past 2 GiB (100M non-zeros, 6M users)', () => {
    const L = planLayout(32, 6_000_000, 2_500_000, 100_000_000, 2);
    const offsets = [L.X, L.Y, L.userIndptr, L.userIdx, L.userW, L.itemIndptr, L.itemIdx, L.itemW, L.M];
    expect(L.totalBytes).toBeGreaterThan(2 ** 31);
    expect(L.totalBytes).toBeLessThanOrEqual(2 ** 32);
    for (let j = 1; j < offsets.length; j++) expect(offsets[j]!).toBeGreaterThan(offsets[j - 1]!);
    for (const o of [...offsets, L.ident, L.ones, L.scratch]) expect(o % 16).toBe(0);
    expect(L.itemW - L.itemIdx).toBe(100_000_000 * 4);
    expect(L.scratch).toBeLessThan(L.totalBytes);
  });
});

describe('buildCsr / transposeCsr', () => {
  it('sums duplicates, sorts indices, drops non-positive sums and keeps id order', () => {
    const m = buildCsr([
      { userId: 'a', itemId: 'y', weight: 1 },
      { userId: 'a', itemId: 'x', weight: 2 },
      { userId: 'b', itemId: 'y', weight: 1 },
      { userId: 'a', itemId: 'y', weight: 3 },
      { userId: 'b', itemId: 'z', weight: 1 },
      { userId: 'b', itemId: 'z', weight: -1 },
    ]);
    expect(m.userIds).toEqual(['a', 'b']);
    expect(m.itemIds).toEqual(['y', 'x', 'z']);
    expect([...m.indptr]).toEqual([0, 2, 3]);
    expect([...m.indices]).toEqual([0, 1, 0]); // a: y(0)=4, x(1)=2; b: y(0)=1; z summed to 0 → dropped
    expect([...m.data]).toEqual([4, 2, 1]);
  });

  it('maps onto given ids and can drop unknown ones', () => {
    const m = buildCsr(
      [
        { userId: 'b', itemId: 'x', weight: 1 },
        { userId: 'c', itemId: 'x', weight: 1 },
        { userId: 'a', itemId: 'q', weight: 1 },
      ],
      { userIds: ['a', 'b'], itemIds: ['x'], unknown: 'drop' },
    );
    expect(m.nUsers).toBe(2);
    expect(m.nItems).toBe(1);
    expect([...m.indptr]).toEqual([0, 0, 1]);
  });

  it('transposes (twice = identity)', () => {
    const m = buildCsr(
      plantedToInteractions(
        plantedInteractions({ nUsers: 20, nItems: 15, rank: 2, meanPerUser: 5, seed: 1 }),
      ),
    );
    const t = transposeCsr(m);
    expect(t.nUsers).toBe(m.nItems);
    const d = dense(m);
    const dt = dense(t);
    for (let u = 0; u < m.nUsers; u++) for (let i = 0; i < m.nItems; i++) expect(dt[i]![u]).toBe(d[u]![i]);
    for (let i = 0; i < t.nUsers; i++) {
      for (let j = t.indptr[i]! + 1; j < t.indptr[i + 1]!; j++)
        expect(t.indices[j]!).toBeGreaterThan(t.indices[j - 1]!);
    }
    const tt = transposeCsr(t);
    expect(tt.indptr).toEqual(m.indptr);
    expect(tt.indices).toEqual(m.indices);
    expect(tt.data).toEqual(m.data);
  });
});

describe('wasm engine', () => {
  // small random problem: 12 users × 9 items
  const m = buildCsr(
    plantedToInteractions(
      plantedInteractions({ nUsers: 12, nItems: 9, rank: 2, meanPerUser: 4, seed: 5, minPerUser: 1 }),
    ),
  );
  const t = transposeCsr(m);
  const reg = 0.3;
  const alpha = 2;

  /** An engine whose Y holds random factors (real k columns, padding 0) and X zeros. */
  function setup(k: number) {
    const { memory, layout } = createAlsMemory(m, m.nUsers, m.nItems, k, alpha, 1);
    const engine = new AlsEngine(memory, layout, 0);
    const Yk = randomFactors(m.nItems, k, 11);
    for (let i = 0; i < m.nItems; i++) engine.Y.set(Yk.subarray(i * k, (i + 1) * k), i * layout.kp);
    return { engine, kp: layout.kp, Yk, layout };
  }

  it('builds the item orientation in its memory exactly as transposeCsr does, w = α·r', () => {
    const { engine, layout } = setup(4);
    const nnz = m.indptr[m.nUsers]!;
    const view = (at: number, n: number) => [...engine.i32.subarray(at >> 2, (at >> 2) + n)];
    expect(view(layout.itemIndptr, m.nItems + 1)).toEqual([...t.indptr]);
    expect(view(layout.itemIdx, nnz)).toEqual([...t.indices]);
    expect([...engine.f32.subarray(layout.itemW >> 2, (layout.itemW >> 2) + nnz)]).toEqual([
      ...t.data.map((r) => Math.fround(alpha * r)),
    ]);
  });

  /** Dense solve of (Yᵀ C_u Y + λI) x = Yᵀ C_u p(u) for every user. */
  function denseSolutions(Yk: Float32Array, k: number): number[][] {
    const Ym = new Matrix(
      Array.from({ length: m.nItems }, (_, i) => Array.from(Yk.subarray(i * k, (i + 1) * k))),
    );
    return dense(m).map((row) => {
      const Cu = Matrix.diag(row.map((r) => 1 + alpha * r));
      const A = Ym.transpose().mmul(Cu).mmul(Ym).add(Matrix.eye(k, k).mul(reg));
      const b = Ym.transpose()
        .mmul(Cu)
        .mmul(Matrix.columnVector(row.map((r) => (r > 0 ? 1 : 0))));
      return solve(A, b).to1DArray();
    });
  }

  it.each([5, 8])('the exact row solve matches dense normal equations (k = %i)', (k) => {
    const { engine, kp, Yk } = setup(k);
    engine.writeGram('Y', reg);
    engine.solveRows('users', 'cholesky', 3, 0, m.nUsers);
    const expected = denseSolutions(Yk, k);
    for (let u = 0; u < m.nUsers; u++) {
      for (let a = 0; a < k; a++) expect(engine.X[u * kp + a]).toBeCloseTo(expected[u]![a]!, 4);
      for (let a = k; a < kp; a++) expect(engine.X[u * kp + a]).toBe(0); // padding stays exactly 0
    }
  });

  it.each([5, 8])('CG with kp + 2 steps from zero reaches the exact solution (k = %i)', (k) => {
    const { engine, kp, Yk } = setup(k);
    engine.writeGram('Y', reg);
    engine.solveRows('users', 'cg', kp + 2, 0, m.nUsers);
    const expected = denseSolutions(Yk, k);
    for (let u = 0; u < m.nUsers; u++) {
      for (let a = 0; a < k; a++) expect(engine.X[u * kp + a]).toBeCloseTo(expected[u]![a]!, 3);
      for (let a = k; a < kp; a++) expect(engine.X[u * kp + a]).toBe(0);
    }
    // 1 CG step from zero moves along the residual: it improves on 0 but is not the solution
    const one = setup(k);
    one.engine.writeGram('Y', reg);
    one.engine.solveRows('users', 'cg', 1, 0, m.nUsers);
    let diff = 0;
    for (let u = 0; u < m.nUsers; u++)
      for (let a = 0; a < k; a++) diff += Math.abs(one.engine.X[u * kp + a]! - expected[u]![a]!);
    expect(diff).toBeGreaterThan(1e-3);
  });

  it('Gram matrix and the loss match float64 references', () => {
    const k = 5;
    const { engine, kp, Yk, layout } = setup(k);
    const Xk = randomFactors(m.nUsers, k, 12);
    for (let u = 0; u < m.nUsers; u++) engine.X.set(Xk.subarray(u * k, (u + 1) * k), u * kp);
    engine.writeGram('Y', null);
    const ref = gramian(Yk, k);
    const Mi = layout.M >> 2;
    for (let a = 0; a < kp; a++) {
      for (let c = 0; c < kp; c++) {
        const want = a < k && c < k ? ref[a * k + c]! : 0;
        expect(engine.f32[Mi + a * kp + c]).toBeCloseTo(want, 5);
      }
    }
    // the loss with M = YᵀY, against the dense Σ c (p − s)²
    const parts = engine.lossRows(0, m.nUsers);
    const R = dense(m);
    let expected = 0;
    let norm = 0;
    for (let u = 0; u < m.nUsers; u++) {
      for (let a = 0; a < k; a++) norm += Xk[u * k + a]! ** 2;
      for (let i = 0; i < m.nItems; i++) {
        let s = 0;
        for (let a = 0; a < k; a++) s += Xk[u * k + a]! * Yk[i * k + a]!;
        const r = R[u]![i]!;
        expected += (1 + alpha * r) * ((r > 0 ? 1 : 0) - s) ** 2;
      }
    }
    expect(parts.data).toBeCloseTo(expected, 4);
    expect(parts.norm).toBeCloseTo(norm, 5);
    // and the JS float64 loss kernel agrees
    const js = lossRows(m, Xk, Yk, ref, k, alpha, 0, m.nUsers, createScratch(k, 9));
    expect(js.data).toBeCloseTo(expected, 8);
    // for solves: + λ on the real diagonal, 1 on the padded one
    engine.writeGram('Y', reg);
    expect(engine.f32[Mi]).toBeCloseTo(ref[0]! + reg, 5);
    expect(engine.f32[Mi + (kp - 1) * kp + kp - 1]).toBe(1); // padded diagonal
  });
});

describe('topK', () => {
  it('returns the best k, best first, with exclusions and deterministic ties', () => {
    const scores = [0.5, 2, NaN, 2, -1, 3, 0.5];
    expect(topKFromScores(scores, 3).map((s) => s.index)).toEqual([5, 1, 3]);
    expect(topKFromScores(scores, 3, new Set([5, 1])).map((s) => s.index)).toEqual([3, 0, 6]);
    expect(topKFromScores(scores, 10)).toHaveLength(6);
    expect(topKFromScores(scores, 0)).toEqual([]);
  });

  it('recommendTopK scores by inner product', () => {
    const items = Float32Array.from([1, 0, 0, 1, 1, 1, -1, 0]); // 4 items, k = 2
    const rec = recommendTopK([0.2, 1], items, 2, new Set([2]));
    expect(rec.map((r) => r.index)).toEqual([1, 0]);
    expect(rec[0]!.score).toBeCloseTo(1, 6);
    expect(rec[1]!.score).toBeCloseTo(0.2, 6);
  });

  it('splitRows balances by cost and covers all rows', () => {
    const indptr = Int32Array.from([0, 100, 101, 102, 103, 104, 200]);
    const chunks = splitRows(indptr, 2, 0);
    expect(chunks).toEqual([
      [0, 1],
      [1, 6],
    ]);
    expect(splitRows(indptr, 3, 1).flat()[0]).toBe(0);
    expect(splitRows(indptr, 3, 1).at(-1)![1]).toBe(6);
  });
});

describe('AlsModel.fit', () => {
  it('hand-checked tiny example: co-consumption drives the ranking', async () => {
    // users 0 and 1 both like items 0 and 1; user 1 also likes item 2; user 2 only likes item 3.
    // User 0's best unseen item must be 2 (liked by the look-alike user 1), not 3.
    const m = buildCsr([
      { userId: 'u0', itemId: 'i0', weight: 1 },
      { userId: 'u0', itemId: 'i1', weight: 1 },
      { userId: 'u1', itemId: 'i0', weight: 1 },
      { userId: 'u1', itemId: 'i1', weight: 1 },
      { userId: 'u1', itemId: 'i2', weight: 1 },
      { userId: 'u2', itemId: 'i3', weight: 1 },
    ]);
    // k = 2 < 3 distinct tastes, λ = 1: the model has to share a direction between users 0 and 1.
    const p = { factors: 2, regularization: 1, alpha: 10 };
    for (const solver of ['cholesky', 'cg'] as const) {
      const model = await AlsModel.fit(m, { ...base, ...p, iterations: 20, solver });
      const scores = allScores(model);
      const s = (u: number, i: number): number => scores[u * 4 + i]!;
      expect(s(0, 2)).toBeGreaterThan(s(0, 3) + 0.3); // observed ≈ 0.79 vs 0.04
      expect(s(0, 0)).toBeGreaterThan(s(0, 2)); // consumed items rank above unseen ones
      expect(s(0, 0)).toBeCloseTo(s(0, 1), 5); // items 0 and 1 are interchangeable
      expect(s(2, 3)).toBeGreaterThan(0.8);
      expect(s(2, 2)).toBeLessThan(s(2, 3));
      const rec = recommendTopK(model.userFactors.subarray(0, 2), model.itemFactors, 2, new Set([0, 1]));
      expect(rec.map((r) => r.index)).toEqual([2, 3]);

      // a new user who likes items 0 and 1, folded in against the trained item factors, also gets item 2
      const x = model.recalculateUser([
        [0, 1],
        [1, 1],
      ]);
      expect(recommendTopK(x!, model.itemFactors, 1, new Set([0, 1]))[0]!.index).toBe(2);
    }
  });

  it('is reproducible for a seed and depends on it', async () => {
    const a = await AlsModel.fit(plantedTrain, { ...base, iterations: 3 });
    const b = await AlsModel.fit(plantedTrain, { ...base, iterations: 3 });
    const c = await AlsModel.fit(plantedTrain, { ...base, iterations: 3, seed: 2 });
    expect(b.userFactors).toEqual(a.userFactors);
    expect(b.itemFactors).toEqual(a.itemFactors);
    expect(c.userFactors).not.toEqual(a.userFactors);
  });

  it('recovers planted structure: precision@10 well above popularity; loss non-increasing', async () => {
    const model = await AlsModel.fit(plantedTrain, { ...base, iterations: 15 });
    const als = evaluateRanking(alsScorer(model), plantedTrain, plantedTest);
    const pop = evaluateRanking(popularityBaseline(plantedTrain), plantedTrain, plantedTest);
    // Random ranking expects 10 · (held-out / unseen) / 10 ≈ 5 / 180 ≈ 0.028 precision.
    // The planted truth (oracle) reaches ≈ 0.33 here; ALS gets ≈ 0.23, popularity ≈ 0.07.
    // Floors: ≥ 2× popularity, ≥ 0.15 absolute (> 5× random), and ≥ 45% of the oracle.
    const iid = plantedTrain.itemIds.map((s) => Number(s.slice(1)));
    const uid = plantedTrain.userIds.map((s) => Number(s.slice(1)));
    const oracle = evaluateRanking(
      (u, out) => {
        for (let i = 0; i < plantedTrain.nItems; i++) {
          let s = 0;
          for (let a = 0; a < 5; a++)
            s += planted.userFactors[uid[u]! * 5 + a]! * planted.itemFactors[iid[i]! * 5 + a]!;
          out[i] = Math.log(planted.popularity[iid[i]!]!) + 3 * s;
        }
      },
      plantedTrain,
      plantedTest,
    );
    expect(als.users).toBe(pop.users);
    expect(als.users).toBeGreaterThan(250);
    expect(als.precision).toBeGreaterThanOrEqual(2 * pop.precision);
    expect(als.precision).toBeGreaterThanOrEqual(0.15);
    expect(als.precision).toBeGreaterThanOrEqual(0.45 * oracle.precision);
    expect(als.ndcg).toBeGreaterThan(1.5 * pop.ndcg);
    expect(als.coverage).toBeGreaterThan(pop.coverage);

    expect(model.loss).toHaveLength(15);
    expect(model.secondsPerIteration).toHaveLength(15);
    for (let i = 1; i < model.loss.length; i++) {
      expect(model.loss[i]!).toBeLessThanOrEqual(model.loss[i - 1]! * (1 + 1e-6));
    }
    expect(model.loss.at(-1)!).toBeLessThan(model.loss[0]!);
  });

  it('CG and Cholesky agree on the planted data', async () => {
    const params = { ...base, iterations: 15 };
    const chol = await AlsModel.fit(plantedTrain, { ...params, solver: 'cholesky' });
    const cg = await AlsModel.fit(plantedTrain, { ...params, solver: 'cg' });
    expect(pearson(allScores(chol), allScores(cg))).toBeGreaterThan(0.99);
    expect(Math.abs(cg.loss.at(-1)! - chol.loss.at(-1)!) / chol.loss.at(-1)!).toBeLessThan(0.02);
    const mChol = evaluateRanking(alsScorer(chol), plantedTrain, plantedTest);
    const mCg = evaluateRanking(alsScorer(cg), plantedTrain, plantedTest);
    expect(Math.abs(mCg.ndcg - mChol.ndcg)).toBeLessThan(0.02 * mChol.ndcg + 0.01);
  });

  it.each(['cholesky', 'cg'] as const)('threads = 2 gives the threads = 1 result (%s)', async (solver) => {
    const params = { ...base, factors: 8, iterations: 4, solver };
    const one = await AlsModel.fit(plantedTrain, params);
    const two = await AlsModel.fit(plantedTrain, { ...params, threads: 2 });
    expect(two.userFactors.buffer).toBeInstanceOf(ArrayBuffer);
    for (let j = 0; j < one.userFactors.length; j++)
      expect(two.userFactors[j]).toBeCloseTo(one.userFactors[j]!, 6);
    for (let j = 0; j < one.itemFactors.length; j++)
      expect(two.itemFactors[j]).toBeCloseTo(one.itemFactors[j]!, 6);
    for (let i = 0; i < one.loss.length; i++) expect(two.loss[i]! / one.loss[i]!).toBeCloseTo(1, 9);
  });

  it('fold-in is exactly the ALS user step', async () => {
    // X after iteration N is solved against Y after iteration N − 1: fold-in must reproduce it.
    const params = { ...base, iterations: 6 };
    let previousY = new Float32Array(0);
    let lastY = new Float32Array(0);
    const model = await AlsModel.fit(plantedTrain, params, {
      onIteration: (info) => {
        previousY = lastY;
        lastY = Float32Array.from(info.itemFactors);
      },
    });
    // the model as it stood before the last item sweep
    const before = new AlsModel({
      params: model.params,
      userFactors: model.userFactors,
      itemFactors: previousY,
    });
    const rated = (u: number): Array<[number, number]> =>
      Array.from({ length: plantedTrain.indptr[u + 1]! - plantedTrain.indptr[u]! }, (_, j) => [
        plantedTrain.indices[plantedTrain.indptr[u]! + j]!,
        plantedTrain.data[plantedTrain.indptr[u]! + j]!,
      ]);
    for (const u of [0, 17, 123, 299]) {
      const x = before.recalculateUser(rated(u))!;
      const xu = model.userFactor(u);
      // training accumulates in float32 (wasm SIMD), fold-in in float64: equal to ~1e-6 relative
      for (let a = 0; a < 5; a++)
        expect(Math.abs(x[a]! - xu[a]!)).toBeLessThan(1e-5 * (1 + Math.abs(xu[a]!)));
    }
    // duplicates are summed, like buildCsr does
    const dup = before.recalculateUser([
      [3, 1],
      [3, 2],
      [4, 1],
    ])!;
    const merged = before.recalculateUser([
      [4, 1],
      [3, 3],
    ])!;
    for (let a = 0; a < 5; a++) expect(dup[a]).toBeCloseTo(merged[a]!, 6);
    expect(before.recalculateUser([])).toBeUndefined();
    expect(before.recalculateUser([[3, 0]])).toBeUndefined();
    expect(() => before.recalculateUser([[100000, 1]])).toThrow(RangeError);
  });

  it('calls onIteration and validates params', async () => {
    const seen: number[] = [];
    await AlsModel.fit(
      plantedTrain,
      { ...base, iterations: 2 },
      {
        onIteration: (info) => {
          seen.push(info.iteration);
          expect(info.userFactors).toHaveLength(plantedTrain.nUsers * 5);
        },
      },
    );
    expect(seen).toEqual([1, 2]);
    await expect(AlsModel.fit(plantedTrain, { ...base, factors: 0 })).rejects.toThrow(RangeError);
    await expect(AlsModel.fit(plantedTrain, { ...base, threads: 1.5 })).rejects.toThrow(RangeError);
  });

  it.each([1, 2])(
    'rejects a singular system (λ = 0, more factors than items) with threads = %i',
    async (threads) => {
      const m = buildCsr([
        { userId: 'u0', itemId: 'i0', weight: 1 },
        { userId: 'u1', itemId: 'i1', weight: 1 },
      ]);
      await expect(
        AlsModel.fit(m, { ...base, factors: 8, regularization: 0, iterations: 2, threads }),
      ).rejects.toThrow(/positive definite/);
    },
  );
});
