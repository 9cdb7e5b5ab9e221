// Field-level zod schemas of the halo/v1 SLO spec: names, durations, time zones, matchers, times, cron.

import { z } from 'zod';
import { SEVERITIES } from '../../core/conventions.ts';
import { parseDuration } from '../../core/units.ts';
import { isTimeZone } from '../../core/zoned-time.ts';
import { WEEKDAYS, type Matcher, type Weekday } from './model.ts';

const DURATION_TEXT = 'a duration like "5m", "1h" or "28d"';

export const name = z
  .string({ error: 'expected a name of lowercase letters, digits and -' })
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
    error: 'expected a name of lowercase letters, digits and - (at most 63)',
  });
export const metricName = z
  .string({ error: 'expected a metric name' })
  .regex(/^[A-Za-z_:][A-Za-z0-9_:]*$/, { error: 'expected a metric name like http_requests' });
export const labelName = z
  .string({ error: 'expected a label name' })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected a label name of letters, digits and _' });
export const text = (what: string) =>
  z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });
export const stringMap = z.record(z.string(), z.string({ error: 'expected a string' }));
export const labelMap = z.record(
  labelName,
  z.string({ error: 'expected a label value (a string)' }),
);
export const timeZone = z
  .string({ error: 'expected an IANA time zone like "Europe/Berlin" or "UTC"' })
  .refine(isTimeZone, { error: 'expected an IANA time zone like "Europe/Berlin" or "UTC"' });
export const duration = (min = 1) =>
  z.string({ error: `expected ${DURATION_TEXT}` }).transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms < min) {
      ctx.addIssue({ code: 'custom', message: `expected ${DURATION_TEXT}`, input: value });
      return z.NEVER;
    }
    return ms;
  });

const matcherValue = z.preprocess(
  (value) =>
    typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? { op: '=', value: String(value) }
      : value,
  z
    .strictObject(
      {
        op: z.enum(['=', '!=', '=~', '!~'], { error: 'expected one of =, !=, =~, !~' }),
        value: z.string({ error: 'expected a string' }),
      },
      { error: 'expected a label value or { op, value }' },
    )
    .superRefine((matcher, ctx) => {
      if (matcher.op !== '=~' && matcher.op !== '!~') return;
      try {
        new RegExp(`^(?:${matcher.value})$`);
      } catch (err) {
        const why = (err as Error).message.replace(/^Invalid regular expression: .*\/: /, '');
        ctx.addIssue({
          code: 'custom',
          path: ['value'],
          message: `expected a valid regular expression (${why})`,
          input: matcher.value,
        });
      }
    }),
);
export const matchers = z
  .record(labelName, matcherValue)
  .default({})
  .transform((map): Matcher[] =>
    Object.entries(map).map(([label, m]) => ({ label, op: m.op, value: m.value })),
  );

/** A metric and its label matchers (`{ metric, matchers }`), as written in YAML. */
export const selectorSchema = z.strictObject({ metric: metricName, matchers });
/** A log matcher (`{ service, severity, attributes, body_contains }`), as written in YAML. */
export const logMatcherSchema = z.strictObject({
  service: text('a service name').optional(),
  severity: z.enum(SEVERITIES, { error: `expected one of ${SEVERITIES.join(', ')}` }).optional(),
  attributes: matchers,
  body_contains: text('a non-empty string').optional(),
});

/** Exactly one of `keys` set in `value`, or an issue at the object. */
export function exactlyOne(value: object, keys: readonly string[], ctx: z.RefinementCtx): void {
  const set = keys.filter((key) => (value as Record<string, unknown>)[key] !== undefined);
  if (set.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message: `expected exactly one of ${keys.join(', ')}${set.length > 1 ? ` (got ${set.join(' and ')})` : ''}`,
      input: value,
    });
  }
}

export const goodWhen = z
  .string({ error: 'expected a threshold like ">= 1"' })
  .transform((value, ctx) => {
    const match = /^\s*(>=|>|<=|<|==)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(value);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: 'expected a threshold like ">= 1"', input: value });
      return z.NEVER;
    }
    return { op: match[1] as '>=' | '>' | '<=' | '<' | '==', value: Number(match[2]) };
  });

export const isoTime = z
  .string({ error: 'expected an ISO time like "2025-12-24T18:00:00Z"' })
  .refine(
    (value) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) &&
      !Number.isNaN(Date.parse(value)),
    { error: 'expected an ISO time with a zone, like "2025-12-24T18:00:00Z"' },
  );

const CRON_FIELDS: Array<[number, number]> = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

/** A five-field cron expression (minute hour day-of-month month day-of-week). */
export function isCron(value: string): boolean {
  const fields = value.trim().toLowerCase().split(/\s+/);
  if (fields.length !== 5) return false;
  return fields.every((field, i) => {
    const [min, max] = CRON_FIELDS[i]!;
    const num = (part: string) => {
      const day = i === 4 ? ['sun', ...WEEKDAYS].indexOf(part as Weekday) : -1;
      const n = day >= 0 ? day : /^\d+$/.test(part) ? Number(part) : NaN;
      return n >= min && n <= max;
    };
    return field.split(',').every((item) => {
      const [range, step] = item.split('/');
      if (step !== undefined && !/^[1-9]\d*$/.test(step)) return false;
      if (range === '*') return true;
      const ends = (range ?? '').split('-');
      return ends.length <= 2 && ends.every(num);
    });
  });
}
