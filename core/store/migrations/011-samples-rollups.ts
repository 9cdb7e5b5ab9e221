// Migration 11: `samples_rollups`, a Merge table over the three rollups, so that one query branch
// reads whichever rollup a panel's range calls for (named by `_table`) rather than three.

import { TABLES } from '../../conventions.ts';
import { onCluster, qualified } from '../ddl.ts';
import type { Migration } from './types.ts';

/** The rollups it reads, by their plain names: the Distributed tables on a cluster. */
export const MERGED_ROLLUPS = [TABLES.samples1m, TABLES.samples5m, TABLES.samples1h] as const;

export const migration: Migration = {
  version: 11,
  name: 'one table over the rollups',
  statements: (ctx) => [
    // The rollups share their columns (migration 1's rollupTable); the Merge table takes them.
    `CREATE TABLE IF NOT EXISTS ${qualified(ctx, TABLES.samplesRollups)}${onCluster(ctx)} ` +
      `AS ${qualified(ctx, TABLES.samples1m)}\n` +
      `ENGINE = Merge('${ctx.database}', '^(${MERGED_ROLLUPS.join('|')})$')`,
  ],
};
