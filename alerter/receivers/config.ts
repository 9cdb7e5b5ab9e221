// The receivers' configuration (zod): PagerDuty, Slack, webhook and console integrations,
// Alertmanager's key names, and how delivery retries. Keys, URLs and signing secrets are Secrets
// that print as <secret>.

import { z } from 'zod';
import { duration, httpUrl, secret } from '../../core/config/schema.ts';
import { Secret } from '../../core/config/secret.ts';

export const PAGERDUTY_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type PagerDutySeverity = (typeof PAGERDUTY_SEVERITIES)[number];

/** Severity label value → PagerDuty severity; labels missing from the map send "error". */
export const DEFAULT_SEVERITY_MAP: Readonly<Record<string, PagerDutySeverity>> = {
  page: 'critical',
  ticket: 'warning',
};

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

const required = (what: string) =>
  secret().pipe(z.instanceof(Secret, { error: `expected ${what}` }));

const sendResolved = z.boolean({ error: 'expected true or false' }).default(true);

/**
 * A URL that is itself a secret (a Slack webhook, a webhook with a token in it) is checked here,
 * on its parent: an issue at the key would print the value in the config error.
 */
function checkSecretUrl(key: string, value: Secret, ctx: z.RefinementCtx): void {
  const text = value.reveal();
  if (!/^https?:\/\/[^/]/.test(text) || !URL.canParse(text)) {
    ctx.addIssue({
      code: 'custom',
      message: `${key}: expected an http:// or https:// URL (not shown: it is a secret)`,
    });
    return;
  }
  const url = new URL(text);
  if (url.username !== '' || url.password !== '') {
    ctx.addIssue({
      code: 'custom',
      message: `${key}: expected a URL without user or password (not shown: it is a secret)`,
    });
  }
}

const pagerDutyConfig = z.strictObject({
  /** The Events API v2 integration key of the PagerDuty service. */
  routing_key: required('a PagerDuty Events API v2 routing (integration) key'),
  /** @default https://events.pagerduty.com/v2/enqueue */
  url: httpUrl().default(PAGERDUTY_EVENTS_URL),
  /** Merged over the default map { page: critical, ticket: warning }. */
  severity: z
    .record(
      z.string(),
      z.enum(PAGERDUTY_SEVERITIES, { error: 'expected one of critical, error, warning, info' }),
      {
        error: 'expected a mapping of severity label values to critical, error, warning or info',
      },
    )
    .default({})
    .transform((map) => ({ ...DEFAULT_SEVERITY_MAP, ...map })),
  /** @default Halo */
  client: z.string({ error: 'expected a client name' }).min(1).default('Halo'),
  /** A link back shown in PagerDuty; the notification's externalURL when absent. */
  client_url: httpUrl().optional(),
  send_resolved: sendResolved,
});

const slackConfig = z
  .strictObject({
    /** The incoming-webhook URL: whoever has it can post, so the whole URL is a secret. */
    webhook_url: required('a Slack incoming-webhook URL'),
    /** Honoured by legacy webhooks only; an app's webhook posts to the channel it was made for. */
    channel: z.string({ error: 'expected a channel like #ops' }).min(1).optional(),
    username: z.string({ error: 'expected a user name' }).min(1).optional(),
    send_resolved: sendResolved,
  })
  .superRefine((c, ctx) => checkSecretUrl('webhook_url', c.webhook_url, ctx));

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

const webhookConfig = z
  .strictObject({
    /** May carry a token in its path or query, so the whole URL is treated as a secret. */
    url: required('a webhook URL'),
    /** Standard Webhooks signing key: `whsec_` + base64, or any other text used as it is. */
    secret: secret(),
    send_resolved: sendResolved,
    /** Most alerts per message (0 = all); the rest are counted in truncatedAlerts. */
    max_alerts: z
      .number({ error: 'expected a whole number, 0 for all' })
      .int({ error: 'expected a whole number, 0 for all' })
      .min(0, { error: 'expected a whole number, 0 for all' })
      .default(0),
  })
  .superRefine((c, ctx) => {
    checkSecretUrl('url', c.url, ctx);
    const key = c.secret?.reveal();
    if (key?.startsWith('whsec_') && !BASE64.test(key.slice('whsec_'.length))) {
      ctx.addIssue({
        code: 'custom',
        message: 'secret: expected base64 after whsec_ (not shown: it is a secret)',
      });
    }
  });

const consoleConfig = z.strictObject({
  /** `text`: a readable block per notification; `json`: the notification as one JSON line. */
  format: z.enum(['text', 'json'], { error: 'expected text or json' }).default('text'),
  send_resolved: sendResolved,
});

export const receiverSchema = z.strictObject({
  name: z
    .string({ error: 'expected a receiver name' })
    .min(1, { error: 'expected a receiver name' }),
  pagerduty_configs: z.array(pagerDutyConfig, { error: 'expected a list' }).default([]),
  slack_configs: z.array(slackConfig, { error: 'expected a list' }).default([]),
  webhook_configs: z.array(webhookConfig, { error: 'expected a list' }).default([]),
  /** Halo's own: notifications written to standard output (the quick start's receiver). */
  console_configs: z.array(consoleConfig, { error: 'expected a list' }).default([]),
});

/** A receiver without integrations is allowed: it receives and drops (as in Alertmanager). */
export const receiversSchema = z
  .array(receiverSchema, { error: 'expected a list of receivers' })
  .default([])
  .superRefine((receivers, ctx) => {
    const seen = new Set<string>();
    receivers.forEach((r, i) => {
      if (seen.has(r.name)) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: 'expected a receiver name not used before',
        });
      }
      seen.add(r.name);
    });
  });

export const deliverySchema = z
  .strictObject({
    /** Limit of one HTTP request. */
    timeout: duration('10s', { ms: 100, text: '100ms' }),
    /** No retry starts later than this after the first attempt. */
    give_up_after: duration('10m', { ms: 1000, text: '1s' }),
    /** Backoff before the first retry; it doubles per retry (with full jitter) up to max_backoff. */
    initial_backoff: duration('1s', { ms: 10, text: '10ms' }),
    max_backoff: duration('1m', { ms: 10, text: '10ms' }),
  })
  .prefault({});

/** For a config section: `receivers:` and `delivery:` side by side. */
export const receiversShape = { receivers: receiversSchema, delivery: deliverySchema };

export type ReceiverConfig = z.output<typeof receiverSchema>;
export type PagerDutyConfig = z.output<typeof pagerDutyConfig>;
export type SlackConfig = z.output<typeof slackConfig>;
export type WebhookConfig = z.output<typeof webhookConfig>;
export type ConsoleConfig = z.output<typeof consoleConfig>;
export type DeliveryConfig = z.output<typeof deliverySchema>;
