// Migration 5: a series table (labels once per series, written with the samples' first write of
// each series) and rollup views without the label map, which made every insert's rollup step
// slow. The rollups keep their labels column for rows written before; new rows leave it empty
// and find their labels in series by fingerprint.

import { TABLES } from '../../conventions.ts';
import {
  createMaterializedView,
  createTable,
  onCluster,
  qualified,
  type DdlContext,
} from '../ddl.ts';
import type { Migration } from './types.ts';

const DIMENSIONS =
  'any(name) AS name, any(tier) AS tier, any(host) AS host, any(service) AS service, fingerprint';

/** The rollup views of migration 1, without labels. */
function rollupViews(ctx: DdlContext): string[] {
  return [
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
  ];
}

/**
 * Series of data stored before this migration: from the samples, then from the rollups (whose
 * rows may outlive the samples) for series not found yet. Repeating it changes nothing.
 */
function backfill(ctx: DdlContext): string[] {
  const series = qualified(ctx, TABLES.series);
  const from = (table: string, ts: string, known: boolean) =>
    `INSERT INTO ${series} (name, tier, host, service, labels, fingerprint, first_seen, last_seen)\n` +
    `SELECT any(name), any(tier), any(host), any(service), any(CAST(labels, 'Map(String, String)')), fingerprint, ` +
    `min(toDateTime(${ts})), max(toDateTime(${ts}))\nFROM ${qualified(ctx, table)}\n` +
    (known
      ? `WHERE fingerprint ${ctx.cluster ? 'GLOBAL NOT IN' : 'NOT IN'} (SELECT fingerprint FROM ${series})\n`
      : '') +
    `GROUP BY fingerprint` +
    // On a cluster, each insert must have reached the shards before the next one looks.
    (ctx.cluster ? '\nSETTINGS insert_distributed_sync = 1' : '');
  return [
    from(TABLES.samples, 'ts', false),
    from(TABLES.samples1m, 'ts', true),
    from(TABLES.samples1h, 'ts', true),
  ];
}

export const migration: Migration = {
  version: 5,
  name: 'series table; rollups keyed by fingerprint',
  statements: (ctx) => [
    ...createTable(ctx, {
      name: TABLES.series,
      columns: [
        'name LowCardinality(String)',
        'tier LowCardinality(String)',
        'host LowCardinality(String)',
        'service LowCardinality(String)',
        'labels SimpleAggregateFunction(any, Map(String, String))',
        // The samples' own expression: the same series gets the same fingerprint in both tables.
        'fingerprint UInt64 DEFAULT cityHash64(name, tier, host, service, mapSort(labels))',
        "first_seen SimpleAggregateFunction(min, DateTime('UTC'))",
        "last_seen SimpleAggregateFunction(max, DateTime('UTC'))",
      ],
      // min, max and any give the same answer however often a row arrives: no dedup window.
      engine: 'AggregatingMergeTree',
      partitionBy: 'toYYYYMM(last_seen)',
      orderBy: '(name, tier, host, service, fingerprint)',
      ttl: 'last_seen',
      shardBy: 'fingerprint',
    }),
    `DROP VIEW IF EXISTS ${qualified(ctx, `${TABLES.samples1h}_mv`)}${onCluster(ctx)}`,
    `DROP VIEW IF EXISTS ${qualified(ctx, `${TABLES.samples1m}_mv`)}${onCluster(ctx)}`,
    ...rollupViews(ctx),
    ...backfill(ctx),
  ],
};
