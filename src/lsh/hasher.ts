// Sign-random-projection hashing: bit j of table t is 1 iff ⟨r_tj, v⟩ ≥ 0.
// Two vectors at angle θ agree on one bit with probability 1 − θ/π and land in
// the same bucket of a b-bit table with probability (1 − θ/π)^b; with L tables
// they share at least one bucket with probability 1 − (1 − (1 − θ/π)^b)^L.
//
// Bucket terms are strings "<table>_<bits>" (e.g. "3_0110101101"), character j
// of the bit string being bit j of the table — this is what goes into the
// `lsh` keyword field of items-<model_id>, and a query matches a candidate
// with a `terms` query on its own L terms.
//
// Dot products are accumulated in float64 in index order, so the same vector
// always hashes the same way on every platform.

import type { LshParams } from '../types/index.ts';
import {
  createProjections,
  deserializeProjections,
  serializeProjections,
  validateLshParams,
} from './projections.ts';

export type Vector = Float32Array | Float64Array | ArrayLike<number>;

/** What a model stores to hash queries exactly as its items were hashed. */
export interface SerializedLsh extends LshParams {
  /** little-endian float32 base64 of the projections (see projections.ts) */
  projections: string;
}

/** "<table>_<bitstring>" from a numeric code where bit j of the code = character j. */
export function codeToTerm(table: number, code: number, bits: number): string {
  let s = '';
  for (let j = 0; j < bits; j++) s += (code >>> j) & 1 ? '1' : '0';
  return `${table}_${s}`;
}

/** Probability that two vectors at angle theta (radians) collide in one b-bit table. */
export function tableCollisionProbability(theta: number, bits: number): number {
  return Math.pow(1 - theta / Math.PI, bits);
}

/** Probability that two vectors at angle theta share ≥ 1 bucket over L tables of b bits. */
export function candidateProbability(theta: number, tables: number, bits: number): number {
  return 1 - Math.pow(1 - tableCollisionProbability(theta, bits), tables);
}

export class LshHasher {
  readonly params: Readonly<LshParams>;
  /** L·b·dims, row-major, row = table·bits + bit */
  readonly projections: Float32Array;

  /**
   * @param projections defaults to createProjections(params) (deterministic in params);
   *                    pass stored values (deserializeProjections) for bit-exact reuse.
   */
  constructor(params: LshParams, projections?: Float32Array) {
    validateLshParams(params);
    this.params = Object.freeze({ ...params });
    this.projections = projections ?? createProjections(params);
    const want = params.tables * params.bits * params.dims;
    if (this.projections.length !== want) {
      throw new RangeError(`projections have ${this.projections.length} values, expected L·b·dims = ${want}`);
    }
  }

  static deserialize(s: SerializedLsh): LshHasher {
    const params: LshParams = { tables: s.tables, bits: s.bits, dims: s.dims, seed: s.seed };
    return new LshHasher(params, deserializeProjections(s.projections, params));
  }

  serialize(): SerializedLsh {
    return { ...this.params, projections: serializeProjections(this.projections) };
  }

  private checkDims(vec: Vector): void {
    if (vec.length !== this.params.dims) {
      throw new RangeError(`vector has ${vec.length} dims, hasher expects ${this.params.dims}`);
    }
  }

  /** All L·b sign bits (0/1), table-major. */
  signBits(vec: Vector): Uint8Array {
    this.checkDims(vec);
    return this.signBitsAt(vec, 0);
  }

  private signBitsAt(src: Vector, offset: number): Uint8Array {
    const { tables, bits, dims } = this.params;
    const P = this.projections;
    const rows = tables * bits;
    const out = new Uint8Array(rows);
    // Stryker disable next-line EqualityOperator: a write past a typed array's end is dropped, so `<=` is invisible
    for (let r = 0; r < rows; r++) {
      let dot = 0;
      const base = r * dims;
      for (let d = 0; d < dims; d++) dot += P[base + d]! * src[offset + d]!;
      out[r] = dot >= 0 ? 1 : 0;
    }
    return out;
  }

  /** L bucket terms "<table>_<bits>"; works for any b. */
  bucketTerms(vec: Vector): string[] {
    const bitsArr = this.signBits(vec);
    const { tables, bits } = this.params;
    // Stryker disable next-line ArrayDeclaration: pre-sizing is only an allocation hint
    const terms: string[] = new Array<string>(tables);
    for (let t = 0; t < tables; t++) {
      let s = '';
      for (let j = 0; j < bits; j++) s += bitsArr[t * bits + j] ? '1' : '0';
      terms[t] = `${t}_${s}`;
    }
    return terms;
  }

  /** One uint32 code per table (bit j of the code = bit j of the table); requires bits ≤ 32. */
  bucketCodes(vec: Vector): Uint32Array {
    this.checkDims(vec);
    return this.codesAt(vec, 0, new Uint32Array(this.params.tables), 0);
  }

  /**
   * Codes for n row-major vectors of length dims: result[i·L + t] is the code of
   * row i in table t. Requires bits ≤ 32.
   */
  bucketCodesBatch(rows: Float32Array | Float64Array, n: number): Uint32Array {
    const { tables, dims } = this.params;
    if (rows.length < n * dims) throw new RangeError(`need ${n}×${dims} values, got ${rows.length}`);
    const out = new Uint32Array(n * tables);
    // Stryker disable next-line EqualityOperator: row n would write past the end of out, which a typed array drops
    for (let i = 0; i < n; i++) this.codesAt(rows, i * dims, out, i * tables);
    return out;
  }

  /** Terms for n row-major vectors (convenience for indexing). */
  bucketTermsBatch(rows: Float32Array | Float64Array, n: number): string[][] {
    const { tables, bits } = this.params;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: the per-vector path gives the same terms, only slower
    if (bits > 32) {
      const { dims } = this.params;
      return Array.from({ length: n }, (_, i) => this.bucketTerms(rows.subarray(i * dims, (i + 1) * dims)));
    }
    const codes = this.bucketCodesBatch(rows, n);
    return Array.from({ length: n }, (_, i) =>
      Array.from({ length: tables }, (_, t) => codeToTerm(t, codes[i * tables + t]!, bits)),
    );
  }

  private codesAt(src: Vector, offset: number, out: Uint32Array, outOffset: number): Uint32Array {
    const { tables, bits, dims } = this.params;
    if (bits > 32) throw new RangeError(`numeric codes need bits ≤ 32 (have ${bits}); use bucketTerms`);
    const P = this.projections;
    // Stryker disable next-line EqualityOperator: table L's slot is the next row's first, rewritten by it (or past the end)
    for (let t = 0; t < tables; t++) {
      let code = 0;
      for (let j = 0; j < bits; j++) {
        const base = (t * bits + j) * dims;
        let dot = 0;
        for (let d = 0; d < dims; d++) dot += P[base + d]! * src[offset + d]!;
        if (dot >= 0) code |= 1 << j;
      }
      out[outOffset + t] = code >>> 0;
    }
    return out;
  }
}
