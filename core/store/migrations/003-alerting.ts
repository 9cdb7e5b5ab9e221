// Migration 3: alert history (every state change) and the notification log (every delivery).

import { TABLES } from '../../conventions.ts';
import { createTable } from '../ddl.ts';
import type { Migration } from './types.ts';

export const migration: Migration = {
  version: 3,
  name: 'alert history and notification log',
  statements: (ctx) => [
    ...createTable(ctx, {
      name: TABLES.alerts,
      columns: [
        "ts DateTime64(3, 'UTC')",
        'fingerprint UInt64',
        'alertname LowCardinality(String)',
        "state Enum8('pending' = 1, 'firing' = 2, 'resolved' = 3)",
        'severity LowCardinality(String)',
        'slo LowCardinality(String)',
        'labels Map(LowCardinality(String), String)',
        'annotations Map(LowCardinality(String), String)',
        'value Float64',
        "active_since DateTime64(3, 'UTC')",
      ],
      engine: 'MergeTree',
      partitionBy: 'toYYYYMM(ts)',
      orderBy: '(alertname, fingerprint, ts)',
      ttl: 'toDateTime(ts)',
      shardBy: 'fingerprint',
    }),
    ...createTable(ctx, {
      name: TABLES.notifications,
      columns: [
        "ts DateTime64(3, 'UTC')",
        'receiver LowCardinality(String)',
        'integration LowCardinality(String)',
        'group_key String',
        'firing_alerts Array(UInt64)',
        'resolved_alerts Array(UInt64)',
        "outcome Enum8('sent' = 1, 'failed' = 2, 'gave_up' = 3)",
        'attempts UInt16',
        'error String',
        "expires_at DateTime64(3, 'UTC')",
      ],
      engine: 'MergeTree',
      partitionBy: 'toYYYYMM(ts)',
      orderBy: '(receiver, group_key, ts)',
      ttl: 'toDateTime(ts)',
      shardBy: 'cityHash64(group_key)',
    }),
  ],
};
