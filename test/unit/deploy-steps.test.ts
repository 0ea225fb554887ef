// The deploy's pure steps: which graphs to build, what the model document records of ann, which
// factor rows were deployed, how many documents may be skipped, when LSH is built.

import { describe, expect, it } from 'vitest';
import type { AnnChoice, AnnTuning } from '../../src/deploy/ann-tuning.ts';
import { annShortfalls, recordedAnn, type AnnRecord } from '../../src/deploy/ann-record.ts';
import { checkFactorShapes, deployCounts, prepareLsh } from '../../src/deploy/deploy.ts';
import { planMipsGraph, planNormHead, similarSkipFrom } from '../../src/deploy/graph-plan.ts';
import { catalogueSize, deployedRows } from '../../src/deploy/load.ts';
import type { MipsBoundSample } from '../../src/deploy/mips-graph.ts';
import { DeploySkips, skipLimit } from '../../src/deploy/skips.ts';
import { StepTimings } from '../../src/deploy/step-timings.ts';
import { mipsQueries } from '../../src/deploy/tuning-queries.ts';
import type { DeployInput } from '../../src/deploy/types.ts';
import { createRng } from '../../src/random/rng.ts';
import { SkipLog } from '../../src/types/skipped.ts';
import { spreadFactors } from '../support/spread-factors.ts';

const K = 8;

function input(nItems: number, nUsers: number, spread: number, seed = 1): DeployInput {
  const rng = createRng(seed + 100);
  return {
    modelId: 'm-test',
    factors: K,
    itemIds: Array.from({ length: nItems }, (_, i) => `i${i}`),
    itemFactors: spreadFactors(nItems, K, seed, spread),
    userIds: Array.from({ length: nUsers }, (_, u) => `u${u}`),
    userFactors: Float32Array.from({ length: nUsers * K }, () => rng.uniform(-1, 1)),
  };
}

const choice = (c: Partial<AnnChoice> = {}): AnnChoice => ({ num_candidates: 100, recall: 0.97, ...c });
const tuning = (t: Partial<AnnTuning> = {}): AnnTuning => ({
  k: 10,
  target: 0.95,
  sample: 256,
  unfiltered: choice(),
  ...t,
});

describe('the item → item graph left out by [deploy] similar_ann = "auto"', () => {
  it('is left out when the live model timed its graph no faster than exact search for every kind of request', () => {
    const slow = choice({ ann_ms: 5, exact_ms: 4 });
    const missed = choice({ recall: 0.9, ann_ms: 2, exact_ms: 4 });
    expect(
      similarSkipFrom('m-live', { ann: { cosine: tuning({ unfiltered: slow, filtered: missed }) } }),
    ).toEqual({
      measured_on: 'm-live',
      unfiltered: slow,
      filtered: missed,
    });
    expect(similarSkipFrom('m-live', { ann: { cosine: tuning({ unfiltered: slow }) } })).toEqual({
      measured_on: 'm-live',
      unfiltered: slow,
    });
  });

  it('is built when any kind of request was faster by the graph, or the live model has no timing', () => {
    const slow = choice({ ann_ms: 5, exact_ms: 4 });
    const fast = choice({ ann_ms: 2, exact_ms: 4 });
    expect(
      similarSkipFrom('m', { ann: { cosine: tuning({ unfiltered: slow, filtered: fast }) } }),
    ).toBeUndefined();
    expect(similarSkipFrom('m', { ann: { cosine: tuning({ unfiltered: fast }) } })).toBeUndefined();
    // deployed without the graph (no timing), or by a version that did not time it
    const none = { graph: false } as unknown as AnnTuning;
    expect(similarSkipFrom('m', { ann: { cosine: none } })).toBeUndefined();
    expect(similarSkipFrom('m', { ann: { cosine: tuning() } })).toBeUndefined();
    expect(similarSkipFrom('m', { ann: {} })).toBeUndefined();
    expect(similarSkipFrom('m', undefined)).toBeUndefined();
  });
});

