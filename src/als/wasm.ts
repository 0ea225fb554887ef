/**
 * Hand-assembled WebAssembly SIMD (128-bit, f32x4) kernels for the ALS inner loops, and for one
 * query against many rows (row-scorer.ts: the norm probe's scan, the deploy's exact top k). V8
 * runs scalar JS loops at ≈ 1 GFLOP/s; these run the same loops ≈ 8–10× faster. No toolchain is
 * needed: the module bytes are produced by the small assembler below at load time.
 *
 * All pointers are byte offsets into the imported memory `env.mem` (which may be shared between
 * worker threads). Factor rows have `rowBytes` = 4·kp bytes with kp a multiple of 8, so every
 * row is a whole number of pairs of 16-byte vectors.
 */

const I32 = 0x7f;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  while (true) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const name = (s: string): number[] => vec([...new TextEncoder().encode(s)].map((b) => [b]));

/** Instruction emitters (each returns its bytes). */
const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i32: (v: number) => [0x41, ...sleb(v)],
  f32: (v: number) => [0x43, ...new Uint8Array(Float32Array.of(v).buffer)],
  add: [0x6a],
  mul: [0x6c],
  and: [0x71],
  shl: [0x74],
  geS: [0x4e],
  f32ne: [0x5c],
  f32add: [0x92],
  f32mul: [0x94],
  f64: (v: number) => [0x44, ...new Uint8Array(Float64Array.of(v).buffer)],
  f64add: [0xa0],
  f64sub: [0xa1],
  f64mul: [0xa2],
  f64promote: [0xbb],
  f64load: [0x2b, 3, 0],
  f64store: [0x39, 3, 0],
  f64sqrt: [0x9f],
  f64div: [0xa3],
  f64gt: [0x64],
  eqz: [0x45],
  ret: [0x0f],
  call: (f: number) => [0x10, ...uleb(f)],
  vloadAt: (offset: number) => [0xfd, 0x00, 4, ...uleb(offset)],
  d2add: [0xfd, 0xf0, 0x01],
  d2mul: [0xfd, 0xf2, 0x01],
  d2lane: (l: number) => [0xfd, 0x21, l],
  i32load: [0x28, 2, 0],
  f32load: [0x2a, 2, 0],
  f32store: [0x38, 2, 0],
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if_: [0x04, 0x40],
  end: [0x0b],
  br: (d: number) => [0x0c, d],
  brIf: (d: number) => [0x0d, d],
  vload: [0xfd, 0x00, 4, 0],
  vstore: [0xfd, 0x0b, 4, 0],
  vzero: [0xfd, 0x0c, ...new Array<number>(16).fill(0)],
  splat: [0xfd, 0x13],
  lane: (l: number) => [0xfd, 0x1f, l],
  vadd: [0xfd, 0xe4, 0x01],
  vmul: [0xfd, 0xe6, 0x01],
};

/** `for (i = from; i < limit; i += step) { body }` with i32 locals; from/limit are i32 expressions. */
function forLoop(
  i: number,
  limit: number[],
  step: number,
  body: number[],
  from: number[] = op.i32(0),
): number[] {
  return [
    ...from,
    ...op.set(i),
    ...op.block,
    ...op.loop,
    ...op.get(i),
    ...limit,
    ...op.geS,
    ...op.brIf(1),
    ...body,
    ...op.get(i),
    ...op.i32(step),
    ...op.add,
    ...op.set(i),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];
}

/** mem[base + e + at] (v128) += scale · mem[src + e + at] */
function vAxpy(base: number[], src: number[], scale: number[], e: number, at = 0): number[] {
  return [
    ...base,
    ...op.get(e),
    ...op.add,
    ...base,
    ...op.get(e),
    ...op.add,
    ...op.vloadAt(at),
    ...scale,
    ...src,
    ...op.get(e),
    ...op.add,
    ...op.vloadAt(at),
    ...op.vmul,
    ...op.vadd,
    ...[0xfd, 0x0b, 4, ...uleb(at)], // v128.store offset=at
  ];
}

