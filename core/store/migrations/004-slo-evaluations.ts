// Migration 4: SLO evaluations, per SLO instance and window, so burn shows over time.

import { TABLES } from '../../conventions.ts';
import { createTable } from '../ddl.ts';
import type { Migration } from './types.ts';

export const migration: Migration = {
  version: 4,
  name: 'slo evaluations',
  statements: (ctx) =>
    createTable(ctx, {
      name: TABLES.sloEvaluations,
      columns: [
        "ts DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1))",
        'slo LowCardinality(String)',
        'service LowCardinality(String)',
        'instance String',
        'objective Float64',
        'window LowCardinality(String)',
        'window_seconds UInt32',
        'good Float64',
        'total Float64',
        'error_ratio Float64',
        'burn_rate Float64',
      ],
      engine: 'MergeTree',
      partitionBy: 'toYYYYMM(ts)',
      orderBy: '(slo, instance, window, ts)',
      ttl: 'toDateTime(ts)',
      shardBy: 'cityHash64(slo, instance)',
    }),
};
