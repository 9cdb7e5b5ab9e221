// Slack incoming webhooks: a Block Kit message (header, summary, fields, alerts, links) with a
// plain `text` fallback for notifications and old clients; resolved messages say so up front.
// Each webhook gets at most one message a second (Slack's limit), retries included.

import { createHash } from 'node:crypto';
import type { SlackConfig } from './config.ts';
import { deliverFor, type IntegrationContext } from './deliver.ts';
import type { Pacer } from './pace.ts';
import {
  annotation,
  earliestStart,
  firingAlerts,
  isHttpUrl,
  links,
  ownLabels,
  resolvedAlerts,
  summary,
  title,
  truncate,
  type Link,
} from './text.ts';
import type { Integration, Notification } from './types.ts';

/** Slack's incoming-webhook limit: one message per second per webhook. */
export const SLACK_INTERVAL_MS = 1000;

type Text =
  { type: 'plain_text'; text: string; emoji?: boolean } | { type: 'mrkdwn'; text: string };
export type SlackBlock =
  | { type: 'header'; text: Text }
  | { type: 'section'; text?: Text; fields?: Text[] }
  | { type: 'context'; elements: Text[] };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
  channel?: string;
  username?: string;
}

/** Common labels shown as fields, in this order. */
const FIELDS: ReadonlyArray<[string, string]> = [
  ['severity', 'Severity'],
  ['service', 'Service'],
  ['slo', 'SLO'],
  ['burn_tier', 'Burn tier'],
  ['tier', 'Tier'],
  ['host', 'Host'],
  ['instance', 'Instance'],
];

const MAX_LISTED = 10;

/** Slack's mrkdwn control characters. */
export const escapeMrkdwn = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const mrkdwn = (text: string, max = 3000): Text => ({ type: 'mrkdwn', text: truncate(text, max) });

const linkTo = (link: Link) =>
  `<${link.href.replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E')}|${escapeMrkdwn(link.text)}>`;

function fieldsBlock(n: Notification): SlackBlock {
  const fields = FIELDS.filter(([key]) => n.commonLabels[key] !== undefined).map(([key, name]) =>
    mrkdwn(`*${name}*\n${escapeMrkdwn(n.commonLabels[key] ?? '')}`, 2000),
  );
  const counts = [
    `${firingAlerts(n).length} firing`,
    ...(resolvedAlerts(n).length > 0 ? [`${resolvedAlerts(n).length} resolved`] : []),
  ];
  fields.push(mrkdwn(`*Alerts*\n${counts.join(', ')}`));
  return { type: 'section', fields: fields.slice(0, 10) };
}

/** One line per alert when there are several: its status, own labels and summary. */
function alertsBlock(n: Notification): SlackBlock | undefined {
  if (n.alerts.length < 2) return undefined;
  const lines = n.alerts.slice(0, MAX_LISTED).map((a) => {
    const own = Object.entries(ownLabels(n, a))
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const what = a.annotations.summary ?? '';
    const mark = a.status === 'firing' ? ':red_circle:' : ':white_check_mark:';
    return `${mark} ${own ? `\`${escapeMrkdwn(own)}\` ` : ''}${escapeMrkdwn(what)}`.trimEnd();
  });
  if (n.alerts.length > MAX_LISTED) lines.push(`…and ${n.alerts.length - MAX_LISTED} more`);
  return { type: 'section', text: mrkdwn(lines.join('\n')) };
}

function contextBlock(n: Notification): SlackBlock | undefined {
  const items = links(n).map(linkTo);
  if (isHttpUrl(n.externalURL)) items.push(linkTo({ href: n.externalURL, text: 'Halo' }));
  const start = earliestStart(n);
  if (start !== undefined) items.push(`Since ${escapeMrkdwn(start)}`);
  if (items.length === 0) return undefined;
  return { type: 'context', elements: items.slice(0, 10).map((t) => mrkdwn(t)) };
}

/** The message for a notification. */
export function slackMessage(n: Notification, config: SlackConfig): SlackMessage {
  const resolved = n.status === 'resolved';
  const mark = resolved ? '✅' : '🔥';
  const heading = `${mark} ${title(n)}`;
  const description = annotation(n, 'description');
  const body =
    (resolved ? '*Resolved.* ' : '') +
    escapeMrkdwn(summary(n)) +
    (description && !resolved ? `\n${escapeMrkdwn(description)}` : '');
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(heading, 150), emoji: true } },
    { type: 'section', text: mrkdwn(body) },
    fieldsBlock(n),
  ];
  const list = alertsBlock(n);
  if (list) blocks.push(list);
  const context = contextBlock(n);
  if (context) blocks.push(context);
  return {
    text: truncate(escapeMrkdwn(`${heading}: ${summary(n)}`), 1000),
    blocks,
    ...(config.channel !== undefined ? { channel: config.channel } : {}),
    ...(config.username !== undefined ? { username: config.username } : {}),
  };
}

/** The pace key of a webhook: a hash, so that the URL is not kept around in clear. */
const paceKey = (url: string) => createHash('sha256').update(url).digest('hex');

export function createSlackIntegration(
  config: SlackConfig,
  context: IntegrationContext,
  pacer: Pacer,
): Integration {
  const target = `slack webhook #${context.index} of receiver ${context.receiver}`;
  const url = config.webhook_url.reveal();
  const key = paceKey(url);
  const path = new URL(url).pathname + new URL(url).search;
  return {
    kind: 'slack',
    target,
    sendResolved: config.send_resolved,
    send(n, signal) {
      const body = JSON.stringify(slackMessage(n, config));
      return deliverFor(
        context,
        { target, url, body, secrets: [url, path], beforeAttempt: () => pacer.wait(key) },
        signal,
      );
    },
  };
}
