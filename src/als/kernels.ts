/**
 * Plain-JS float64 numeric kernels for implicit ALS (Hu, Koren & Volinsky 2008): the exact
 * single-row solve used by fold-in, Cholesky, Gram matrices and the loss. Training itself runs
 * the float32 WebAssembly SIMD kernels (kernels.wat, driven by engine.ts); these are also their reference
 * in the tests. Factor matrices are row-major Float32Array (rows × k).
 *
 * Objective: Σ_u Σ_i c_ui (p_ui − x_uᵀ y_i)² + λ (Σ‖x_u‖² + Σ‖y_i‖²), with p_ui = 1 and
 * c_ui = 1 + α·r_ui on the non-zeros, p_ui = 0 and c_ui = 1 elsewhere.
 */

/** The CSR arrays a kernel needs (rows are the side being solved). */
export interface CsrArrays {
  indptr: Int32Array;
  indices: Int32Array;
  data: Float32Array;
}

/** Per-thread scratch, sized for the longest row. */
export interface Scratch {
  k: number;
  maxNnz: number;
  /** k × k system matrix (row-major; the lower triangle holds L after factorisation) */
  A: Float64Array;
  b: Float64Array;
  x: Float64Array;
  Ap: Float64Array;
  /** gathered factors of the row's non-zeros, column-major (k × nnz) */
  G: Float64Array;
  /** the same, each column scaled by (c − 1) */
  WG: Float64Array;
}

export function createScratch(k: number, maxNnz: number): Scratch {
  const m = Math.max(1, maxNnz);
  return {
    k,
    maxNnz: m,
    A: new Float64Array(k * k),
    b: new Float64Array(k),
    x: new Float64Array(k),
    Ap: new Float64Array(k),
    G: new Float64Array(k * m),
    WG: new Float64Array(k * m),
  };
}

/** Longest row of a CSR matrix. */
export function maxRowNnz(indptr: Int32Array): number {
  let m = 0;
  for (let r = 0; r + 1 < indptr.length; r++) {
    const n = indptr[r + 1]! - indptr[r]!;
    if (n > m) m = n;
  }
  return m;
}

/**
 * Gram matrix FᵀF (k × k, full symmetric, Float64) of a row-major rows × k factor matrix.
 */
export function gramian(factors: Float32Array, k: number, out?: Float64Array): Float64Array {
  const G = out ?? new Float64Array(k * k);
  G.fill(0);
  const rows = Math.floor(factors.length / k);
  for (let i = 0; i < rows; i++) {
    const o = i * k;
    for (let a = 0; a < k; a++) {
      const va = factors[o + a]!;
      if (va === 0) continue;
      const ra = a * k;
      for (let c = 0; c <= a; c++) G[ra + c]! += va * factors[o + c]!;
    }
  }
  for (let a = 0; a < k; a++) for (let c = 0; c < a; c++) G[c * k + a] = G[a * k + c]!;
  return G;
}

/**
 * In-place Cholesky factorisation A = L Lᵀ of a symmetric positive-definite n × n row-major
 * matrix. Only the lower triangle is read; L overwrites it. Returns false if A is not
 * (numerically) positive definite.
 */
export function choleskyInPlace(A: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    const j4 = j & ~3;
    let s = A[rj + j]!;
    for (let p = 0; p < j; p++) {
      const l = A[rj + p]!;
      s -= l * l;
    }
    if (!(s > 0)) return false;
    const d = Math.sqrt(s);
    A[rj + j] = d;
    const inv = 1 / d;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      // t = A[i][j] − Σ_{p<j} A[i][p]·A[j][p], four independent partial sums
      let t0 = A[ri + j]!;
      let t1 = 0;
      let t2 = 0;
      let t3 = 0;
      let p = 0;
      for (; p < j4; p += 4) {
        t0 -= A[ri + p]! * A[rj + p]!;
        t1 -= A[ri + p + 1]! * A[rj + p + 1]!;
        t2 -= A[ri + p + 2]! * A[rj + p + 2]!;
        t3 -= A[ri + p + 3]! * A[rj + p + 3]!;
      }
      for (; p < j; p++) t0 -= A[ri + p]! * A[rj + p]!;
      A[ri + j] = (t0 + t1 + t2 + t3) * inv;
    }
  }
  return true;
}

/** Solves L Lᵀ x = b given the factor from choleskyInPlace; b is overwritten with x. */
export function choleskySolveInPlace(L: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i]!;
    for (let p = 0; p < i; p++) s -= L[ri + p]! * b[p]!;
    b[i] = s / L[ri + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let p = i + 1; p < n; p++) s -= L[p * n + i]! * b[p]!;
    b[i] = s / L[i * n + i]!;
  }
}

/**
 * Exact ALS row solve: x = (YᵀY + λI + Yᵀ(C_u − I)Y)⁻¹ Yᵀ C_u p(u).
 * `cols`/`vals` give the row's non-zeros in [from, to). Result in s.b.
 */
