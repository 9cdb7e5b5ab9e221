// Report periods: a calendar month (2026-10), quarter (2026-Q4) or ISO week (2026-W47) in a time
// zone, or the last N days to a moment; each with the period before it, for the change column.

import { ConfigError } from '../../core/errors.ts';
import { formatDuration, parseDuration } from '../../core/units.ts';
import { isTimeZone, zonedDate, zonedDayStart } from '../../core/zoned-time.ts';
import { formatDateTime } from './format.ts';
import type { ReportPeriod } from './model.ts';

export type PeriodKind = 'month' | 'quarter' | 'week';

export interface ResolvedPeriod {
  period: ReportPeriod;
  previous: ReportPeriod;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

const DAY = 86_400_000;
const WEEK = 7 * DAY;

const pad = (n: number) => String(n).padStart(2, '0');

function checkZone(timeZone: string): void {
  if (!isTimeZone(timeZone)) throw new ConfigError(`unknown time zone "${timeZone}"`);
}

function month(year: number, m: number, timeZone: string): ReportPeriod {
  const start = new Date(Date.UTC(year, m - 1, 1));
  const y = start.getUTCFullYear();
  const mm = start.getUTCMonth() + 1;
  return {
    label: `${y}-${pad(mm)}`,
    title: `${MONTHS[mm - 1]} ${y}`,
    from: zonedDayStart(timeZone, y, mm, 1),
    to: zonedDayStart(timeZone, y, mm + 1, 1),
    timeZone,
  };
}

function quarter(year: number, q: number, timeZone: string): ReportPeriod {
  const y = year + Math.floor((q - 1) / 4);
  const qq = ((((q - 1) % 4) + 4) % 4) + 1;
  const first = (qq - 1) * 3 + 1;
  return {
    label: `${y}-Q${qq}`,
    title: `Q${qq} ${y}`,
    from: zonedDayStart(timeZone, y, first, 1),
    to: zonedDayStart(timeZone, y, first + 3, 1),
    timeZone,
  };
}

/** The Monday (a UTC date standing for a calendar date) of ISO week 1 of `year`. */
function isoWeekOne(year: number): number {
  const jan4 = Date.UTC(year, 0, 4);
  const weekday = (new Date(jan4).getUTCDay() + 6) % 7; // Monday 0
  return jan4 - weekday * DAY;
}

function isoWeeks(year: number): number {
  return Math.round((isoWeekOne(year + 1) - isoWeekOne(year)) / WEEK);
}

function week(year: number, w: number, timeZone: string): ReportPeriod {
  return weekFrom(isoWeekOne(year) + (w - 1) * WEEK, timeZone);
}

/** The week from a Monday (a UTC midnight standing for the local calendar date). */
function weekFrom(mondayUtc: number, timeZone: string): ReportPeriod {
  const monday = new Date(mondayUtc);
  const sunday = new Date(monday.getTime() + 6 * DAY);
  const y = monday.getUTCFullYear();
  const m = monday.getUTCMonth() + 1;
  const d = monday.getUTCDate();
  // The week's own year and number, after rolling over (week 0 is the last of the year before).
  const thursday = new Date(monday.getTime() + 3 * DAY);
  const isoYear = thursday.getUTCFullYear();
  const isoWeek = Math.round((monday.getTime() - isoWeekOne(isoYear)) / WEEK) + 1;
  const day = (t: Date) => `${MONTHS[t.getUTCMonth()]!.slice(0, 3)} ${t.getUTCDate()}`;
  return {
    label: `${isoYear}-W${pad(isoWeek)}`,
    title: `Week ${isoWeek} of ${isoYear} (${day(monday)} – ${day(sunday)})`,
    from: zonedDayStart(timeZone, y, m, d),
    to: zonedDayStart(timeZone, y, m, d + 7),
    timeZone,
  };
}

/** A calendar period by name: 2026-10, 2026-Q4 or 2026-W47, and the one before it. */
export function parsePeriod(text: string, timeZone: string): ResolvedPeriod {
  checkZone(timeZone);
  const m = /^(\d{4})-(\d{2})$/.exec(text);
  if (m) {
    const [y, mm] = [Number(m[1]), Number(m[2])];
    if (mm < 1 || mm > 12) throw new ConfigError(`period "${text}": month ${mm} is not 01–12`);
    return { period: month(y, mm, timeZone), previous: month(y, mm - 1, timeZone) };
  }
  const q = /^(\d{4})-Q([1-4])$/i.exec(text);
  if (q) {
    const [y, n] = [Number(q[1]), Number(q[2])];
    return { period: quarter(y, n, timeZone), previous: quarter(y, n - 1, timeZone) };
  }
  const w = /^(\d{4})-W(\d{2})$/i.exec(text);
  if (w) {
    const [y, n] = [Number(w[1]), Number(w[2])];
    if (n < 1 || n > isoWeeks(y))
      throw new ConfigError(`period "${text}": ${y} has weeks 01–${isoWeeks(y)}`);
    return { period: week(y, n, timeZone), previous: week(y, n - 1, timeZone) };
  }
  throw new ConfigError(
    `period "${text}": expected a month (2026-10), a quarter (2026-Q4) or an ISO week (2026-W47)`,
  );
}

/** The last `duration` (e.g. 7d) up to `now`, and the same length before it. */
export function lastPeriod(duration: string, now: number, timeZone: string): ResolvedPeriod {
  checkZone(timeZone);
  const ms = parseDuration(duration);
  if (ms === undefined || ms <= 0)
    throw new ConfigError(`last "${duration}": expected a duration like 7d or 24h`);
  const text = formatDuration(ms);
  const make = (to: number): ReportPeriod => ({
    label: `last ${text}`,
    title: `Last ${text} to ${formatDateTime(to, timeZone)}`,
    from: to - ms,
    to,
    timeZone,
  });
  return { period: make(now), previous: make(now - ms) };
}

/** The last whole period of a kind that ended at or before `now`: what a schedule reports. */
export function completedPeriod(kind: PeriodKind, now: number, timeZone: string): ResolvedPeriod {
  checkZone(timeZone);
  const { year, month: m, day } = zonedDate(timeZone, now);
  if (kind === 'month')
    return { period: month(year, m - 1, timeZone), previous: month(year, m - 2, timeZone) };
  if (kind === 'quarter') {
    const current = Math.floor((m - 1) / 3) + 1;
    return {
      period: quarter(year, current - 1, timeZone),
      previous: quarter(year, current - 2, timeZone),
    };
  }
  // The Monday of the local week that holds `now`, then the two weeks before it.
  const today = Date.UTC(year, m - 1, day);
  const monday = today - ((new Date(today).getUTCDay() + 6) % 7) * DAY;
  return {
    period: weekFrom(monday - WEEK, timeZone),
    previous: weekFrom(monday - 2 * WEEK, timeZone),
  };
}
