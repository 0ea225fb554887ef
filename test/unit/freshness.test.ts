import { describe, expect, it } from 'vitest';
import { generateDataset } from '../../src/demo/generate.ts';
import {
  memorySource,
  replaySettings,
  replayTimeline,
  runReplay,
  type ReplayEvent,
  type ReplayOptions,
  type ReplaySource,
  type ScoreProbe,
} from '../../src/freshness/replay.ts';
import { AlsModel, buildCsr } from '../../src/als/index.ts';
import { rateUserHistory, type RatingRules } from '../../src/events/rating.ts';
import { countBefore, RevealedHistory } from '../../src/freshness/revealed.ts';
import { scoreUser, stepTargets, userKind, VariantScores } from '../../src/freshness/scoring.ts';
import { replayFoldIn } from '../../src/freshness/variants.ts';
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

describe('replay steps', () => {
  const ev = (user: string, item: string, ts: number, type = 'purchase'): ReplayEvent => ({
    event_id: `${user}-${item}-${ts}`,
    user_id: user,
    item_id: item,
    event_type: type,
    timestamp: new Date(ts).toISOString(),
  });
  const t0 = Date.parse('2026-03-01T00:00:00Z');

  it('starts scoring after the warm-up from the first event’s UTC day, over whole steps', () => {
    const events = [ev('u', 'a', t0 + 5 * 3_600_000), ev('u', 'b', t0 + 4 * DAY + 1)];
    const time = replayTimeline(events, DAY, 2);
    expect(time.firstCut).toBe(t0 + 2 * DAY);
    expect(time.steps).toBe(2);
    expect(time.sorted.map((t) => t.e.item_id)).toEqual(['a', 'b']);
    expect(() => replayTimeline(events, DAY, 5)).toThrow(/shorter than the warm-up/);
    expect(() => replayTimeline([], DAY, 1)).toThrow(/no events/);
    expect(() => replaySettings({ params, rules, retrainEvery: [0] })).toThrow(RangeError);
  });

  it('reveals to the source before it knows an event itself, and only up to the cut', async () => {
    const events = [ev('u', 'a', t0), ev('v', 'b', t0 + DAY), ev('u', 'c', t0 + 2 * DAY)];
    const history = new RevealedHistory(replayTimeline(events, DAY, 0).sorted, rules.weights);
    const shown: string[] = [];
    const source = {
      reveal: async (batch: readonly ReplayEvent[]) => {
        expect(batch.every((e) => !history.items(e.user_id)?.has(e.item_id))).toBe(true);
        shown.push(...batch.map((e) => e.item_id));
      },
    };
    expect(history.upcoming(t0 + DAY + 1).map((t) => t.e.item_id)).toEqual(['a', 'b']);
    await history.revealUntil(t0 + DAY + 1, source);
    expect(shown).toEqual(['a', 'b']);
    expect(history.firstSeen('u')).toBe(t0);
    expect([...(history.items('u') ?? [])]).toEqual(['a']);
    expect(history.activeBetween(t0 + 1, t0 + 2 * DAY).map(([u]) => u)).toEqual(['v']);
    expect(countBefore(history.events('u'), t0)).toBe(0);
    expect(history.upcoming(t0 + 3 * DAY).map((t) => t.e.item_id)).toEqual(['c']);
  });

  it('targets a user’s items new in the step, at their first time', () => {
    const next = [ev('u', 'a', t0 + 1), ev('u', 'b', t0 + 2), ev('u', 'b', t0 + 3), ev('w', 'a', t0 + 4)];
    const targets = stepTargets(
      next.map((e) => ({ e, ts: Date.parse(e.timestamp) })),
      (u) => (u === 'u' ? new Set(['a']) : undefined),
    );
    expect([...targets].map(([u, t]) => [u, [...t]])).toEqual([
      ['u', [['b', t0 + 2]]],
      ['w', [['a', t0 + 4]]],
    ]);
  });

  it('names the kind of a user at a cut', () => {
    const cut = t0 + 30 * DAY;
    expect(userKind(cut, undefined, undefined, 7 * DAY, 14 * DAY)).toBe('first_visit');
    expect(userKind(cut, cut - DAY, cut - DAY, 7 * DAY, 14 * DAY)).toBe('new');
    expect(userKind(cut, t0, cut - 10 * DAY, 7 * DAY, 14 * DAY)).toBe('drifted');
    expect(userKind(cut, t0, cut - 20 * DAY, 7 * DAY, 14 * DAY)).toBe('returning');
  });

  it('stops on a list that knew the interaction it is scored on', () => {
    const scores = new VariantScores(['v']);
    const at = { userId: 'u', kind: 'returning' as const, cutoff: t0, targets: new Map([['a', t0 + 5]]) };
    scoreUser({ ...at, lists: [{ variant: 'v', items: ['b', 'a'], knownMaxTs: t0 + 4 }] }, 10, [scores]);
    expect(scores.means()['v']!.users).toBe(1);
    expect(scores.means()['v']!.recall).toBe(1);
    expect(() =>
      scoreUser({ ...at, lists: [{ variant: 'v', items: ['a'], knownMaxTs: t0 + 5 }] }, 10, [scores]),
    ).toThrow(/prequential leak/);
  });

  it('folds a user in as the online consumer does: the latest events, rated at the cut, one model call', async () => {
    const rows = ['a', 'b', 'c'].flatMap((item, i) =>
      ['u1', 'u2'].map((userId, j) => ({ userId, itemId: item, weight: 1 + i + j })),
    );
    const model = await AlsModel.fit(buildCsr(rows), { ...params, factors: 2 });
    const history = [ev('x', 'a', t0), ev('x', 'zz', t0 + 1), ev('x', 'b', t0 + 2, 'click')];
    const timed = history.map((e) => ({ e, ts: Date.parse(e.timestamp) }));
    const { folded, docsRead } = replayFoldIn(model, timed, rules, t0 + DAY, 50);
    expect(folded?.maxTs).toBe(t0 + 2);
    expect(docsRead).toBe(3 + 3);
    const { ratings } = rateUserHistory(history, rules, t0 + DAY, 50);
    expect(folded?.x).toEqual(model.recalculateUser(model.ratedByIds(ratings)));
    expect(replayFoldIn(model, timed.slice(1, 2), rules, t0 + DAY, 50).folded).toBeUndefined();
  });
});