/** acc += mem[pa + e + at] · mem[pb + e + at] (f32x4) */
function vDot(acc: number, pa: number, pb: number, e: number, at = 0): number[] {
  return [
    ...op.get(acc),
    ...op.get(pa),
    ...op.get(e),
    ...op.add,
    ...op.vloadAt(at),
    ...op.get(pb),
    ...op.get(e),
    ...op.add,
    ...op.vloadAt(at),
    ...op.vmul,
    ...op.vadd,
    ...op.set(acc),
  ];
}

/**
 * Σ mem[row + e]·mem[v + e] over e < rowBytes (f32), left on the stack: two f32x4 accumulators
 * over 32-byte steps, added, then the lanes in order.
 */
function rowDot(acc: number, acc2: number, row: number, v: number, e: number, rowBytes: number): number[] {
  return [
    ...op.vzero,
    ...op.set(acc),
    ...op.vzero,
    ...op.set(acc2),
    ...forLoop(e, op.get(rowBytes), 32, [...vDot(acc, row, v, e), ...vDot(acc2, row, v, e, 16)]),
    ...op.get(acc),
    ...op.get(acc2),
    ...op.vadd,
    ...op.set(acc),
    ...op.get(acc),
    ...op.lane(0),
    ...op.get(acc),
    ...op.lane(1),
    ...op.f32add,
    ...op.get(acc),
    ...op.lane(2),
    ...op.f32add,
    ...op.get(acc),
    ...op.lane(3),
    ...op.f32add,
  ];
}

interface Fn {
  name: string;
  params: number[];
  results?: number[];
  locals: number[];
  body: number[];
}

// wsum(n, rowBytes, Y, idx, w, v, out, a0, b0, g0):
//   for j < n: y = Y + idx[j]·rowBytes; c = a0 + b0·w[j] + (g0 ≠ 0 ? g0·w[j]·(y·v) : 0); out += c·y
const wsum: Fn = (() => {
  const [n, rowBytes, Y, idx, w, v, out, a0, b0, g0] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [j, e, row, acc, c, wj, acc2] = [10, 11, 12, 13, 14, 15, 16];
  const body = forLoop(j, op.get(n), 1, [
    ...op.get(Y),
    ...op.get(idx),
    ...op.get(j),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.i32load,
    ...op.get(rowBytes),
    ...op.mul,
    ...op.add,
    ...op.set(row),
    ...op.get(w),
    ...op.get(j),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.f32load,
    ...op.set(wj),
    ...op.get(a0),
    ...op.get(b0),
    ...op.get(wj),
    ...op.f32mul,
    ...op.f32add,
    ...op.set(c),
    ...op.get(g0),
    ...op.f32(0),
    ...op.f32ne,
    ...op.if_,
    ...op.get(c),
    ...op.get(g0),
    ...op.get(wj),
    ...op.f32mul,
    ...rowDot(acc, acc2, row, v, e, rowBytes),
    ...op.f32mul,
    ...op.f32add,
    ...op.set(c),
    ...op.end,
    ...op.get(c),
    ...op.splat,
    ...op.set(acc),
    ...forLoop(e, op.get(rowBytes), 32, [
      ...vAxpy(op.get(out), op.get(row), op.get(acc), e),
      ...vAxpy(op.get(out), op.get(row), op.get(acc), e, 16),
    ]),
  ]);
  return {
    name: 'wsum',
    params: [I32, I32, I32, I32, I32, I32, I32, F32, F32, F32],
    locals: [I32, I32, I32, V128, F32, F32, V128],
    body,
  };
})();

