// Migration 2: log lines, with a token bloom filter on the lowercased body for text search.

import { TABLES } from '../../conventions.ts';
import { createTable } from '../ddl.ts';
import type { Migration } from './types.ts';

/** The columns of a logs table (also of the error lines, migration 10). */
export const LOGS_COLUMNS = [
  "ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1))",
  'tier LowCardinality(String)',
  'host LowCardinality(String)',
  'service LowCardinality(String)',
  'severity LowCardinality(String)',
  'body String CODEC(ZSTD(3))',
  'attributes Map(LowCardinality(String), String) CODEC(ZSTD(1))',
  'trace_id String CODEC(ZSTD(1))',
] as const;
export const LOGS_INDEXES = [
  'body_tokens lower(body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1',
  'trace trace_id TYPE bloom_filter(0.01) GRANULARITY 4',
] as const;
export const LOGS_ORDER = '(toStartOfHour(ts), service, ts)';

export const migration: Migration = {
  version: 2,
  name: 'logs',
  statements: (ctx) =>
    createTable(ctx, {
      name: TABLES.logs,
      columns: [...LOGS_COLUMNS],
      indexes: [...LOGS_INDEXES],
      engine: 'MergeTree',
      partitionBy: 'toDate(ts)',
      orderBy: LOGS_ORDER,
      ttl: 'toDateTime(ts)',
      dedupWindow: 10_000,
    }),
};
