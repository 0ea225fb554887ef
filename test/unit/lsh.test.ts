import { describe, expect, it } from 'vitest';
import {
  LshHasher,
  Rng,
  augmentItemForMips,
  augmentQueryForMips,
  candidateProbability,
  chooseLshParams,
  codeToTerm,
  createProjections,
  deserializeProjections,
  evaluateLshGrid,
  maxNorm,
  serializeProjections,
  tableCollisionProbability,
  vectorNorm,
} from '../../src/lsh/index.ts';

// ---------------------------------------------------------------- helpers

function randomUnit(rng: Rng, dims: number): Float64Array {
  const v = new Float64Array(dims);
  let s = 0;
  for (let d = 0; d < dims; d++) {
    v[d] = rng.gaussian();
    s += v[d]! ** 2;
  }
  const n = Math.sqrt(s);
  for (let d = 0; d < dims; d++) v[d] = v[d]! / n;
  return v;
}

/** Two unit vectors at exactly angle theta, in a random plane. */
function pairAtAngle(rng: Rng, dims: number, theta: number): [Float64Array, Float64Array] {
  const u = randomUnit(rng, dims);
  const w = randomUnit(rng, dims);
  let dot = 0;
  for (let d = 0; d < dims; d++) dot += u[d]! * w[d]!;
  let s = 0;
  for (let d = 0; d < dims; d++) {
    w[d] = w[d]! - dot * u[d]!;
    s += w[d]! ** 2;
  }
  const n = Math.sqrt(s);
  const v = new Float64Array(dims);
  for (let d = 0; d < dims; d++) v[d] = Math.cos(theta) * u[d]! + Math.sin(theta) * (w[d]! / n);
  return [u, v];
}

/**
 * Fraction of (pair, table) events where both vectors get the same bucket term.
 * Every pair gets a freshly seeded hasher, so all N·L events are independent
 * Bernoulli(p) draws (tables are independent given the pair, pairs are
 * independent) and the standard error is exactly √(p(1−p)/(N·L)).
 *
 * `axisPair`: instead of a random pair, always hash the same pair
 * e₁ and cos θ·e₁ + sin θ·e₂. Averaging over random pairs would give 1 − θ/π
 * for *any* hyperplane distribution (the pair supplies the rotation
 * invariance); a fixed, axis-aligned pair only does if the hyperplanes
 * themselves are rotation-invariant (Gaussian) — e.g. uniform-cube planes give
 * 0.856 instead of 0.833 at θ = π/6. Real factor vectors are not isotropic,
 * so this is the property that matters.
 */
function collisionRate(
  theta: number,
  tables: number,
  bits: number,
  pairs: number,
  seed: number,
  axisPair = false,
): number {
  const dims = 24;
  const rng = new Rng(seed);
  let same = 0;
  for (let i = 0; i < pairs; i++) {
    let a: Float64Array;
    let b: Float64Array;
    if (axisPair) {
      a = new Float64Array(dims);
      b = new Float64Array(dims);
      a[0] = 1;
      b[0] = Math.cos(theta);
      b[1] = Math.sin(theta);
    } else {
      [a, b] = pairAtAngle(rng, dims, theta);
    }
    const h = new LshHasher({ tables, bits, dims, seed: seed * 100_003 + i });
    const ta = h.bucketTerms(a);
    const tb = h.bucketTerms(b);
    for (let t = 0; t < tables; t++) if (ta[t] === tb[t]) same++;
  }
  return same / (pairs * tables);
}

// The ~20 statistical checks below share one tolerance of 4 standard errors:
// the two-sided tail beyond 4σ is 6.3e-5 per check, so ≈ 0.1 % for the family —
// a failure means the hash is wrong, not bad luck. (3σ would be 0.27 % each,
// ≈ 5 % for twenty.)
const Z = 4;

const ANGLES = [Math.PI / 8, Math.PI / 6, Math.PI / 3, Math.PI / 2, (2 * Math.PI) / 3];

