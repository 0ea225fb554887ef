import { describe, expect, it } from 'vitest';
import { buildNormProbe, type NormProbe } from '../../src/model/norm-probe.ts';
import { planVectorSearch, type PlanInput } from '../../src/query/plan.ts';
import type { Filters } from '../../src/query/types.ts';

// Probe rows of norms 8, 4, 2, 1 along one axis: for the query [1, 0] the k-th best score is the
// k-th longest row, so the bound keeps exactly the items at least that long.
const probe: NormProbe = buildNormProbe(
  2,
  [8, 4, 2, 1].map((x, i) => ({ id: `i${i}`, vector: [x, 0] })),
);
const none: Filters = { terms: {}, booleans: {}, ranges: {} };
const base: PlanInput = {
  space: 'mips',
  req: { mode: 'ann', k: 2, filters: none },
  vector: [1, 0],
  exclude: new Set(),
  tuned: { k: 10, unfiltered: 100, queryRms: 2 },
  probe: () => probe,
  annExactMaxScored: 0,
};
const plan = (over: Partial<PlanInput>) => planVectorSearch({ ...base, ...over });

describe('the plan of one vector search', () => {
  it('ann searches the graph with the measured candidates, the query rescaled to the measured rms', () => {
    const p = plan({});
    expect(p.mode).toBe('ann');
    // [1, 0] has rms √(1/2); scaled to rms 2 it is multiplied by 2√2
    expect(p.factor).toBeCloseTo(2 * Math.SQRT2, 12);
    expect(p.vector[0]).toBeCloseTo(2 * Math.SQRT2, 12);
    expect(p.numCandidates).toBe(100);
    expect(p.minNorm).toBeUndefined();
    expect(p.normHead).toBeUndefined();
    expect(plan({ tuned: { k: 10, unfiltered: 100, normHead: true } }).normHead).toBe(true);
  });

  it('ann is answered by the bounded exact search when the bound keeps at most annExactMaxScored items', () => {
    // k = 2: the 2nd best score is 4, so items of norm ≥ 4 (less the slack) are kept: two of four
    const kept = plan({ annExactMaxScored: 2 });
    expect(kept.mode).toBe('exact');
    expect(kept.factor).toBe(1);
    expect(kept.vector).toEqual([1, 0]);
    expect(kept.minNorm).toBeGreaterThan(2);
    expect(kept.minNorm).toBeLessThanOrEqual(4);
    // one item allowed: the bound keeps two, so the graph answers
    expect(plan({ annExactMaxScored: 1 }).mode).toBe('ann');
    // 0 turns the bounded answer off
    expect(plan({ annExactMaxScored: 0 }).mode).toBe('ann');
  });

  it('ann is answered exactly, with the norm bound, when the deploy found the graph no better', () => {
    const p = plan({ tuned: { k: 10, unfiltered: 100, exactUnfiltered: true } });
    expect(p.mode).toBe('exact');
    expect(p.factor).toBe(1);
    expect(p.numCandidates).toBeUndefined();
    expect(p.minNorm).toBeGreaterThan(2);
    expect(plan({ tuned: { k: 10, exactOnly: true } }).mode).toBe('exact');
  });

  it('exact and lsh keep their mode; only exact user → item mips requests get a bound', () => {
    expect(plan({ req: { mode: 'exact', k: 2, filters: none } })).toMatchObject({ mode: 'exact', factor: 1 });
    expect(plan({ req: { mode: 'exact', k: 2, filters: none } }).minNorm).toBeGreaterThan(2);
    const lsh = plan({ req: { mode: 'lsh', k: 2, filters: none } });
    expect(lsh.mode).toBe('lsh');
    expect(lsh.minNorm).toBeUndefined();
    // similar items (cosine) and the hybrid's text-filtered list (no exclusions) get no bound
    expect(plan({ req: { mode: 'exact', k: 2, filters: none }, space: 'cosine' }).minNorm).toBeUndefined();
    expect(plan({ req: { mode: 'exact', k: 2, filters: none }, exclude: undefined }).minNorm).toBeUndefined();
    // no probe loaded (yet): no bound, and the search is still exact
    const noProbe = plan({ req: { mode: 'exact', k: 2, filters: none }, probe: () => undefined });
    expect(noProbe).toEqual({ mode: 'exact', vector: [1, 0], factor: 1 });
  });
});
