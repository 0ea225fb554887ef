import type { AlsParams } from '../types/index.ts';
import type { Config } from './schema.ts';

/** Fixed parts of a run: implicit's CG step count, and a seed so a run can be repeated. */
const FIXED = { cgSteps: 3, seed: 42 } as const;

/**
 * The one way ALS parameters are made: the validated configuration ([als] settings and their
 * documented defaults), then per-run overrides (CLI flags, a tuning point).
 */
export function alsParams(
  als: Pick<
    Config['als'],
    'factors' | 'regularization' | 'alpha' | 'iterations' | 'solver' | 'weighting' | 'threads'
  >,
  overrides: Partial<AlsParams> = {},
): AlsParams {
  return {
    factors: als.factors,
    regularization: als.regularization,
    alpha: als.alpha,
    iterations: als.iterations,
    solver: als.solver,
    weighting: als.weighting,
    threads: als.threads,
    ...FIXED,
    ...overrides,
  };
}
