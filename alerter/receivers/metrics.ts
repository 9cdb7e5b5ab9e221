// Prometheus counters of delivery: notifications by outcome and HTTP requests by status, per
// receiver and integration (the optional hooks the receivers report to).

import { Counter, type Registry } from 'prom-client';
import type { DeliveryObserver } from './deliver.ts';
import type { IntegrationKind } from './types.ts';

export interface ReceiverMetrics {
  /** outcome: sent, failed, gave_up or skipped (a resolved notification not sent). */
  notifications: Counter<'receiver' | 'integration' | 'outcome'>;
  /** code: the HTTP status, or error / timeout when none came back. */
  requests: Counter<'receiver' | 'integration' | 'code'>;
  observer(receiver: string, integration: IntegrationKind): DeliveryObserver;
}

export function createReceiverMetrics(registry: Registry): ReceiverMetrics {
  const registers = [registry];
  const notifications = new Counter({
    name: 'halo_notifications_total',
    help: 'Notifications by receiver, integration and outcome (sent, failed, gave_up, skipped).',
    labelNames: ['receiver', 'integration', 'outcome'],
    registers,
  });
  const requests = new Counter({
    name: 'halo_notification_requests_total',
    help: 'HTTP requests made to deliver notifications, by status code (or error, timeout).',
    labelNames: ['receiver', 'integration', 'code'],
    registers,
  });
  return {
    notifications,
    requests,
    observer: (receiver, integration) => ({
      attempt: (code) => requests.inc({ receiver, integration, code }),
      outcome: (outcome) => notifications.inc({ receiver, integration, outcome }),
    }),
  };
}
