import { describe, expect, it } from 'vitest';
import { assignArm, unitHash } from '../../src/experiments/assignment.ts';
import { experimentResults } from '../../src/experiments/report.ts';
import { assignmentFor } from '../../src/experiments/resolver.ts';
import {
  compareRates,
  normalUpperTail,
  twoProportionZTest,
  wilsonInterval,
} from '../../src/experiments/stats.ts';

describe('experiment assignment', () => {
  const users = Array.from({ length: 5000 }, (_, i) => `user-${i}`);

  it('puts 20 % ± 2 points of 5,000 users in treatment, and the same user always in the same arm', () => {
    for (const salt of ['s1', 'another-salt', 'x9']) {
      const arms = users.map((u) => assignArm(salt, u, 0.2));
      const share = arms.filter((a) => a === 'treatment').length / users.length;
      expect(share).toBeGreaterThan(0.18);
      expect(share).toBeLessThan(0.22);
      expect(users.map((u) => assignArm(salt, u, 0.2))).toEqual(arms);
    }
  });

  it('another salt reshuffles users; a larger share only adds users to treatment', () => {
    const a = users.map((u) => assignArm('a', u, 0.5));
    const b = users.map((u) => assignArm('b', u, 0.5));
    const same = a.filter((x, i) => x === b[i]).length / users.length;
    expect(same).toBeGreaterThan(0.45);
    expect(same).toBeLessThan(0.55);
    for (const u of users.slice(0, 500))
      if (assignArm('a', u, 0.2) === 'treatment') expect(assignArm('a', u, 0.3)).toBe('treatment');
  });

  it('the hash is a number in [0, 1) and depends on both salt and user', () => {
    const h = unitHash('s', 'u');
    expect(h).toBeGreaterThanOrEqual(0);
    expect(h).toBeLessThan(1);
    expect(unitHash('s', 'u')).toBe(h);
    expect(unitHash('s', 'v')).not.toBe(h);
    expect(unitHash('t', 'u')).not.toBe(h);
    // the separator matters: ("ab","c") and ("a","bc") are different pairs
    expect(unitHash('ab', 'c')).not.toBe(unitHash('a', 'bc'));
  });
});

describe('which model serves a user', () => {
  const exp = { experimentId: 'e1', candidateModelId: 'mcand', treatmentShare: 0.2, salt: 's1' };

  it('treatment → the candidate, control → the live model, both tagged; none or a promoted candidate → live, untagged', () => {
    const users = Array.from({ length: 200 }, (_, i) => `u${i}`);
    for (const u of users) {
      const a = assignmentFor(exp, 'mlive', u);
      expect(a).toEqual({
        modelId: a.arm === 'treatment' ? 'mcand' : 'mlive',
        experimentId: 'e1',
        arm: assignArm('s1', u, 0.2),
      });
      expect(assignmentFor(undefined, 'mlive', u)).toEqual({ modelId: 'mlive' });
      expect(assignmentFor(exp, 'mcand', u)).toEqual({ modelId: 'mcand' });
    }
  });
});

