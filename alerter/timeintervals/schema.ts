// Named time intervals in Alertmanager's format (zod): times, weekdays, days_of_month, months, years, location.

import { z } from 'zod';
import { isTimeZone } from '../../core/zoned-time.ts';

/** Minutes of the day, [startMinute, endMinute): 09:00–17:00 is 540–1020. */
export interface TimeRange {
  startMinute: number;
  endMinute: number;
}

/** An inclusive range of weekdays (0 = sunday), days of the month, months (1 = january) or years. */
export interface InclusiveRange {
  begin: number;
  end: number;
}

/**
 * One time interval: the moments that match every field given (a field left out matches all),
 * each field a list of values or inclusive ranges; times end-exclusive; negative days of the
 * month count from its end (-1 is the last day).
 */
export interface TimeInterval {
  times?: TimeRange[];
  weekdays?: InclusiveRange[];
  daysOfMonth?: InclusiveRange[];
  months?: InclusiveRange[];
  years?: InclusiveRange[];
  /** IANA time zone the fields are read in; `Local` is the zone of the host. */
  location: string;
}

/** A named interval: the moments inside any of its time intervals. */
export interface NamedTimeInterval {
  name: string;
  timeIntervals: TimeInterval[];
}

export const WEEKDAY_NAMES = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
] as const;

export const MONTH_NAMES = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
] as const;

const TIME = /^(?:([01][0-9]|2[0-3]):([0-5][0-9])|(24):(00))$/;

function minuteOfDay(text: string): number | undefined {
  const m = TIME.exec(text);
  if (!m) return undefined;
  return Number(m[1] ?? m[3]) * 60 + Number(m[2] ?? m[4]);
}

const timeText = z
  .string({ error: 'expected a time like "09:00" (00:00 to 24:00)' })
  .refine((text) => minuteOfDay(text) !== undefined, {
    error: 'expected a time like "09:00" (00:00 to 24:00)',
  });

const timeRange = z
  .strictObject({ start_time: timeText, end_time: timeText })
  .transform((t, ctx): TimeRange => {
    const range = { startMinute: minuteOfDay(t.start_time)!, endMinute: minuteOfDay(t.end_time)! };
    if (range.startMinute >= range.endMinute) {
      ctx.addIssue({
        code: 'custom',
        path: ['end_time'],
        message:
          'expected an end_time after start_time (the end is not included; to cross midnight, ' +
          'write two ranges, one ending at 24:00)',
        input: t.end_time,
      });
      return z.NEVER;
    }
    return range;
  });

interface RangeKind {
  /** The key, for the list's message: 'weekdays'. */
  key: string;
  /** What one item is, for messages: 'a weekday like monday or a range like monday:friday'. */
  expected: string;
  example: string;
  member: (text: string) => number | undefined;
  /** Why a parsed range is wrong, if it is. */
  check?: (r: InclusiveRange) => string | undefined;
}

const integer = (text: string) => (/^-?\d+$/.test(text) ? Number(text) : undefined);
const named = (names: readonly string[], base: number) => (text: string) => {
  const i = names.indexOf(text);
  return i < 0 ? undefined : i + base;
};

