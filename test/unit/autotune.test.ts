import { describe, expect, it } from 'vitest';
import { dataKey, spaceFor, staleness, DEFAULT_SPACE } from '../../src/train/autotune.ts';
import {
  plantedInteractions,
  plantedToInteractions,
  pointKey,
  splitToMatrices,
  successiveHalving,
  temporalSplit,
} from '../../src/train/evaluate/index.ts';
import type { AlsParams } from '../../src/types/index.ts';

const base: AlsParams = {
  factors: 16,
  regularization: 1,
  alpha: 10,
  iterations: 6,
  solver: 'cg',
  cgSteps: 3,
  seed: 42,
  threads: 1,
  weighting: 'linear',
};
const DAY = 86_400_000;

describe('autotune decisions', () => {
  const tune = { maxAgeDays: 30, growthFactor: 2 };
  const now = Date.UTC(2026, 5, 1);
  const winner = {
    search_id: 's',
    created_at: new Date(now - 3 * DAY).toISOString(),
    data_key: 'k',
    interactions: 1000,
    params: {},
    validation_ndcg: 0.3,
    budget_seconds: 1,
    used_seconds: 1,
    trials: 5,
  };

  it('reuses a young winner until the data doubles or it ages', () => {
    expect(staleness(undefined, 10, now, tune)).toMatch(/no tuned parameters/);
    expect(staleness(winner, 1999, now, tune)).toBeUndefined();
    expect(staleness(winner, 2000, now, tune)).toMatch(/grew from 1000 to 2000/);
    expect(
      staleness({ ...winner, created_at: new Date(now - 31 * DAY).toISOString() }, 1000, now, tune),
    ).toMatch(/days old/);
  });

  it('pinned axes are not searched and k is bounded by the data', () => {
    const s = spaceFor(DEFAULT_SPACE, base, new Set(['alpha', 'weighting']), 50, 40);
    expect(s.alpha).toEqual([10]);
    expect(s.weighting).toEqual(['linear']);
    expect(s.factors).toEqual([16, 32]);
    expect(s.regularization).toEqual(DEFAULT_SPACE.regularization);
  });

  it('the data key changes with the rating rules, not with their order', () => {
    const rules = { weights: { click: 1, purchase: 5 }, windowDays: 0, halfLifeDays: 0 };
    expect(dataKey(rules, 1, 1)).toBe(dataKey({ ...rules, weights: { purchase: 5, click: 1 } }, 1, 1));
    expect(dataKey(rules, 1, 1)).not.toBe(dataKey({ ...rules, weights: { click: 1, purchase: 8 } }, 1, 1));
    expect(dataKey(rules, 1, 1)).not.toBe(dataKey({ ...rules, halfLifeDays: 7 }, 1, 1));
  });
});

describe('successive halving search', () => {
  const rows = plantedToInteractions(
    plantedInteractions({ nUsers: 150, nItems: 80, rank: 4, meanPerUser: 12, seed: 9 }),
  );
  const { train, test } = splitToMatrices(temporalSplit(rows, 0.2));
  const space = {
    factors: [4, 8],
    regularization: [0.1, 10],
    alpha: [1, 10],
    weighting: ['linear', 'log'] as Array<'linear' | 'log'>,
  };

  it('screens from the configured point, confirms with all sweeps, and is reproducible (work budget, not a clock)', async () => {
    const a = await successiveHalving(train, test, base, space, { budgetFactor: 3 });
    const b = await successiveHalving(train, test, base, space, { budgetFactor: 3 });
    expect(a.trials.map((t) => `${pointKey(t.params)}@${t.iterations}`)).toEqual(
      b.trials.map((t) => `${pointKey(t.params)}@${t.iterations}`),
    );
    expect(a.trials[0]!.params).toEqual({ factors: 16, regularization: 1, alpha: 10, weighting: 'linear' });
    expect(a.trials[0]!.iterations).toBe(2);
    expect(a.best.iterations).toBe(6);
    expect(a.best.ndcg).toBe(Math.max(...a.trials.filter((t) => t.rung === 1).map((t) => t.ndcg)));
    const more = await successiveHalving(train, test, base, space, { budgetFactor: 10 });
    expect(more.trials.length).toBeGreaterThan(a.trials.length);
  });
});
