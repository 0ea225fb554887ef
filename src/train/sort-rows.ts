// One row sort for the CSR layouts training builds: the aggregator's table (weights and times move
// with their items) and the matrices made from it (weights only).

/**
 * Sorts each CSR row by column, moving `values` (and `times`, when given) along; columns are unique
 * within a row. Short rows by insertion sort (most rows are short), longer ones by an index sort.
 */
export function sortRowsByColumn(
  indptr: Int32Array,
  cols: Int32Array,
  values: Float32Array,
  times?: Float64Array,
): void {
  let order = new Int32Array(0);
  let tc = new Int32Array(0);
  let tv = new Float32Array(0);
  let tt = new Float64Array(0);
  for (let u = 0; u + 1 < indptr.length; u++) {
    const s = indptr[u]!;
    const e = indptr[u + 1]!;
    const len = e - s;
    if (len <= 16) {
      for (let a = s + 1; a < e; a++) {
        const c = cols[a]!;
        const v = values[a]!;
        const t = times ? times[a]! : 0;
        let b = a - 1;
        while (b >= s && cols[b]! > c) {
          cols[b + 1] = cols[b]!;
          values[b + 1] = values[b]!;
          if (times) times[b + 1] = times[b]!;
          b--;
        }
        cols[b + 1] = c;
        values[b + 1] = v;
        if (times) times[b + 1] = t;
      }
      continue;
    }
    if (order.length < len) {
      order = new Int32Array(len * 2);
      tc = new Int32Array(len * 2);
      tv = new Float32Array(len * 2);
      if (times) tt = new Float64Array(len * 2);
    }
    const o = order.subarray(0, len);
    for (let q = 0; q < len; q++) o[q] = s + q;
    o.sort((a, b) => cols[a]! - cols[b]!);
    for (let q = 0; q < len; q++) {
      tc[q] = cols[o[q]!]!;
      tv[q] = values[o[q]!]!;
      if (times) tt[q] = times[o[q]!]!;
    }
    cols.set(tc.subarray(0, len), s);
    values.set(tv.subarray(0, len), s);
    if (times) times.set(tt.subarray(0, len), s);
  }
}
