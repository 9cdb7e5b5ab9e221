// Exclusion windows of an SLO as time intervals: one-off ranges, and recurring ones (a cron or
// days and a start time, in a time zone) expanded over a range. Excluded time neither burns
// budget nor pages.

import { CronExpressionParser } from 'cron-parser';
import type { Exclusion } from './model.ts';

export interface Interval {
  from: number;
  to: number;
}

/** The cron of a recurring exclusion given as days and a start time. */
function cronOf(e: Extract<Exclusion, { kind: 'recurring' }>): string {
  if (e.cron !== undefined) return e.cron;
  const [hour, minute] = (e.start ?? '00:00').split(':');
  return `${Number(minute)} ${Number(hour)} * * ${(e.days ?? []).join(',')}`;
}

/** Every excluded interval that overlaps [from, to), clipped to it, merged and in order. */
export function excludedIntervals(
  exclusions: readonly Exclusion[],
  from: number,
  to: number,
): Interval[] {
  const found: Interval[] = [];
  for (const e of exclusions) {
    if (e.kind === 'once') {
      found.push({ from: Date.parse(e.from), to: Date.parse(e.to) });
      continue;
    }
    // Occurrences that start up to one duration before the range can still reach into it.
    const cron = CronExpressionParser.parse(cronOf(e), {
      currentDate: new Date(from - e.durationMs - 1),
      endDate: new Date(to),
      tz: e.timeZone,
    });
    while (cron.hasNext()) {
      const start = cron.next().getTime();
      found.push({ from: start, to: start + e.durationMs });
    }
  }
  const clipped = found
    .map((i) => ({ from: Math.max(i.from, from), to: Math.min(i.to, to) }))
    .filter((i) => i.to > i.from)
    .sort((a, b) => a.from - b.from);
  const merged: Interval[] = [];
  for (const i of clipped) {
    const last = merged[merged.length - 1];
    if (last && i.from <= last.to) last.to = Math.max(last.to, i.to);
    else merged.push({ ...i });
  }
  return merged;
}

/** Whether `at` lies in an exclusion window. */
export function isExcluded(exclusions: readonly Exclusion[], at: number): boolean {
  return excludedIntervals(exclusions, at, at + 1).length > 0;
}
