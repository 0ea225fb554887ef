// Which ALS parameters a training run uses, and why (the model document's `tuning`):
//
//   config    every searched parameter is pinned (set under [als], or given for this run)
//   defaults  [tune] mode "off" with nothing pinned, or too little data to carve a validation split
//   reused    the newest stored search for this data is young enough and the data has not grown
//             past [tune] growth_factor since: its winner, without searching
//   search    otherwise (or mode "always"): successive halving on a validation split carved
//             from the run's training part (never its holdout), within [tune] budget_factor fits
//
// Pinned parameters win over tuning everywhere: the search does not vary them and a reused winner
// does not override them.

import { createHash } from 'node:crypto';
import type { AppContext } from '../app/context.ts';
import type { RatingRules } from '../events/rating.ts';
import type { TuningWinner } from '../repositories/tuning.ts';
import type { AlsParams, WeightingScheme } from '../types/index.ts';
import { successiveHalving, type HalvingResult, type SearchSpace, type Trial } from './evaluate/index.ts';
import {
  holdoutOf,
  pairCount,
  sampleUsers,
  subTable,
  tableMatrix,
  type RatingsTable,
} from './ratings-table.ts';

export const SEARCHED = ['factors', 'regularization', 'alpha', 'weighting'] as const;
export type Searched = (typeof SEARCHED)[number];

/** The grid the tuner searches (k is further bounded by the data); the evidence is bench/tune (docs/benchmarks.md). */
export const DEFAULT_SPACE: SearchSpace = {
  factors: [16, 32, 64, 128],
  regularization: [0.1, 1, 10, 50],
  alpha: [0.3, 1, 3, 10, 30],
  weighting: ['linear', 'log', 'bm25', 'tfidf'],
};

/** Validation users scored per trial: scoring every user × item would cost more than training on large data. */
const MAX_VALIDATION_USERS = 1_000;
const DAY = 86_400_000;

export interface TuningRecord {
  source: 'config' | 'search' | 'reused' | 'defaults';
  search_id?: string;
  validation_ndcg?: number;
  budget_seconds?: number;
  used_seconds?: number;
  /** measured seconds of the one fit the budget is a multiple of */
  fit_seconds?: number;
  reason?: string;
  pinned?: Searched[];
  trials?: Array<{
    params: Record<string, number | string>;
    ndcg: number;
    iterations: number;
    rung?: number;
  }>;
}

export interface AutotuneOptions {
  /** the run's configured parameters (config + per-run overrides) */
  base: AlsParams;
  /** per-run overrides: pinned for this run like settings under [als] */
  overrides?: Partial<AlsParams>;
  rules: RatingRules;
  /** per-user holdout carved from `rows` as validation */
  holdout: number;
  now: number;
  space?: SearchSpace;
  onProgress?: (phase: string, detail?: Record<string, unknown>) => void;
}

