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
import { alertFingerprint, type Alert } from '../state/machine.ts';
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

/** An alert POSTed from outside (a Prometheus routing through Halo), as the API validated it. */
export interface OutsideAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt?: number;
  endsAt?: number;
}

/** An outside alert without endsAt resolves when it has not been sent again for this long. */
export const RESOLVE_TIMEOUT_MS = 5 * 60_000;

export class Notifier {
  readonly nflog: NotificationLog;
  readonly #dispatcher: Dispatcher;
  readonly #receivers: Map<string, Receiver>;
  readonly #config: NotifyConfig;
  readonly #rules: ReturnType<typeof inhibitRules>;
  /** Alerts from outside by fingerprint, with when they were last received. */
  readonly #outside = new Map<string, { alert: OutsideAlert; receivedAt: number }>();
  #firing: Array<{ labels: Record<string, string>; state: 'firing' }> = [];

  constructor(options: NotifierOptions) {
    const { config, logger } = options;
    this.#config = config;
    this.nflog = new NotificationLog(options.store);
    this.#receivers = createReceivers(config.receivers, {
      logger,
      delivery: deliverySettings(config.delivery),
      ...options.receiverDeps,
    });
    // Integrations by their target name, the key the dispatcher and the log use.
    const byTarget = new Map(
      [...this.#receivers.values()].flatMap((r) => r.integrations.map((i) => [i.target, i])),
    );
    const rules = inhibitRules(config.inhibit, options.sources ?? {});
    this.#rules = rules;
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
        const integration = byTarget.get(target);
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

  /** Alerts POSTed from outside; they join the next update. */
  receive(alerts: readonly OutsideAlert[], at: number): void {
    for (const alert of alerts) {
      this.#outside.set(alertFingerprint(alert.labels), { alert, receivedAt: at });
    }
  }

  /** The inhibit rule muting alerts with these labels now, if any (for the API). */
  inhibitedBy(labels: Record<string, string>): string | undefined {
    return inhibitionIndex(this.#rules, this.#firing)({ labels, state: 'firing' })?.rule;
  }

  /**
   * The alerts of the state machine after an evaluation (firing ones and the just resolved),
   * with the outside alerts: firing until their endsAt, or RESOLVE_TIMEOUT_MS after they were
   * last received.
   */
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
    for (const [fingerprint, { alert, receivedAt }] of this.#outside) {
      const endsAt = alert.endsAt ?? receivedAt + RESOLVE_TIMEOUT_MS;
      const firing = endsAt > at;
      out.push({
        fingerprint,
        labels: alert.labels,
        annotations: alert.annotations,
        status: firing ? 'firing' : 'resolved',
        startsAt: alert.startsAt ?? receivedAt,
        ...(firing ? {} : { endsAt }),
      });
      // Told resolved once, then forgotten.
      if (!firing) this.#outside.delete(fingerprint);
    }
    this.#firing = out
      .filter((a) => a.status === 'firing')
      .map((a) => ({ labels: a.labels, state: 'firing' as const }));
    this.#dispatcher.update(out, at);
  }

  /** Sends what is due at `at`. */
  flush(at: number): Promise<void> {
    return this.#dispatcher.flushDue(at);
  }
}
