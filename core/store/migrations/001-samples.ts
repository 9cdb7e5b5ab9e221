// Migration 1: metric samples, and the 1-minute and 1-hour rollups fed by materialized views.

import { TABLES } from '../../conventions.ts';
import { createMaterializedView, createTable, type DdlContext } from '../ddl.ts';
import type { Migration } from './types.ts';

const SERIES_COLUMNS = [
  'name LowCardinality(String)',
  'tier LowCardinality(String)',
  'host LowCardinality(String)',
  'service LowCardinality(String)',
];
const SERIES_KEY = '(name, tier, host, service, fingerprint, ts)';

/** A rollup table: one row per series and bucket, in the samples' key order. */
export function rollupTable(ctx: DdlContext, name: string): string[] {
  return createTable(ctx, {
    name,
    columns: [
      ...SERIES_COLUMNS,
      // Rollup rows of one series share the key; the labels are the same on every row of it.
      'labels SimpleAggregateFunction(any, Map(String, String))',
      'fingerprint UInt64',
      "ts DateTime('UTC') CODEC(DoubleDelta, ZSTD(1))",
      'value_sum SimpleAggregateFunction(sum, Float64)',
      'value_count SimpleAggregateFunction(sum, UInt64)',
      'value_min SimpleAggregateFunction(min, Float64)',
      'value_max SimpleAggregateFunction(max, Float64)',
      "value_last AggregateFunction(argMax, Float64, DateTime64(3, 'UTC'))",
    ],
    engine: 'AggregatingMergeTree',
    partitionBy: 'toYYYYMM(ts)',
    orderBy: SERIES_KEY,
    ttl: 'ts',
    shardBy: 'fingerprint',
    // A deduplicated insert into samples must not reach the rollups twice: they need a window too.
    dedupWindow: 10_000,
  });
}

const DIMENSIONS =
  'any(name) AS name, any(tier) AS tier, any(host) AS host, any(service) AS service, any(labels) AS labels, fingerprint';

export const migration: Migration = {
  version: 1,
  name: 'samples and rollups',
  statements: (ctx) => [
    ...createTable(ctx, {
      name: TABLES.samples,
      columns: [
        ...SERIES_COLUMNS,
        'labels Map(LowCardinality(String), String)',
        // One series, one fingerprint: map keys are sorted so their order on the wire does not matter.
        'fingerprint UInt64 DEFAULT cityHash64(name, tier, host, service, mapSort(labels))',
        "ts DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1))",
        'value Float64 CODEC(Gorilla, ZSTD(1))',
      ],
      engine: 'MergeTree',
      partitionBy: 'toDate(ts)',
      orderBy: SERIES_KEY,
      ttl: 'toDateTime(ts)',
      shardBy: 'fingerprint',
      dedupWindow: 10_000,
    }),
    ...rollupTable(ctx, TABLES.samples1m),
    ...rollupTable(ctx, TABLES.samples1h),
    ...createMaterializedView(ctx, {
      name: `${TABLES.samples1m}_mv`,
      from: TABLES.samples,
      to: TABLES.samples1m,
      select: (from) =>
        `SELECT ${DIMENSIONS}, toStartOfMinute(src.ts) AS ts, sum(value) AS value_sum, count() AS value_count, ` +
        `min(value) AS value_min, max(value) AS value_max, argMaxState(value, src.ts) AS value_last\n` +
        `FROM ${from} AS src\nGROUP BY fingerprint, ts`,
    }),
    ...createMaterializedView(ctx, {
      name: `${TABLES.samples1h}_mv`,
      from: TABLES.samples1m,
      to: TABLES.samples1h,
      select: (from) =>
        `SELECT ${DIMENSIONS}, toStartOfHour(src.ts) AS ts, sum(value_sum) AS value_sum, sum(value_count) AS value_count, ` +
        `min(value_min) AS value_min, max(value_max) AS value_max, argMaxMergeState(value_last) AS value_last\n` +
        `FROM ${from} AS src\nGROUP BY fingerprint, ts`,
    }),
  ],
};
