import { describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/demo/generate.ts';
import {
  memorySource,
  runReplay,
  type ReplayOptions,
  type ReplaySource,
  type ScoreProbe,
} from '../../src/freshness/replay.ts';
import type { RatingRules } from '../../src/events/rating.ts';
import type { AlsParams } from '../../src/types/index.ts';

const DAY = 86_400_000;
const rules: RatingRules = {
  weights: { page_view: 1, click: 1, add_to_cart: 3, like: 3, purchase: 5 },
  windowDays: 0,
  halfLifeDays: 0,
};
const params: AlsParams = {
  factors: 8,
  regularization: 1,
  alpha: 10,
  iterations: 3,
  solver: 'cg',
  threads: 1,
  cgSteps: 3,
  seed: 1,
};
const ds = generateDataset({
  users: 300,
  items: 150,
  days: 16,
  seed: 3,
  events: 12_000,
  malformedFraction: 0,
  dynamics: { newUsers: 0.3, newItems: 0.2, novelty: 0.2, drift: 0.3, seasonality: 0.3 },
});
const driftAt = new Map(ds.users.filter((u) => u._drift).map((u) => [u.user_id, Date.parse(u._drift!.at)]));
const opts: ReplayOptions = { params, rules, warmupSteps: 7, retrainEvery: [1, 3], driftAt };

describe('prequential replay', () => {
  it('never scores an interaction its model, fold-in or popularity has already seen', async () => {
    const probes: ScoreProbe[] = [];
    const source = memorySource(rules);
    // what the source had been shown when each list was scored: the loop may not reveal ahead of scoring
    const revealedAt: number[] = [];
    let newestRevealed = -Infinity;
    const watched: ReplaySource = {
      reveal: (events) => {
        for (const e of events) newestRevealed = Math.max(newestRevealed, Date.parse(e.timestamp));
        return source.reveal(events);
      },
      readRatings: (cut) => source.readRatings(cut),
    };
    const result = await runReplay(ds.events, watched, {
      ...opts,
      probe: (p) => {
        probes.push(p);
        revealedAt.push(newestRevealed);
      },
    });
    expect(result.steps.length).toBe(8);
    expect(probes.length).toBeGreaterThan(1000);
    const offenders = probes.filter((p, i) =>
      p.scoredTs.some(
        (ts) => ts <= p.knownMaxTs || ts < p.cutoff || ts >= p.cutoff + DAY || ts <= revealedAt[i]!,
      ),
    );
    expect(offenders).toEqual([]);
    // the online variant did fold in events newer than its model: the check had something to check
    const models = new Map(
      probes.filter((p) => p.variant === 'batch-3').map((p) => [`${p.cutoff} ${p.userId}`, p.knownMaxTs]),
    );
    expect(
      probes.some(
        (p) =>
          p.variant === 'batch-3+online' &&
          p.knownMaxTs > (models.get(`${p.cutoff} ${p.userId}`) ?? Infinity),
      ),
    ).toBe(true);
  });

  it('scores every variant on the same users and interactions, split into user kinds', async () => {
    const probes: ScoreProbe[] = [];
    const result = await runReplay(ds.events, memorySource(rules), { ...opts, probe: (p) => probes.push(p) });
    expect(result.variants).toEqual(['batch-1', 'batch-3', 'batch-3+online', 'popularity-7d']);
    const byVariant = (v: string) =>
      probes.filter((p) => p.variant === v).map((p) => `${p.cutoff} ${p.userId} ${p.scoredTs.join(',')}`);
    for (const v of result.variants.slice(1)) expect(byVariant(v)).toEqual(byVariant('batch-1'));
    for (const s of result.steps) for (const v of result.variants) expect(s.variants[v]!.users).toBe(s.users);
    const kinds = result.overall['batch-1']!.byKind;
    expect(kinds.first_visit.users + kinds.new.users + kinds.drifted.users + kinds.returning.users).toBe(
      result.overall['batch-1']!.users,
    );
    for (const k of ['first_visit', 'new', 'drifted', 'returning'] as const)
      expect(kinds[k].users).toBeGreaterThan(0);
    // retrained every step, batch-1 knows everything before each cut: fold-in on it would add nothing
    expect(result.cost['batch-1']!.retrains).toBe(8);
    expect(result.cost['batch-3']!.retrains).toBe(3);
    expect(result.cost['batch-3+online']!.foldIns).toBeGreaterThan(0);
  });

  it('folds in only what a lagging consumer has reached', async () => {
    const lag = 6 * 3_600_000;
    const probes: ScoreProbe[] = [];
    await runReplay(ds.events, memorySource(rules), {
      ...opts,
      onlineLagMs: lag,
      probe: (p) => probes.push(p),
    });
    const model = new Map(
      probes.filter((p) => p.variant === 'batch-3').map((p) => [`${p.cutoff} ${p.userId}`, p.knownMaxTs]),
    );
    const online = probes.filter(
      (p) => p.variant === 'batch-3+online' && p.knownMaxTs > model.get(`${p.cutoff} ${p.userId}`)!,
    );
    expect(online.length).toBeGreaterThan(50);
    expect(online.filter((p) => p.knownMaxTs >= p.cutoff - lag)).toEqual([]);
  });

  it('stops on a source that reads ahead of the cut', async () => {
    const source = memorySource(rules);
    const leaky: ReplaySource = {
      reveal: (events) => source.reveal(events),
      async readRatings(cut) {
        // a reader that sees tomorrow (e.g. a clock-based window over a store written ahead)
        const tomorrow = ds.events.filter(
          (e) => Date.parse(e.timestamp) < cut + DAY && Date.parse(e.timestamp) >= cut,
        );
        await source.reveal(tomorrow.filter((e) => !source.revealed.includes(e)));
        return source.readRatings(cut + DAY);
      },
    };
    await expect(runReplay(ds.events, leaky, opts)).rejects.toThrow(/prequential leak/);
  });
});
