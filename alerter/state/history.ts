// The alert history table: every transition is written, and the alerts still pending or firing
// are read back from it when an alerter starts or takes over.

import { TABLES } from '../../core/conventions.ts';
import { ident, param, sql } from '../../core/store/sql.ts';
import { storeError, type Store } from '../../core/store/store.ts';
import type { Alert, Transition } from './machine.ts';

const table = (store: Store) => `${store.database}.${TABLES.alerts}`;

/** Appends transitions to the history (one insert). */
export async function writeTransitions(
  store: Store,
  transitions: readonly Transition[],
): Promise<void> {
  if (transitions.length === 0) return;
  const values = transitions.map((t) => ({
    ts: t.at,
    fingerprint: t.alert.fingerprint,
    alertname: t.alert.labels['alertname'] ?? '',
    state: t.to,
    severity: t.alert.labels['severity'] ?? '',
    slo: t.alert.labels['slo'] ?? '',
    labels: { ...t.alert.labels, __rule__: t.alert.rule },
    annotations: t.alert.annotations,
    value: Number.isFinite(t.alert.value) ? t.alert.value : 0,
    active_since: t.alert.activeSince,
  }));
  try {
    await store.client.insert({ table: table(store), values, format: 'JSONEachRow' });
  } catch (err) {
    throw storeError(`write ${values.length} alert transitions`, err);
  }
}

/**
 * The alerts whose latest transition (at or before `at`) is pending or firing: the state an
 * alerter resumes from. Resolved ones are not needed: a resolved alert that comes back starts
 * pending again anyway.
 */
export async function openAlerts(store: Store, at: number): Promise<Alert[]> {
  const until = param(
    new Date(at).toISOString().replace('T', ' ').replace('Z', ''),
    "DateTime64(3, 'UTC')",
  );
  let rows: Array<{
    fingerprint: string;
    last_state: 'pending' | 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    value: number;
    active_since: string;
    last_ts: string;
    fired_at: string | null;
  }>;
  try {
    rows = await store.query(
      sql`SELECT toString(fingerprint) AS fingerprint, argMax(state, ts) AS last_state,
            argMax(labels, ts) AS labels, argMax(annotations, ts) AS annotations,
            argMax(value, ts) AS value, toUnixTimestamp64Milli(argMax(active_since, ts)) AS active_since,
            toUnixTimestamp64Milli(max(ts)) AS last_ts,
            toUnixTimestamp64Milli(maxIf(ts, state = 'firing')) AS fired_at
          FROM ${ident(table(store))}
          WHERE ts <= ${until}
          GROUP BY fingerprint
          HAVING last_state != 'resolved'`,
    );
  } catch (err) {
    throw storeError('read open alerts from the alert history', err);
  }
  return rows.map((row) => {
    const { __rule__: rule = '', ...labels } = row.labels;
    const alert: Alert = {
      fingerprint: row.fingerprint,
      rule,
      labels,
      annotations: row.annotations,
      state: row.last_state,
      value: Number(row.value),
      activeSince: Number(row.active_since),
      lastActive: Number(row.last_ts),
    };
    if (row.last_state === 'firing') alert.firedAt = Number(row.fired_at);
    return alert;
  });
}
