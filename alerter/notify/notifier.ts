// The notification pipeline of the alerter: its alerts through routing, grouping, silences,
// inhibition and time intervals (the dispatcher) to the receivers, with the notification log.

import type { Logger } from '../../core/logger.ts';
import type { Store } from '../../core/store/store.ts';
import { Dispatcher, type DispatchAlert, type DispatchRoute } from '../dispatch/dispatcher.ts';
import { inhibitionIndex, inhibitRules, type InhibitSources } from '../inhibit/index.ts';
import { NotificationLog } from '../nflog/nflog.ts';
import { createReceivers, type Receiver, type ReceiverDeps } from '../receivers/receiver.ts';
import { deliverySettings } from '../receivers/deliver.ts';
import { buildNotification } from '../receivers/notification.ts';
import { matchRoutes, type ResolvedRoute } from '../route/index.ts';
import type { Alert } from '../state/machine.ts';
import { muted } from '../timeintervals/index.ts';
import type { NotifyConfig } from './config.ts';

/** What answers "is this alert silenced now" (the silence store, shared by replicas). */
export interface Silences {
  silencedBy(labels: Record<string, string>, at: number): string[];
}

export interface NotifierOptions {
  config: NotifyConfig;
  store: Store;
  logger: Logger;
  silences?: Silences;
  /** SLOs and rules, for the built-in inhibitions. */
  sources?: InhibitSources;
  receiverDeps?: Omit<ReceiverDeps, 'logger' | 'delivery'>;
}

type Routed = DispatchRoute & { resolved: ResolvedRoute };

export class Notifier {
  readonly nflog: NotificationLog;
  readonly #dispatcher: Dispatcher;
  readonly #receivers: Map<string, Receiver>;
  readonly #config: NotifyConfig;

  constructor(options: NotifierOptions) {
    const { config, logger } = options;
    this.#config = config;
    this.nflog = new NotificationLog(options.store);
    this.#receivers = createReceivers(config.receivers, {
      logger,
      delivery: deliverySettings(config.delivery),
      ...options.receiverDeps,
    });
    const rules = inhibitRules(config.inhibit, options.sources ?? {});
    this.#dispatcher = new Dispatcher({
      routes: (labels) =>
        matchRoutes(config.route, labels).map((r): Routed => ({
          id: r.id,
          receiver: r.receiver,
          groupBy: r.groupByAll ? undefined : r.groupBy,
          groupWaitMs: r.groupWaitMs,
          groupIntervalMs: r.groupIntervalMs,
          repeatIntervalMs: r.repeatIntervalMs,
          resolved: r,
        })),
      suppressed: (alert, at, firing) => {
        if ((options.silences?.silencedBy(alert.labels, at).length ?? 0) > 0) return true;
        const index = inhibitionIndex(
          rules,
          firing.map((a) => ({ labels: a.labels, state: 'firing' as const })),
        );
        return index({ labels: alert.labels, state: 'firing' }) !== undefined;
      },
      muted: (route, at) => muted((route as Routed).resolved, at, config.time_intervals),
      integrations: (receiver) =>
        (this.#receivers.get(receiver)?.integrations ?? []).map((i) => ({
          name: i.target,
          sendResolved: i.sendResolved,
        })),
      send: async (target, n) => {
        const integration = [...this.#receivers.values()]
          .flatMap((r) => r.integrations)
          .find((i) => i.target === target);
        if (!integration) return { outcome: 'failed', attempts: 0, error: `${target}: unknown` };
        const notification = buildNotification({
          receiver: n.receiver,
          groupKey: n.groupKey,
          groupLabels: n.groupLabels,
          externalURL: this.#config.external_url,
          alerts: n.alerts.map((a) => ({
            status: a.status,
            labels: a.labels,
            annotations: a.annotations,
            startsAt: new Date(a.startsAt).toISOString(),
            ...(a.endsAt !== undefined ? { endsAt: new Date(a.endsAt).toISOString() } : {}),
            fingerprint: a.fingerprint,
          })),
        });
        const result = await integration.send(notification);
        return {
          outcome: result.outcome,
          attempts: result.attempts,
          ...(result.error !== undefined ? { error: result.error } : {}),
        };
      },
      nflog: this.nflog,
      logger,
    });
  }

  /** Reads the notification log back (on start, and when this replica takes over). */
  async resume(at: number): Promise<void> {
    await this.nflog.load(at);
  }

  /** The alerts of the state machine after an evaluation: firing ones and the just resolved. */
  update(alerts: readonly Alert[], at: number): void {
    const out: DispatchAlert[] = [];
    for (const a of alerts) {
      if (a.state === 'pending') continue;
      out.push({
        fingerprint: a.fingerprint,
        labels: a.labels,
        annotations: a.annotations,
        status: a.state === 'firing' ? 'firing' : 'resolved',
        startsAt: a.firedAt ?? a.activeSince,
        ...(a.resolvedAt !== undefined ? { endsAt: a.resolvedAt } : {}),
      });
    }
    this.#dispatcher.update(out, at);
  }

  /** Sends what is due at `at`. */
  flush(at: number): Promise<void> {
    return this.#dispatcher.flushDue(at);
  }
}
