// Migration 10: error and fatal lines also in a table of their own, fed by a materialized view, so
// the newest errors of a day are read from thousands of lines, not from the body of every line
// (error lines are spread through all of the logs table's granules).

import { ERROR_SEVERITIES, TABLES } from '../../conventions.ts';
import { createMaterializedView, qualified } from '../ddl.ts';
import { logsTable } from './002-logs.ts';
import type { Migration } from './types.ts';

const errorsOf = (from: string) =>
  `SELECT * FROM ${from}\nWHERE severity IN (${ERROR_SEVERITIES.map((s) => `'${s}'`).join(', ')})`;

export const migration: Migration = {
  version: 10,
  name: 'logs: error lines',
  statements: (ctx) => [
    ...logsTable(ctx, TABLES.logsErrors),
    ...createMaterializedView(ctx, {
      name: `${TABLES.logsErrors}_mv`,
      from: TABLES.logs,
      to: TABLES.logsErrors,
      select: errorsOf,
    }),
    // The error lines stored before, once: into an empty table only (migrations run before
    // ingest starts, and a second run must not copy them again).
    `INSERT INTO ${qualified(ctx, TABLES.logsErrors)}\n${errorsOf(qualified(ctx, TABLES.logs))}\n` +
      `  AND (SELECT count() FROM ${qualified(ctx, TABLES.logsErrors)}) = 0` +
      (ctx.cluster ? '\nSETTINGS insert_distributed_sync = 1' : ''),
  ],
};
