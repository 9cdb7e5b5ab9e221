// All migrations, in order. A new one is a new numbered file added at the end of this list.

import { migration as samples } from './001-samples.ts';
import { migration as logs } from './002-logs.ts';
import { migration as alerting } from './003-alerting.ts';
import { migration as sloEvaluations } from './004-slo-evaluations.ts';
import { migration as series } from './005-series.ts';
import { migration as ingestJournal } from './006-ingest-journal.ts';
import { migration as sloBudget } from './007-slo-budget.ts';
import { migration as logsVolume } from './008-logs-volume.ts';
import { migration as samples5m } from './009-samples-5m.ts';
import { migration as logsErrors } from './010-logs-errors.ts';
import { migration as samplesRollups } from './011-samples-rollups.ts';
import type { Migration } from './types.ts';

export const MIGRATIONS: readonly Migration[] = [
  samples,
  logs,
  alerting,
  sloEvaluations,
  series,
  ingestJournal,
  sloBudget,
  logsVolume,
  samples5m,
  logsErrors,
  samplesRollups,
];
export type { Migration } from './types.ts';
