// PagerDuty Events API v2: a `trigger` while a group fires and a `resolve` once it has resolved,
// both with one dedup_key per group so that the resolve closes the incident the trigger opened.

import { createHash } from 'node:crypto';
import type { PagerDutyConfig, PagerDutySeverity } from './config.ts';
import { deliverFor, type IntegrationContext } from './deliver.ts';
import {
  annotation,
  earliestStart,
  firingAlerts,
  isHttpUrl,
  links,
  resolvedAlerts,
  summary,
  truncate,
  type Link,
} from './text.ts';
import type { Integration, Notification, NotificationAlert } from './types.ts';

/** PagerDuty refuses events larger than this (bytes of JSON). */
export const MAX_EVENT_BYTES = 512_000;

export interface PagerDutyPayload {
  summary: string;
  source: string;
  severity: PagerDutySeverity;
  timestamp?: string;
  component?: string;
  group?: string;
  class?: string;
  custom_details: Record<string, unknown>;
}

export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  /** Trigger only: PagerDuty reads nothing but the dedup_key of a resolve. */
  payload?: PagerDutyPayload;
  links?: Link[];
  client?: string;
  client_url?: string;
}

/** Stable per receiver and group: the trigger and the resolve of a group share it (64 hex). */
export function pagerDutyDedupKey(receiver: string, groupKey: string): string {
  return createHash('sha256').update(`${receiver}\u0000${groupKey}`).digest('hex');
}

const RANK: Record<PagerDutySeverity, number> = { info: 0, warning: 1, error: 2, critical: 3 };

/** The highest severity among the firing alerts, each mapped from its `severity` label. */
export function pagerDutySeverity(
  n: Notification,
  map: Readonly<Record<string, PagerDutySeverity>>,
): PagerDutySeverity {
  const pool = firingAlerts(n).length > 0 ? firingAlerts(n) : n.alerts;
  let best: PagerDutySeverity | undefined;
  for (const alert of pool) {
    const label = alert.labels.severity;
    const mapped = (label !== undefined ? map[label] : undefined) ?? 'error';
    if (best === undefined || RANK[mapped] > RANK[best]) best = mapped;
  }
  return best ?? 'error';
}

const detail = (a: NotificationAlert) => ({
  labels: a.labels,
  annotations: a.annotations,
  startsAt: a.startsAt,
  ...(a.endsAt !== undefined ? { endsAt: a.endsAt } : {}),
  ...(a.generatorURL ? { generatorURL: a.generatorURL } : {}),
});

/** Annotations worth a field of their own in PagerDuty's details, when an alert carries them. */
const DETAIL_ANNOTATIONS = ['description', 'burn_rate', 'budget_remaining', 'windows'];

function customDetails(n: Notification): Record<string, unknown> {
  const out: Record<string, unknown> = {
    num_firing: firingAlerts(n).length,
    num_resolved: resolvedAlerts(n).length,
  };
  for (const key of ['slo', 'service', 'tier', 'burn_tier'])
    if (n.commonLabels[key] !== undefined) out[key] = n.commonLabels[key];
  for (const key of DETAIL_ANNOTATIONS) {
    const value = annotation(n, key);
    if (value !== undefined) out[key] = value;
  }
  out.group_labels = n.groupLabels;
  out.firing = firingAlerts(n).map(detail);
  out.resolved = resolvedAlerts(n).map(detail);
  if (n.truncatedAlerts > 0) out.truncated_alerts = n.truncatedAlerts;
  return out;
}

const first = (labels: Record<string, string>, keys: readonly string[]) =>
  keys.map((k) => labels[k]).find((v) => v !== undefined && v !== '');

/** The Events API v2 event for a notification. */
export function pagerDutyEvent(n: Notification, config: PagerDutyConfig): PagerDutyEvent {
  const base = {
    routing_key: config.routing_key.reveal(),
    dedup_key: pagerDutyDedupKey(n.receiver, n.groupKey),
  };
  if (n.status === 'resolved') return { ...base, event_action: 'resolve' };
  const labels = n.commonLabels;
  const component = first(labels, ['component', 'service']);
  const group = first(labels, ['group', 'tier']);
  const eventClass = first(labels, ['class', 'alertname']);
  const start = earliestStart(n);
  const clientUrl = config.client_url ?? (isHttpUrl(n.externalURL) ? n.externalURL : undefined);
  const payload: PagerDutyPayload = {
    summary: truncate(summary(n), 1024),
    source: first(labels, ['host', 'instance', 'service']) ?? config.client,
    severity: pagerDutySeverity(n, config.severity),
    ...(start !== undefined && !Number.isNaN(Date.parse(start))
      ? { timestamp: new Date(start).toISOString() }
      : {}),
    ...(component !== undefined ? { component } : {}),
    ...(group !== undefined ? { group } : {}),
    ...(eventClass !== undefined ? { class: eventClass } : {}),
    custom_details: customDetails(n),
  };
  const event: PagerDutyEvent = {
    ...base,
    event_action: 'trigger',
    payload,
    client: config.client,
    ...(clientUrl !== undefined ? { client_url: clientUrl } : {}),
  };
  const found = links(n);
  if (found.length > 0) event.links = found;
  return event;
}

/** The event as JSON, its details replaced by a note when PagerDuty would refuse the size. */
export function encodePagerDutyEvent(event: PagerDutyEvent): string {
  const body = JSON.stringify(event);
  if (Buffer.byteLength(body) <= MAX_EVENT_BYTES || !event.payload) return body;
  const { num_firing, num_resolved } = event.payload.custom_details;
  return JSON.stringify({
    ...event,
    payload: {
      ...event.payload,
      custom_details: {
        error: `details removed: the event was larger than ${MAX_EVENT_BYTES} bytes`,
        num_firing,
        num_resolved,
      },
    },
  });
}

export function createPagerDutyIntegration(
  config: PagerDutyConfig,
  context: IntegrationContext,
): Integration {
  const target = `pagerduty #${context.index} of receiver ${context.receiver}`;
  return {
    kind: 'pagerduty',
    target,
    sendResolved: config.send_resolved,
    send(n, signal) {
      const body = encodePagerDutyEvent(pagerDutyEvent(n, config));
      const secrets = [config.routing_key.reveal()];
      return deliverFor(context, { target, url: config.url, body, secrets }, signal);
    },
  };
}
