// The alert state machine: candidates from each evaluation become pending alerts, firing once
// they held for `for`, and resolved when they stop (after keep_firing_for); each change is a
// transition for the alert history. Time comes from the caller: no clock is read here.

import { createHash } from 'node:crypto';
import type { Candidate, RuleEvaluation, Timing } from './types.ts';

export type AlertState = 'pending' | 'firing' | 'resolved';

export interface Alert {
  /** A 64-bit hash of the labels, as a decimal string (ClickHouse UInt64). */
  fingerprint: string;
  rule: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: AlertState;
  value: number;
  /** When its condition started holding (this time round). */
  activeSince: number;
  /** Last evaluation at which the condition held. */
  lastActive: number;
  firedAt?: number;
  resolvedAt?: number;
  /** First evaluation at which a firing alert's condition no longer held (keep_firing_for). */
  keepFiringSince?: number;
}

export interface Transition {
  at: number;
  alert: Alert;
  from: AlertState | 'inactive';
  to: AlertState;
}

/** Resolved alerts are kept this long (so receivers can be told), then forgotten. */
export const RESOLVED_RETENTION_MS = 15 * 60_000;

/** A stable fingerprint of a label set: the same labels in any order give the same value. */
export function alertFingerprint(labels: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const key of Object.keys(labels).sort()) hash.update(`${key}\u0000${labels[key]}\u0001`);
  return hash.digest().readBigUInt64BE(0).toString();
}

export class AlertBook {
  readonly #alerts = new Map<string, Alert>();

  /** Every alert known: pending, firing, and recently resolved. */
  alerts(): Alert[] {
    return [...this.#alerts.values()];
  }

  get(fingerprint: string): Alert | undefined {
    return this.#alerts.get(fingerprint);
  }

  /** Replaces the book's contents (state restored after a restart or a takeover). */
  restore(alerts: readonly Alert[]): void {
    this.#alerts.clear();
    for (const alert of alerts) this.#alerts.set(alert.fingerprint, { ...alert });
  }

  /**
   * Applies one evaluation of a rule at `at`: its active candidates, and by omission which of
   * its alerts stopped. Returns the transitions, in a stable order.
   */
  apply(evaluation: RuleEvaluation, at: number): Transition[] {
    const out: Transition[] = [];
    const seen = new Set<string>();
    for (const candidate of evaluation.active) {
      const fingerprint = alertFingerprint(candidate.labels);
      seen.add(fingerprint);
      this.#active(evaluation.rule, evaluation.timing, candidate, fingerprint, at, out);
    }
    for (const alert of this.#alerts.values()) {
      if (alert.rule !== evaluation.rule || seen.has(alert.fingerprint)) continue;
      this.#inactive(alert, evaluation.timing, at, out);
    }
    return out;
  }

  /** Forgets resolved alerts older than the retention. */
  prune(at: number): void {
    for (const [fingerprint, alert] of this.#alerts) {
      if (alert.state === 'resolved' && at - (alert.resolvedAt ?? at) >= RESOLVED_RETENTION_MS)
        this.#alerts.delete(fingerprint);
    }
  }

  #active(
    rule: string,
    timing: Timing,
    candidate: Candidate,
    fingerprint: string,
    at: number,
    out: Transition[],
  ): void {
    let alert = this.#alerts.get(fingerprint);
    const from: AlertState | 'inactive' = alert?.state ?? 'inactive';
    if (!alert || alert.state === 'resolved') {
      alert = {
        fingerprint,
        rule,
        labels: candidate.labels,
        annotations: candidate.annotations,
        state: 'pending',
        value: candidate.value,
        activeSince: at,
        lastActive: at,
      };
      this.#alerts.set(fingerprint, alert);
      if (timing.forMs <= 0) {
        alert.state = 'firing';
        alert.firedAt = at;
      }
      out.push({ at, alert: { ...alert }, from, to: alert.state });
      return;
    }
    alert.value = candidate.value;
    alert.annotations = candidate.annotations;
    alert.lastActive = at;
    delete alert.keepFiringSince;
    if (alert.state === 'pending' && at - alert.activeSince >= timing.forMs) {
      alert.state = 'firing';
      alert.firedAt = at;
      out.push({ at, alert: { ...alert }, from: 'pending', to: 'firing' });
    }
  }

  #inactive(alert: Alert, timing: Timing, at: number, out: Transition[]): void {
    if (alert.state === 'resolved') return;
    // As Prometheus: keep_firing_for counts from the first evaluation that found it inactive.
    if (alert.state === 'firing' && timing.keepFiringForMs > 0) {
      alert.keepFiringSince ??= at;
      if (at - alert.keepFiringSince < timing.keepFiringForMs) return;
    }
    const from = alert.state;
    alert.state = 'resolved';
    alert.resolvedAt = at;
    out.push({ at, alert: { ...alert }, from, to: 'resolved' });
    // A pending alert that never fired leaves nothing to tell anyone about.
    if (from === 'pending') this.#alerts.delete(alert.fingerprint);
  }
}