// symv(n, rowBytes, M, v, out): out = Σ_{a<n} v[a]·M_a   (= M·v for symmetric M)
const symv: Fn = (() => {
  const [n, rowBytes, M, v, out] = [0, 1, 2, 3, 4];
  const [a, e, s, rowp] = [5, 6, 7, 8];
  const body = [
    ...forLoop(e, op.get(rowBytes), 16, [...op.get(out), ...op.get(e), ...op.add, ...op.vzero, ...op.vstore]),
    ...forLoop(a, op.get(n), 1, [
      ...op.get(v),
      ...op.get(a),
      ...op.i32(2),
      ...op.shl,
      ...op.add,
      ...op.f32load,
      ...op.splat,
      ...op.set(s),
      ...op.get(M),
      ...op.get(a),
      ...op.get(rowBytes),
      ...op.mul,
      ...op.add,
      ...op.set(rowp),
      ...forLoop(e, op.get(rowBytes), 32, [
        ...vAxpy(op.get(out), op.get(rowp), op.get(s), e),
        ...vAxpy(op.get(out), op.get(rowp), op.get(s), e, 16),
      ]),
    ]),
  ];
  return { name: 'symv', params: [I32, I32, I32, I32, I32], locals: [I32, I32, V128, I32], body };
})();

// syrk(n, kp, rowBytes, Y, idx, w, A): A += Σ_j w[j]·y_j y_jᵀ on the lower triangle, rounded up to
// whole vectors (row a gets columns [0, (a & ~3) + 4)); y_j = Y + idx[j]·rowBytes.
// Four non-zeros per pass over A (one load/store of A per 16 multiply-adds), then the rest singly.
const syrk: Fn = (() => {
  const [n, kp, rowBytes, Y, idx, w, A] = [0, 1, 2, 3, 4, 5, 6];
  const [j, a, e, arow, lim, n4] = [7, 8, 9, 10, 11, 12];
  const rows = [13, 14, 15, 16];
  const ws = [17, 18, 19, 20];
  const ss = [21, 22, 23, 24];
  /** row_q = Y + idx[j + q]·rowBytes; w_q = w[j + q] */
  const loadRow = (q: number): number[] => [
    ...op.get(Y),
    ...op.get(idx),
    ...op.get(j),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...[0x28, 2, ...uleb(4 * q)], // i32.load offset 4q
    ...op.get(rowBytes),
    ...op.mul,
    ...op.add,
    ...op.set(rows[q]!),
    ...op.get(w),
    ...op.get(j),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...[0x2a, 2, ...uleb(4 * q)], // f32.load offset 4q
    ...op.set(ws[q]!),
  ];
  /** s_q = splat(w_q · row_q[a]) */
  const scale = (q: number): number[] => [
    ...op.get(ws[q]!),
    ...op.get(rows[q]!),
    ...op.get(a),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...op.f32load,
    ...op.f32mul,
    ...op.splat,
    ...op.set(ss[q]!),
  ];
  const term = (q: number): number[] => [
    ...op.get(ss[q]!),
    ...op.get(rows[q]!),
    ...op.get(e),
    ...op.add,
    ...op.vload,
    ...op.vmul,
  ];
  const setRowAndLimit = [
    ...op.get(A),
    ...op.get(a),
    ...op.get(rowBytes),
    ...op.mul,
    ...op.add,
    ...op.set(arow),
    ...op.get(a),
    ...op.i32(-4),
    ...op.and,
    ...op.i32(4),
    ...op.add,
    ...op.i32(2),
    ...op.shl,
    ...op.set(lim),
  ];
  const group = forLoop(a, op.get(kp), 1, [
    ...scale(0),
    ...scale(1),
    ...scale(2),
    ...scale(3),
    ...setRowAndLimit,
    ...forLoop(e, op.get(lim), 16, [
      ...op.get(arow),
      ...op.get(e),
      ...op.add,
      ...op.get(arow),
      ...op.get(e),
      ...op.add,
      ...op.vload,
      ...term(0),
      ...op.vadd,
      ...term(1),
      ...op.vadd,
      ...term(2),
      ...op.vadd,
      ...term(3),
      ...op.vadd,
      ...op.vstore,
    ]),
  ]);
  const single = forLoop(a, op.get(kp), 1, [
    ...scale(0),
    ...setRowAndLimit,
    ...forLoop(e, op.get(lim), 16, vAxpy(op.get(arow), op.get(rows[0]!), op.get(ss[0]!), e)),
  ]);
  const body = [
    ...op.get(n),
    ...op.i32(-4),
    ...op.and,
    ...op.set(n4),
    ...forLoop(j, op.get(n4), 4, [...loadRow(0), ...loadRow(1), ...loadRow(2), ...loadRow(3), ...group]),
    ...forLoop(j, op.get(n), 1, [...loadRow(0), ...single], op.get(n4)),
  ];
  return {
    name: 'syrk',
    params: [I32, I32, I32, I32, I32, I32, I32],
    locals: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, V128, V128, V128, V128],
    body,
  };
})();

