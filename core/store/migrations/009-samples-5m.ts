// Migration 9: a 5-minute rollup fed from the 1-minute one, so that a panel over a day reads 288
// rows per series instead of 1,440 (dashboards read it for ranges from 12 hours to 3 days).

import { TABLES } from '../../conventions.ts';
import { createMaterializedView, qualified } from '../ddl.ts';
import { rollupTable } from './001-samples.ts';
import type { Migration } from './types.ts';

const DIMENSIONS =
  'any(name) AS name, any(tier) AS tier, any(host) AS host, any(service) AS service, fingerprint';

const COLUMNS =
  'name, tier, host, service, fingerprint, ts, value_sum, value_count, value_min, value_max, value_last';

const fiveMinutes = (from: string) =>
  `SELECT ${DIMENSIONS}, toStartOfFiveMinutes(src.ts) AS ts, sum(value_sum) AS value_sum, ` +
  `sum(value_count) AS value_count, min(value_min) AS value_min, max(value_max) AS value_max, ` +
  `argMaxMergeState(value_last) AS value_last\nFROM ${from} AS src\nGROUP BY fingerprint, ts`;

export const migration: Migration = {
  version: 9,
  name: '5-minute rollup',
  statements: (ctx) => [
    ...rollupTable(ctx, TABLES.samples5m),
    ...createMaterializedView(ctx, {
      name: `${TABLES.samples5m}_mv`,
      from: TABLES.samples1m,
      to: TABLES.samples5m,
      select: fiveMinutes,
    }),
    // What the minutes hold already, once: into an empty table only (migrations run before
    // ingest starts, and a second run must not add the sums again). On a cluster through the
    // Distributed tables.
    `INSERT INTO ${qualified(ctx, TABLES.samples5m)} (${COLUMNS})\n` +
      `${fiveMinutes(`(SELECT * FROM ${qualified(ctx, TABLES.samples1m)} WHERE (SELECT count() FROM ${qualified(ctx, TABLES.samples5m)}) = 0)`)}` +
      (ctx.cluster ? '\nSETTINGS insert_distributed_sync = 1' : ''),
  ],
};
