// Replays SLOs' burn-rate tiers over stored history: evaluates them every step from `from` to
// `to` with a fresh alert state machine and lists when each tier would have fired and resolved.

import type { Store } from '../../core/store/store.ts';
import { AlertBook } from '../state/machine.ts';
import { sloAlerts } from './alerts.ts';
import { evaluateSlos } from './evaluate.ts';
import type { Slo } from './model.ts';

export interface BacktestFiring {
  slo: string;
  tier: string;
  severity: string;
  labels: Record<string, string>;
  firedAt: number;
  /** Undefined when still firing at `to`. */
  resolvedAt?: number;
  /** Highest long-window burn rate seen while firing. */
  peakBurnRate: number;
}

export async function backtest(
  store: Store,
  slos: readonly Slo[],
  from: number,
  to: number,
  stepMs: number,
  onProgress?: (at: number) => void,
): Promise<BacktestFiring[]> {
  if (!(stepMs > 0)) throw new Error('the step must be positive');
  const book = new AlertBook();
  const open = new Map<string, BacktestFiring>();
  const done: BacktestFiring[] = [];
  for (let at = from; at <= to; at += stepMs) {
    onProgress?.(at);
    const evaluations = await evaluateSlos(store, slos, at);
    for (const result of sloAlerts(slos, evaluations, at)) {
      for (const t of book.apply(result, at)) {
        const key = t.alert.fingerprint;
        if (t.to === 'firing') {
          open.set(key, {
            slo: t.alert.labels['slo'] ?? '',
            tier: t.alert.labels['burn_tier'] ?? '',
            severity: t.alert.labels['severity'] ?? '',
            labels: t.alert.labels,
            firedAt: at,
            peakBurnRate: t.alert.value,
          });
        } else if (t.to === 'resolved') {
          const firing = open.get(key);
          if (firing) {
            firing.resolvedAt = at;
            done.push(firing);
            open.delete(key);
          }
        }
      }
      for (const alert of book.alerts()) {
        const firing = open.get(alert.fingerprint);
        if (firing && alert.state === 'firing')
          firing.peakBurnRate = Math.max(firing.peakBurnRate, alert.value);
      }
    }
    book.prune(at);
  }
  return [...done, ...open.values()].sort((a, b) => a.firedAt - b.firedAt);
}
