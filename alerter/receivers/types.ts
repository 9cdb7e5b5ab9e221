// The shapes every receiver shares: a notification (one group of alerts, as Alertmanager hands it
// to a notifier), the result of delivering it, and the integration interface.

export type AlertStatus = 'firing' | 'resolved';

/** One alert of a notification; times are RFC 3339 strings, as on Alertmanager's wire. */
export interface NotificationAlert {
  status: AlertStatus;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  /** When it resolved; absent while it fires. */
  endsAt?: string;
  fingerprint: string;
  generatorURL?: string;
}

/** One group of alerts sent to one receiver at one flush of the group. */
export interface Notification {
  /** The receiver's name. */
  receiver: string;
  /** Identifies the group (route and group labels); the same group always has the same key. */
  groupKey: string;
  groupLabels: Record<string, string>;
  /** Labels every alert of the notification shares. */
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  /** 'firing' while at least one alert fires. */
  status: AlertStatus;
  alerts: NotificationAlert[];
  /** Where Halo's API or UI is reachable, for links back. */
  externalURL: string;
  /** Alerts of the group left out before this point (0 when none). */
  truncatedAlerts: number;
  /**
   * Identifies this notification (e.g. its notification-log entry). Signed webhooks send it as
   * `webhook-id`; when absent, one is derived from the group and its alerts.
   */
  id?: string;
}

export type IntegrationKind = 'pagerduty' | 'slack' | 'webhook' | 'console';

export type DeliveryOutcome = 'sent' | 'failed' | 'gave_up';

/** What became of one notification at one integration. Never holds a secret. */
export interface DeliveryResult {
  outcome: DeliveryOutcome;
  /** HTTP requests made (0 when none could be made). */
  attempts: number;
  /** The last HTTP status received, if any. */
  status?: number;
  /** Why it failed or gave up, naming the target but no URL or key. */
  error?: string;
}

/** One configured destination of a receiver (a PagerDuty service, a Slack webhook, a URL). */
export interface Integration {
  readonly kind: IntegrationKind;
  /** A safe name for logs and errors, e.g. "slack webhook #1 of receiver ops". */
  readonly target: string;
  readonly sendResolved: boolean;
  send(notification: Notification, signal?: AbortSignal): Promise<DeliveryResult>;
}

/** The report of one integration for one notification: skipped when there was nothing to send. */
export interface IntegrationReport extends Omit<DeliveryResult, 'outcome'> {
  kind: IntegrationKind;
  target: string;
  outcome: DeliveryOutcome | 'skipped';
}