/** A list of members or inclusive `first:last` ranges, case-insensitive (YAML numbers too). */
function rangeList(kind: RangeKind) {
  const item = z
    .union([z.string(), z.number()], { error: `expected ${kind.expected}` })
    .transform((value, ctx): InclusiveRange => {
      const text = String(value).trim().toLowerCase();
      const parts = text.split(':');
      const [first, last = first] = parts.map((p) => kind.member(p.trim()));
      if (parts.length > 2 || first === undefined || last === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected ${kind.expected}`, input: value });
        return z.NEVER;
      }
      const range = { begin: first, end: last };
      const wrong =
        kind.check?.(range) ??
        (first > last ? 'expected the first on or before the last' : undefined);
      if (wrong !== undefined) {
        ctx.addIssue({ code: 'custom', message: wrong, input: value });
        return z.NEVER;
      }
      return range;
    });
  return z.array(item, { error: `expected a list of ${kind.key}, like ["${kind.example}"]` });
}

const weekdays = rangeList({
  key: 'weekdays',
  expected: 'a weekday like monday or a range like monday:friday',
  example: 'monday:friday',
  member: named(WEEKDAY_NAMES, 0),
  check: (r) =>
    r.begin > r.end
      ? 'expected the first day on or before the last (the week runs sunday to saturday: ' +
        'list saturday and sunday apart)'
      : undefined,
});

const daysOfMonth = rangeList({
  key: 'days of the month',
  expected: 'a day of the month (1 to 31, or -1 for the last) or a range like 1:7',
  example: '1:7',
  member: (text) => {
    const n = integer(text);
    return n !== undefined && n !== 0 && n >= -31 && n <= 31 ? n : undefined;
  },
  // As Alertmanager: a negative start needs a negative end, and a range must not be empty in
  // a month of 28 days.
  check: (r) => {
    if (r.begin < 0 && r.end > 0) return 'expected a negative last day after a negative first day';
    const begin = r.begin < 0 ? 28 + r.begin : r.begin;
    const end = r.end < 0 ? 28 + r.end : r.end;
    return begin > end ? 'expected the first day on or before the last' : undefined;
  },
});

const months = rangeList({
  key: 'months',
  expected: 'a month (january or 1) or a range like january:march',
  example: 'january:march',
  member: (text) => {
    const n = named(MONTH_NAMES, 1)(text) ?? integer(text);
    return n !== undefined && n >= 1 && n <= 12 ? n : undefined;
  },
});

const years = rangeList({
  key: 'years',
  expected: 'a year like 2025 or a range like 2025:2027',
  example: '2025:2027',
  member: (text) => {
    const n = integer(text);
    return n !== undefined && n >= 1 ? n : undefined;
  },
});

const location = z
  .string({ error: 'expected an IANA time zone like "Europe/Berlin", "UTC" or "Local"' })
  .refine((zone) => zone === 'Local' || isTimeZone(zone), {
    error: 'expected an IANA time zone like "Europe/Berlin", "UTC" or "Local"',
  });

export const timeIntervalSchema = z
  .strictObject({
    times: z.array(timeRange, { error: 'expected a list of { start_time, end_time }' }).optional(),
    weekdays: weekdays.optional(),
    days_of_month: daysOfMonth.optional(),
    months: months.optional(),
    years: years.optional(),
    location: location.default('UTC'),
  })
  .transform((t): TimeInterval => {
    const out: TimeInterval = { location: t.location };
    if (t.times) out.times = t.times;
    if (t.weekdays) out.weekdays = t.weekdays;
    if (t.days_of_month) out.daysOfMonth = t.days_of_month;
    if (t.months) out.months = t.months;
    if (t.years) out.years = t.years;
    return out;
  });

/** The `time_intervals:` key: a list of { name, time_intervals: [...] }, names unique. */
export const timeIntervalsSchema = z
  .array(
    z.strictObject({
      name: z
        .string({ error: 'expected a name for the time interval' })
        .min(1, { error: 'expected a name for the time interval' }),
      time_intervals: z.array(timeIntervalSchema, {
        error: 'expected a list of time intervals (times, weekdays, days_of_month, months, years)',
      }),
    }),
    { error: 'expected a list of named time intervals' },
  )
  .default([])
  .superRefine((list, ctx) => {
    list.forEach((interval, i) => {
      if (list.findIndex((other) => other.name === interval.name) !== i) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `expected each time interval name once (${interval.name} is defined twice)`,
          input: interval.name,
        });
      }
    });
  })
  .transform((list): NamedTimeInterval[] =>
    list.map((i) => ({ name: i.name, timeIntervals: i.time_intervals })),
  );