/** Fingerprint of what makes ratings comparable between runs: a stored winner is reused only for the same. */
export function dataKey(rules: RatingRules, minUser: number, minItem: number): string {
  const canonical = JSON.stringify({
    w: Object.entries(rules.weights).sort(([a], [b]) => a.localeCompare(b)),
    win: rules.windowDays,
    hl: rules.halfLifeDays,
    mu: minUser,
    mi: minItem,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** The searched space with pinned axes collapsed to the base value and k bounded by the data. */
export function spaceFor(
  space: SearchSpace,
  base: AlsParams,
  pinned: ReadonlySet<Searched>,
  nUsers: number,
  nItems: number,
): SearchSpace {
  const kMax = Math.max(2, Math.min(nUsers, nItems));
  const ks = space.factors.filter((k) => k <= kMax);
  return {
    factors: pinned.has('factors') ? [base.factors] : ks.length ? ks : [Math.min(base.factors, kMax)],
    regularization: pinned.has('regularization') ? [base.regularization] : space.regularization,
    alpha: pinned.has('alpha') ? [base.alpha] : space.alpha,
    weighting: pinned.has('weighting') ? [base.weighting ?? 'linear'] : space.weighting,
  };
}

/** Why a stored winner may not be reused now, undefined when it may. */
export function staleness(
  w: TuningWinner | undefined,
  interactions: number,
  now: number,
  tune: { maxAgeDays: number; growthFactor: number },
): string | undefined {
  if (!w) return 'no tuned parameters for this data yet';
  const ageDays = (now - Date.parse(w.created_at)) / DAY;
  if (ageDays > tune.maxAgeDays)
    return `tuned parameters are ${ageDays.toFixed(1)} days old (> [tune] max_age_days ${tune.maxAgeDays})`;
  if (interactions >= w.interactions * tune.growthFactor)
    return `interactions grew from ${w.interactions} to ${interactions} (≥ ${tune.growthFactor}×, [tune] growth_factor)`;
  return undefined;
}

function pick(p: Record<string, unknown>): Partial<Pick<AlsParams, Searched>> {
  const out: Partial<Pick<AlsParams, Searched>> = {};
  if (typeof p['factors'] === 'number') out.factors = p['factors'];
  if (typeof p['regularization'] === 'number') out.regularization = p['regularization'];
  if (typeof p['alpha'] === 'number') out.alpha = p['alpha'];
  if (typeof p['weighting'] === 'string') out.weighting = p['weighting'] as WeightingScheme;
  return out;
}

/** Validation split of the training part, id-aligned with its train matrix, users sampled down to MAX_VALIDATION_USERS. */
export function validationSplit(rows: RatingsTable, holdout: number, seed: number) {
  const mask = holdoutOf(rows, holdout);
  const train = tableMatrix(subTable(rows, mask, 0));
  const held = subTable(rows, mask, 1);
  const sampled = subTable(held, sampleUsers(held, MAX_VALIDATION_USERS, seed));
  const validation = tableMatrix(sampled, train);
  return { train, validation };
}

export interface TrainPartSearch {
  base: AlsParams;
  pinned: ReadonlySet<Searched>;
  space: SearchSpace;
  holdout: number;
  budgetFactor: number;
  onTrial?: (t: Trial) => void;
}

/**
 * The search itself, pure: a validation split carved from the training part `rows`, the space
 * bounded by it, successive halving within the budget. Undefined when there is nothing to validate on.
 */
export async function searchTrainPart(
  rows: RatingsTable,
  o: TrainPartSearch,
): Promise<HalvingResult | undefined> {
  const { train, validation } = validationSplit(rows, o.holdout, o.base.seed);
  if (validation.indptr[validation.nUsers]! === 0 || train.nUsers < 2 || train.nItems < 2) return undefined;
  const space = spaceFor(o.space, o.base, o.pinned, train.nUsers, train.nItems);
  return successiveHalving(train, validation, o.base, space, {
    budgetFactor: o.budgetFactor,
    seed: o.base.seed,
    onTrial: o.onTrial,
  });
}

export interface Autotuned {
  params: AlsParams;
  tuning: TuningRecord;
}

/** The parameters a run trains with. `rows` is the run's training part (its holdout already removed). */
export async function autotune(
  ctx: AppContext,
  rows: RatingsTable,
  opts: AutotuneOptions,
): Promise<Autotuned> {
  const { config } = ctx;
  const t = config.tune;
  const progress = opts.onProgress ?? (() => undefined);
  const pinned = new Set<Searched>([
    ...t.pinned,
    ...SEARCHED.filter((p) => opts.overrides?.[p] !== undefined),
  ]);
  const pinnedList = SEARCHED.filter((p) => pinned.has(p));
  const base = opts.base;
  const fixed = (source: 'config' | 'defaults', reason: string): Autotuned => ({
    params: base,
    tuning: { source, reason, pinned: pinnedList },
  });

  if (pinned.size === SEARCHED.length) return fixed('config', 'k, λ, α and weighting are all pinned');
  if (t.mode === 'off') return fixed(pinned.size ? 'config' : 'defaults', '[tune] mode = "off"');

  const key = dataKey(opts.rules, config.training.minUserInteractions, config.training.minItemInteractions);
  let reason = '[tune] mode = "always"';
  if (t.mode === 'auto') {
    const winner = await ctx.repos.tuning.latestWinner(key);
    const stale = staleness(winner, pairCount(rows), opts.now, t);
    if (!stale && winner) {
      const reused = pick(winner.params);
      for (const p of pinned) delete reused[p];
      return {
        params: { ...base, ...reused },
        tuning: {
          source: 'reused',
          search_id: winner.search_id,
          validation_ndcg: winner.validation_ndcg,
          budget_seconds: winner.budget_seconds,
          used_seconds: winner.used_seconds,
          pinned: pinnedList,
          reason: `search ${winner.search_id} (${winner.created_at}) tuned on ${winner.interactions} interactions; now ${pairCount(rows)}, below ${t.growthFactor}× and younger than ${t.maxAgeDays} days`,
        },
      };
    }
    reason = stale!;
  }

  progress('tune', { reason });
  const result = await searchTrainPart(rows, {
    base,
    pinned,
    space: opts.space ?? DEFAULT_SPACE,
    holdout: opts.holdout,
    budgetFactor: t.budgetFactor,
    onTrial: (trial) =>
      progress('tune_trial', {
        ...trial.params,
        ndcg: trial.ndcg,
        iterations: trial.iterations,
        rung: trial.rung,
      }),
  });
  if (!result)
    return fixed(
      pinned.size ? 'config' : 'defaults',
      `${reason}, but the training part is too small to carve a validation split`,
    );
  const searchId = `tune-${opts.now.toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const best = result.best.params;
  const trials = result.trials.map((x) => ({
    params: { ...x.params },
    ndcg: x.ndcg,
    iterations: x.iterations,
    rung: x.rung,
  }));
  await ctx.repos.tuning.record(
    searchId,
    [...result.trials]
      .sort((a, b) => b.rung - a.rung || b.ndcg - a.ndcg)
      .map((x) => ({
        params: { ...x.params, iterations: x.iterations },
        rung: x.rung,
        metrics: { ndcg: x.ndcg },
        train_seconds: x.seconds,
      })),
  );
  await ctx.repos.tuning.recordWinner({
    search_id: searchId,
    created_at: new Date(opts.now).toISOString(),
    data_key: key,
    interactions: pairCount(rows),
    params: { ...best },
    validation_ndcg: result.best.ndcg,
    budget_seconds: result.budgetSeconds,
    used_seconds: result.usedSeconds,
    trials: result.trials.length,
  });
  return {
    params: { ...base, ...best },
    tuning: {
      source: 'search',
      search_id: searchId,
      validation_ndcg: result.best.ndcg,
      budget_seconds: result.budgetSeconds,
      used_seconds: result.usedSeconds,
      fit_seconds: result.fitSeconds,
      pinned: pinnedList,
      reason,
      trials,
    },
  };
}
