// The zod schema of a halo/v1 SLO document: SLI, window, exclusions, burn-rate tiers, and the document itself.

import { z } from 'zod';
import { WEEKDAYS } from './model.ts';
import {
  duration,
  exactlyOne,
  goodWhen,
  isCron,
  isoTime,
  labelMap,
  labelName,
  logMatcherSchema,
  matchers,
  metricName,
  name,
  selectorSchema,
  stringMap,
  text,
  timeZone,
} from './spec-fields.ts';

const selector = selectorSchema;

const sli = z
  .strictObject({
    ratio: z
      .strictObject({ good: selector.optional(), bad: selector.optional(), total: selector })
      .superRefine((v, ctx) => exactlyOne(v, ['good', 'bad'], ctx))
      .optional(),
    latency: z
      .strictObject({
        metric: metricName,
        threshold_seconds: z
          .number({ error: 'expected a positive number of seconds' })
          .positive({ error: 'expected a positive number of seconds' }),
        matchers,
      })
      .optional(),
    probe: z
      .strictObject({
        metric: metricName,
        matchers,
        slice: duration(1000).prefault('1m'),
        good_when: goodWhen.prefault('>= 1'),
      })
      .optional(),
    log_ratio: z
      .strictObject({
        good: logMatcherSchema.optional(),
        bad: logMatcherSchema.optional(),
        total: logMatcherSchema,
      })
      .superRefine((v, ctx) => exactlyOne(v, ['good', 'bad'], ctx))
      .optional(),
  })
  .superRefine((v, ctx) => exactlyOne(v, ['ratio', 'latency', 'probe', 'log_ratio'], ctx));

const window = z
  .strictObject({
    rolling: duration(3_600_000).optional(),
    calendar: z
      .strictObject({
        unit: z.enum(['month', 'quarter'], { error: 'expected month or quarter' }),
        time_zone: timeZone,
      })
      .optional(),
  })
  .superRefine((v, ctx) => exactlyOne(v, ['rolling', 'calendar'], ctx));

const exclusion = z
  .strictObject({
    reason: text('a reason').optional(),
    from: isoTime.optional(),
    to: isoTime.optional(),
    cron: z
      .string({ error: 'expected a cron expression' })
      .refine(isCron, { error: 'expected a cron expression like "0 2 * * sat"' })
      .optional(),
    days: z
      .array(z.enum(WEEKDAYS, { error: `expected one of ${WEEKDAYS.join(', ')}` }))
      .min(1, { error: 'expected at least one day' })
      .optional(),
    start: z
      .string({ error: 'expected a time of day like "02:00"' })
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time of day like "02:00"' })
      .optional(),
    duration: duration(60_000).optional(),
    time_zone: timeZone.optional(),
  })
  .superRefine((v, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: 'custom', message, input: v });
    if (v.from !== undefined || v.to !== undefined) {
      if (v.from === undefined || v.to === undefined) return issue('expected both from and to');
      if (v.cron ?? v.days ?? v.start ?? v.duration ?? v.time_zone) {
        return issue('expected either { from, to } or a recurring exclusion, not both');
      }
      if (Date.parse(v.to) <= Date.parse(v.from)) {
        ctx.addIssue({
          code: 'custom',
          path: ['to'],
          message: 'expected a time after from',
          input: v.to,
        });
      }
      return;
    }
    if ((v.cron === undefined) === (v.days === undefined)) {
      return issue('expected { from, to }, { cron, duration, time_zone } or { days, start, ... }');
    }
    if (v.days !== undefined && v.start === undefined) return issue('expected start with days');
    if (v.cron !== undefined && v.start !== undefined)
      return issue('expected start only with days');
    if (v.duration === undefined || v.time_zone === undefined) {
      issue('expected duration and time_zone for a recurring exclusion');
    }
  });

const tier = z
  .strictObject({
    name,
    severity: z.enum(['page', 'ticket'], { error: 'expected page or ticket' }),
    factor: z
      .number({ error: 'expected a burn rate factor above 0' })
      .positive({ error: 'expected a burn rate factor above 0' }),
    long_window: duration(60_000),
    short_window: duration(1000),
  })
  .superRefine((v, ctx) => {
    if (v.short_window >= v.long_window) {
      ctx.addIssue({
        code: 'custom',
        path: ['short_window'],
        message: 'expected a short window shorter than long_window',
        input: v.short_window,
      });
    }
  });

export const sloDocumentSchema = z.strictObject({
  apiVersion: z.literal('halo/v1', { error: 'expected "halo/v1"' }),
  kind: z.literal('SLO', { error: 'expected "SLO"' }),
  metadata: z.strictObject({
    name,
    labels: labelMap.default({}),
    annotations: stringMap.default({}),
  }),
  spec: z.strictObject({
    service: text('a service name'),
    description: z.string({ error: 'expected a string' }).optional(),
    objective: z
      .number({ error: 'expected a percentage like 99.9' })
      .gt(0, { error: 'expected a percentage above 0 and below 100, like 99.9' })
      .lt(100, { error: 'expected a percentage above 0 and below 100, like 99.9' }),
    window,
    sli,
    group_by: labelName.optional(),
    min_events: z
      .number({ error: 'expected a whole number of events above 0' })
      .int({ error: 'expected a whole number of events above 0' })
      .positive({ error: 'expected a whole number of events above 0' })
      .optional(),
    exclusions: z.array(exclusion, { error: 'expected a list of exclusions' }).default([]),
    alerting: z
      .strictObject({
        page_labels: labelMap.default({}),
        ticket_labels: labelMap.default({}),
        annotations: stringMap.default({}),
      })
      .prefault({}),
    burn_rate_tiers: z
      .array(tier, { error: 'expected a list of tiers' })
      .min(1, { error: 'expected at least one tier' })
      .superRefine((tiers, ctx) => {
        const seen = new Set<string>();
        tiers.forEach((t, i) => {
          if (seen.has(t.name)) {
            ctx.addIssue({
              code: 'custom',
              path: [i, 'name'],
              message: 'expected a unique tier name',
              input: t.name,
            });
          }
          seen.add(t.name);
        });
      })
      .optional(),
  }),
});
export type SloDocument = z.output<typeof sloDocumentSchema>;
