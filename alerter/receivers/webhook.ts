// Generic webhooks: Alertmanager's webhook v4 JSON, so receivers written for Alertmanager work
// unchanged; signed with Standard Webhooks headers (webhook-id, -timestamp, -signature) when a
// secret is set.

import { createHash, createHmac } from 'node:crypto';
import type { WebhookConfig } from './config.ts';
import { deliverFor, type IntegrationContext } from './deliver.ts';
import type { AlertStatus, Integration, Notification } from './types.ts';

/** Go's zero time: what Alertmanager sends as endsAt of an alert that has not ended. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface WebhookAlertV4 {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface WebhookMessageV4 {
  receiver: string;
  status: AlertStatus;
  alerts: WebhookAlertV4[];
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
}

/** The v4 message; with maxAlerts > 0 the alerts past it are dropped and counted. */
export function webhookMessage(n: Notification, maxAlerts = 0): WebhookMessageV4 {
  const kept = maxAlerts > 0 ? n.alerts.slice(0, maxAlerts) : n.alerts;
  return {
    receiver: n.receiver,
    status: n.status,
    alerts: kept.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt ?? ZERO_TIME,
      generatorURL: a.generatorURL ?? '',
      fingerprint: a.fingerprint,
    })),
    groupLabels: n.groupLabels,
    commonLabels: n.commonLabels,
    commonAnnotations: n.commonAnnotations,
    externalURL: n.externalURL,
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: n.truncatedAlerts + (n.alerts.length - kept.length),
  };
}

/**
 * The webhook-id: the notification's own id, or one derived from its group and alerts, so that
 * retries (and a second alerter sending the same notification) carry the same id.
 */
export function webhookId(n: Notification): string {
  if (n.id !== undefined) return n.id;
  const hash = createHash('sha256').update(`${n.receiver}\u0000${n.groupKey}\u0000${n.status}`);
  for (const a of n.alerts)
    hash.update(
      `\u0000${a.fingerprint}\u0001${a.status}\u0001${a.startsAt}\u0001${a.endsAt ?? ''}`,
    );
  return `msg_${hash.digest('hex').slice(0, 32)}`;
}

/** The HMAC key of a Standard Webhooks secret: base64 after `whsec_`, else the text's bytes. */
export function signingKey(secret: string): Buffer {
  return secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** The three Standard Webhooks headers for one attempt. */
export function standardWebhookHeaders(
  id: string,
  timestampSeconds: number,
  body: string,
  key: Buffer,
): Record<string, string> {
  const signature = createHmac('sha256', key)
    .update(`${id}.${timestampSeconds}.${body}`)
    .digest('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': `v1,${signature}`,
  };
}

export function createWebhookIntegration(
  config: WebhookConfig,
  context: IntegrationContext,
): Integration {
  const target = `webhook #${context.index} of receiver ${context.receiver}`;
  const url = config.url.reveal();
  const parsed = new URL(url);
  const secrets = [url, parsed.pathname + parsed.search, parsed.host];
  const signing = config.secret?.reveal();
  if (signing !== undefined) secrets.push(signing);
  const key = signing !== undefined ? signingKey(signing) : undefined;
  return {
    kind: 'webhook',
    target,
    sendResolved: config.send_resolved,
    send(n, signal) {
      const body = JSON.stringify(webhookMessage(n, config.max_alerts));
      const id = webhookId(n);
      const headers = key
        ? (now: number) => standardWebhookHeaders(id, Math.floor(now / 1000), body, key)
        : undefined;
      return deliverFor(
        context,
        { target, url, body, secrets, ...(headers ? { headers } : {}) },
        signal,
      );
    },
  };
}
