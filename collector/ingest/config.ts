// The `ingest:` section of halo.yaml: the durable consumer, concurrency, what a batch may hold,
// and the per-tier series bound.

import { z } from 'zod';
import type { BatchLimits } from '../../core/batch.ts';
import { byteSize, duration, wholeNumber } from '../../core/config/schema.ts';

/** The most rows one insert may gather (ingest.insert.max_rows' bound). */
export const MAX_INSERT_ROWS = 1_000_000;

export const ingestConfigSchema = z
  .strictObject({
    /** Durable consumer shared by every ingester: each batch goes to one of them. */
    consumer: z
      .string({ error: 'expected a consumer name' })
      .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected a name of letters, digits, _ and -' })
      .default('halo-ingest'),
    /** Inserts under way at once in this process (each holds many batches). */
    concurrency: wholeNumber(2, 64),
    /** Batches delivered and not yet acked, over all ingesters. */
    max_ack_pending: wholeNumber(10_000, 1_000_000),
    /**
     * Batches are gathered into one insert until it holds max_rows rows or max_bytes of batch
     * payload, or its oldest batch has waited max_wait. Fewer, larger inserts are much faster.
     */
    insert: z
      .strictObject({
        max_rows: wholeNumber(250_000, MAX_INSERT_ROWS),
        max_bytes: byteSize('64MiB'),
        max_wait: duration('1s', { ms: 10, text: '10ms' }),
      })
      .prefault({}),
    /** A batch not acked in this time is delivered again (the ingester extends it while retrying). */
    ack_wait: duration('60s', { ms: 1000, text: '1s' }),
    retry: z
      .strictObject({
        initial: duration('500ms', { ms: 10, text: '10ms' }),
        max: duration('30s', { ms: 100, text: '100ms' }),
      })
      .prefault({}),
    limits: z
      .strictObject({
        max_labels: wholeNumber(32, 1000),
        max_label_name_length: wholeNumber(128, 10_000),
        max_label_value_length: wholeNumber(2048, 1_000_000),
        max_name_length: wholeNumber(256, 10_000),
        /** Samples older than this are refused (the table's retention would drop them anyway). */
        max_age: duration('7d', { ms: 60_000, text: '1m' }),
        max_future: duration('10m', { ms: 0, text: '0s' }),
        max_log_body: byteSize('64KiB'),
        /** New series per tier past this are dropped, counted (protects the store from a label explosion). */
        series_per_tier: wholeNumber(1_000_000, 100_000_000),
      })
      .prefault({}),
  })
  .prefault({});

export type IngestConfig = z.output<typeof ingestConfigSchema>;

/** The bounds a batch must keep, from `ingest.limits` (the intake checks them before publishing). */
export function batchLimitsOf(config: IngestConfig): BatchLimits {
  const { limits } = config;
  return {
    maxLabels: limits.max_labels,
    maxLabelNameLength: limits.max_label_name_length,
    maxLabelValueLength: limits.max_label_value_length,
    maxNameLength: limits.max_name_length,
    maxAgeMs: limits.max_age.ms,
    maxFutureMs: limits.max_future.ms,
    maxBodyLength: limits.max_log_body.bytes,
  };
}
