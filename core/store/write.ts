// The typed write API: sample and log batches into ClickHouse, each batch one insert, with an
// optional deduplication token so a batch written twice is stored once.

import type { ClickHouseSettings } from '@clickhouse/client';
import type { Severity } from '../conventions.ts';
import { dedupSettings, type DedupOptions } from './dedup.ts';
import { writeSamplesFast } from './fast-write.ts';
import { checkSampleRows } from './encode-samples.ts';
import { registerSeries } from './series.ts';
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
  /**
   * The series' identity as seriesKey() makes it, when the caller has it already (the ingester
   * does): saves working it out again for every row.
   */
  key?: string;
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

export type WriteOptions = DedupOptions;

function insertSettings(options: WriteOptions): ClickHouseSettings {
  return { input_format_json_read_numbers_as_strings: 1, ...dedupSettings(options) };
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

/**
 * Writes one batch of samples in one insert (see fast-write.ts: a RowBinary file read by the
 * embedded engine, TabSeparated bytes to a server), exactly: NaN, ±Inf and -0 included. New
 * series are registered in the series table first (see series.ts).
 */
export async function writeSamples(
  store: Store,
  rows: readonly SampleRow[],
  options: WriteOptions = {},
): Promise<void> {
  try {
    checkSampleRows(rows);
  } catch (err) {
    throw storeError(`write ${rows.length} samples`, err);
  }
  await registerSeries(store, rows);
  await writeSamplesFast(store, rows, options);
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