describe('experiment statistics', () => {
  it('Wilson interval matches hand-computed values', () => {
    // 10/100: the textbook example [0.0552, 0.1744]
    const a = wilsonInterval(10, 100);
    expect(a.lower).toBeCloseTo(0.0552291370606751, 10);
    expect(a.upper).toBeCloseTo(0.17436566150491345, 10);
    const b = wilsonInterval(81, 263);
    expect(b.lower).toBeCloseTo(0.2552885198782742, 10);
    expect(b.upper).toBeCloseTo(0.36620957698280004, 10);
    // 0 successes: lower bound 0, upper bound z²/(n+z²)
    const c = wilsonInterval(0, 50);
    expect(c.lower).toBeCloseTo(0, 12);
    expect(c.upper).toBeCloseTo(0.07134759913335872, 10);
    expect(wilsonInterval(0, 0)).toEqual({ lower: 0, upper: 1 });
  });

  it('normal tail and two-proportion z-test match hand-computed values', () => {
    expect(normalUpperTail(1.959963984540054)).toBeCloseTo(0.025, 6);
    expect(normalUpperTail(0)).toBeCloseTo(0.5, 7);
    // 200/1000 vs 250/1000: pooled p 0.225, se 0.018675, z 2.6774, p 0.00742
    const t = twoProportionZTest({ x: 200, n: 1000 }, { x: 250, n: 1000 });
    expect(t.z).toBeCloseTo(2.677397763008329, 8);
    expect(t.pValue).toBeCloseTo(0.007419649261025693, 6);
    expect(t.difference).toBeCloseTo(0.05, 12);
    const u = twoProportionZTest({ x: 100, n: 1000 }, { x: 110, n: 1000 });
    expect(u.z).toBeCloseTo(0.7294219615409074, 8);
    expect(u.pValue).toBeCloseTo(0.46574358793363524, 6);
    expect(twoProportionZTest({ x: 0, n: 0 }, { x: 3, n: 10 })).toEqual({ z: 0, pValue: 1, difference: 0 });
    expect(twoProportionZTest({ x: 0, n: 10 }, { x: 0, n: 10 }).pValue).toBe(1);
  });

  it('the verdict says better, worse, no difference yet or not enough data, with p and sizes', () => {
    const better = compareRates('CTR', { x: 200, n: 1000 }, { x: 250, n: 1000 });
    expect(better.verdict).toBe('treatment_better');
    expect(better.summary).toBe(
      'CTR: treatment better than control (p = 0.0074, two-proportion z-test; 250/1000 treatment vs 200/1000 control lists)',
    );
    expect(compareRates('CTR', { x: 250, n: 1000 }, { x: 200, n: 1000 }).verdict).toBe('treatment_worse');
    expect(compareRates('CTR', { x: 100, n: 1000 }, { x: 110, n: 1000 }).verdict).toBe(
      'no_significant_difference_yet',
    );
    expect(compareRates('CTR', { x: 2, n: 1000 }, { x: 40, n: 1000 }).verdict).toBe('not_enough_data');
  });
});

describe('experiment results', () => {
  const counts = (served: number, clickedLists: number, clicks: number, convertedLists: number) => ({
    served,
    users: served,
    models: ['m'],
    actions: {
      click: { records: clicks, lists: clickedLists },
      conversion: { records: convertedLists, lists: convertedLists },
    },
  });

  it('turns per-arm counts into rates per served list, Wilson intervals and the CTR verdict', () => {
    const r = experimentResults(
      new Map([
        ['control', counts(1000, 200, 260, 50)],
        ['treatment', counts(1000, 250, 300, 52)],
      ]),
    );
    expect(r.arms.control).toMatchObject({
      impressions: 1000,
      clicks: 260,
      clicked_lists: 200,
      ctr: 0.2,
      conversions: 50,
      conversion_rate: 0.05,
    });
    expect(r.arms.treatment.ctr).toBe(0.25);
    const w = wilsonInterval(250, 1000);
    expect(r.arms.treatment.ctr_ci95).toEqual([w.lower, w.upper]);
    expect(r.ctr.verdict).toBe('treatment_better');
    expect(r.ctr.p_value).toBeCloseTo(0.007419649261025693, 6);
    expect(r.verdict).toBe(r.ctr.summary);
    expect(r.conversion_rate.verdict).toBe('no_significant_difference_yet');
  });

  it('an arm without lists has no rate and the verdict waits for data; actions on lists not indexed yet never push a rate above 1', () => {
    const empty = experimentResults(new Map());
    expect(empty.arms.treatment).toMatchObject({ impressions: 0, ctr: null, ctr_ci95: [0, 1] });
    expect(empty.ctr.verdict).toBe('not_enough_data');
    const early = experimentResults(new Map([['control', counts(10, 12, 12, 0)]]));
    expect(early.arms.control.clicked_lists).toBe(10);
    expect(early.arms.control.ctr).toBe(1);
  });
});
