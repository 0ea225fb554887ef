// The statistics of GET /v1/experiments/<id>: pure functions, no I/O.
//
// Unit of analysis: one served list. A list "converts" for CTR when at least one click was
// attributed to it (and for conversion rate when at least one add_to_cart/purchase was), so every
// trial is a Bernoulli 0/1 and lists are the independent-ish units the two-proportion test needs
// (several clicks on one list would otherwise count as several successes of one trial).

/** z for a two-sided 95 % interval / test at α = 0.05. */
export const Z95 = 1.959963984540054;

export interface Interval {
  lower: number;
  upper: number;
}

/**
 * Wilson score interval for x successes in n trials (Wilson 1927): unlike the Wald interval it
 * stays inside [0, 1] and keeps its coverage for small n and rates near 0, which CTRs are.
 * n = 0 → the whole [0, 1] (nothing is known).
 */
export function wilsonInterval(x: number, n: number, z = Z95): Interval {
  if (n <= 0) return { lower: 0, upper: 1 };
  const p = x / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

/** Complementary error function (Numerical Recipes' erfcc, fractional error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Standard normal upper tail P(Z > z). */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

export interface ZTest {
  /** (treatment rate − control rate) / pooled standard error; 0 when undefined */
  z: number;
  /** two-sided */
  pValue: number;
  /** treatment rate − control rate */
  difference: number;
}

/**
 * Pooled two-proportion z-test of H0: p_treatment = p_control. Undefined (no trials in an arm, or
 * no variance: all 0 or all 1) → z 0, p 1.
 */
export function twoProportionZTest(
  control: { x: number; n: number },
  treatment: { x: number; n: number },
): ZTest {
  if (control.n <= 0 || treatment.n <= 0) return { z: 0, pValue: 1, difference: 0 };
  const pc = control.x / control.n;
  const pt = treatment.x / treatment.n;
  const pooled = (control.x + treatment.x) / (control.n + treatment.n);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / control.n + 1 / treatment.n));
  if (!(se > 0)) return { z: 0, pValue: 1, difference: pt - pc };
  const z = (pt - pc) / se;
  return { z, pValue: Math.min(1, 2 * normalUpperTail(Math.abs(z))), difference: pt - pc };
}

export type Verdict =
  'treatment_better' | 'treatment_worse' | 'no_significant_difference_yet' | 'not_enough_data';

/**
 * Below this many successes or failures in an arm the normal approximation behind the z-test is
 * not trusted (the usual n·p ≥ 5 and n·(1−p) ≥ 5 rule), and the verdict says so.
 */
export const MIN_SUCCESSES_AND_FAILURES = 5;

export interface Comparison {
  verdict: Verdict;
  /** the verdict in plain words, with the p-value and the sample sizes */
  summary: string;
  test: ZTest;
}

/** Plain-words verdict of a rate compared between arms at significance level alpha. */
export function compareRates(
  metric: string,
  control: { x: number; n: number },
  treatment: { x: number; n: number },
  alpha = 0.05,
): Comparison {
  const test = twoProportionZTest(control, treatment);
  const sizes = `${treatment.x}/${treatment.n} treatment vs ${control.x}/${control.n} control lists`;
  const thin = [control, treatment].some((a) => Math.min(a.x, a.n - a.x) < MIN_SUCCESSES_AND_FAILURES);
  if (thin)
    return {
      verdict: 'not_enough_data',
      summary: `${metric}: not enough data yet (need at least ${MIN_SUCCESSES_AND_FAILURES} lists with and without in each arm; ${sizes})`,
      test,
    };
  const p = test.pValue < 0.0001 ? 'p < 0.0001' : `p = ${test.pValue.toFixed(4)}`;
  if (test.pValue < alpha) {
    const better = test.difference > 0;
    return {
      verdict: better ? 'treatment_better' : 'treatment_worse',
      summary: `${metric}: treatment ${better ? 'better' : 'worse'} than control (${p}, two-proportion z-test; ${sizes})`,
      test,
    };
  }
  return {
    verdict: 'no_significant_difference_yet',
    summary: `${metric}: no significant difference yet (${p}, two-proportion z-test; ${sizes})`,
    test,
  };
}
