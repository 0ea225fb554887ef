// GET /v1/experiments/<id>: per-arm counts → rates, intervals and the verdict. Pure.

import type { ArmCounts } from '../repositories/served-lists.ts';
import type { Arm } from './assignment.ts';
import { compareRates, wilsonInterval, type Verdict } from './stats.ts';

export interface ArmReport {
  /** served lists */
  impressions: number;
  users: number;
  models: string[];
  /** attributed click records, and the served lists with at least one */
  clicks: number;
  clicked_lists: number;
  ctr: number | null;
  ctr_ci95: [number, number];
  conversions: number;
  converted_lists: number;
  conversion_rate: number | null;
  conversion_rate_ci95: [number, number];
}

export interface RateComparison {
  verdict: Verdict;
  summary: string;
  z: number;
  p_value: number;
  /** treatment − control */
  difference: number;
}

export interface ExperimentResults {
  unit: string;
  interval: string;
  test: string;
  arms: Record<Arm, ArmReport>;
  ctr: RateComparison;
  conversion_rate: RateComparison;
  /** the CTR verdict in plain words */
  verdict: string;
}

const EMPTY: ArmCounts = {
  served: 0,
  users: 0,
  models: [],
  actions: { click: { records: 0, lists: 0 }, conversion: { records: 0, lists: 0 } },
};

const rate = (x: number, n: number) => (n > 0 ? x / n : null);

function arm(c: ArmCounts): ArmReport {
  const n = c.served;
  // an action whose served record is not indexed yet must not push a rate above 1
  const clicked = Math.min(c.actions.click.lists, n);
  const converted = Math.min(c.actions.conversion.lists, n);
  const ci = (x: number) => {
    const w = wilsonInterval(x, n);
    return [w.lower, w.upper] as [number, number];
  };
  return {
    impressions: n,
    users: c.users,
    models: c.models,
    clicks: c.actions.click.records,
    clicked_lists: clicked,
    ctr: rate(clicked, n),
    ctr_ci95: ci(clicked),
    conversions: c.actions.conversion.records,
    converted_lists: converted,
    conversion_rate: rate(converted, n),
    conversion_rate_ci95: ci(converted),
  };
}

function compare(
  metric: string,
  control: ArmReport,
  treatment: ArmReport,
  key: 'clicked_lists' | 'converted_lists',
): RateComparison {
  const c = compareRates(
    metric,
    { x: control[key], n: control.impressions },
    { x: treatment[key], n: treatment.impressions },
  );
  return {
    verdict: c.verdict,
    summary: c.summary,
    z: c.test.z,
    p_value: c.test.pValue,
    difference: c.test.difference,
  };
}

export function experimentResults(counts: Map<string, ArmCounts>): ExperimentResults {
  const control = arm(counts.get('control') ?? EMPTY);
  const treatment = arm(counts.get('treatment') ?? EMPTY);
  const ctr = compare('CTR', control, treatment, 'clicked_lists');
  return {
    unit: 'one served list; CTR = lists with at least one attributed click / lists served, conversion rate = lists with at least one attributed add_to_cart or purchase / lists served',
    interval: 'Wilson score interval, 95 %',
    test: 'pooled two-proportion z-test, two-sided, α = 0.05 (verdict not_enough_data while an arm has fewer than 5 lists with or without the action)',
    arms: { control, treatment },
    ctr,
    conversion_rate: compare('conversion rate', control, treatment, 'converted_lists'),
    verdict: ctr.summary,
  };
}