describe('sign random projections: collision probabilities', () => {
  for (const theta of ANGLES) {
    it(`one bit collides with probability 1 − θ/π at θ = ${(theta / Math.PI).toFixed(3)}π`, () => {
      const pairs = 1500;
      const tables = 64; // 64 one-bit tables = 64 independent hyperplanes per pair
      const p = 1 - theta / Math.PI;
      const se = Math.sqrt((p * (1 - p)) / (pairs * tables)); // ≈ 0.0016 at p = 0.5
      const rate = collisionRate(theta, tables, 1, pairs, 11);
      expect(Math.abs(rate - p)).toBeLessThan(Z * se);
      const rateFixedPair = collisionRate(theta, tables, 1, pairs, 12, true);
      expect(Math.abs(rateFixedPair - p)).toBeLessThan(Z * se);
    });
  }

  for (const theta of ANGLES) {
    it(`a 4-bit table collides with probability (1 − θ/π)^4 at θ = ${(theta / Math.PI).toFixed(3)}π`, () => {
      const pairs = 1500;
      const tables = 32;
      const bits = 4;
      const p = tableCollisionProbability(theta, bits);
      expect(p).toBeCloseTo((1 - theta / Math.PI) ** 4, 12);
      const rate = collisionRate(theta, tables, bits, pairs, 23);
      const se = Math.sqrt((p * (1 - p)) / (pairs * tables));
      expect(Math.abs(rate - p)).toBeLessThan(Z * se);
      // and clearly not the one-bit rate (the b-th power matters)
      if (theta <= Math.PI / 2) expect(rate).toBeLessThan(1 - theta / Math.PI - 0.1);
    });
  }
});

