// The JSON of float32 vectors for the deploy's bulk load. At 1M items the vector text is most of
// what Node writes and Elasticsearch parses: JSON.stringify prints each float32 as the shortest
// *double* that names it (~17 digits), while 9 significant digits always name a float32 exactly.
// Written as "<9-digit integer>e<exponent>", a vector is ~31 % shorter and ~1.5× faster to make than
// JSON.stringify(Array.from(v)), and Elasticsearch parses it back to the same float32.

// POW10[OFFSET + p] = 10^p for the exponents a finite float32 needs (|p| ≤ 53)
const OFFSET = 60;
const POW10 = Array.from({ length: 2 * OFFSET + 1 }, (_, i) => 10 ** (i - OFFSET));

/** One float32 as JSON: exactly that float32 when parsed back; null (as JSON.stringify) for NaN/±Infinity. */
export function float32Json(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return 'null';
  const a = Math.abs(x);
  let e = Math.floor(Math.log10(a));
  let m = Math.round(a * POW10[OFFSET + 8 - e]!);
  // log10 can land one below a power of ten: then the integer has 8 digits, too few to be exact
  if (m < 1e8) {
    e--;
    m = Math.round(a * POW10[OFFSET + 8 - e]!);
  }
  return `${x < 0 ? '-' : ''}${m}e${e - 8}`;
}

/** A vector as a JSON array whose numbers parse back to exactly its float32 values. */
export function float32ArrayJson(v: ArrayLike<number>): string {
  if (v.length === 0) return '[]';
  let s = `[${float32Json(v[0]!)}`;
  for (let i = 1; i < v.length; i++) s += `,${float32Json(v[i]!)}`;
  return `${s}]`;
}
