// The whole halo.yaml: the core keys plus the sections of the roles this binary runs.

import type { z } from 'zod';
import { apiConfigSchema } from '../alerter/api-v2/index.ts';
import { alerterConfigSchema } from '../alerter/config.ts';
import { notifyConfigSchema } from '../alerter/notify/config.ts';
import { reportsConfigSchema } from '../alerter/report/config.ts';
import { agentConfigSchema } from '../collector/agent/config.ts';
import { SOURCE_DEFINITIONS } from '../collector/agent/sources/index.ts';
import { ingestConfigSchema } from '../collector/ingest/config.ts';
import { intakeConfigSchema } from '../collector/intake/config.ts';
import { extendConfigSchema } from '../core/config/schema.ts';

export const agentSchema = agentConfigSchema(SOURCE_DEFINITIONS);

export const haloConfigSchema = extendConfigSchema({
  agent: agentSchema.optional(),
  ingest: ingestConfigSchema,
  intake: intakeConfigSchema,
  alerter: alerterConfigSchema,
  notify: notifyConfigSchema.optional(),
  api: apiConfigSchema.prefault({}),
  reports: reportsConfigSchema,
});

export type FullConfig = z.output<typeof haloConfigSchema>;
