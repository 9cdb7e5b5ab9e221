// Burn-rate math of multi-window alerts: error budget, burn rate, budget spent, detection time.

import type { BurnRateTier } from './windows.ts';

/** Floating point makes 1 − 0.999 come out as 0.0010000000000000009; twelve digits are plenty. */
const clean = (x: number) => Number(x.toPrecision(12));

/** The error budget of an objective in percent: the share of events allowed to be bad. */
export function errorBudget(objectivePercent: number): number {
  return clean((100 - objectivePercent) / 100);
}

/** How many times faster than sustainable an error ratio spends the budget. */
export function burnRate(errorRatio: number, budget: number): number {
  return clean(errorRatio / budget);
}

/** The share of the period's budget that a burn rate spends over a window. */
export function budgetConsumed(rate: number, windowMs: number, periodMs: number): number {
  return clean((rate * windowMs) / periodMs);
}

/**
 * A tier can fire only if its threshold error ratio, factor × budget, is at most 1: at 90%
 * (budget 0.1) a 14.4× tier needs 144% of events to fail.
 */
export function canFire(tier: Pick<BurnRateTier, 'factor'>, budget: number): boolean {
  return tier.factor * budget <= 1;
}

/**
 * When a tier fires after a constant error ratio `e` starts (from a clean history, steady
 * traffic), in ms; undefined when it never does.
 *
 * At t < W the error ratio seen over a window W is e × t / W. Each window needs it to reach
 * factor × budget, so t ≥ factor × budget × W / e; the long window is the later of the two,
 * hence t = factor × budget × long / e. That needs t ≤ long, i.e. e ≥ factor × budget: a
 * lower error ratio never fires. Since e ≤ 1, the bound from below is factor × budget × long
 * (the total outage): 14.4 × 0.001 × 1h = 51.84 s for a 99.9% SLO. The evaluation interval
 * adds up to one interval on top.
 */
export function detectionTime(
  tier: Pick<BurnRateTier, 'factor' | 'longWindowMs'>,
  budget: number,
  errorRatio: number,
): number | undefined {
  const threshold = tier.factor * budget;
  // A relative tolerance: 14.4 × 0.001 is 0.014400000000000001 in floating point.
  const below = errorRatio < threshold * (1 - 1e-9);
  if (errorRatio <= 0 || threshold > 1 || below) return undefined;
  return clean((threshold * tier.longWindowMs) / errorRatio);
}

/**
 * The share of the budget spent before the tier fires at a constant error ratio: e × t
 * over budget × period, which is factor × long / period whatever e is, when it fires at all.
 */
export function budgetBeforeFiring(
  tier: Pick<BurnRateTier, 'factor' | 'longWindowMs'>,
  budget: number,
  errorRatio: number,
  periodMs: number,
): number | undefined {
  const t = detectionTime(tier, budget, errorRatio);
  return t === undefined ? undefined : budgetConsumed(burnRate(errorRatio, budget), t, periodMs);
}
