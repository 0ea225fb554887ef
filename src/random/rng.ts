// Seeded pseudo-random numbers: xoshiro128** seeded through splitmix32, plus
// Box–Muller Gaussians. Never uses Math.random, so every consumer (LSH
// projections, the demo data generator) is reproducible from its seed alone.
//
// Integer arithmetic (Math.imul, >>>) is bit-exact on every JS engine. The
// Gaussian path uses Math.log / Math.sqrt / Math.cos / Math.sin; sqrt is exact,
// but the ECMAScript spec lets log/cos/sin differ in the last ulp between
// engines. V8 (Node) uses the same fdlibm port on every platform, so results are
// identical across Node versions/OSes in practice; where bit-exactness must be
// guaranteed (LSH projections stored with a model), serialise the values
// instead of regenerating them (see src/lsh/projections.ts).

const TWO_POW_32 = 4294967296;

/** splitmix32 step: returns [output, nextState]. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [z >>> 0, next];
}

/**
 * Mix any number of integers into one well-distributed uint32 (murmur3-style
 * finaliser over each word). Used to derive independent sub-seeds, e.g.
 * `hash32(seed, sessionIndex)`.
 */
export function hash32(...words: number[]): number {
  let h = 0x811c9dc5;
  for (const w of words) {
    // fold numbers up to 2^53 into two 32-bit halves so large seeds matter
    const lo = w >>> 0;
    const hi = Math.floor(w / TWO_POW_32) >>> 0;
    for (const part of [lo, hi]) {
      let k = Math.imul(part, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, 0x1b873593);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
  }
  h ^= words.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Seeded PRNG (xoshiro128**, period 2^128 − 1). */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  /**
   * @param seed any finite number (integers up to 2^53 are used in full)
   * @param stream optional stream id: same seed + different stream = independent sequence
   */
  constructor(seed: number, stream = 0) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be finite, got ${seed}`);
    let st = hash32(Math.trunc(seed), Math.trunc(stream));
    const s: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [out, next] = splitmix32(st);
      s.push(out | 0);
      st = next;
    }
    this.s0 = s[0]!;
    this.s1 = s[1]!;
    this.s2 = s[2]!;
    this.s3 = s[3]!;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform uint32. */
  nextUint32(): number {
    const s1 = this.s1;
    let r = Math.imul(s1, 5);
    r = Math.imul((r << 7) | (r >>> 25), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return r >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal N(0, 1) by Box–Muller (pairs; the second value is cached). */
  gaussian(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const u1 = (this.nextUint32() + 1) / TWO_POW_32; // (0, 1]: log never sees 0
    const u2 = this.nextUint32() / TWO_POW_32;
    const r = Math.sqrt(-2 * Math.log(u1));
    const a = 2 * Math.PI * u2;
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -Math.log((this.nextUint32() + 1) / TWO_POW_32) * mean;
  }

  /** Log-normal: exp(mu + sigma·N(0,1)). */
  logNormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.gaussian());
  }

  /** Poisson(lambda): Knuth for small lambda, rounded normal approximation above 30. */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.gaussian()));
    const l = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= this.next();
    } while (p > l);
    return k - 1;
  }

  /** Uniformly chosen element of a non-empty array. */
  pick<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new RangeError('pick from empty array');
    return arr[this.int(arr.length)]!;
  }

  /** Index drawn with probability proportional to weights[i] (weights ≥ 0, sum > 0). */
  weightedIndex(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  /** k distinct elements (k ≤ arr.length), order random. */
  sample<T>(arr: readonly T[], k: number): T[] {
    const copy = arr.slice();
    const n = Math.min(k, copy.length);
    for (let i = 0; i < n; i++) {
      const j = i + this.int(copy.length - i);
      const tmp = copy[i]!;
      copy[i] = copy[j]!;
      copy[j] = tmp;
    }
    return copy.slice(0, n);
  }
}

/** Convenience factory: `createRng(seed, stream)`. */
export function createRng(seed: number, stream = 0): Rng {
  return new Rng(seed, stream);
}

/** A plain uniform [0, 1) source from a seed, for code that takes a `() => number`. */
export function uniformSource(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** A standard normal source from a seed. */
export function gaussianSource(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.gaussian();
}