describe('LshHasher: determinism, format, serialisation', () => {
  const params = { tables: 6, bits: 10, dims: 12, seed: 42 };
  const rng = new Rng(5);
  const vecs = Array.from({ length: 50 }, () => Array.from({ length: 12 }, () => rng.gaussian()));

  it('emits L terms "<table>_<bits>" with bit j = sign of projection j', () => {
    const h = new LshHasher(params);
    const v = vecs[0]!;
    const terms = h.bucketTerms(v);
    expect(terms).toHaveLength(6);
    terms.forEach((t, i) => expect(t).toMatch(new RegExp(`^${i}_[01]{10}$`)));
    // recompute bit by bit from the projections
    for (let t = 0; t < 6; t++) {
      let s = '';
      for (let j = 0; j < 10; j++) {
        let dot = 0;
        for (let d = 0; d < 12; d++) dot += h.projections[(t * 10 + j) * 12 + d]! * v[d]!;
        s += dot >= 0 ? '1' : '0';
      }
      expect(terms[t]).toBe(`${t}_${s}`);
    }
    // numeric codes agree with the strings
    const codes = h.bucketCodes(v);
    expect(Array.from(codes, (c, t) => codeToTerm(t, c, 10))).toEqual(terms);
    const flat = Float32Array.from(vecs.flat());
    const batch = h.bucketTermsBatch(flat, vecs.length);
    vecs.forEach((vv, i) => expect(batch[i]).toEqual(h.bucketTerms(Float32Array.from(vv))));
  });

  it('is deterministic in the seed; a different seed gives different planes', () => {
    const a = new LshHasher(params);
    const b = new LshHasher({ ...params });
    const c = new LshHasher({ ...params, seed: 43 });
    expect(b.projections).toEqual(a.projections);
    for (const v of vecs) expect(b.bucketTerms(v)).toEqual(a.bucketTerms(v));
    expect(c.projections).not.toEqual(a.projections);
    const differing = vecs.filter((v) => c.bucketTerms(v).join() !== a.bucketTerms(v).join()).length;
    expect(differing).toBeGreaterThan(40); // 6 tables × 10 bits: nearly every vector differs somewhere
    // projections look like N(0, 1)
    const p = createProjections({ tables: 20, bits: 16, dims: 32, seed: 1 });
    const mean = p.reduce((s, x) => s + x, 0) / p.length;
    const variance = p.reduce((s, x) => s + (x - mean) ** 2, 0) / p.length;
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(p.length));
    expect(Math.abs(variance - 1)).toBeLessThan(4 * Math.sqrt(2 / p.length));
  });

  it('more tables only append tables (prefix property)', () => {
    const p4 = createProjections({ tables: 4, bits: 8, dims: 9, seed: 3 });
    const p9 = createProjections({ tables: 9, bits: 8, dims: 9, seed: 3 });
    expect(p9.subarray(0, p4.length)).toEqual(p4);
  });

  it('round-trips through base64 bit-exactly', () => {
    const h = new LshHasher(params);
    const s = h.serialize();
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    const back = LshHasher.deserialize(JSON.parse(JSON.stringify(s)));
    expect(back.params).toEqual(h.params);
    expect(back.projections).toEqual(h.projections);
    for (const v of vecs) expect(back.bucketTerms(v)).toEqual(h.bucketTerms(v));
    expect(deserializeProjections(serializeProjections(h.projections), params)).toEqual(h.projections);
    expect(() => deserializeProjections(s.projections, { ...params, tables: 5 })).toThrow(RangeError);
  });

  it('rejects wrong dimensions and bad params', () => {
    const h = new LshHasher(params);
    expect(() => h.bucketTerms([1, 2, 3])).toThrow(RangeError);
    expect(() => new LshHasher({ ...params, bits: 0 })).toThrow(RangeError);
    expect(() => new LshHasher({ ...params, tables: 1.5 })).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------- MIPS

/** Items with varying norms (uniform in [lo, hi] × Gaussian direction), flat. */
function itemsWithNorms(rng: Rng, n: number, dims: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n * dims);
  for (let i = 0; i < n; i++) {
    const s = rng.uniform(lo, hi);
    for (let d = 0; d < dims; d++) out[i * dims + d] = rng.gaussian() * s;
  }
  return out;
}

describe('MIPS augmentation (simple LSH)', () => {
  it('maps items onto the unit sphere and preserves inner-product order as cosine', () => {
    const rng = new Rng(9);
    const dims = 8;
    const items = itemsWithNorms(rng, 200, dims, 0.2, 3);
    const M = maxNorm(items, dims);
    const q = Array.from({ length: dims }, () => rng.gaussian());
    const Q = augmentQueryForMips(q);
    expect(Q).toHaveLength(dims + 1);
    expect(Q[dims]).toBe(0);
    expect(vectorNorm(Q)).toBeCloseTo(1, 6);
    for (let i = 0; i < 200; i++) {
      const x = items.subarray(i * dims, (i + 1) * dims);
      const P = augmentItemForMips(x, M);
      expect(vectorNorm(P)).toBeCloseTo(1, 5);
      let ip = 0;
      let cos = 0;
      for (let d = 0; d < dims; d++) ip += q[d]! * x[d]!;
      for (let d = 0; d <= dims; d++) cos += Q[d]! * P[d]!;
      expect(cos).toBeCloseTo(ip / (vectorNorm(q) * M), 5);
    }
    // Bachrach's unnormalised form [x, √(M² − ‖x‖²)] = M · P(x): same signs, same hash
    const h = new LshHasher({ tables: 8, bits: 12, dims: dims + 1, seed: 2 });
    const x = items.subarray(0, dims);
    const P = augmentItemForMips(x, M);
    expect(h.bucketTerms(P.map((v) => v * M))).toEqual(h.bucketTerms(P));
  });

  it('makes collisions grow with the norm at a fixed angle; plain hashing is norm-blind', () => {
    // Query at 60° to two items, one of norm M, one of norm M/4 (the longer
    // one has 4× the inner product). Augmented angles: arccos(0.5) = 60° and
    // arccos(0.125) ≈ 82.8°, so per-bit collision 0.667 vs 0.540. Plain
    // hashing sees 60° for both: 0.667 and 0.667.
    const dims = 16;
    const M = 2;
    const theta = Math.PI / 3;
    const rng = new Rng(77);
    const pairs = 800;
    const planes = 64; // 64 one-bit tables
    let augLong = 0;
    let augShort = 0;
    let plainLong = 0;
    let plainShort = 0;
    for (let i = 0; i < pairs; i++) {
      const [q, dir] = pairAtAngle(rng, dims, theta);
      const long = dir.map((v) => v * M);
      const short = dir.map((v) => (v * M) / 4);
      const ha = new LshHasher({ tables: planes, bits: 1, dims: dims + 1, seed: 1000 + i });
      const hp = new LshHasher({ tables: planes, bits: 1, dims, seed: 5000 + i });
      const tq = ha.bucketTerms(augmentQueryForMips(q));
      const tl = ha.bucketTerms(augmentItemForMips(long, M));
      const ts = ha.bucketTerms(augmentItemForMips(short, M));
      const pq = hp.bucketTerms(q);
      const pl = hp.bucketTerms(long);
      const ps = hp.bucketTerms(short);
      for (let t = 0; t < planes; t++) {
        if (tq[t] === tl[t]) augLong++;
        if (tq[t] === ts[t]) augShort++;
        if (pq[t] === pl[t]) plainLong++;
        if (pq[t] === ps[t]) plainShort++;
      }
    }
    const N = pairs * planes;
    const se = (p: number): number => Math.sqrt((p * (1 - p)) / N);
    const pLong = 1 - theta / Math.PI;
    const pShort = 1 - Math.acos(Math.cos(theta) / 4) / Math.PI;
    expect(Math.abs(augLong / N - pLong)).toBeLessThan(Z * se(pLong));
    expect(Math.abs(augShort / N - pShort)).toBeLessThan(Z * se(pShort));
    expect(augLong / N - augShort / N).toBeGreaterThan(0.1);
    // plain: identical hashes for x and x/4 (sign is scale-free), so no preference
    expect(plainLong).toBe(plainShort);
    expect(Math.abs(plainLong / N - pLong)).toBeLessThan(Z * se(pLong));
  });

  it('finds the true inner-product top-10 at the rate theory predicts, ≥ 0.9 for a generous L·b', () => {
    const rng = new Rng(2024);
    const dims = 16;
    const n = 3000;
    const m = 150;
    const items = itemsWithNorms(rng, n, dims, 0.5, 1.5);
    const queries = new Float32Array(m * dims).map(() => rng.gaussian());
    const M = maxNorm(items, dims);
    const grid = [
      { tables: 8, bits: 6 },
      { tables: 32, bits: 6 },
      { tables: 64, bits: 4 },
    ];
    const { rows } = evaluateLshGrid({
      items,
      queries,
      dims,
      k: 10,
      targetRecall: 0.9,
      mode: 'mips',
      candidates: grid,
      seed: 8,
    });

    // Theory: a true top-10 item x is a candidate with probability
    // 1 − (1 − (1 − θ'/π)^b)^L, θ' = arccos(⟨q,x⟩ / (‖q‖·M)) the augmented angle.
    const predicted = grid.map(() => 0);
    for (let q = 0; q < m; q++) {
      const qv = queries.subarray(q * dims, (q + 1) * dims);
      const scored: [number, number][] = [];
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let d = 0; d < dims; d++) s += qv[d]! * items[i * dims + d]!;
        scored.push([s, i]);
      }
      scored.sort((a, b) => b[0] - a[0]);
      for (const [s] of scored.slice(0, 10)) {
        const th = Math.acos(Math.min(1, s / (vectorNorm(qv) * M)));
        grid.forEach((g, gi) => (predicted[gi]! += candidateProbability(th, g.tables, g.bits) / (10 * m)));
      }
    }
    rows.forEach((row, gi) => {
      // All queries share one set of hyperplanes, so errors are correlated
      // across queries; seed-to-seed spread of this estimate is ≈ 0.02, hence
      // a ±0.06 band rather than a binomial SE.
      expect(Math.abs(row.recall - predicted[gi]!)).toBeLessThan(0.06);
    });
    const generous = rows[2]!;
    expect(generous.recall).toBeGreaterThanOrEqual(0.9);
    expect(generous.candidateFraction).toBeLessThan(1);
    // more tables at the same b can only add candidates
    expect(rows[1]!.recall).toBeGreaterThanOrEqual(rows[0]!.recall);
    expect(rows[1]!.candidateFraction).toBeGreaterThanOrEqual(rows[0]!.candidateFraction);
  });
});