describe('the user → item graph and its norm head', () => {
  // wide norms: the bound routes nearly every user, so 'auto' builds no graph; narrow: it does
  const wide = input(20_000, 1_000, 1.5);
  const narrow = input(20_000, 1_000, 0, 3);

  it("'auto' follows the norm-bound measurement; true and false override it, and the bound is recorded either way", () => {
    const auto = planMipsGraph(wide, 'auto', 2_000);
    expect(auto.mipsGraph).toBe(false);
    expect(planMipsGraph(narrow, 'auto', 2_000).mipsGraph).toBe(true);
    const forced = planMipsGraph(wide, true, 2_000);
    expect(forced.mipsGraph).toBe(true);
    expect(forced.bound).toEqual(auto.bound);
    expect(planMipsGraph(narrow, false, 2_000)).toMatchObject({
      mipsGraph: false,
      bound: { max_scored: 2_000 },
    });
  });

  it('decides on users other than those ann tuning measures recall on', () => {
    const plan = planMipsGraph(wide, 'auto', 2_000);
    expect(plan.sample.length).toBeGreaterThan(0);
    const tuned = new Set(
      mipsQueries(wide, { ids: wide.itemIds, factors: wide.itemFactors }).map((q) => q.vector.join()),
    );
    expect(plan.sample.filter((q) => tuned.has(q.vector.join()))).toEqual([]);
    const users = new Set(
      Array.from({ length: 1_000 }, (_, u) =>
        Array.from(wide.userFactors.subarray(u * K, (u + 1) * K)).join(),
      ),
    );
    expect(plan.sample.every((q) => users.has(q.vector.join()))).toBe(true);
  });

  it('samples the items themselves when the model has no users', () => {
    const noUsers = { ...wide, userIds: [], userFactors: new Float32Array(0) };
    const plan = planMipsGraph(noUsers, 'auto', 2_000);
    const rows = new Set(
      Array.from({ length: 20_000 }, (_, i) =>
        Array.from(wide.itemFactors.subarray(i * K, (i + 1) * K)).join(),
      ),
    );
    expect(plan.sample.length).toBeGreaterThan(0);
    expect(plan.sample.every((q) => rows.has(q.vector.join()))).toBe(true);
  });

  it('has a norm head only beside a graph', () => {
    const withGraph = planMipsGraph(wide, true, 2_000);
    expect(planNormHead(wide, withGraph)).toMatchObject({ items: expect.any(Number) });
    expect(planNormHead(wide, { ...withGraph, mipsGraph: false })).toBeUndefined();
  });
});

describe('what the model document records of ann', () => {
  const bound: MipsBoundSample = {
    sample: 64,
    max_scored: 2000,
    routed_share: 0.95,
    scored_p50: 10,
    scored_p90: 20,
  };
  const head = { items: 12, min_norm: 3, coverage: 0.95 };

  it('the mips bound beside the tuning (or beside no graph), the norm head kept', () => {
    const tuned: AnnRecord = { mips: { ...tuning(), head }, cosine: tuning() };
    const r = recordedAnn(tuned, { bound, similarSkip: undefined });
    expect(r).toEqual({ mips: { ...tuning(), head, bound }, cosine: tuning() });
    expect(
      recordedAnn({ mips: { graph: false }, cosine: { graph: false } }, { bound, similarSkip: undefined }),
    ).toEqual({
      mips: { graph: false, bound },
      cosine: { graph: false },
    });
  });

  it('the live model timing when [deploy] similar_ann = "auto" left the item graph out', () => {
    const skip = { measured_on: 'm-live', unfiltered: choice({ ann_ms: 5, exact_ms: 4 }) };
    const r = recordedAnn({ mips: { graph: false }, cosine: { graph: false } }, { bound, similarSkip: skip });
    expect(r.cosine).toEqual({ graph: false, skipped: skip });
  });

  it('warns of each case below the recall target and of a graph no faster than exact search, space by space', () => {
    const cosine = tuning({
      unfiltered: choice({ ann_ms: 5, exact_ms: 4 }),
      filtered: choice({ recall: 0.8, ann_ms: 5, exact_ms: 4 }),
    });
    const ann: AnnRecord = {
      mips: tuning({ unfiltered: choice({ recall: 0.9, num_candidates: 10_000 }), filtered: choice() }),
      cosine,
    };
    expect(annShortfalls(ann)).toEqual([
      {
        kind: 'missed_target',
        space: 'mips',
        case: 'unfiltered',
        recall: 0.9,
        num_candidates: 10_000,
        target: 0.95,
      },
      {
        kind: 'missed_target',
        space: 'cosine',
        case: 'filtered',
        recall: 0.8,
        num_candidates: 100,
        target: 0.95,
      },
      {
        kind: 'no_faster',
        space: 'cosine',
        unfiltered: cosine.unfiltered,
        filtered: cosine.filtered,
      },
    ]);
  });

  it('has nothing to warn of when every case reaches its target and the graph is faster, or a space has no graph', () => {
    const ann: AnnRecord = {
      mips: { graph: false, bound },
      cosine: tuning({
        unfiltered: choice({ ann_ms: 2, exact_ms: 4 }),
        filtered: choice({ ann_ms: 5, exact_ms: 4 }),
      }),
    };
    expect(annShortfalls(ann)).toEqual([]);
  });
});

