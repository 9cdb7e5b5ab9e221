// The dispatcher: alerts into aggregation groups per route (group_by), flushed after group_wait
// and then every group_interval; a flush notifies the route's receiver when the group changed
// since the last notification in the log, or when repeat_interval has passed. Silenced,
// inhibited and muted alerts are left out. Time comes from the caller.

import { createHash } from 'node:crypto';
import type { Logger } from '../../core/logger.ts';
import type { NflogEntry, NotificationLog, Outcome } from '../nflog/nflog.ts';

/** An alert as the dispatcher sees it. */
export interface DispatchAlert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: 'firing' | 'resolved';
  startsAt: number;
  endsAt?: number;
}

/** A route an alert reached, with its effective settings. */
export interface DispatchRoute {
  /** Stable identity of the route in the tree. */
  id: string;
  receiver: string;
  /** Labels that make a group; undefined groups by every label. */
  groupBy: readonly string[] | undefined;
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
}

/** A group's notification, as receivers take it. */
export interface GroupNotification {
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  status: 'firing' | 'resolved';
  alerts: DispatchAlert[];
}

export interface DispatcherOptions {
  routes: (labels: Record<string, string>) => DispatchRoute[];
  /** Silenced or inhibited at `at` (given every firing alert, for inhibition). */
  suppressed: (alert: DispatchAlert, at: number, firing: readonly DispatchAlert[]) => boolean;
  /** The route is muted at `at` (mute or active time intervals). */
  muted: (route: DispatchRoute, at: number) => boolean;
  /** The receiver's integrations (e.g. "pagerduty/0"), and whether each is told of resolution. */
  integrations: (receiver: string) => Array<{ name: string; sendResolved: boolean }>;
  send: (
    integration: string,
    notification: GroupNotification,
  ) => Promise<{ outcome: Outcome; attempts: number; error?: string }>;
  nflog: NotificationLog;
  logger: Logger;
}

interface Group {
  key: string;
  route: DispatchRoute;
  labels: Record<string, string>;
  alerts: Map<string, DispatchAlert>;
  nextFlush: number;
}

function groupLabelsOf(route: DispatchRoute, labels: Record<string, string>) {
  if (route.groupBy === undefined) return { ...labels };
  const out: Record<string, string> = {};
  for (const name of route.groupBy) if (labels[name] !== undefined) out[name] = labels[name];
  return out;
}

/** A stable key: the route and its group's label values, hashed. */
export function groupKey(route: DispatchRoute, groupLabels: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(groupLabels).sort())
    hash.update(`${name}\u0000${groupLabels[name]}\u0001`);
  return `${route.id}:${hash.digest('hex').slice(0, 16)}`;
}

const sorted = (xs: Iterable<string>) => [...xs].sort();

export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #log: Logger;
  readonly #groups = new Map<string, Group>();

  constructor(options: DispatcherOptions) {
    this.#o = options;
    this.#log = options.logger.child({ module: 'dispatch' });
  }

  /** Adds or updates alerts (firing or just resolved) at `at`. */
  update(alerts: readonly DispatchAlert[], at: number): void {
    for (const alert of alerts) {
      for (const route of this.#o.routes(alert.labels)) {
        const labels = groupLabelsOf(route, alert.labels);
        const key = groupKey(route, labels);
        let group = this.#groups.get(key);
        if (!group) {
          // Resolved alerts never open a group: there is nothing to tell about them.
          if (alert.status === 'resolved') continue;
          group = { key, route, labels, alerts: new Map(), nextFlush: at + route.groupWaitMs };
          this.#groups.set(key, group);
        }
        group.alerts.set(alert.fingerprint, alert);
      }
    }
  }

  /** The groups, for the API and tests. */
  groups(): ReadonlyArray<{ key: string; labels: Record<string, string>; alerts: number }> {
    return [...this.#groups.values()].map((g) => ({
      key: g.key,
      labels: g.labels,
      alerts: g.alerts.size,
    }));
  }

  /** Flushes every group due at `at`. */
  async flushDue(at: number): Promise<void> {
    const firingEverywhere = [...this.#groups.values()].flatMap((g) =>
      [...g.alerts.values()].filter((a) => a.status === 'firing'),
    );
    for (const group of [...this.#groups.values()]) {
      if (group.nextFlush > at) continue;
      group.nextFlush = at + group.route.groupIntervalMs;
      await this.#flush(group, at, firingEverywhere);
    }
  }

  async #flush(
    group: Group,
    at: number,
    firingEverywhere: readonly DispatchAlert[],
  ): Promise<void> {
    const { route } = group;
    const all = [...group.alerts.values()];
    const firing = all.filter(
      (a) => a.status === 'firing' && !this.#o.suppressed(a, at, firingEverywhere),
    );
    const resolved = all.filter((a) => a.status === 'resolved');
    const muted = this.#o.muted(route, at);
    for (const { name: integration, sendResolved } of this.#o.integrations(route.receiver)) {
      const last = this.#o.nflog.last(route.receiver, integration, group.key);
      if (muted || !needsUpdate(last, firing, resolved, sendResolved, at, route)) continue;
      const alerts = sendResolved ? [...firing, ...resolved] : firing;
      if (alerts.length === 0) continue;
      const notification: GroupNotification = {
        receiver: route.receiver,
        groupKey: group.key,
        groupLabels: group.labels,
        status: firing.length > 0 ? 'firing' : 'resolved',
        alerts,
      };
      const result = await this.#o.send(integration, notification);
      const entry: NflogEntry = {
        receiver: route.receiver,
        integration,
        groupKey: group.key,
        firing: sorted(firing.map((a) => a.fingerprint)),
        resolved: sorted(resolved.map((a) => a.fingerprint)),
        at,
      };
      // Kept long enough to decide the next repeat, and a day at least.
      await this.#o.nflog.record(entry, result, Math.max(route.repeatIntervalMs * 2, 86_400_000));
      if (result.outcome !== 'sent') {
        this.#log.warn(
          {
            receiver: route.receiver,
            integration,
            outcome: result.outcome,
            attempts: result.attempts,
          },
          'notification not delivered',
        );
      }
    }
    // Resolved alerts have been told (or had nothing to tell): the group forgets them.
    for (const a of resolved) group.alerts.delete(a.fingerprint);
    if (group.alerts.size === 0) this.#groups.delete(group.key);
  }
}

/**
 * Alertmanager's rule (notify/notify.go, DedupStage): notify when an alert fires that was not
 * told, when everything told has stopped firing, when an alert resolved that the integration
 * (sending resolved) was not told of, or when the repeat interval has passed.
 */
export function needsUpdate(
  last: NflogEntry | undefined,
  firing: readonly DispatchAlert[],
  resolved: readonly DispatchAlert[],
  sendResolved: boolean,
  at: number,
  route: Pick<DispatchRoute, 'repeatIntervalMs'>,
): boolean {
  if (!last) return firing.length > 0;
  const told = new Set(last.firing);
  if (firing.some((a) => !told.has(a.fingerprint))) return true;
  if (firing.length === 0) return last.firing.length > 0;
  const toldResolved = new Set(last.resolved);
  if (sendResolved && resolved.some((a) => !toldResolved.has(a.fingerprint))) return true;
  return at - last.at >= route.repeatIntervalMs;
}
