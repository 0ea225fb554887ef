import { describe, expect, it } from 'vitest';
import { float32ArrayJson, float32Json } from '../../src/deploy/vector-json.ts';
import { createRng } from '../../src/random/rng.ts';

describe('float32 vector JSON', () => {
  it('parses back to exactly the same float32 for values over the whole float32 range', () => {
    const r = createRng(3);
    const v = new Float32Array(200_000);
    for (let i = 0; i < v.length; i++)
      v[i] = (r.next() < 0.5 ? -1 : 1) * 10 ** (r.next() * 76 - 38) * (1 + r.next());
    const back = Float32Array.from(JSON.parse(float32ArrayJson(v)) as number[]);
    let differ = 0;
    for (let i = 0; i < v.length; i++) if (back[i] !== v[i]) differ++;
    expect(differ).toBe(0);
  });

  it('is exact at the edges: powers of ten, the largest, smallest normal and subnormal float32, zero', () => {
    const edges = [
      1, 10, 0.1, 1e-8, 1e8, 999999999, 3.4028234663852886e38, 1.1754943508222875e-38, 1.401298464324817e-45,
      0, -0, -2.5,
    ].map(Math.fround);
    for (const x of edges) expect(Math.fround(JSON.parse(float32Json(x)) as number)).toBe(x === 0 ? 0 : x);
  });

  it('is shorter than JSON.stringify of the same values', () => {
    const r = createRng(5);
    const v = Float32Array.from({ length: 64 }, () => r.gaussian() * 0.3);
    expect(float32ArrayJson(v).length).toBeLessThan(0.8 * JSON.stringify(Array.from(v)).length);
  });

  it('writes null for values JSON cannot hold, as JSON.stringify does', () => {
    expect(JSON.parse(float32ArrayJson([NaN, Infinity, 1]))).toEqual(
      JSON.parse(JSON.stringify([NaN, Infinity, 1])),
    );
    expect(float32ArrayJson([])).toBe('[]');
  });
});
