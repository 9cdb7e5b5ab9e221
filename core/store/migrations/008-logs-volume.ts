// Migration 8: a projection of the logs table counting lines per minute, tier, host, service and
// severity, so the log volume of a day reads thousands of rows rather than millions.

import { TABLES } from '../../conventions.ts';
import { onCluster, qualified, storageName } from '../ddl.ts';
import type { Migration } from './types.ts';

/** The projection's name; queries use it when they read only its columns (see dashboards/logs.ts). */
export const LOGS_VOLUME_PROJECTION = 'volume_1m';

export const migration: Migration = {
  version: 8,
  name: 'logs: per-minute volume projection',
  statements: (ctx) => {
    // On a cluster the projection belongs to the storage tables, not the Distributed one.
    const logs = `${qualified(ctx, storageName(ctx, TABLES.logs))}${onCluster(ctx)}`;
    return [
      `ALTER TABLE ${logs} ADD PROJECTION IF NOT EXISTS ${LOGS_VOLUME_PROJECTION} (\n` +
        `  SELECT toStartOfMinute(ts), tier, host, service, severity, count()\n` +
        `  GROUP BY toStartOfMinute(ts), tier, host, service, severity\n)`,
      // Parts written before get the projection in the background; until then queries read lines.
      `ALTER TABLE ${logs} MATERIALIZE PROJECTION ${LOGS_VOLUME_PROJECTION}`,
    ];
  },
};
