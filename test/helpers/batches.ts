// Builds and publishes wire batches for ingest tests, as agents would send them.

import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { encodeBatch, type MetricBatch } from '../../core/batch.ts';
import { BATCH_VERSION, metricsSubject } from '../../core/conventions.ts';

/** One metric batch: `series` series of `points` points each, stamped from `start` on. */
export function metricBatch(
  id: string,
  opts: {
    tier?: string;
    host?: string;
    series: number;
    points: number;
    start: number;
    prefix?: string;
  },
): MetricBatch {
  return {
    v: BATCH_VERSION,
    kind: 'metrics',
    id,
    tier: opts.tier ?? 'web',
    host: opts.host ?? 'web-1',
    series: Array.from({ length: opts.series }, (_, s) => ({
      name: `${opts.prefix ?? 'test'}_value`,
      service: 'shop',
      labels: { series: String(s), quote: 'a "b" \\ ✓' },
      points: Array.from(
        { length: opts.points },
        (_, p) => [opts.start + p * 1000, s + p] as [number, number],
      ),
    })),
  };
}

/** Publishes raw payloads in order, acks awaited a window at a time. */
export async function publishAll(
  nc: NatsConnection,
  items: Array<{ subject?: string; data: Uint8Array; id: string }>,
): Promise<void> {
  const js = jetstream(nc);
  for (let i = 0; i < items.length; i += 256) {
    await Promise.all(
      items
        .slice(i, i + 256)
        .map((item) =>
          js.publish(item.subject ?? metricsSubject('web', 'web-1'), item.data, { msgID: item.id }),
        ),
    );
  }
}

export { encodeBatch };