describe('the rows a deploy served', () => {
  const base = input(5, 0, 0);

  it('are the input itself when every row became a document', () => {
    const rows = deployedRows(base, { skippedRows: [], refusedIds: new Set(['not-an-item']) });
    expect(rows.ids).toBe(base.itemIds);
    expect(rows.factors).toBe(base.itemFactors);
  });

  it('leave out the rows whose id was refused by the rules or by the cluster, in order', () => {
    const rows = deployedRows(base, { skippedRows: [1], refusedIds: new Set(['i3']) });
    expect(rows.ids).toEqual(['i0', 'i2', 'i4']);
    const row = (i: number) => Array.from(base.itemFactors.subarray(i * K, (i + 1) * K));
    expect(Array.from(rows.factors)).toEqual([...row(0), ...row(2), ...row(4)]);
  });

  it('count the catalogue items without a factor once, beside the model items', () => {
    const meta = new Map([
      ['i0', {}],
      ['new1', {}],
      ['new2', {}],
    ]);
    expect(catalogueSize(['i0', 'i1'], meta)).toBe(4);
    expect(catalogueSize([], new Map())).toBe(0);
  });

  it('counted in the report and model document: the documents sent less the skipped', () => {
    const log = new SkipLog();
    log.add('items', 'invalid_id', 'x', 'bad');
    log.add('users', 'invalid_id', 'y', 'bad');
    log.add('users', 'invalid_id', 'z', 'bad');
    expect(
      deployCounts({ userIds: ['a', 'b', 'c', 'd'] }, { itemsTotal: 10, itemsWithFactor: 7 }, log),
    ).toEqual({
      items: 9,
      itemsWithFactor: 7,
      users: 2,
      skippedItems: 1,
      skippedUsers: 2,
      skipped: log.summary(),
    });
  });
});

describe('documents a deploy may skip', () => {
  it('max(min, fraction × documents) per stage', () => {
    expect(skipLimit(100, { min: 10, fraction: 0.001 })).toBe(10);
    expect(skipLimit(1_000_000, { min: 10, fraction: 0.001 })).toBe(1000);
    expect(skipLimit(19_999, { min: 0, fraction: 0.0001 })).toBe(1);
  });

  it('fails the deploy past a stage limit, each stage counted on its own, the skips kept in the log', () => {
    const log = new SkipLog();
    const skips = new DeploySkips(log, 1000, 1000, { min: 2, fraction: 0 });
    skips.add('items', 'invalid_id', 'a', 'x');
    skips.add('items', 'invalid_id', 'b', 'x');
    skips.add('users', 'invalid_id', 'c', 'x');
    expect(() => skips.add('items', 'mapper_parsing_exception', 'd', 'x')).toThrow(
      /3 of 1000 items documents skipped/,
    );
    expect(log.count('items')).toBe(3);
    expect(log.count('users')).toBe(1);
  });
});

describe('LSH at deploy', () => {
  const small = input(200, 20, 0.5);

  it('is not built unless asked for or fixed by the input', () => {
    const timings = new StepTimings();
    expect(prepareLsh(small, false, timings)).toEqual({ lsh: undefined, hashers: undefined });
    expect(timings.seconds).toEqual({});
  });

  it('is built with the fixed tables whatever the setting, and timed', () => {
    const timings = new StepTimings();
    const fixed = prepareLsh({ ...small, lsh: { tables: 4, bits: 6, seed: 3 } }, false, timings);
    expect(fixed.lsh?.cosine).toMatchObject({ tables: 4, bits: 6 });
    expect(fixed.hashers).toBeDefined();
    expect(Object.keys(timings.seconds)).toEqual(['lsh_tuning']);
  });
});

describe('factor arrays', () => {
  it('must be ids × factors', () => {
    const ok = input(3, 2, 0);
    expect(() => checkFactorShapes(ok)).not.toThrow();
    expect(() => checkFactorShapes({ ...ok, userFactors: new Float32Array(K) })).toThrow(/ids × factors/);
    expect(() => checkFactorShapes({ ...ok, itemFactors: new Float32Array(4 * K) })).toThrow(/ids × factors/);
  });
});
