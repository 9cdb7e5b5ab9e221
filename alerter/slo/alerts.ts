// Turns SLO evaluations into alert candidates: one rule per SLO and burn-rate tier, one alert per
// SLO instance whose tier burns, labelled for routing (page or ticket) and annotated.

import type { RuleEvaluation } from '../state/types.ts';
import type { SloEvaluation } from './evaluate.ts';
import type { Slo } from './model.ts';
import { tiersForSlo } from './windows.ts';

const percent = (x: number) => `${(x * 100).toFixed(2)}%`;

/** The rule id of an SLO tier, as the alert state machine keys it. */
export function sloRule(slo: Slo, tier: string): string {
  return `slo:${slo.name}:${tier}`;
}

/**
 * One RuleEvaluation per SLO and tier (also for SLOs with no data: their alerts stop), with the
 * instances whose tier is active.
 */
export function sloAlerts(
  slos: readonly Slo[],
  evaluations: readonly SloEvaluation[],
  at: number,
): RuleEvaluation[] {
  const out = new Map<string, RuleEvaluation>();
  for (const slo of slos) {
    for (const tier of tiersForSlo(slo, new Date(at))) {
      const rule = sloRule(slo, tier.name);
      out.set(rule, { rule, timing: { forMs: 0, keepFiringForMs: 0 }, active: [] });
    }
  }
  for (const e of evaluations) {
    const { slo } = e;
    for (const t of e.tiers) {
      if (!t.active) continue;
      const routing =
        t.tier.severity === 'page' ? slo.alerting.pageLabels : slo.alerting.ticketLabels;
      const labels: Record<string, string> = {
        ...slo.labels,
        ...routing,
        alertname: slo.name,
        slo: slo.name,
        service: slo.service,
        severity: t.tier.severity,
        burn_tier: t.tier.name,
      };
      if (slo.groupBy) labels[slo.groupBy] = e.instance;
      const annotations: Record<string, string> = {
        ...slo.annotations,
        ...slo.alerting.annotations,
        summary:
          `${slo.name}${e.instance ? ` (${e.instance})` : ''}: error budget burning at ` +
          `${t.long.burnRate.toFixed(1)}× over ${t.long.name} and ${t.short.burnRate.toFixed(1)}× over ` +
          `${t.short.name} (tier ${t.tier.name}: ${t.tier.factor}×)`,
        description:
          `Objective ${slo.objective}%. Error ratio ${percent(t.long.errorRatio)} over ${t.long.name}, ` +
          `${percent(t.short.errorRatio)} over ${t.short.name}; ${percent(Math.max(e.budgetRemaining, 0))} ` +
          `of the budget left in the period.`,
      };
      out
        .get(sloRule(slo, t.tier.name))
        ?.active.push({ labels, annotations, value: t.long.burnRate });
    }
  }
  return [...out.values()];
}
