import { createRng } from '../../src/random/rng.ts';

/**
 * n × dims item factors with uniform components, each row scaled by exp(spread · gaussian): item
 * norms spread log-normally as ALS spreads them (0: all of one length scale).
 */
export function spreadFactors(n: number, dims: number, seed: number, spread: number): Float32Array {
  const rng = createRng(seed);
  const out = Float32Array.from({ length: n * dims }, () => rng.uniform(-1, 1));
  for (let i = 0; i < n; i++) {
    const s = Math.exp(spread * rng.gaussian());
    for (let d = 0; d < dims; d++) out[i * dims + d]! *= s;
  }
  return out;
}
