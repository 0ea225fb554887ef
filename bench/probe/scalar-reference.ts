// The scalar JS scan that src/model/norm-probe.ts minTopKNorm ran before its dot products moved
// to the wasm kernel (commit 1079f27), kept as the reference the kernel is measured against:
// same loop, float64 accumulation in four lanes, the filter asked before each dot product.
import { NORM_SLACK, type NormProbe } from '../../src/model/norm-probe.ts';

export function minTopKNormScalar(
  probe: NormProbe,
  query: ArrayLike<number>,
  k: number,
  exclude: ReadonlySet<string>,
  accept?: (i: number) => boolean,
): number | undefined {
  const { dims, ids, norms, vectors } = probe;
  if (query.length !== dims || k < 1) return undefined;
  const q = Float64Array.from(query);
  const qn = Math.hypot(...q);
  if (!(qn > 0)) return undefined;
  const top: number[] = [];
  const tail = dims - (dims % 4);
  for (let i = 0; i < ids.length; i++) {
    const full = top.length === k;
    if (full && norms[i]! * qn <= top[0]!) break;
    if (accept && !accept(i)) continue;
    const o = i * dims;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let d = 0; d < tail; d += 4) {
      s0 += q[d]! * vectors[o + d]!;
      s1 += q[d + 1]! * vectors[o + d + 1]!;
      s2 += q[d + 2]! * vectors[o + d + 2]!;
      s3 += q[d + 3]! * vectors[o + d + 3]!;
    }
    for (let d = tail; d < dims; d++) s0 += q[d]! * vectors[o + d]!;
    const s = s0 + s1 + s2 + s3;
    if (full && s <= top[0]!) continue;
    if (exclude.has(ids[i]!)) continue;
    if (full) top.shift();
    let j = top.length;
    while (j > 0 && top[j - 1]! > s) j--;
    top.splice(j, 0, s);
  }
  if (top.length < k || !(top[0]! > 0)) return undefined;
  return (top[0]! / qn) * (1 - NORM_SLACK);
}
