/**
 * The per-thread ALS engine: all training state (both CSR orientations, both factor matrices, the
 * k × k system matrix of the current sweep and per-thread scratch) lives in one shared
 * WebAssembly memory, so the SIMD kernels (kernels.wat, loaded by wasm.ts) read it directly and worker threads
 * share it without copies. JS orchestrates each row solve; the O(nnz·k) and O(nnz·k²) loops run
 * in wasm.
 *
 * Factor rows are padded to kp = ⌈k/8⌉·8 floats. Padding columns start at 0 and stay exactly 0:
 * the system matrix has 1 on the padded diagonal and 0 elsewhere in the padded rows/columns.
 */
import type { AlsSolver } from '../types/index.ts';
import { choleskySolveInPlace } from './kernels.ts';
import { createSharedMemory, instantiateKernels, type WasmKernels, type WasmMemory } from './wasm.ts';

export interface AlsLayout {
  k: number;
  kp: number;
  rowBytes: number;
  nUsers: number;
  nItems: number;
  nnz: number;
  /** byte offsets */
  X: number;
  Y: number;
  userIndptr: number;
  userIdx: number;
  userW: number;
  itemIndptr: number;
  itemIdx: number;
  itemW: number;
  /** kp × kp f32: YᵀY (+ λI for solves) of the current sweep, written by the main thread */
  M: number;
  /** 0, 1, 2, … and 1, 1, 1, … (max(nUsers, nItems) each): lets syrk compute a full Gram matrix */
  ident: number;
  ones: number;
  scratch: number;
  scratchBytes: number;
  slots: number;
  totalBytes: number;
}

// byte offsets reach past 2³¹ in a memory of up to 4 GiB: no signed 32-bit arithmetic on them
const align16 = (n: number): number => Math.ceil(n / 16) * 16;

export function planLayout(k: number, nUsers: number, nItems: number, nnz: number, slots: number): AlsLayout {
  const kp = (k + 7) & ~7;
  const rowBytes = kp * 4;
  let off = 16; // keep 0 free so a null pointer is never valid data
  const take = (bytes: number): number => {
    const at = off;
    off = align16(off + bytes);
    return at;
  };
  const X = take(nUsers * rowBytes);
  const Y = take(nItems * rowBytes);
  const userIndptr = take((nUsers + 1) * 4);
  const userIdx = take(nnz * 4);
  const userW = take(nnz * 4);
  const itemIndptr = take((nItems + 1) * 4);
  const itemIdx = take(nnz * 4);
  const itemW = take(nnz * 4);
  const M = take(kp * rowBytes);
  const nMax = Math.max(nUsers, nItems);
  const ident = take(nMax * 4);
  const ones = take(nMax * 4);
  // r, p, Ap, b vectors (+1 spare), A (kp × kp f32), A64 (kp × kp f64)
  const scratchBytes = align16(5 * rowBytes + kp * rowBytes + kp * kp * 8);
  const scratch = take(scratchBytes * slots);
  return {
    k,
    kp,
    rowBytes,
    nUsers,
    nItems,
    nnz,
    X,
    Y,
    userIndptr,
    userIdx,
    userW,
    itemIndptr,
    itemIdx,
    itemW,
    M,
    ident,
    ones,
    scratch,
    scratchBytes,
    slots,
    totalBytes: off,
  };
}

/** The CSR arrays the engine needs from one orientation. */
interface Csr {
  indptr: Int32Array;
  indices: Int32Array;
  data: Float32Array;
}

/**
 * Allocates the shared memory for a training run, copies the user orientation into it and builds
 * the item orientation (the transpose) in place, storing w = c − 1 = α·r per non-zero: no
 * JavaScript-side copy of the transpose, so a fit holds the caller's matrix plus this memory.
 * Factors are left at 0.
 */