// dot64(pa, pb, n) → Σ_{p<n} a[p]·b[p] over float64 arrays (f64x2, two accumulators)
const DOT64 = 4; // function index, see assemble() below
const dot64: Fn = (() => {
  const [pa, pb, n] = [0, 1, 2];
  const [e, lim, acc0, acc1, s, end] = [3, 4, 5, 6, 7, 8];
  const body = [
    ...op.vzero,
    ...op.set(acc0),
    ...op.vzero,
    ...op.set(acc1),
    ...op.get(n),
    ...op.i32(-4),
    ...op.and,
    ...op.i32(3),
    ...op.shl,
    ...op.set(lim),
    ...forLoop(e, op.get(lim), 32, [
      ...op.get(acc0),
      ...op.get(pa),
      ...op.get(e),
      ...op.add,
      ...op.vload,
      ...op.get(pb),
      ...op.get(e),
      ...op.add,
      ...op.vload,
      ...op.d2mul,
      ...op.d2add,
      ...op.set(acc0),
      ...op.get(acc1),
      ...op.get(pa),
      ...op.get(e),
      ...op.add,
      ...op.vloadAt(16),
      ...op.get(pb),
      ...op.get(e),
      ...op.add,
      ...op.vloadAt(16),
      ...op.d2mul,
      ...op.d2add,
      ...op.set(acc1),
    ]),
    ...op.get(acc0),
    ...op.get(acc1),
    ...op.d2add,
    ...op.set(acc0),
    ...op.get(acc0),
    ...op.d2lane(0),
    ...op.get(acc0),
    ...op.d2lane(1),
    ...op.f64add,
    ...op.set(s),
    ...op.get(n),
    ...op.i32(3),
    ...op.shl,
    ...op.set(end),
    ...forLoop(
      e,
      op.get(end),
      8,
      [
        ...op.get(s),
        ...op.get(pa),
        ...op.get(e),
        ...op.add,
        ...op.f64load,
        ...op.get(pb),
        ...op.get(e),
        ...op.add,
        ...op.f64load,
        ...op.f64mul,
        ...op.f64add,
        ...op.set(s),
      ],
      op.get(lim),
    ),
    ...op.get(s),
  ];
  return {
    name: 'dot64',
    params: [I32, I32, I32],
    results: [F64],
    locals: [I32, I32, V128, V128, F64, I32],
    body,
  };
})();

