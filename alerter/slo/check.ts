// What each burn-rate tier of an SLO does: detection times, budget spent before firing, warnings; for `halo slo check`.

import { formatDuration } from '../../core/units.ts';
import { budgetBeforeFiring, canFire, detectionTime, errorBudget } from './burn.ts';
import type { Slo } from './spec.ts';
import { periodMs, tiersForSlo } from './windows.ts';

export interface CheckRow {
  tier: string;
  severity: 'page' | 'ticket';
  factor: number;
  longWindowMs: number;
  shortWindowMs: number;
  /** Time to fire on a total outage (every event bad); undefined when it never fires. */
  outageDetectionMs: number | undefined;
  /** The error ratio the rows were computed for (0.02 is 2%). */
  errorRate: number;
  /** Time to fire at errorRate; undefined: never. */
  detectionMs: number | undefined;
  /** Share of the period's budget spent before firing at errorRate; undefined: never fires. */
  budgetBeforeFiring: number | undefined;
  warning?: string;
}

export interface DescribeOptions {
  /** A constant error ratio to evaluate, 0 < errorRate ≤ 1. */
  errorRate: number;
  /** For calendar windows: the month or quarter holding this instant sets the period. */
  now?: Date;
}

/** One row per tier of the SLO (its own tiers, or the workbook table scaled to its period). */
export function describeSlo(slo: Slo, options: DescribeOptions): CheckRow[] {
  const budget = errorBudget(slo.objective);
  const period = periodMs(slo.window, options.now);
  return tiersForSlo(slo, options.now).map((tier) => {
    const row: CheckRow = {
      tier: tier.name,
      severity: tier.severity,
      factor: tier.factor,
      longWindowMs: tier.longWindowMs,
      shortWindowMs: tier.shortWindowMs,
      outageDetectionMs: detectionTime(tier, budget, 1),
      errorRate: options.errorRate,
      detectionMs: detectionTime(tier, budget, options.errorRate),
      budgetBeforeFiring: budgetBeforeFiring(tier, budget, options.errorRate, period),
    };
    if (!canFire(tier, budget)) {
      const needed = percent(tier.factor * budget);
      row.warning = `tier ${tier.name} can never fire: ${tier.factor}× a ${percent(budget)} budget needs ${needed} of events to fail`;
    }
    return row;
  });
}

/** Durations for people: "51.8s" below a minute, else "43m12s" (whole seconds). */
export function formatSpan(ms: number | undefined): string {
  if (ms === undefined) return 'never';
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  return formatDuration(Math.round(ms / 1000) * 1000);
}

function percent(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(4))}%`;
}

/** The text table `halo slo check` prints, then one line per warning. */
export function formatCheck(rows: readonly CheckRow[]): string {
  const rate = rows[0] ? percent(rows[0].errorRate) : '';
  const header = [
    'TIER',
    'SEVERITY',
    'FACTOR',
    'LONG',
    'SHORT',
    'OUTAGE',
    `AT ${rate}`,
    'BUDGET SPENT',
  ];
  const cells = rows.map((row) => [
    row.tier,
    row.severity,
    `${row.factor}×`,
    formatSpan(row.longWindowMs),
    formatSpan(row.shortWindowMs),
    formatSpan(row.outageDetectionMs),
    formatSpan(row.detectionMs),
    row.budgetBeforeFiring === undefined ? '-' : percent(row.budgetBeforeFiring),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const warnings = rows.flatMap((row) => (row.warning ? [`warning: ${row.warning}`] : []));
  return [line(header), ...cells.map(line), ...warnings].join('\n') + '\n';
}
