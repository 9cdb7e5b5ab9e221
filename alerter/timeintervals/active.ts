// Whether a moment is inside a time interval (on its zone's wall clock, DST included), and whether a route is muted.

import { ConfigError } from '../../core/errors.ts';
import type { InclusiveRange, NamedTimeInterval, TimeInterval } from './schema.ts';

interface WallClock {
  year: number;
  /** 1 = january. */
  month: number;
  day: number;
  /** 0 = sunday. */
  weekday: number;
  minuteOfDay: number;
  daysInMonth: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(location: string): Intl.DateTimeFormat {
  let f = formatters.get(location);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: location === 'Local' ? undefined : location,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(location, f);
  }
  return f;
}

/** The calendar and clock fields of `at` (ms since the epoch) in a time zone. */
export function wallClock(at: number, location: string): WallClock {
  const fields: Record<string, number> = {};
  for (const part of formatter(location).formatToParts(at)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const year = fields['year']!;
  const month = fields['month']!;
  const day = fields['day']!;
  return {
    year,
    month,
    day,
    weekday: new Date(Date.UTC(year, month - 1, day)).getUTCDay(),
    minuteOfDay: fields['hour']! * 60 + fields['minute']!,
    daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  };
}

const within = (ranges: readonly InclusiveRange[] | undefined, n: number) =>
  ranges === undefined || ranges.some((r) => n >= r.begin && n <= r.end);

/** A day-of-month range in this month: negatives count from its end; none past its end. */
function dayInRange(r: InclusiveRange, clock: WallClock): boolean {
  const n = clock.daysInMonth;
  const begin = r.begin < 0 ? n + r.begin + 1 : r.begin;
  const end = r.end < 0 ? n + r.end + 1 : r.end;
  if (begin > n) return false;
  return clock.day >= Math.max(begin, 1) && clock.day <= Math.min(end, n);
}

/** True when `at` is inside the time interval: every field it sets matches. */
export function containsTime(interval: TimeInterval, at: number): boolean {
  const clock = wallClock(at, interval.location);
  const { times, daysOfMonth } = interval;
  if (
    times &&
    !times.some((t) => clock.minuteOfDay >= t.startMinute && clock.minuteOfDay < t.endMinute)
  )
    return false;
  if (daysOfMonth && !daysOfMonth.some((r) => dayInRange(r, clock))) return false;
  return (
    within(interval.weekdays, clock.weekday) &&
    within(interval.months, clock.month) &&
    within(interval.years, clock.year)
  );
}

/** True when `at` is inside any of the named interval's time intervals. */
export function activeAt(interval: NamedTimeInterval, at: number): boolean {
  return interval.timeIntervals.some((t) => containsTime(t, at));
}

/** The mute and active intervals of a route (ResolvedRoute has them). */
export interface IntervalSettings {
  muteTimeIntervals: readonly string[];
  activeTimeIntervals: readonly string[];
}

function lookup(intervals: readonly NamedTimeInterval[], name: string): NamedTimeInterval {
  const found = intervals.find((i) => i.name === name);
  // Routes are checked against time_intervals at load (validateRoutes): this is a bug.
  if (!found) throw new ConfigError(`time interval ${JSON.stringify(name)} is not defined`);
  return found;
}

/**
 * Why a route sends nothing at `at`, or undefined when it may send: inside one of its mute
 * intervals, or outside all of its active intervals (when it has any). Mute wins.
 */
export function muteReason(
  route: IntervalSettings,
  at: number,
  intervals: readonly NamedTimeInterval[],
): string | undefined {
  for (const name of route.muteTimeIntervals) {
    if (activeAt(lookup(intervals, name), at)) return `inside mute time interval ${name}`;
  }
  if (route.activeTimeIntervals.length === 0) return undefined;
  const active = route.activeTimeIntervals.some((name) => activeAt(lookup(intervals, name), at));
  return active
    ? undefined
    : `outside active time intervals ${route.activeTimeIntervals.join(', ')}`;
}

/** True when the route sends nothing at `at` (see muteReason). */
export function muted(
  route: IntervalSettings,
  at: number,
  intervals: readonly NamedTimeInterval[],
): boolean {
  return muteReason(route, at, intervals) !== undefined;
}