// cholesky(A, n) → 1, or 0 if not positive definite: in-place A = L Lᵀ on a row-major float64
// n × n matrix (lower triangle read and overwritten)
const cholesky: Fn = (() => {
  const [A, n] = [0, 1];
  const [j, i, rj, ri, s, inv, rowBytes] = [2, 3, 4, 5, 6, 7, 8];
  const body = [
    ...op.get(n),
    ...op.i32(3),
    ...op.shl,
    ...op.set(rowBytes),
    ...forLoop(j, op.get(n), 1, [
      ...op.get(A),
      ...op.get(j),
      ...op.get(rowBytes),
      ...op.mul,
      ...op.add,
      ...op.set(rj),
      // s = A[j][j] − Σ_{p<j} A[j][p]²
      ...op.get(rj),
      ...op.get(j),
      ...op.i32(3),
      ...op.shl,
      ...op.add,
      ...op.f64load,
      ...op.get(rj),
      ...op.get(rj),
      ...op.get(j),
      ...op.call(DOT64),
      ...op.f64sub,
      ...op.set(s),
      ...op.get(s),
      ...op.f64(0),
      ...op.f64gt,
      ...op.eqz,
      ...op.if_,
      ...op.i32(0),
      ...op.ret,
      ...op.end,
      ...op.get(s),
      ...op.f64sqrt,
      ...op.set(s),
      ...op.get(rj),
      ...op.get(j),
      ...op.i32(3),
      ...op.shl,
      ...op.add,
      ...op.get(s),
      ...op.f64store,
      ...op.f64(1),
      ...op.get(s),
      ...op.f64div,
      ...op.set(inv),
      // A[i][j] = (A[i][j] − Σ_{p<j} A[i][p]·A[j][p]) / L[j][j] for i > j
      ...forLoop(
        i,
        op.get(n),
        1,
        [
          ...op.get(A),
          ...op.get(i),
          ...op.get(rowBytes),
          ...op.mul,
          ...op.add,
          ...op.set(ri),
          ...op.get(ri),
          ...op.get(j),
          ...op.i32(3),
          ...op.shl,
          ...op.add,
          ...op.get(ri),
          ...op.get(j),
          ...op.i32(3),
          ...op.shl,
          ...op.add,
          ...op.f64load,
          ...op.get(ri),
          ...op.get(rj),
          ...op.get(j),
          ...op.call(DOT64),
          ...op.f64sub,
          ...op.get(inv),
          ...op.f64mul,
          ...op.f64store,
        ],
        [...op.get(j), ...op.i32(1), ...op.add],
      ),
    ]),
    ...op.i32(1),
  ];
  return {
    name: 'cholesky',
    params: [I32, I32],
    results: [I32],
    locals: [I32, I32, I32, I32, F64, F64, I32],
    body,
  };
})();

// loss(n, rowBytes, Y, idx, w, x) → Σ_j [w_j s² − 2(1 + w_j)s + 1 + w_j], s = y_j·x  (f64 sum)
const loss: Fn = (() => {
  const [n, rowBytes, Y, idx, w, x] = [0, 1, 2, 3, 4, 5];
  const [j, e, row, acc, sum, s, c, acc2] = [6, 7, 8, 9, 10, 11, 12, 13];
  const body = [
    ...forLoop(j, op.get(n), 1, [
      ...op.get(Y),
      ...op.get(idx),
      ...op.get(j),
      ...op.i32(2),
      ...op.shl,
      ...op.add,
      ...op.i32load,
      ...op.get(rowBytes),
      ...op.mul,
      ...op.add,
      ...op.set(row),
      ...rowDot(acc, acc2, row, x, e, rowBytes),
      ...op.f64promote,
      ...op.set(s),
      // c = 1 + w_j
      ...op.get(w),
      ...op.get(j),
      ...op.i32(2),
      ...op.shl,
      ...op.add,
      ...op.f32load,
      ...op.f64promote,
      ...op.f64(1),
      ...op.f64add,
      ...op.set(c),
      // sum += (c − 1)·s·s − 2·c·s + c
      ...op.get(sum),
      ...op.get(c),
      ...op.f64(1),
      ...op.f64sub,
      ...op.get(s),
      ...op.f64mul,
      ...op.get(s),
      ...op.f64mul,
      ...op.f64add,
      ...op.get(c),
      ...op.get(s),
      ...op.f64mul,
      ...op.f64(2),
      ...op.f64mul,
      ...op.f64sub,
      ...op.get(c),
      ...op.f64add,
      ...op.set(sum),
    ]),
    ...op.get(sum),
  ];
  return {
    name: 'loss',
    params: [I32, I32, I32, I32, I32, I32],
    results: [F64],
    locals: [I32, I32, I32, V128, F64, F64, F64, V128],
    body,
  };
})();

