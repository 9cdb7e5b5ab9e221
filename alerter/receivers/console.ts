// The console integration: writes each notification to standard output (or another stream), as
// readable text or one JSON line, for a quick start without PagerDuty, Slack or a webhook.

import type { ConsoleConfig } from './config.ts';
import { firingAlerts, links, ownLabels, summary, title } from './text.ts';
import type { DeliveryResult, Integration, Notification } from './types.ts';

export interface ConsoleContext {
  receiver: string;
  index: number;
  /** @default process.stdout.write */
  write?: (text: string) => void;
}

const labelText = (labels: Record<string, string>): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(' ');

/** The notification as a block of text: title, summary, then one line per alert. */
export function consoleText(n: Notification): string {
  const lines = [`${title(n)} → ${n.receiver}`, `  ${summary(n)}`];
  const common = labelText(n.commonLabels);
  if (common !== '') lines.push(`  labels: ${common}`);
  for (const alert of n.alerts) {
    const own = labelText(ownLabels(n, alert));
    const when =
      alert.status === 'firing' ? `since ${alert.startsAt}` : `at ${alert.endsAt ?? '?'}`;
    lines.push(`  - ${alert.status} ${when}${own === '' ? '' : ` ${own}`}`);
  }
  for (const link of links(n)) lines.push(`  ${link.text}: ${link.href}`);
  if (n.truncatedAlerts > 0) lines.push(`  (${n.truncatedAlerts} more alerts left out)`);
  return `${lines.join('\n')}\n`;
}

export function createConsoleIntegration(config: ConsoleConfig, ctx: ConsoleContext): Integration {
  const write = ctx.write ?? ((text: string) => void process.stdout.write(text));
  const target = `console #${ctx.index} of receiver ${ctx.receiver}`;
  return {
    kind: 'console',
    target,
    sendResolved: config.send_resolved,
    async send(n: Notification): Promise<DeliveryResult> {
      const text =
        config.format === 'json'
          ? `${JSON.stringify({ ...n, firing: firingAlerts(n).length })}\n`
          : consoleText(n);
      try {
        write(text);
        return { outcome: 'sent', attempts: 1 };
      } catch (err) {
        return {
          outcome: 'failed',
          attempts: 1,
          error: `${target}: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
    },
  };
}
