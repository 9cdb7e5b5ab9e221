// Migration 7: the SLO evaluation table also keeps the budget left in the SLO period.

import { TABLES } from '../../conventions.ts';
import { onCluster, qualified, storageName } from '../ddl.ts';
import type { Migration } from './types.ts';

export const migration: Migration = {
  version: 7,
  name: 'slo evaluations: budget remaining',
  statements: (ctx) => {
    const tables = ctx.cluster
      ? [storageName(ctx, TABLES.sloEvaluations), TABLES.sloEvaluations]
      : [TABLES.sloEvaluations];
    return tables.map(
      (table) =>
        `ALTER TABLE ${qualified(ctx, table)}${onCluster(ctx)} ADD COLUMN IF NOT EXISTS budget_remaining Float64 AFTER burn_rate`,
    );
  },
};
