// Migration 2: log lines, with a token bloom filter on the lowercased body for text search.

import { TABLES } from '../../conventions.ts';
import { createTable, type DdlContext } from '../ddl.ts';
import type { Migration } from './types.ts';

/** A table of log lines under `name`: the logs, and the error lines of migration 10. */
export function logsTable(ctx: DdlContext, name: string): string[] {
  return createTable(ctx, {
    name,
    columns: [
      "ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1))",
      'tier LowCardinality(String)',
      'host LowCardinality(String)',
      'service LowCardinality(String)',
      'severity LowCardinality(String)',
      'body String CODEC(ZSTD(3))',
      'attributes Map(LowCardinality(String), String) CODEC(ZSTD(1))',
      'trace_id String CODEC(ZSTD(1))',
    ],
    indexes: [
      'body_tokens lower(body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1',
      'trace trace_id TYPE bloom_filter(0.01) GRANULARITY 4',
    ],
    engine: 'MergeTree',
    partitionBy: 'toDate(ts)',
    orderBy: '(toStartOfHour(ts), service, ts)',
    ttl: 'toDateTime(ts)',
    // A batch written again with its dedup token is dropped (and, through the view, its errors).
    dedupWindow: 10_000,
  });
}

export const migration: Migration = {
  version: 2,
  name: 'logs',
  statements: (ctx) => logsTable(ctx, TABLES.logs),
};
