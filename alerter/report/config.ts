// The `reports:` section of halo.yaml: the time zone of report periods, when an SLO is at risk,
// and the schedules that write reports to a directory and post them to Slack.

import cron from 'node-cron';
import { z } from 'zod';
import { httpUrl } from '../../core/config/schema.ts';
import { parseDuration } from '../../core/units.ts';
import { isTimeZone } from '../../core/zoned-time.ts';

export const REPORT_FORMATS = ['html', 'md', 'csv', 'json', 'pdf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const timeZone = z
  .string({ error: 'expected an IANA time zone like Europe/Berlin' })
  .refine(isTimeZone, { error: 'expected an IANA time zone like Europe/Berlin' });

/** month, quarter, week (the last whole one), or a duration such as 7d (the last 7 days). */
const periodSpec = z
  .string({ error: 'expected month, quarter, week or a duration like 7d' })
  .refine((v) => ['month', 'quarter', 'week'].includes(v) || (parseDuration(v) ?? 0) >= 3_600_000, {
    error: 'expected month, quarter, week or a duration of an hour or more like 7d',
  });

const scheduleSchema = z
  .strictObject({
    name: z
      .string({ error: 'expected a schedule name' })
      .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'expected a name of letters, digits, _ and -' }),
    /** node-cron expression, in the section's time zone: "0 9 1 * *" is the 1st at 09:00. */
    cron: z
      .string({ error: 'expected a cron expression like "0 9 1 * *"' })
      .refine((v) => cron.validate(v), { error: 'expected a cron expression like "0 9 1 * *"' }),
    /** What each run reports: the last whole month, quarter or ISO week, or the last 7d. */
    period: periodSpec,
    formats: z
      .array(z.enum(REPORT_FORMATS, { error: `expected one of ${REPORT_FORMATS.join(', ')}` }))
      .min(1, { error: 'expected at least one format' })
      .default(['html', 'csv', 'json']),
    /** Directory the files are written to (created when missing). */
    dir: z.string({ error: 'expected a directory path' }).min(1).optional(),
    slack: z
      .strictObject({
        /** A receiver of notify.receivers: its Slack webhooks get the summary. */
        receiver: z.string({ error: 'expected a receiver name' }).min(1),
        /** Where `dir` is served: the message links to <link>/<file>. */
        link: httpUrl().optional(),
      })
      .optional(),
  })
  .refine((s) => s.dir !== undefined || s.slack !== undefined, {
    error: 'expected dir, slack or both: where the report goes',
  })
  .refine((s) => s.slack?.link === undefined || s.dir !== undefined, {
    error: 'slack.link points at the files of dir: set dir too',
  });

export const reportsConfigSchema = z
  .strictObject({
    /** Calendar periods (months, quarters, weeks) start at midnight here. */
    time_zone: timeZone.default('UTC'),
    /** Report title; "SLO report: <period>" when absent. */
    title: z.string({ error: 'expected a title' }).min(1).optional(),
    /** A met SLO with less than this percent of its error budget left is at risk. */
    at_risk_below_percent: z
      .number({ error: 'expected a percentage' })
      .min(0, { error: 'expected a percentage from 0 to 100' })
      .max(100, { error: 'expected a percentage from 0 to 100' })
      .default(25),
    /** Headless Chromium for PDF; found on PATH (chromium, google-chrome…) when absent. */
    chromium: z.string({ error: 'expected a file path' }).min(1).optional(),
    schedules: z
      .array(scheduleSchema, { error: 'expected a list of schedules' })
      .default([])
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((s, i) => {
          if (seen.has(s.name))
            ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'expected a unique name' });
          seen.add(s.name);
        });
      }),
  })
  .prefault({});

export type ReportsConfig = z.output<typeof reportsConfigSchema>;
export type ReportSchedule = ReportsConfig['schedules'][number];