export function createAlsMemory(
  users: Csr,
  nUsers: number,
  nItems: number,
  k: number,
  alpha: number,
  slots: number,
): { memory: WasmMemory; layout: AlsLayout } {
  const nnz = users.indptr[nUsers]!;
  const layout = planLayout(k, nUsers, nItems, nnz, slots);
  const memory = createSharedMemory(layout.totalBytes);
  const f32 = new Float32Array(memory.buffer);
  const i32 = new Int32Array(memory.buffer);
  i32.set(users.indptr.subarray(0, nUsers + 1), layout.userIndptr >>> 2);
  i32.set(users.indices.subarray(0, nnz), layout.userIdx >>> 2);
  const uw = layout.userW >>> 2;
  for (let j = 0; j < nnz; j++) f32[uw + j] = alpha * users.data[j]!;
  // the transpose: count per item, prefix sums, then rows in order (so each item's users ascend)
  const ip = layout.itemIndptr >>> 2;
  for (let j = 0; j < nnz; j++) i32[ip + users.indices[j]! + 1]!++;
  for (let i = 0; i < nItems; i++) i32[ip + i + 1]! += i32[ip + i]!;
  const pos = i32.slice(ip, ip + nItems);
  const ii = layout.itemIdx >>> 2;
  const iw = layout.itemW >>> 2;
  for (let u = 0; u < nUsers; u++) {
    for (let j = users.indptr[u]!; j < users.indptr[u + 1]!; j++) {
      const p = pos[users.indices[j]!]!++;
      i32[ii + p] = u;
      f32[iw + p] = alpha * users.data[j]!;
    }
  }
  const n = Math.max(nUsers, nItems);
  for (let j = 0, id = layout.ident >>> 2, oi = layout.ones >>> 2; j < n; j++) {
    i32[id + j] = j;
    f32[oi + j] = 1;
  }
  return { memory, layout };
}

export class AlsEngine {
  readonly f32: Float32Array;
  readonly i32: Int32Array;
  private readonly kern: WasmKernels;
  private readonly L: AlsLayout;
  /** byte offsets of this slot's scratch vectors */
  private readonly r: number;
  private readonly p: number;
  private readonly ap: number;
  private readonly b: number;
  private readonly A: number;
  private readonly A64: Float64Array;
  private readonly A64ptr: number;
  private readonly b64: Float64Array;

  /** Views of the (padded, row stride kp) factor matrices. */
  get X(): Float32Array {
    return this.f32.subarray(this.L.X >>> 2, (this.L.X >>> 2) + this.L.nUsers * this.L.kp);
  }

  get Y(): Float32Array {
    return this.f32.subarray(this.L.Y >>> 2, (this.L.Y >>> 2) + this.L.nItems * this.L.kp);
  }

  constructor(memory: WasmMemory, layout: AlsLayout, slot: number) {
    this.L = layout;
    this.f32 = new Float32Array(memory.buffer);
    this.i32 = new Int32Array(memory.buffer);
    this.kern = instantiateKernels(memory);
    const base = layout.scratch + slot * layout.scratchBytes;
    const rb = layout.rowBytes;
    this.r = base;
    this.p = base + rb;
    this.ap = base + 2 * rb;
    this.b = base + 3 * rb;
    this.A = base + 5 * rb;
    this.A64ptr = this.A + layout.kp * rb;
    this.A64 = new Float64Array(memory.buffer, this.A64ptr, layout.kp * layout.kp);
    this.b64 = new Float64Array(layout.kp);
  }

  /**
   * M = FᵀF for F = the user (X) or item (Y) factors, accumulated in f32 by the SIMD syrk kernel;
   * with `reg` given, + reg on the real diagonal and 1 on the padded diagonal (for solves).
   */
  writeGram(from: 'X' | 'Y', reg: number | null): void {
    const L = this.L;
    const { kp, k, M } = L;
    const f = this.f32;
    const Mi = M >>> 2;
    f.fill(0, Mi, Mi + kp * kp);
    const rows = from === 'X' ? L.nUsers : L.nItems;
    this.kern.syrk(rows, kp, L.rowBytes, from === 'X' ? L.X : L.Y, L.ident, L.ones, M);
    for (let a = 0; a < kp; a++) for (let c = 0; c < a; c++) f[Mi + c * kp + a] = f[Mi + a * kp + c]!;
    if (reg !== null) for (let a = 0; a < kp; a++) f[Mi + a * kp + a] = a < k ? f[Mi + a * kp + a]! + reg : 1;
  }

  /** Solves rows [start, end) of the users (X from Y) or items (Y from X), using M from the main thread. */
  solveRows(side: 'users' | 'items', solver: AlsSolver, cgSteps: number, start: number, end: number): void {
    const L = this.L;
    const users = side === 'users';
    const X = users ? L.X : L.Y;
    const Y = users ? L.Y : L.X;
    const indptr = (users ? L.userIndptr : L.itemIndptr) >>> 2;
    const idx = users ? L.userIdx : L.itemIdx;
    const w = users ? L.userW : L.itemW;
    for (let u = start; u < end; u++) {
      const from = this.i32[indptr + u]!;
      const n = this.i32[indptr + u + 1]! - from;
      const x = X + u * L.rowBytes;
      if (solver === 'cg') this.cgRow(n, Y, idx + 4 * from, w + 4 * from, x, cgSteps);
      else this.choleskyRow(n, Y, idx + 4 * from, w + 4 * from, x);
    }
  }

