// A receiver: its PagerDuty, Slack, webhook and console integrations built from config, and
// notify(), which sends one notification to all of them at once (firing alerts only where
// send_resolved is off).

import type { Logger } from '../../core/logger.ts';
import { sleep as realSleep } from '../../core/sleep.ts';
import { VERSION } from '../../core/version.ts';
import type { ReceiverConfig } from './config.ts';
import { DEFAULT_DELIVERY, type DeliveryRuntime, type DeliverySettings } from './deliver.ts';
import type { ReceiverMetrics } from './metrics.ts';
import { firingOnly } from './notification.ts';
import { Pacer } from './pace.ts';
import { createConsoleIntegration } from './console.ts';
import { createPagerDutyIntegration } from './pagerduty.ts';
import { createSlackIntegration, SLACK_INTERVAL_MS } from './slack.ts';
import type { Integration, IntegrationKind, IntegrationReport, Notification } from './types.ts';
import { createWebhookIntegration } from './webhook.ts';

export interface ReceiverDeps {
  logger: Logger;
  /** @default 10s timeout, give up after 10m, backoff from 1s up to 1m */
  delivery?: DeliverySettings;
  metrics?: ReceiverMetrics;
  /** @default Date.now */
  clock?: () => number;
  /** @default core/sleep.ts */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** @default Math.random */
  random?: () => number;
  /** Shared by every receiver, so two receivers on one Slack webhook keep its pace together. */
  slackPacer?: Pacer;
  /** Where console integrations write. @default process.stdout */
  consoleWrite?: (text: string) => void;
}

export interface Receiver {
  readonly name: string;
  readonly integrations: readonly Integration[];
  /** Sends to every integration; never throws, each report says what happened. */
  notify(notification: Notification, signal?: AbortSignal): Promise<IntegrationReport[]>;
}

export function createReceiver(config: ReceiverConfig, deps: ReceiverDeps): Receiver {
  const clock = deps.clock ?? Date.now;
  const sleep = deps.sleep ?? realSleep;
  const runtime: DeliveryRuntime = {
    logger: deps.logger.child({ module: 'receivers', receiver: config.name }),
    settings: deps.delivery ?? DEFAULT_DELIVERY,
    clock,
    sleep,
    random: deps.random ?? Math.random,
    userAgent: `Halo/${VERSION}`,
  };
  const pacer = deps.slackPacer ?? new Pacer({ intervalMs: SLACK_INTERVAL_MS, clock, sleep });
  const context = (kind: IntegrationKind, index: number) => {
    const observer = deps.metrics?.observer(config.name, kind);
    return { receiver: config.name, index: index + 1, runtime, ...(observer ? { observer } : {}) };
  };
  const integrations: Integration[] = [
    ...config.pagerduty_configs.map((c, i) =>
      createPagerDutyIntegration(c, context('pagerduty', i)),
    ),
    ...config.slack_configs.map((c, i) => createSlackIntegration(c, context('slack', i), pacer)),
    ...config.webhook_configs.map((c, i) => createWebhookIntegration(c, context('webhook', i))),
    ...config.console_configs.map((c, i) =>
      createConsoleIntegration(c, {
        receiver: config.name,
        index: i + 1,
        ...(deps.consoleWrite ? { write: deps.consoleWrite } : {}),
      }),
    ),
  ];
  return {
    name: config.name,
    integrations,
    notify: (n, signal) =>
      Promise.all(integrations.map((integration) => notifyOne(integration, n, signal))),
  };

  async function notifyOne(
    integration: Integration,
    n: Notification,
    signal: AbortSignal | undefined,
  ): Promise<IntegrationReport> {
    const { kind, target } = integration;
    const toSend = integration.sendResolved ? n : firingOnly(n);
    if (!toSend) {
      deps.metrics?.observer(config.name, kind).outcome('skipped');
      return { kind, target, outcome: 'skipped', attempts: 0 };
    }
    try {
      return { kind, target, ...(await integration.send(toSend, signal)) };
    } catch (err) {
      // A bug in building the message. Only the error's name is logged: a message or a stack
      // could quote a URL or a key.
      const error = `${target}: internal error (${err instanceof Error ? err.name : typeof err})`;
      runtime.logger.error({ target }, `notification not sent: ${error}`);
      deps.metrics?.observer(config.name, kind).outcome('failed');
      return { kind, target, outcome: 'failed', attempts: 0, error };
    }
  }
}

/** Every receiver of the config by name, sharing one Slack pace. */
export function createReceivers(
  configs: readonly ReceiverConfig[],
  deps: ReceiverDeps,
): Map<string, Receiver> {
  const slackPacer =
    deps.slackPacer ??
    new Pacer({
      intervalMs: SLACK_INTERVAL_MS,
      clock: deps.clock ?? Date.now,
      sleep: deps.sleep ?? realSleep,
    });
  return new Map(configs.map((c) => [c.name, createReceiver(c, { ...deps, slackPacer })]));
}
