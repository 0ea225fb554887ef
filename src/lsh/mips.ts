// Maximum-inner-product search through an angular (sign-projection) hash.
//
// ALS scores are inner products ⟨q, x⟩, but sign projections only see angles,
// and the angle between q and x ignores ‖x‖: a long item vector at a moderate
// angle can out-score a short one that points straight at q. We use the
// "simple LSH" reduction of Neyshabur & Srebro (2015), equivalent to Bachrach
// et al. (2014) up to scale:
//
//   M = max_i ‖x_i‖ over the catalogue (computed once per model),
//   item   x ↦ P(x) = [x / M, √(1 − ‖x/M‖²)]     (unit length, dims + 1)
//   query  q ↦ Q(q) = [q / ‖q‖, 0]                 (unit length, dims + 1)
//
// Then ⟨Q(q), P(x)⟩ = ⟨q, x⟩ / (‖q‖·M) — the last coordinate of Q is 0, so the
// extra item coordinate never contributes — and since both sides are unit
// vectors this is cos∠(Q(q), P(x)). For a fixed query ‖q‖·M is a positive
// constant, so ranking items by angle to Q(q) is exactly ranking them by inner
// product with q, and sign-projection collisions favour high-⟨q, x⟩ items.
//
// Why we divide by M (unit vectors) rather than use Bachrach's
// [x, √(M² − ‖x‖²)]: the two differ by the positive factor M, and a sign bit
// sign(⟨r, λv⟩) = sign(⟨r, v⟩) for every λ > 0 — the hash is identical either
// way. The unit-norm form just keeps values O(1) and makes ⟨Q, P⟩ a cosine.
// Normalising the query likewise never changes its hash; we do it so the
// augmented vectors are true unit vectors.
//
// Caveats: M must come from the same item set that gets hashed (a new item with
// ‖x‖ > M would need √ of a negative number; we clamp that coordinate to 0,
// which keeps the hash well-defined but its inner product is then
// under-represented — recompute M when redeploying). LshParams.dims for an MIPS
// hasher is factors + 1.
//
// For item → item similarity (cosine) no augmentation is needed: hash the raw or
// normalised vectors (identical hashes) with LshParams.dims = factors.

export type VectorSet = Float32Array | Float64Array | ReadonlyArray<ArrayLike<number>>;

/** Number of rows in a VectorSet (flat arrays: length / dims). */
export function rowCount(items: VectorSet, dims: number): number {
  if (items instanceof Float32Array || items instanceof Float64Array) {
    if (items.length % dims !== 0)
      throw new RangeError(`flat vector set length ${items.length} is not a multiple of dims ${dims}`);
    return items.length / dims;
  }
  return items.length;
}

/** Copy a VectorSet into one flat row-major Float64Array (n × dims), checking row lengths. */
export function toFlat(items: VectorSet, dims: number): Float64Array {
  const n = rowCount(items, dims);
  if (items instanceof Float32Array || items instanceof Float64Array) return Float64Array.from(items);
  const out = new Float64Array(n * dims);
  for (let i = 0; i < n; i++) {
    const row = items[i]!;
    if (row.length !== dims) throw new RangeError(`row ${i} has ${row.length} dims, expected ${dims}`);
    for (let d = 0; d < dims; d++) out[i * dims + d] = row[d]!;
  }
  return out;
}

function norm2At(v: ArrayLike<number>, offset: number, dims: number): number {
  let s = 0;
  for (let d = 0; d < dims; d++) {
    const x = v[offset + d]!;
    s += x * x;
  }
  return s;
}

/** Euclidean norm. */
export function vectorNorm(v: ArrayLike<number>): number {
  return Math.sqrt(norm2At(v, 0, v.length));
}

/** M = max ‖x_i‖ over all rows (0 for an empty set). */
export function maxNorm(items: VectorSet, dims: number): number {
  const n = rowCount(items, dims);
  let best = 0;
  if (items instanceof Float32Array || items instanceof Float64Array) {
    for (let i = 0; i < n; i++) best = Math.max(best, norm2At(items, i * dims, dims));
  } else {
    for (let i = 0; i < n; i++) {
      const row = items[i]!;
      if (row.length !== dims) throw new RangeError(`row ${i} has ${row.length} dims, expected ${dims}`);
      best = Math.max(best, norm2At(row, 0, dims));
    }
  }
  return Math.sqrt(best);
}

/** v / ‖v‖ (a zero vector stays zero). */
export function normalizeVector(v: ArrayLike<number>): Float32Array {
  const n = vectorNorm(v);
  const out = new Float32Array(v.length);
  if (n === 0) return out;
  for (let d = 0; d < v.length; d++) out[d] = v[d]! / n;
  return out;
}

/** Item x ↦ [x/M, √(1 − ‖x/M‖²)] (dims + 1, unit length when ‖x‖ ≤ M). */
export function augmentItemForMips(x: ArrayLike<number>, M: number): Float32Array {
  if (!(M > 0)) throw new RangeError(`max norm M must be > 0, got ${M}`);
  const dims = x.length;
  const out = new Float32Array(dims + 1);
  let s = 0;
  for (let d = 0; d < dims; d++) {
    const v = x[d]! / M;
    out[d] = v;
    s += v * v;
  }
  out[dims] = Math.sqrt(Math.max(0, 1 - s));
  return out;
}

/** Query q ↦ [q/‖q‖, 0] (dims + 1). */
export function augmentQueryForMips(q: ArrayLike<number>): Float32Array {
  const dims = q.length;
  const out = new Float32Array(dims + 1);
  const n = vectorNorm(q);
  if (n === 0) return out;
  for (let d = 0; d < dims; d++) out[d] = q[d]! / n;
  return out;
}

/** Batch form of augmentItemForMips over a flat n × dims array → flat n × (dims + 1). */
export function augmentItemsForMips(
  items: Float32Array | Float64Array,
  dims: number,
  M: number,
): Float32Array {
  if (!(M > 0)) throw new RangeError(`max norm M must be > 0, got ${M}`);
  const n = rowCount(items, dims);
  const out = new Float32Array(n * (dims + 1));
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dims; d++) {
      const v = items[i * dims + d]! / M;
      out[i * (dims + 1) + d] = v;
      s += v * v;
    }
    out[i * (dims + 1) + dims] = Math.sqrt(Math.max(0, 1 - s));
  }
  return out;
}