  /** implicit's least_squares_cg for one row, in place on x (byte offset of the row). */
  private cgRow(n: number, Y: number, idx: number, w: number, x: number, cgSteps: number): void {
    const { kp, rowBytes, M } = this.L;
    const f = this.f32;
    const kern = this.kern;
    const xi = x >>> 2;
    const ri = this.r >>> 2;
    const pi = this.p >>> 2;
    const ai = this.ap >>> 2;
    // r = b − A x = −(YᵀY + λI)x + Σ (c − (c − 1) y·x) y,  with w = c − 1
    kern.symv(kp, rowBytes, M, x, this.r);
    for (let a = 0; a < kp; a++) f[ri + a] = -f[ri + a]!;
    kern.wsum(n, rowBytes, Y, idx, w, x, this.r, 1, 1, -1);
    let rsold = 0;
    for (let a = 0; a < kp; a++) {
      const v = f[ri + a]!;
      f[pi + a] = v;
      rsold += v * v;
    }
    if (rsold < 1e-20) return;
    for (let step = 0; step < cgSteps; step++) {
      // Ap = (YᵀY + λI)p + Σ (c − 1)(y·p) y
      kern.symv(kp, rowBytes, M, this.p, this.ap);
      kern.wsum(n, rowBytes, Y, idx, w, this.p, this.ap, 0, 0, 1);
      let pAp = 0;
      for (let a = 0; a < kp; a++) pAp += f[pi + a]! * f[ai + a]!;
      if (!(pAp > 0)) break;
      const alpha = rsold / pAp;
      let rsnew = 0;
      for (let a = 0; a < kp; a++) {
        f[xi + a]! += alpha * f[pi + a]!;
        const rv = f[ri + a]! - alpha * f[ai + a]!;
        f[ri + a] = rv;
        rsnew += rv * rv;
      }
      if (rsnew < 1e-20) break;
      const beta = rsnew / rsold;
      for (let a = 0; a < kp; a++) f[pi + a] = f[ri + a]! + beta * f[pi + a]!;
      rsold = rsnew;
    }
  }

  /** Exact solve of (YᵀY + λI + Yᵀ(C_u − I)Y) x = YᵀC_u p(u) for one row. */
  private choleskyRow(n: number, Y: number, idx: number, w: number, x: number): void {
    const { kp, rowBytes, M } = this.L;
    const f = this.f32;
    const xi = x >>> 2;
    if (n === 0) {
      f.fill(0, xi, xi + kp);
      return;
    }
    const Ai = this.A >>> 2;
    const bi = this.b >>> 2;
    const Mi = M >>> 2;
    f.fill(0, Ai, Ai + kp * kp);
    f.fill(0, bi, bi + kp);
    this.kern.syrk(n, kp, rowBytes, Y, idx, w, this.A);
    this.kern.wsum(n, rowBytes, Y, idx, w, 0, this.b, 1, 1, 0);
    const A64 = this.A64;
    const b64 = this.b64;
    for (let a = 0; a < kp; a++) {
      const ra = a * kp;
      for (let c = 0; c <= a; c++) A64[ra + c] = f[Mi + ra + c]! + f[Ai + ra + c]!;
      b64[a] = f[bi + a]!;
    }
    if (this.kern.cholesky(this.A64ptr, kp) !== 1)
      throw new Error('ALS: system matrix is not positive definite (regularization 0?)');
    choleskySolveInPlace(A64, kp, b64);
    for (let a = 0; a < kp; a++) f[xi + a] = b64[a]!;
  }

  /**
   * Weighted loss over users [start, end) without the item regulariser, with M = YᵀY:
   * Σ_u xᵀMx + Σ_{i∈u} [(c − 1)s² − 2cs + c], s = xᵀy_i; plus Σ‖x_u‖².
   */
  lossRows(start: number, end: number): { data: number; norm: number } {
    const { kp, rowBytes, M, X, Y, userIdx, userW } = this.L;
    const f = this.f32;
    const i32 = this.i32;
    const ip = this.L.userIndptr >>> 2;
    const ri = this.r >>> 2;
    let loss = 0;
    let norm = 0;
    for (let u = start; u < end; u++) {
      const x = X + u * rowBytes;
      const xi = x >>> 2;
      this.kern.symv(kp, rowBytes, M, x, this.r);
      for (let a = 0; a < kp; a++) {
        const v = f[xi + a]!;
        loss += v * f[ri + a]!;
        norm += v * v;
      }
      const from = i32[ip + u]!;
      loss += this.kern.loss(i32[ip + u + 1]! - from, rowBytes, Y, userIdx + 4 * from, userW + 4 * from, x);
    }
    return { data: loss, norm };
  }
}
