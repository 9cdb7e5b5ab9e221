// Builds notifications as Alertmanager's template data does: the status and the labels and
// annotations every alert shares, from a group's alerts (also from the alert state machine's).

import type { Alert } from '../state/machine.ts';
import type { Notification, NotificationAlert } from './types.ts';

/** The entries every map holds with the same value. */
export function commonEntries(maps: ReadonlyArray<Record<string, string>>): Record<string, string> {
  const [head, ...rest] = maps;
  if (!head) return {};
  return Object.fromEntries(Object.entries(head).filter(([k, v]) => rest.every((m) => m[k] === v)));
}

export interface NotificationInput {
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  alerts: NotificationAlert[];
  externalURL: string;
  truncatedAlerts?: number;
  id?: string;
}

export function buildNotification(input: NotificationInput): Notification {
  return {
    receiver: input.receiver,
    groupKey: input.groupKey,
    groupLabels: input.groupLabels,
    commonLabels: commonEntries(input.alerts.map((a) => a.labels)),
    commonAnnotations: commonEntries(input.alerts.map((a) => a.annotations)),
    status: input.alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    alerts: input.alerts,
    externalURL: input.externalURL,
    truncatedAlerts: input.truncatedAlerts ?? 0,
    ...(input.id !== undefined ? { id: input.id } : {}),
  };
}

/** A firing or resolved alert of the state machine as a notification's alert. */
export function notificationAlert(alert: Alert, generatorURL?: string): NotificationAlert {
  return {
    status: alert.state === 'resolved' ? 'resolved' : 'firing',
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: new Date(alert.firedAt ?? alert.activeSince).toISOString(),
    ...(alert.resolvedAt !== undefined ? { endsAt: new Date(alert.resolvedAt).toISOString() } : {}),
    fingerprint: alert.fingerprint,
    ...(generatorURL !== undefined ? { generatorURL } : {}),
  };
}

/** The notification with its firing alerts only (send_resolved: false); undefined when none. */
export function firingOnly(n: Notification): Notification | undefined {
  const alerts = n.alerts.filter((a) => a.status === 'firing');
  if (alerts.length === 0) return undefined;
  if (alerts.length === n.alerts.length) return n;
  return {
    ...buildNotification({ ...n, alerts }),
    truncatedAlerts: n.truncatedAlerts,
  };
}