// ---------------------------------------------------------------- tuning

describe('chooseLshParams', () => {
  const rng = new Rng(31);
  const dims = 16;
  const n = 2500;
  const items = itemsWithNorms(rng, n, dims, 0.5, 1.5);
  const queries = Array.from({ length: 100 }, () => Array.from({ length: dims }, () => rng.gaussian()));
  const candidates = [
    { tables: 2, bits: 8 },
    { tables: 8, bits: 8 },
    { tables: 16, bits: 6 },
    { tables: 32, bits: 4 },
    { tables: 64, bits: 4 },
    { tables: 64, bits: 6 },
  ];

  for (const mode of ['mips', 'cosine'] as const) {
    it(`meets the target with the smallest candidate set (${mode})`, () => {
      const choice = chooseLshParams({
        items,
        queries,
        dims,
        k: 10,
        targetRecall: 0.8,
        mode,
        candidates,
        seed: 5,
      });
      expect(choice.meetsTarget).toBe(true);
      expect(choice.chosen.recall).toBeGreaterThanOrEqual(0.8);
      expect(choice.table).toHaveLength(candidates.length);
      const meeting = choice.table.filter((r) => r.recall >= 0.8);
      expect(meeting.every((r) => r.meetsTarget)).toBe(true);
      expect(choice.chosen.candidateFraction).toBe(Math.min(...meeting.map((r) => r.candidateFraction)));
      expect(choice.chosen.candidateFraction).toBeLessThan(0.9);
      expect(choice.params).toEqual({
        tables: choice.chosen.tables,
        bits: choice.chosen.bits,
        dims: mode === 'mips' ? dims + 1 : dims,
        seed: 5,
      });
      if (mode === 'mips') expect(choice.maxNorm).toBeCloseTo(maxNorm(items, dims), 6);

      // Independent re-computation with the public hasher and bucket terms.
      const h = new LshHasher(choice.params);
      const M = maxNorm(items, dims);
      const itemTerms: Set<string>[] = [];
      const unit = (v: ArrayLike<number>): number[] => Array.from(v, (x) => x / vectorNorm(v));
      for (let i = 0; i < n; i++) {
        const x = items.subarray(i * dims, (i + 1) * dims);
        itemTerms.push(
          new Set(h.bucketTerms(mode === 'mips' ? augmentItemForMips(x, M) : Float32Array.from(unit(x)))),
        );
      }
      let recall = 0;
      let cands = 0;
      for (const q of queries) {
        const qTerms = h.bucketTerms(mode === 'mips' ? augmentQueryForMips(q) : Float32Array.from(unit(q)));
        const scored: [number, number][] = [];
        for (let i = 0; i < n; i++) {
          const x = items.subarray(i * dims, (i + 1) * dims);
          let s = 0;
          for (let d = 0; d < dims; d++) s += q[d]! * x[d]!;
          scored.push([mode === 'mips' ? s : s / vectorNorm(x), i]);
        }
        const isCand = (i: number): boolean => qTerms.some((t) => itemTerms[i]!.has(t));
        // exact top-10 inside the candidate set vs the true top-10
        const truth = new Set(
          scored
            .slice()
            .sort((a, b) => b[0] - a[0])
            .slice(0, 10)
            .map(([, i]) => i),
        );
        const inCands = scored.filter(([, i]) => isCand(i));
        const found = inCands
          .sort((a, b) => b[0] - a[0])
          .slice(0, 10)
          .filter(([, i]) => truth.has(i)).length;
        recall += found / 10 / queries.length;
        cands += inCands.length / queries.length;
      }
      expect(choice.chosen.recall).toBeCloseTo(recall, 2);
      expect(choice.chosen.meanCandidates).toBeCloseTo(cands, 0);
    });
  }

  it('returns the best-recall setting when nothing meets the target', () => {
    const choice = chooseLshParams({
      items,
      queries,
      dims,
      k: 10,
      targetRecall: 1.01,
      mode: 'mips',
      candidates: candidates.slice(0, 3),
      seed: 5,
    });
    expect(choice.meetsTarget).toBe(false);
    expect(choice.chosen.recall).toBe(Math.max(...choice.table.map((r) => r.recall)));
  });

  it('treats cosine as angle only: scaling an item does not change its hash or the result', () => {
    const scaled = items.map((v, i) => v * (1 + (Math.floor(i / dims) % 5)));
    const a = chooseLshParams({
      items,
      queries,
      dims,
      k: 10,
      targetRecall: 0.8,
      mode: 'cosine',
      candidates,
      seed: 5,
    });
    const b = chooseLshParams({
      items: scaled,
      queries,
      dims,
      k: 10,
      targetRecall: 0.8,
      mode: 'cosine',
      candidates,
      seed: 5,
    });
    expect(b.table.map((r) => r.recall)).toEqual(a.table.map((r) => r.recall));
  });
});

describe('chooseLshParams with a candidate cap', () => {
  it('never picks a setting whose candidate set exceeds the cap when one below it exists', async () => {
    const { chooseLshParams } = await import('../../src/lsh/index.ts');
    let s = 7;
    const rnd = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const dims = 16;
    const items = Float32Array.from({ length: 2000 * dims }, rnd);
    const queries = Float32Array.from({ length: 50 * dims }, rnd);
    const uncapped = chooseLshParams({
      items,
      queries,
      dims,
      k: 10,
      targetRecall: 0.99,
      mode: 'cosine',
      seed: 1,
    });
    const capped = chooseLshParams({
      items,
      queries,
      dims,
      k: 10,
      targetRecall: 0.99,
      mode: 'cosine',
      seed: 1,
      maxCandidateFraction: 0.1,
    });
    expect(uncapped.chosen.candidateFraction).toBeGreaterThan(0.1);
    expect(capped.chosen.candidateFraction).toBeLessThanOrEqual(0.1);
    expect(capped.chosen.recall).toBe(
      Math.max(...capped.table.filter((r) => r.candidateFraction <= 0.1).map((r) => r.recall)),
    );
  });
});