// rowdots(n, rowBytes, X, q, out): out[r] = X_r · q for r < n, in f32 (two f32x4 accumulators).
// One query against many rows: see row-scorer.ts.
const rowdots: Fn = (() => {
  const [n, rowBytes, X, q, out] = [0, 1, 2, 3, 4];
  const [r, e, row, acc, acc2] = [5, 6, 7, 8, 9];
  const body = forLoop(r, op.get(n), 1, [
    ...op.get(X),
    ...op.get(r),
    ...op.get(rowBytes),
    ...op.mul,
    ...op.add,
    ...op.set(row),
    ...op.get(out),
    ...op.get(r),
    ...op.i32(2),
    ...op.shl,
    ...op.add,
    ...rowDot(acc, acc2, row, q, e, rowBytes),
    ...op.f32store,
  ]);
  return { name: 'rowdots', params: [I32, I32, I32, I32, I32], locals: [I32, I32, I32, V128, V128], body };
})();

function assemble(fns: Fn[]): Uint8Array {
  if (fns[DOT64] !== dot64) throw new Error('wasm: dot64 must be function ' + DOT64);
  const types = fns.map((f) => [
    0x60,
    ...vec(f.params.map((t) => [t])),
    ...vec((f.results ?? []).map((t) => [t])),
  ]);
  const code = fns.map((f) => {
    const locals = vec(f.locals.map((t) => [1, t]));
    const body = [...locals, ...f.body, ...op.end];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    // import env.mem: a shared memory (flags 0x03: shared, min and max given), min 1, max 65536 pages
    ...section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x03, ...uleb(1), ...uleb(MAX_PAGES)]])),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(7, vec(fns.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(code)),
  ]);
}

export interface WasmKernels {
  wsum(
    n: number,
    rowBytes: number,
    Y: number,
    idx: number,
    w: number,
    v: number,
    out: number,
    a0: number,
    b0: number,
    g0: number,
  ): void;
  symv(n: number, rowBytes: number, M: number, v: number, out: number): void;
  syrk(n: number, kp: number, rowBytes: number, Y: number, idx: number, w: number, A: number): void;
  loss(n: number, rowBytes: number, Y: number, idx: number, w: number, x: number): number;
  dot64(pa: number, pb: number, n: number): number;
  cholesky(A: number, n: number): number;
  rowdots(n: number, rowBytes: number, X: number, q: number, out: number): void;
}

/** The slice of the WebAssembly JS API used here (the project's TS lib has no DOM/wasm types). */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: true }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const PAGE = 65536;
const MAX_PAGES = 65536;

/** A shared wasm memory of at least `bytes` bytes (can be posted to worker threads). */
export function createSharedMemory(bytes: number): WasmMemory {
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  if (pages > MAX_PAGES) throw new RangeError(`ALS: needs ${bytes} bytes of wasm memory, more than 4 GiB`);
  return new WA.Memory({ initial: pages, maximum: pages, shared: true });
}

let compiled: object | null = null;

/** Instantiates the kernels on a shared memory. */
export function instantiateKernels(memory: WasmMemory): WasmKernels {
  compiled ??= new WA.Module(assemble([wsum, symv, syrk, loss, dot64, cholesky, rowdots]));
  const instance = new WA.Instance(compiled, { env: { mem: memory } });
  return instance.exports as WasmKernels;
}

/** The hand-assembled module's bytes, for test/unit/wasm-equivalence.test.ts against kernels.wat. */
export function handAssembledKernels(): Uint8Array {
  return assemble([wsum, symv, syrk, loss, dot64, cholesky, rowdots]);
}
