// The ingester's own Prometheus metrics: rows, latency, batch sizes, dead letters, dropped series, lag.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface IngestMetrics {
  rows: Counter<'kind'>;
  batches: Counter<'kind' | 'outcome'>;
  insertSeconds: Histogram<'kind'>;
  insertRows: Histogram<'kind'>;
  insertBatches: Histogram<'kind'>;
  redelivered: Counter<'kind'>;
  deadLetters: Counter<'kind'>;
  droppedSeries: Counter<'tier'>;
  droppedSamples: Counter<'tier'>;
  insertErrors: Counter<'kind'>;
  pending: Gauge<'stream'>;
}

export function createIngestMetrics(
  registry: Registry,
  pending: () => Promise<Record<string, number>>,
): IngestMetrics {
  const registers = [registry];
  return {
    rows: new Counter({
      name: 'halo_ingest_rows_total',
      help: 'Rows inserted into ClickHouse.',
      labelNames: ['kind'],
      registers,
    }),
    batches: new Counter({
      name: 'halo_ingest_batches_total',
      help: 'Batches by outcome: stored, dead (to the dead-letter stream).',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
    insertSeconds: new Histogram({
      name: 'halo_ingest_insert_seconds',
      help: 'Time of one insert, retries excluded.',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    insertRows: new Histogram({
      name: 'halo_ingest_insert_rows',
      help: 'Rows per insert (one insert gathers many batches).',
      labelNames: ['kind'],
      buckets: [1, 100, 1000, 10_000, 50_000, 100_000, 250_000, 500_000, 1_000_000],
      registers,
    }),
    insertBatches: new Histogram({
      name: 'halo_ingest_insert_batches',
      help: 'Batches (stream messages) per insert.',
      labelNames: ['kind'],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
      registers,
    }),
    redelivered: new Counter({
      name: 'halo_ingest_redelivered_total',
      help: 'Batches delivered again (after a crash, a lost ack or a consumer reset), looked up in the journal.',
      labelNames: ['kind'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'halo_ingest_dead_letters_total',
      help: 'Batches that did not decode or validate, sent to the dead-letter stream.',
      labelNames: ['kind'],
      registers,
    }),
    droppedSeries: new Counter({
      name: 'halo_ingest_dropped_series_total',
      help: 'New series refused because their tier reached limits.series_per_tier (counted per batch).',
      labelNames: ['tier'],
      registers,
    }),
    droppedSamples: new Counter({
      name: 'halo_ingest_dropped_samples_total',
      help: 'Samples of refused series.',
      labelNames: ['tier'],
      registers,
    }),
    insertErrors: new Counter({
      name: 'halo_ingest_insert_errors_total',
      help: 'Failed inserts (each is retried; the batch waits in JetStream).',
      labelNames: ['kind'],
      registers,
    }),
    pending: new Gauge({
      name: 'halo_ingest_consumer_pending',
      help: 'Batches in the stream not yet delivered to an ingester.',
      labelNames: ['stream'],
      registers,
      async collect() {
        for (const [stream, value] of Object.entries(await pending().catch(() => ({}))))
          this.set({ stream }, value);
      },
    }),
  };
}
