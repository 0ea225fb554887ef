// Random hyperplanes for sign-random-projection LSH (Charikar 2002).
//
// Layout: one Float32Array of length L·b·dims, row-major. Row r = t·b + j is
// the normal of hyperplane j of table t, i.e. element (t, j, d) lives at
// ((t·b + j)·dims + d).
//
// Reproducibility: the values are the first L·b·dims draws of
// `new Rng(seed, PROJECTION_STREAM).gaussian()` (xoshiro128** + Box–Muller,
// see src/random/rng.ts), rounded to float32, written in row order. Hence
//   - same {tables, bits, dims, seed} → identical projections;
//   - for fixed {bits, dims, seed}, a larger `tables` only appends tables
//     (the first L tables are shared) — chooseLshParams relies on this;
//   - changing bits or dims changes every table.
// A model may therefore store just its LshParams and regenerate the planes.
// Because Math.log/sin/cos may differ in the last ulp between JS engines (not
// between Node builds in practice), the model can instead store the exact
// float32 values with `serializeProjections` (little-endian base64) — that is
// the bit-exact option and what `LshHasher.serialize()` does.

import type { LshParams } from '../types/index.ts';
import { Rng } from '../random/rng.ts';

/** Stream id mixed into the seed so projections never share a sequence with other consumers of the same seed. */
export const PROJECTION_STREAM = 0x15a;

/** Throws RangeError unless tables, bits, dims are positive integers and seed finite. */
export function validateLshParams(params: LshParams): void {
  const { tables, bits, dims, seed } = params;
  for (const [name, v] of [
    ['tables', tables],
    ['bits', bits],
    ['dims', dims],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0)
      throw new RangeError(`LshParams.${name} must be a positive integer, got ${v}`);
  }
  if (!Number.isFinite(seed)) throw new RangeError(`LshParams.seed must be finite, got ${seed}`);
}

/** Gaussian hyperplanes, L·b·dims float32 values, row-major (row = table·bits + bit). Deterministic in params. */
export function createProjections(params: LshParams): Float32Array {
  validateLshParams(params);
  const n = params.tables * params.bits * params.dims;
  const out = new Float32Array(n);
  const rng = new Rng(params.seed, PROJECTION_STREAM);
  for (let i = 0; i < n; i++) out[i] = rng.gaussian();
  return out;
}

/** Exact float32 values as little-endian base64 (platform-independent). */
export function serializeProjections(projections: Float32Array): string {
  const buf = Buffer.allocUnsafe(projections.length * 4);
  for (let i = 0; i < projections.length; i++) buf.writeFloatLE(projections[i]!, i * 4);
  return buf.toString('base64');
}

/** Inverse of serializeProjections; if params are given the length is checked against L·b·dims. */
export function deserializeProjections(base64: string, params?: LshParams): Float32Array {
  const buf = Buffer.from(base64, 'base64');
  if (buf.length % 4 !== 0)
    throw new RangeError(`projection payload length ${buf.length} is not a multiple of 4`);
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  if (params) {
    const want = params.tables * params.bits * params.dims;
    if (out.length !== want)
      throw new RangeError(
        `expected ${want} projection values for ${JSON.stringify(params)}, got ${out.length}`,
      );
  }
  return out;
}