function solveOneCholesky(
  cols: Int32Array,
  vals: Float32Array,
  from: number,
  to: number,
  Y: Float32Array,
  YtY: Float64Array,
  k: number,
  reg: number,
  alpha: number,
  s: Scratch,
): void {
  const { A, b, G, WG } = s;
  const n = to - from;
  b.fill(0);
  if (n === 0) return; // no interactions: x = 0 minimises λ‖x‖² + xᵀYᵀYx
  A.set(YtY);
  for (let a = 0; a < k; a++) A[a * k + a]! += reg;

  // gather y_i (column-major, stride n) and (c − 1)·y_i; accumulate b = Σ c·y_i
  for (let j = 0; j < n; j++) {
    const idx = from + j;
    const w = alpha * vals[idx]!; // c − 1
    const c = 1 + w;
    const yo = cols[idx]! * k;
    for (let a = 0; a < k; a++) {
      const v = Y[yo + a]!;
      G[a * n + j] = v;
      WG[a * n + j] = w * v;
      b[a]! += c * v;
    }
  }

  // lower triangle of A += Σ_j (c_j − 1) y_j y_jᵀ, 2 × 2 register blocks of dot products
  const kEven = k & ~1;
  for (let a = 0; a < kEven; a += 2) {
    const wa0 = a * n;
    const wa1 = wa0 + n;
    const ra0 = a * k;
    const ra1 = ra0 + k;
    for (let c = 0; c <= a; c += 2) {
      const g0 = c * n;
      const g1 = g0 + n;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let j = 0; j < n; j++) {
        const x0 = WG[wa0 + j]!;
        const x1 = WG[wa1 + j]!;
        const y0 = G[g0 + j]!;
        const y1 = G[g1 + j]!;
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      A[ra0 + c]! += s00;
      A[ra0 + c + 1]! += s01; // upper when c === a: harmless, never read
      A[ra1 + c]! += s10;
      A[ra1 + c + 1]! += s11;
    }
  }
  if (kEven !== k) {
    const a = k - 1;
    const wa = a * n;
    const ra = a * k;
    for (let c = 0; c <= a; c++) {
      const g = c * n;
      let sum = 0;
      for (let j = 0; j < n; j++) sum += WG[wa + j]! * G[g + j]!;
      A[ra + c]! += sum;
    }
  }

  if (!choleskyInPlace(A, k))
    throw new Error('ALS: system matrix is not positive definite (regularization 0?)');
  choleskySolveInPlace(A, k, b);
}

/** (YᵀY + λI)·v into out. */
function symv(YtY: Float64Array, reg: number, k: number, v: Float64Array, out: Float64Array): void {
  const k4 = k & ~3;
  for (let a = 0; a < k; a++) {
    const ra = a * k;
    let s0 = reg * v[a]!;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let c = 0;
    for (; c < k4; c += 4) {
      s0 += YtY[ra + c]! * v[c]!;
      s1 += YtY[ra + c + 1]! * v[c + 1]!;
      s2 += YtY[ra + c + 2]! * v[c + 2]!;
      s3 += YtY[ra + c + 3]! * v[c + 3]!;
    }
    for (; c < k; c++) s0 += YtY[ra + c]! * v[c]!;
    out[a] = s0 + s1 + s2 + s3;
  }
}

export interface LossParts {
  /** Σ_u Σ_i c_ui (p_ui − x_uᵀy_i)² over rows [start, end) */
  data: number;
  /** Σ ‖x_u‖² over rows [start, end) */
  norm: number;
}

/**
 * Weighted loss of rows [start, end) without the item regulariser, via the YᵀY trick:
 * Σ_i c (p − s)² = xᵀYᵀYx + Σ_{i∈u} [(c − 1)s² − 2cs + c], s = xᵀy_i.
 */
export function lossRows(
  csr: CsrArrays,
  X: Float32Array,
  Y: Float32Array,
  YtY: Float64Array,
  k: number,
  alpha: number,
  start: number,
  end: number,
  s: Scratch,
): LossParts {
  const { indptr, indices, data } = csr;
  const { x, Ap } = s;
  let loss = 0;
  let norm = 0;
  for (let u = start; u < end; u++) {
    const xo = u * k;
    for (let a = 0; a < k; a++) x[a] = X[xo + a]!;
    symv(YtY, 0, k, x, Ap);
    let q = 0;
    for (let a = 0; a < k; a++) {
      q += x[a]! * Ap[a]!;
      norm += x[a]! * x[a]!;
    }
    loss += q;
    for (let j = indptr[u]!; j < indptr[u + 1]!; j++) {
      const c = 1 + alpha * data[j]!;
      const yo = indices[j]! * k;
      let dot = 0;
      for (let a = 0; a < k; a++) dot += Y[yo + a]! * x[a]!;
      loss += (c - 1) * dot * dot - 2 * c * dot + c;
    }
  }
  return { data: loss, norm };
}

/** Σ ‖row‖² of a factor matrix. */
export function sumSquares(F: Float32Array): number {
  let s = 0;
  for (let i = 0; i < F.length; i++) s += F[i]! * F[i]!;
  return s;
}

/** Exact solve for a single row given explicit (indices, ratings); result written to `out`. */
export function solveSingleRow(
  itemIndices: Int32Array,
  ratings: Float32Array,
  Y: Float32Array,
  YtY: Float64Array,
  k: number,
  reg: number,
  alpha: number,
  out: Float32Array,
  s: Scratch = createScratch(k, itemIndices.length),
): Float32Array {
  solveOneCholesky(itemIndices, ratings, 0, itemIndices.length, Y, YtY, k, reg, alpha, s);
  for (let a = 0; a < k; a++) out[a] = s.b[a]!;
  return out;
}
