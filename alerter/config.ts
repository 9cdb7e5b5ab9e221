// The `alerter:` section of halo.yaml: where the SLO and rule files are, how often to evaluate,
// and the lease that lets one of several replicas evaluate.

import { z } from 'zod';
import { duration } from '../core/config/schema.ts';
import { cronFor } from './alerter.ts';

const files = z
  .array(
    z
      .string({ error: 'expected a file path or glob' })
      .min(1, { error: 'expected a file path or glob' }),
    {
      error: 'expected a list of file paths or globs',
    },
  )
  .default([]);

export const alerterConfigSchema = z
  .strictObject({
    /** halo/v1 SLO files (globs, relative to the working directory). */
    slos: files,
    /** halo/v1 AlertRule files (globs). */
    rules: files,
    /** How often every SLO and rule is evaluated. */
    interval: duration('15s', { ms: 1000, text: '1s' }).superRefine((d, ctx) => {
      try {
        cronFor(d.ms);
      } catch {
        ctx.addIssue({
          code: 'custom',
          message:
            'expected an interval that divides a minute or an hour evenly (15s, 30s, 1m, 5m…)',
          input: d.text,
        });
      }
    }),
    lease: z
      .strictObject({
        /** Replicas share this NATS KV bucket; the one holding the lease evaluates. */
        bucket: z
          .string({ error: 'expected a bucket name' })
          .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected a name of letters, digits, _ and -' })
          .default('halo_alerter_lease'),
        /**
         * A lease not renewed for this long passes to another replica, which evaluates at once:
         * keep it under two intervals so a takeover is never later than that.
         */
        ttl: duration('10s', { ms: 1000, text: '1s' }),
      })
      .prefault({}),
  })
  .prefault({});

export type AlerterConfig = z.output<typeof alerterConfigSchema>;
