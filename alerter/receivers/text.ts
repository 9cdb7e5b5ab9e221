// Text the receivers share, made from a notification's labels and annotations: the title, the
// summary, the dashboard and runbook links, and the labels that tell one alert from another.

import type { Notification, NotificationAlert } from './types.ts';

export interface Link {
  href: string;
  text: string;
}

/** Annotation keys read for links, first found wins (SLO specs use `dashboard` and `runbook`). */
const LINK_KEYS: ReadonlyArray<{ text: string; keys: readonly string[] }> = [
  { text: 'Dashboard', keys: ['dashboard', 'dashboard_url'] },
  { text: 'Runbook', keys: ['runbook', 'runbook_url'] },
];

export const firingAlerts = (n: Notification) => n.alerts.filter((a) => a.status === 'firing');
export const resolvedAlerts = (n: Notification) => n.alerts.filter((a) => a.status === 'resolved');

/** Cuts a text to at most `max` characters, ending in … when cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * As Alertmanager's default: "[FIRING:2] group label values (other common label values)", a
 * value equal to the name left out (an SLO alert's `slo` is its alertname).
 */
export function title(n: Notification): string {
  const status = n.status === 'firing' ? `FIRING:${firingAlerts(n).length}` : 'RESOLVED';
  const grouped = Object.keys(n.groupLabels).sort();
  const name =
    grouped.length > 0
      ? grouped.map((k) => n.groupLabels[k]).join(' ')
      : (n.commonLabels.alertname ?? n.receiver);
  const rest = Object.keys(n.commonLabels)
    .sort()
    .filter((k) => !(k in n.groupLabels))
    .map((k) => n.commonLabels[k])
    .filter((v) => v !== name);
  return `[${status}] ${name}${rest.length > 0 ? ` (${rest.join(' ')})` : ''}`;
}

/** The summary annotation all alerts share, or the only alert's, or else the title. */
export function summary(n: Notification): string {
  if (n.commonAnnotations.summary) return n.commonAnnotations.summary;
  const relevant = n.status === 'firing' ? firingAlerts(n) : n.alerts;
  const only = relevant.length === 1 ? relevant[0]?.annotations.summary : undefined;
  return only ?? title(n);
}

/** An annotation all alerts share, or else the first alert's that has it. */
export function annotation(n: Notification, key: string): string | undefined {
  return n.commonAnnotations[key] ?? n.alerts.find((a) => a.annotations[key])?.annotations[key];
}

export const isHttpUrl = (value: string) => /^https?:\/\/[^/]/.test(value) && URL.canParse(value);

/** Dashboard and runbook links from the annotations: http(s) URLs only. */
export function links(n: Notification): Link[] {
  const out: Link[] = [];
  for (const { text, keys } of LINK_KEYS) {
    const href = keys.map((k) => annotation(n, k)).find((v) => v !== undefined && isHttpUrl(v));
    if (href) out.push({ href, text });
  }
  return out;
}

/** The labels of an alert that the notification's alerts do not all share. */
export function ownLabels(n: Notification, alert: NotificationAlert): Record<string, string> {
  return Object.fromEntries(
    Object.entries(alert.labels).filter(([k, v]) => n.commonLabels[k] !== v),
  );
}

/** The earliest start among the firing alerts (or all, when none fires). */
export function earliestStart(n: Notification): string | undefined {
  const pool = firingAlerts(n).length > 0 ? firingAlerts(n) : n.alerts;
  return pool
    .map((a) => a.startsAt)
    .sort((a, b) => Date.parse(a) - Date.parse(b))
    .at(0);
}
