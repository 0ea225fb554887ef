import type { AlsParams } from '../types/index.ts';
import type { Config } from './index.ts';

/** Fixed parts of a run: implicit's CG step count, and a seed so a run can be repeated. */
const FIXED = { cgSteps: 3, seed: 42 } as const;

/**
 * The one way ALS parameters are made: the validated configuration (ALS_* variables and their
 * documented defaults), then per-run overrides (CLI flags, a tuning point).
 */
export function alsParams(
  train: Pick<
    Config['train'],
    'factors' | 'regularization' | 'alpha' | 'iterations' | 'solver' | 'weighting' | 'threads'
  >,
  overrides: Partial<AlsParams> = {},
): AlsParams {
  return {
    factors: train.factors,
    regularization: train.regularization,
    alpha: train.alpha,
    iterations: train.iterations,
    solver: train.solver,
    weighting: train.weighting,
    threads: train.threads,
    ...FIXED,
    ...overrides,
  };
}
