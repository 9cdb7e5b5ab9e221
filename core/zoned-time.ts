// Calendar dates in an IANA time zone: the local date of an instant, and the first instant of a
// local date (midnight, or the first instant after it when the zone skips midnight that day).

const HOUR = 3_600_000;

export interface ZonedDate {
  year: number;
  /** 1–12. */
  month: number;
  /** 1–31. */
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local calendar date of `at` (ms) in the time zone. */
export function zonedDate(timeZone: string, at: number): ZonedDate {
  const parts = formatter(timeZone).formatToParts(new Date(at));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: part('year'), month: part('month'), day: part('day') };
}

const compare = (a: ZonedDate, b: ZonedDate) =>
  a.year - b.year || a.month - b.month || a.day - b.day;

const dayStarts = new Map<string, number>();

/**
 * The first instant (ms) of a local date in the time zone. Months and days out of range roll
 * over as in Date.UTC (month 13 is January of the next year). Found by bisection (offsets are at
 * most 14 h either side of UTC), and remembered.
 */
export function zonedDayStart(timeZone: string, year: number, month: number, day = 1): number {
  const utcMidnight = Date.UTC(year, month - 1, day);
  const normal = new Date(utcMidnight);
  const target = {
    year: normal.getUTCFullYear(),
    month: normal.getUTCMonth() + 1,
    day: normal.getUTCDate(),
  };
  const key = `${timeZone} ${target.year} ${target.month} ${target.day}`;
  const known = dayStarts.get(key);
  if (known !== undefined) return known;
  const started = (t: number) => compare(zonedDate(timeZone, t), target) >= 0;
  let lo = utcMidnight - 15 * HOUR; // not started yet
  let hi = utcMidnight + 15 * HOUR; // started
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (started(mid)) hi = mid;
    else lo = mid;
  }
  // Offsets are whole seconds: the day starts on the first whole second after `lo`.
  const start = Math.ceil((lo + 1) / 1000) * 1000;
  dayStarts.set(key, start);
  return start;
}

/** Whether the name is a time zone this runtime knows. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
