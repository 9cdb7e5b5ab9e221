// The alerter's HTTP API (Hono): SLOs with their status (SLI now, budget left, burn rate per
// window, alert state per tier) and the alerts pending and firing.

import { Hono } from 'hono';
import type { Alerter, AlerterStatus } from './alerter.ts';
import type { TierState } from './slo/evaluate.ts';
import type { Alert } from './state/machine.ts';
import { sloRule } from './slo/alerts.ts';
import { tiersForSlo, type BurnRateTier } from './slo/windows.ts';
import type { Slo } from './slo/model.ts';

function alertJson(a: Alert) {
  return {
    fingerprint: a.fingerprint,
    state: a.state,
    labels: a.labels,
    annotations: a.annotations,
    value: a.value,
    activeSince: new Date(a.activeSince).toISOString(),
    ...(a.firedAt !== undefined ? { firedAt: new Date(a.firedAt).toISOString() } : {}),
    ...(a.resolvedAt !== undefined ? { resolvedAt: new Date(a.resolvedAt).toISOString() } : {}),
  };
}

/** The alert state of one burn-rate tier of an SLO instance, as /api/v1/slos gives it. */
export interface SloTierStatus {
  name: string;
  severity: BurnRateTier['severity'];
  factor: number;
  longWindow: string | undefined;
  shortWindow: string | undefined;
  held: TierState['held'] | null;
  alert: 'pending' | 'firing' | 'inactive';
}

/** One SLO instance's figures at the last evaluation, as /api/v1/slos gives them. */
export interface SloInstanceStatus {
  instance: string;
  /** Good over total events in the SLO period; null without events. */
  sli: number | null;
  good: number;
  total: number;
  budgetRemaining: number;
  excluded: boolean;
  /** Burn rate per window name ("5m", "1h"…, and "period"). */
  burnRates: Record<string, number>;
  tiers: SloTierStatus[];
}

/** One SLO with its instances, as /api/v1/slos gives it. */
export interface SloStatusJson {
  name: string;
  service: string;
  description: string | null;
  objective: number;
  window: Slo['window'];
  labels: Record<string, string>;
  instances: SloInstanceStatus[];
}

/** The status of one SLO from the alerter's last evaluation and its alerts (also the status page's). */
export function sloStatusJson(slo: Slo, status: AlerterStatus): SloStatusJson {
  const alerts = status.alerts;
  const instances = status.evaluations.filter((e) => e.slo.name === slo.name);
  return {
    name: slo.name,
    service: slo.service,
    description: slo.description ?? null,
    objective: slo.objective,
    window: slo.window,
    labels: slo.labels,
    instances: instances.map((e) => ({
      instance: e.instance,
      sli: e.period.total > 0 ? e.period.good / e.period.total : null,
      good: e.period.good,
      total: e.period.total,
      budgetRemaining: e.budgetRemaining,
      excluded: e.excluded,
      burnRates: Object.fromEntries(e.windows.map((w) => [w.name, w.burnRate])),
      tiers: tiersForSlo(slo, new Date(e.at)).map((tier) => {
        const alert = alerts.find(
          (a) =>
            a.rule === sloRule(slo, tier.name) &&
            (slo.groupBy === undefined || a.labels[slo.groupBy] === e.instance),
        );
        const state = e.tiers.find((t) => t.tier.name === tier.name);
        return {
          name: tier.name,
          severity: tier.severity,
          factor: tier.factor,
          longWindow: state?.long.name,
          shortWindow: state?.short.name,
          held: state?.held ?? null,
          alert: alert && alert.state !== 'resolved' ? alert.state : 'inactive',
        };
      }),
    })),
  };
}

export function createAlerterApi(alerter: Alerter, slos: readonly Slo[]): Hono {
  const app = new Hono();

  app.get('/api/v1/slos', (c) => {
    const status = alerter.status();
    const at = status.lastEvaluation;
    return c.json({
      evaluatedAt: at === undefined ? null : new Date(at).toISOString(),
      leading: status.leading,
      slos: slos.map((slo) => sloStatusJson(slo, status)),
    });
  });

  app.get('/api/v1/alerts', (c) => {
    const wanted = c.req.query('state');
    if (wanted !== undefined && !['pending', 'firing', 'resolved'].includes(wanted)) {
      return c.json({ error: 'state: expected pending, firing or resolved' }, 400);
    }
    const alerts = alerter
      .status()
      .alerts.filter((a) => (wanted === undefined ? a.state !== 'resolved' : a.state === wanted))
      .sort((a, b) => a.activeSince - b.activeSince);
    return c.json({ alerts: alerts.map(alertJson) });
  });

  return app;
}
