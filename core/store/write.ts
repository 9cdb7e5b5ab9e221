// The typed write API: sample and log batches into ClickHouse, each batch one insert, with an
// optional deduplication token so a batch written twice is stored once.

import { randomUUID } from 'node:crypto';
import type { ClickHouseSettings } from '@clickhouse/client';
import type { Severity } from '../conventions.ts';
import { storeError, type Store } from './store.ts';

export interface SampleRow {
  name: string;
  tier: string;
  host: string;
  service: string;
  labels: Record<string, string>;
  /** Milliseconds since the epoch (UTC). */
  ts: number;
  value: number;
}

export interface LogRow {
  ts: number;
  tier: string;
  host: string;
  service: string;
  severity: Severity;
  body: string;
  attributes: Record<string, string>;
  traceId?: string;
}

export interface WriteOptions {
  /**
   * Identity of the batch: ClickHouse drops a later insert with the same token (within the
   * table's deduplication window), so a batch redelivered after a crash is not stored twice.
   */
  dedupToken?: string;
}

/**
 * JSON has no NaN or infinities; ClickHouse reads them from strings. Finite numbers stay
 * numbers so the common case costs nothing.
 */
function floatField(value: number): number | string {
  // Anything but a number goes as it is, for ClickHouse to refuse, rather than become -inf.
  if (typeof value !== 'number' || Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'nan';
  return value > 0 ? 'inf' : '-inf';
}

function insertSettings(options: WriteOptions): ClickHouseSettings {
  return {
    input_format_json_read_numbers_as_strings: 1,
    insert_deduplicate: 1,
    // Without a token of the caller's, a fresh one: two different batches can aggregate into
    // equal rollup blocks, and content-hash deduplication would drop the second. (A setting
    // cannot turn that off on every ClickHouse version; a unique token can.)
    insert_deduplication_token: options.dedupToken ?? `once-${randomUUID()}`,
    // The rollups must not count a deduplicated block twice either.
    deduplicate_blocks_in_dependent_materialized_views: 1,
  };
}

/** One batch, one insert: either all rows are stored or the error says which batch failed. */
async function insertBatch(
  store: Store,
  table: 'samples' | 'logs',
  what: string,
  values: Array<Record<string, unknown>>,
  options: WriteOptions,
): Promise<void> {
  if (values.length === 0) return;
  try {
    await store.client.insert({
      table: store.table(table),
      columns: Object.keys(values[0]!) as [string, ...string[]],
      values,
      format: 'JSONEachRow',
      clickhouse_settings: insertSettings(options),
    });
  } catch (err) {
    throw storeError(`write ${values.length} ${what}`, err);
  }
}

export async function writeSamples(
  store: Store,
  rows: readonly SampleRow[],
  options: WriteOptions = {},
): Promise<void> {
  const values = rows.map((row) => ({
    name: row.name,
    tier: row.tier,
    host: row.host,
    service: row.service,
    labels: row.labels,
    ts: row.ts,
    value: floatField(row.value),
  }));
  await insertBatch(store, 'samples', 'samples', values, options);
}

export async function writeLogs(
  store: Store,
  rows: readonly LogRow[],
  options: WriteOptions = {},
): Promise<void> {
  const values = rows.map((row) => ({
    ts: row.ts,
    tier: row.tier,
    host: row.host,
    service: row.service,
    severity: row.severity,
    body: row.body,
    attributes: row.attributes,
    trace_id: row.traceId ?? '',
  }));
  await insertBatch(store, 'logs', 'log lines', values, options);
}
