// SLO evaluation on real chDB: the raw/rollup segments of a window, exclusion windows, calendar
// periods in a time zone, and evaluateSlos for every SLI kind checked against a reference
// computed from the raw points written (ratio with good, group_by, latency buckets, probe
// slices, log ratios, a calendar month, a recurring exclusion).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBudget } from '../alerter/slo/burn.ts';
import {
  evaluateSlos,
  periodStart,
  windowStart,
  writeEvaluations,
} from '../alerter/slo/evaluate.ts';
import type { SloEvaluation } from '../alerter/slo/evaluate.ts';
import { measureEvents } from '../alerter/slo/events.ts';
import { excludedIntervals, isExcluded } from '../alerter/slo/exclusions.ts';
import type { Exclusion, Slo } from '../alerter/slo/model.ts';
import { measureSli, windowSegments, type MeasureWindow } from '../alerter/slo/sli-query.ts';
import { parseSlos } from '../alerter/slo/spec.ts';
import { periodMs } from '../alerter/slo/windows.ts';
import { DEFAULT_POLICY, segmentsOf, subtract, type Segment } from '../alerter/query/segments.ts';
import type { Severity } from '../core/conventions.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { formatDuration, parseDuration } from '../core/units.ts';
import { writeLogs, writeSamples, type LogRow, type SampleRow } from '../core/store/write.ts';
import { openTestStore } from './helpers/store.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const iso = (ms: number) => new Date(ms).toISOString();
const utc = (text: string) => Date.parse(text);

function slo(name: string, spec: string): Slo {
  const [parsed] = parseSlos(
    `apiVersion: halo/v1\nkind: SLO\nmetadata: { name: ${name} }\nspec:\n${spec}`,
    `${name}.yaml`,
  );
  return parsed!;
}

describe('segments of a window', () => {
  const D = utc('2025-01-06T00:00:00Z');
  const seg = (source: Segment['source'], from: number, to: number): Segment => ({
    source,
    from,
    to,
  });

  it('a window under an hour reads raw samples only, whatever the range', () => {
    const from = D + 10 * HOUR + 30 * SEC;
    expect(segmentsOf(from, from + 30 * MIN, 30 * MIN)).toEqual([
      seg('raw', from, from + 30 * MIN),
    ]);
    // The window's length decides, not the range's: a 59m window cut to 2h is still raw.
    expect(segmentsOf(D + 10 * HOUR, D + 12 * HOUR, 59 * MIN)).toEqual([
      seg('raw', D + 10 * HOUR, D + 12 * HOUR),
    ]);
  });

  it('a window of an hour reads whole minutes from the 1-minute rollups, the edges raw', () => {
    expect(segmentsOf(D + 10 * HOUR, D + 11 * HOUR, HOUR)).toEqual([
      seg('minute', D + 10 * HOUR, D + 11 * HOUR),
    ]);
    const from = D + 10 * HOUR + 30_500;
    expect(segmentsOf(from, from + HOUR, HOUR)).toEqual([
      seg('raw', from, D + 10 * HOUR + MIN),
      seg('minute', D + 10 * HOUR + MIN, D + 11 * HOUR),
      seg('raw', D + 11 * HOUR, from + HOUR),
    ]);
    // Only the start unaligned; 23h59m (under a day) never reads hours.
    expect(segmentsOf(from, D + 10 * HOUR + DAY - MIN, DAY - MIN)).toEqual([
      seg('raw', from, D + 10 * HOUR + MIN),
      seg('minute', D + 10 * HOUR + MIN, D + 10 * HOUR + DAY - MIN),
    ]);
  });

  it('a window of a day or more reads whole hours from the 1-hour rollups', () => {
    expect(segmentsOf(D, D + DAY, DAY)).toEqual([seg('hour', D, D + DAY)]);
    const from = D + 10 * HOUR + 20 * MIN + 30_500;
    const to = from + DAY;
    expect(segmentsOf(from, to, DAY)).toEqual([
      seg('raw', from, D + 10 * HOUR + 21 * MIN),
      seg('minute', D + 10 * HOUR + 21 * MIN, D + 11 * HOUR),
      seg('hour', D + 11 * HOUR, D + DAY + 10 * HOUR),
      seg('minute', D + DAY + 10 * HOUR, D + DAY + 10 * HOUR + 20 * MIN),
      seg('raw', D + DAY + 10 * HOUR + 20 * MIN, to),
    ]);
    // A piece of a long window within one hour has no whole hour; within a minute, no minute.
    expect(segmentsOf(D + 10 * HOUR + 5 * MIN, D + 10 * HOUR + 50 * MIN, 3 * DAY)).toEqual([
      seg('minute', D + 10 * HOUR + 5 * MIN, D + 10 * HOUR + 50 * MIN),
    ]);
    expect(segmentsOf(D + 10 * HOUR + 5 * SEC, D + 10 * HOUR + 50 * SEC, 3 * DAY)).toEqual([
      seg('raw', D + 10 * HOUR + 5 * SEC, D + 10 * HOUR + 50 * SEC),
    ]);
    // Whole hours but no whole hour inside: minutes only.
    expect(segmentsOf(D + 10 * HOUR + 30 * MIN, D + 11 * HOUR + 30 * MIN, DAY)).toEqual([
      seg('minute', D + 10 * HOUR + 30 * MIN, D + 11 * HOUR + 30 * MIN),
    ]);
    expect(segmentsOf(D + HOUR, D + HOUR, DAY)).toEqual([]);
    expect(segmentsOf(D + HOUR, D, DAY)).toEqual([]);
  });

  it('segments always tile the range exactly, rollups aligned to their bucket', () => {
    let seed = 42;
    const random = () => (seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32;
    const lengths = [5 * MIN, 59 * MIN, HOUR, 6 * HOUR, DAY, 3 * DAY, 30 * DAY];
    for (let n = 0; n < 500; n++) {
      const windowMs = lengths[n % lengths.length]!;
      const from = D + Math.floor(random() * 3 * DAY);
      const to = from + Math.floor(random() * random() * 4 * DAY);
      const segments = segmentsOf(from, to, windowMs);
      if (to <= from) {
        expect(segments).toEqual([]);
        continue;
      }
      expect(segments[0]!.from).toBe(from);
      expect(segments[segments.length - 1]!.to).toBe(to);
      segments.forEach((s, i) => {
        expect(s.to).toBeGreaterThan(s.from);
        if (i > 0) expect(s.from).toBe(segments[i - 1]!.to);
        if (s.source === 'minute') expect([s.from % MIN, s.to % MIN]).toEqual([0, 0]);
        if (s.source === 'hour') expect([s.from % HOUR, s.to % HOUR]).toEqual([0, 0]);
        if (windowMs < HOUR) expect(s.source).toBe('raw');
        if (windowMs < DAY) expect(s.source).not.toBe('hour');
      });
    }
  });

  it('subtract() cuts holes out of a range', () => {
    const r = (from: number, to: number) => ({ from, to });
    expect(subtract(0, 100, [])).toEqual([r(0, 100)]);
    expect(subtract(0, 100, [r(20, 30)])).toEqual([r(0, 20), r(30, 100)]);
    expect(subtract(0, 100, [r(-10, 30)])).toEqual([r(30, 100)]);
    expect(subtract(0, 100, [r(70, 200)])).toEqual([r(0, 70)]);
    // Touching the edges leaves the range whole.
    expect(subtract(0, 100, [r(-10, 0), r(100, 110)])).toEqual([r(0, 100)]);
    expect(subtract(0, 100, [r(0, 100)])).toEqual([]);
    expect(subtract(0, 100, [r(-5, 105)])).toEqual([]);
    // Unsorted and overlapping holes.
    expect(subtract(0, 100, [r(60, 70), r(10, 20), r(15, 25), r(69, 80)])).toEqual([
      r(0, 10),
      r(25, 60),
      r(80, 100),
    ]);
  });

  it('with exclusions a window keeps its whole range, without hour rollups, and the excluded time is a hole', () => {
    const base = D + 10 * HOUR;
    const windows: MeasureWindow[] = [
      { from: base + 30 * SEC, to: base + HOUR + 30 * SEC, lengthMs: HOUR },
      { from: base + 25 * MIN, to: base + 30 * MIN, lengthMs: 5 * MIN },
      { from: base + HOUR + 30 * SEC - DAY, to: base + HOUR + 30 * SEC, lengthMs: DAY },
    ];
    const spec = (exclusions: string) => `  service: shop
  objective: 99.9
  window: { rolling: 30d }
  sli: { ratio: { bad: { metric: errors_total }, total: { metric: requests_total } } }
${exclusions}`;
    const cut = slo(
      'cut',
      spec(`  exclusions:
    - { from: "${iso(base + 20 * MIN + 15 * SEC)}", to: "${iso(base + 30 * MIN + 45 * SEC)}" }
    - { from: "${iso(base - 2 * DAY)}", to: "${iso(base - 23 * HOUR + 10 * MIN)}" }
    - { from: "${iso(base + 2 * HOUR)}", to: "${iso(base + 3 * HOUR)}" }
`),
    );
    const hourAndEdges = [
      seg('raw', base + 30 * SEC, base + MIN),
      seg('minute', base + MIN, base + HOUR),
      seg('raw', base + HOUR, base + HOUR + 30 * SEC),
    ];
    const layout = windowSegments(cut, windows, DEFAULT_POLICY);
    expect(layout.segments).toEqual([
      hourAndEdges,
      // Wholly excluded, still read: its rows are left out by the hole.
      [seg('raw', base + 25 * MIN, base + 30 * MIN)],
      // A day, but minutes only: an excluded stretch may cover part of an hour.
      [
        seg('raw', base + HOUR + 30 * SEC - DAY, base + MIN - 23 * HOUR),
        seg('minute', base + MIN - 23 * HOUR, base + HOUR),
        seg('raw', base + HOUR, base + HOUR + 30 * SEC),
      ],
    ]);
    // Clipped to the windows' span, in order; the one after it is dropped.
    expect(layout.holes).toEqual([
      { from: base + 30 * SEC - 23 * HOUR, to: base + 10 * MIN - 23 * HOUR },
      { from: base + 20 * MIN + 15 * SEC, to: base + 30 * MIN + 45 * SEC },
    ]);
    // Without exclusions: no holes, and the day window reads whole hours.
    const clear = windowSegments(slo('clear', spec('')), windows, DEFAULT_POLICY);
    expect(clear.holes).toEqual([]);
    expect(clear.segments[0]).toEqual(hourAndEdges);
    expect(clear.segments[2]).toEqual([
      seg('raw', base + HOUR + 30 * SEC - DAY, base + MIN - 23 * HOUR),
      seg('minute', base + MIN - 23 * HOUR, base - 22 * HOUR),
      seg('hour', base - 22 * HOUR, base + HOUR),
      seg('raw', base + HOUR, base + HOUR + 30 * SEC),
    ]);
    // Exclusions wholly outside the windows change nothing.
    const outside = slo(
      'outside',
      spec(`  exclusions:
    - { from: "${iso(base + 2 * HOUR)}", to: "${iso(base + 3 * HOUR)}" }
`),
    );
    expect(windowSegments(outside, windows, DEFAULT_POLICY)).toEqual(clear);
  });
});

describe('window alignment', () => {
  const D = utc('2025-01-06T00:00:00Z');
  const at = D + 10 * HOUR + 37 * MIN + 4_321;

  it('windows under an hour end their length before the time', () => {
    expect(windowStart(at, 5 * MIN)).toBe(at - 5 * MIN);
    expect(windowStart(at, HOUR - 1)).toBe(at - HOUR + 1);
  });

  it('windows of an hour or more start on the minute after, of a day or more on the hour after', () => {
    expect(windowStart(at, HOUR)).toBe(D + 9 * HOUR + 38 * MIN);
    expect(windowStart(at, 6 * HOUR)).toBe(D + 4 * HOUR + 38 * MIN);
    expect(windowStart(at, DAY - 1)).toBe(D - DAY + 10 * HOUR + 38 * MIN);
    expect(windowStart(at, DAY)).toBe(D - DAY + 11 * HOUR);
    expect(windowStart(at, 30 * DAY)).toBe(D - 30 * DAY + 11 * HOUR);
    // Already on the unit: the nominal length.
    expect(windowStart(D + 10 * HOUR + 37 * MIN, HOUR)).toBe(D + 9 * HOUR + 37 * MIN);
    expect(windowStart(D + 10 * HOUR, DAY)).toBe(D - DAY + 10 * HOUR);
  });

  it('a window is never longer than its length, and at most a minute or an hour shorter', () => {
    let seed = 7;
    const random = () => (seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32;
    for (let n = 0; n < 500; n++) {
      const t = D + Math.floor(random() * 10 * DAY);
      const ms = [MIN, 30 * MIN, HOUR, 84 * MIN, 5 * HOUR, DAY, 74.4 * HOUR, 30 * DAY][n % 8]!;
      const start = windowStart(t, ms);
      const unit = ms >= DAY ? HOUR : ms >= HOUR ? MIN : 1;
      expect(t - start).toBeLessThanOrEqual(ms);
      expect(t - start).toBeGreaterThan(ms - unit);
      if (ms >= HOUR) expect(start % unit).toBe(0);
    }
  });
});

describe('exclusion windows', () => {
  const recurring = (e: Partial<Extract<Exclusion, { kind: 'recurring' }>>): Exclusion => ({
    kind: 'recurring',
    durationMs: 2 * HOUR,
    timeZone: 'UTC',
    ...e,
  });
  const show = (list: Array<{ from: number; to: number }>) =>
    list.map((i) => `${iso(i.from)} → ${iso(i.to)}`);

  it('a one-off window is clipped to the range', () => {
    const once: Exclusion = {
      kind: 'once',
      from: '2025-03-01T10:00:00Z',
      to: '2025-03-01T12:00:00Z',
    };
    expect(
      show(excludedIntervals([once], utc('2025-03-01T11:00:00Z'), utc('2025-03-02T00:00:00Z'))),
    ).toEqual(['2025-03-01T11:00:00.000Z → 2025-03-01T12:00:00.000Z']);
    expect(
      excludedIntervals([once], utc('2025-03-01T12:00:00Z'), utc('2025-03-02T00:00:00Z')),
    ).toEqual([]);
  });

  it('a cron in a time zone follows its DST changes ("0 2 * * sat" in Europe/Paris)', () => {
    const paris = recurring({ cron: '0 2 * * sat', timeZone: 'Europe/Paris' });
    // Summer time starts on Sunday 30 March 2025: 02:00 is 01:00Z before, 00:00Z after.
    expect(
      show(excludedIntervals([paris], utc('2025-03-20T00:00:00Z'), utc('2025-04-10T00:00:00Z'))),
    ).toEqual([
      '2025-03-22T01:00:00.000Z → 2025-03-22T03:00:00.000Z',
      '2025-03-29T01:00:00.000Z → 2025-03-29T03:00:00.000Z',
      '2025-04-05T00:00:00.000Z → 2025-04-05T02:00:00.000Z',
    ]);
    // And back on Sunday 26 October 2025.
    expect(
      show(excludedIntervals([paris], utc('2025-10-20T00:00:00Z'), utc('2025-11-05T00:00:00Z'))),
    ).toEqual([
      '2025-10-25T00:00:00.000Z → 2025-10-25T02:00:00.000Z',
      '2025-11-01T01:00:00.000Z → 2025-11-01T03:00:00.000Z',
    ]);
  });

  it('days and a start time, including an occurrence that began before the range', () => {
    const ny = recurring({
      days: ['mon', 'wed'],
      start: '22:30',
      durationMs: HOUR,
      timeZone: 'America/New_York',
    });
    // Monday 2 June 22:30 EDT is 02:30Z on Tuesday; the range starts half-way through it.
    expect(
      show(excludedIntervals([ny], utc('2025-06-03T03:00:00Z'), utc('2025-06-06T00:00:00Z'))),
    ).toEqual([
      '2025-06-03T03:00:00.000Z → 2025-06-03T03:30:00.000Z',
      '2025-06-05T02:30:00.000Z → 2025-06-05T03:30:00.000Z',
    ]);
    // An occurrence starting exactly at the range's start is in it.
    expect(
      show(excludedIntervals([ny], utc('2025-06-05T02:30:00Z'), utc('2025-06-05T02:45:00Z'))),
    ).toEqual(['2025-06-05T02:30:00.000Z → 2025-06-05T02:45:00.000Z']);
  });

  it('overlapping and touching windows are merged, in order', () => {
    const list: Exclusion[] = [
      { kind: 'once', from: '2025-03-01T13:00:00Z', to: '2025-03-01T14:00:00Z' },
      { kind: 'once', from: '2025-03-01T10:30:00Z', to: '2025-03-01T12:00:00Z' },
      { kind: 'once', from: '2025-03-01T10:00:00Z', to: '2025-03-01T11:00:00Z' },
      { kind: 'once', from: '2025-03-01T12:00:00Z', to: '2025-03-01T12:30:00Z' },
      recurring({ cron: '45 13 * * *', durationMs: 30 * MIN }),
    ];
    expect(
      show(excludedIntervals(list, utc('2025-03-01T00:00:00Z'), utc('2025-03-01T23:00:00Z'))),
    ).toEqual([
      '2025-03-01T10:00:00.000Z → 2025-03-01T12:30:00.000Z',
      '2025-03-01T13:00:00.000Z → 2025-03-01T14:15:00.000Z',
    ]);
    expect(isExcluded(list, utc('2025-03-01T10:00:00Z'))).toBe(true);
    expect(isExcluded(list, utc('2025-03-01T14:14:59.999Z'))).toBe(true);
    expect(isExcluded(list, utc('2025-03-01T14:15:00Z'))).toBe(false);
    expect(isExcluded(list, utc('2025-03-01T09:59:59.999Z'))).toBe(false);
  });
});

describe('SLO period start', () => {
  const calendar = (unit: 'month' | 'quarter', timeZone: string) =>
    slo(
      `cal-${unit}`,
      `  service: shop
  objective: 99.9
  window: { calendar: { unit: ${unit}, time_zone: ${timeZone} } }
  sli: { ratio: { bad: { metric: errors_total }, total: { metric: requests_total } } }
`,
    );
  const start = (s: Slo, at: string) => iso(periodStart(s, utc(at)));

  it('a calendar month starts at midnight on the first, in its time zone', () => {
    const ny = calendar('month', 'America/New_York');
    expect(start(ny, '2025-03-15T12:00:00Z')).toBe('2025-03-01T05:00:00.000Z');
    expect(start(ny, '2025-07-04T12:00:00Z')).toBe('2025-07-01T04:00:00.000Z');
    // 31 March 23:00 in New York is still March.
    expect(start(ny, '2025-04-01T03:00:00Z')).toBe('2025-03-01T05:00:00.000Z');
    expect(start(ny, '2025-04-01T04:00:00Z')).toBe('2025-04-01T04:00:00.000Z');
    // November 2026 starts on a Sunday, the day summer time ends (at 02:00).
    expect(start(ny, '2026-11-15T00:00:00Z')).toBe('2026-11-01T04:00:00.000Z');
    const kolkata = calendar('month', 'Asia/Kolkata');
    expect(start(kolkata, '2025-02-14T00:00:00Z')).toBe('2025-01-31T18:30:00.000Z');
    expect(periodMs(ny.window, new Date(utc('2025-02-14T00:00:00Z')))).toBe(28 * DAY);
  });

  it('a calendar quarter starts on the first of January, April, July or October', () => {
    const kolkata = calendar('quarter', 'Asia/Kolkata');
    expect(start(kolkata, '2025-05-10T00:00:00Z')).toBe('2025-03-31T18:30:00.000Z');
    expect(start(kolkata, '2025-03-31T18:30:00Z')).toBe('2025-03-31T18:30:00.000Z');
    expect(start(kolkata, '2025-03-31T18:29:59.999Z')).toBe('2024-12-31T18:30:00.000Z');
    const ny = calendar('quarter', 'America/New_York');
    expect(start(ny, '2025-11-20T00:00:00Z')).toBe('2025-10-01T04:00:00.000Z');
    expect(start(ny, '2025-02-20T00:00:00Z')).toBe('2025-01-01T05:00:00.000Z');
    expect(periodMs(ny.window, new Date(utc('2025-11-20T00:00:00Z')))).toBe(92 * DAY);
  });

  it('a rolling window starts its length before the time', () => {
    const rolling = slo(
      'rolling',
      `  service: shop
  objective: 99.9
  window: { rolling: 28d }
  sli: { ratio: { bad: { metric: errors_total }, total: { metric: requests_total } } }
`,
    );
    const at = utc('2025-03-15T12:34:56.789Z');
    expect(periodStart(rolling, at)).toBe(at - 28 * DAY);
  });

  // Sydney summer time began at 02:00 on Sunday 1 October 2023: local midnight was still
  // +10:00 (2023-09-30T14:00Z), though the offset at 00:00Z that day is +11:00.
  it('a month whose first day begins with a DST change starts at local midnight', () => {
    const sydney = calendar('month', 'Australia/Sydney');
    expect(start(sydney, '2023-10-15T00:00:00Z')).toBe('2023-09-30T14:00:00.000Z');
    expect(start(sydney, '2023-09-30T14:00:00Z')).toBe('2023-09-30T14:00:00.000Z');
    expect(start(sydney, '2023-09-30T13:59:59.999Z')).toBe('2023-08-31T14:00:00.000Z');
    // And the month that ends summer time (02:00 on Sunday 7 April 2024): +11:00 at midnight.
    expect(start(sydney, '2024-04-20T00:00:00Z')).toBe('2024-03-31T13:00:00.000Z');
  });

  // Asunción went from 00:00 (-04:00) to 01:00 (-03:00) on Sunday 1 October 2023: local
  // midnight did not exist, and October began at 04:00Z (01:00 local), its first instant.
  it('a month whose local midnight is skipped starts at its first instant', () => {
    const asuncion = calendar('month', 'America/Asuncion');
    expect(start(asuncion, '2023-10-15T00:00:00Z')).toBe('2023-10-01T04:00:00.000Z');
  });
});

// ---------------------------------------------------------------------------------------------
// evaluateSlos on stored data

const STEP = 10 * SEC;
// Hour-aligned start, 28 hours of data; evaluated at an unaligned time, with data after it.
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 30 * HOUR;
const END = T0 + 28 * HOUR;
const AT = T0 + 27 * HOUR + 37 * MIN + 4_321;

type Point = [ts: number, value: number];

interface Series {
  name: string;
  tier: string;
  host: string;
  service: string;
  labels: Record<string, string>;
  points: Point[];
}

const written: Series[] = [];

function series(
  spec: Partial<Omit<Series, 'points'>> & { name: string },
  value: (ts: number, i: number) => number,
  options: { from?: number; to?: number; step?: number } = {},
): Series {
  const { from = T0, to = END, step = STEP } = options;
  const s: Series = {
    tier: 'web',
    host: 'web-1',
    service: '',
    labels: {},
    ...spec,
    points: [],
  };
  for (let ts = from, i = 0; ts < to; ts += step, i++) s.points.push([ts, value(ts, i)]);
  written.push(s);
  return s;
}

/** Sum of the points of some series in [from, to). */
function sum(list: readonly Series[], from: number, to: number, keep = (_ts: number) => true) {
  let total = 0;
  for (const s of list)
    for (const [ts, v] of s.points) if (ts >= from && ts < to && keep(ts)) total += v;
  return total;
}

const WINDOW_NAMES = ['5m', '30m', '1h', '2h', '6h', '1d', '3d', 'period'];

/** Every window of an evaluation against good and total computed from the points. */
function expectCounts(
  e: SloEvaluation,
  good: (from: number, to: number) => number,
  total: (from: number, to: number) => number,
) {
  const budget = errorBudget(e.slo.objective);
  for (const w of e.windows) {
    const from = e.at - w.ms;
    const g = good(from, e.at);
    const t = total(from, e.at);
    expect([w.name, w.good, w.total]).toEqual([w.name, g, t]);
    expect(t).toBeGreaterThan(0);
    expect([w.name, w.burnRate]).toEqual([w.name, expect.closeTo((t - g) / t / budget, 9)]);
  }
  const p = e.windows[e.windows.length - 1]!;
  expect(e.period).toEqual(p);
  expect(e.budgetRemaining).toBeCloseTo(1 - (p.total - p.good) / p.total / budget, 9);
}

/**
 * The same counts through the SQL path (measureSli), for the event-count SLIs: each window over
 * [at − ms, at) (ms being its effective length), read as its nominal length asks.
 */
async function expectSqlPath(store: Store, e: SloEvaluation) {
  const length = periodMs(e.slo.window, new Date(e.at));
  const windows = e.windows.map((w) => ({
    from: e.at - w.ms,
    to: e.at,
    lengthMs: w.name === 'period' ? length : parseDuration(w.name)!,
  }));
  const counts = await measureSli(store, e.slo, windows);
  expect(counts.get(e.instance)).toEqual({
    good: e.windows.map((w) => w.good),
    total: e.windows.map((w) => w.total),
  });
}

const byName = (evaluations: SloEvaluation[], name: string) =>
  evaluations.filter((e) => e.slo.name === name).sort((a, b) => (a.instance < b.instance ? -1 : 1));

// Ratio with `good`: every code but 5xx is good; a decoy service and a decoy metric.
const GOOD = [
  series({ name: 'req_total', service: 'gsvc', labels: { code: '200' } }, (_t, i) => 50 + (i % 5)),
  series({ name: 'req_total', service: 'gsvc', labels: { code: '404' } }, (_t, i) => i % 3),
];
const GOOD_BAD = [
  series({ name: 'req_total', service: 'gsvc', labels: { code: '500' } }, (_t, i) =>
    i % 11 === 0 ? 4 : 0,
  ),
  series({ name: 'req_total', service: 'gsvc', labels: { code: '503' } }, (ts) =>
    (ts >= AT - 50 * MIN && ts < AT - 20 * MIN) || (ts >= T0 + 5 * HOUR && ts < T0 + 6 * HOUR)
      ? 9
      : 0,
  ),
];
series({ name: 'req_total', service: 'decoy', labels: { code: '200' } }, () => 1000);
series({ name: 'req_total', service: 'decoy', labels: { code: '500' } }, () => 1000);
series({ name: 'req_total_other', service: 'gsvc', labels: { code: '500' } }, () => 500);

// group_by host: web-1 at 1% errors, web-2 at 5% and 40% over the last 10 minutes.
const hostBad = (host: string) => (ts: number) =>
  host === 'web-1' ? 1 : ts >= AT - 10 * MIN ? 40 : 5;
const HOSTS = ['web-1', 'web-2'].map((host) => ({
  host,
  ok: series({ name: 'hreq_total', service: 'hsvc', host, labels: { code: '200' } }, (ts) =>
    Math.max(0, 100 - hostBad(host)(ts)),
  ),
  bad: series({ name: 'hreq_total', service: 'hsvc', host, labels: { code: '500' } }, (ts) =>
    hostBad(host)(ts),
  ),
}));

// Latency: cumulative buckets per scrape; good is the 0.5 s bucket, total the +Inf one.
const bucket = (service: string, le: string, value: (ts: number, i: number) => number) =>
  series({ name: 'rt_seconds_bucket', service, labels: { le, route: '/cart' } }, value);
bucket('lsvc', '0.1', (_t, i) => 20 + (i % 3));
const LE_HALF = bucket('lsvc', '0.5', (_t, i) => 30 + (i % 4));
bucket('lsvc', '1', (_t, i) => 36 + (i % 2));
const LE_INF = bucket('lsvc', '+Inf', (_t, i) => 40 + (i % 7 === 0 ? 2 : 0));
series({ name: 'rt_seconds_count', service: 'lsvc' }, () => 40);
bucket('decoy', '0.5', () => 1);
bucket('decoy', '+Inf', () => 1000);
// The same bound written differently.
bucket('lsvc2', '0.25', () => 10);
const LE_HALF_E = bucket('lsvc2', '5e-01', (_t, i) => 15 + (i % 2));
const LE_INF_2 = bucket('lsvc2', '+Inf', () => 20);

// Probe every 15 s: a failed check in every 13th minute, a whole minute down every 97th.
const probeValue = (ts: number) => {
  const minute = Math.floor((ts - T0) / MIN);
  const second = (ts - T0) % MIN;
  if (minute % 97 === 5) return 0;
  return minute % 13 === 0 && second === 15 * SEC ? 0 : 1;
};
const PROBE = series(
  { name: 'probe_success', service: 'psvc', labels: { target: 'https://shop' } },
  probeValue,
  { step: 15 * SEC },
);
series({ name: 'probe_success', service: 'psvc', labels: { target: 'https://other' } }, () => 0, {
  step: 15 * SEC,
});

/** Good and total slices of a probe over [from, to): a slice is good when its mean passes. */
function slices(
  s: Series,
  from: number,
  to: number,
  sliceMs: number,
  passes: (mean: number) => boolean,
  keep = (_ts: number) => true,
) {
  const acc = new Map<number, { sum: number; n: number }>();
  for (const [ts, v] of s.points) {
    if (ts < from || ts >= to || !keep(ts)) continue;
    const key = Math.floor(ts / sliceMs) * sliceMs;
    const a = acc.get(key) ?? { sum: 0, n: 0 };
    a.sum += v;
    a.n++;
    acc.set(key, a);
  }
  let good = 0;
  for (const a of acc.values()) if (passes(a.sum / a.n)) good++;
  return { good, total: acc.size };
}

// A recurring exclusion at 10 past every sixth hour in Kolkata (+05:30): 40 to 55 past the
// UTC hours divisible by 6.
const inExclusion = (ts: number) => {
  const m = (ts % HOUR) / MIN;
  return Math.floor(ts / HOUR) % 6 === 0 && m >= 40 && m < 55;
};
const EXCL = [
  series({ name: 'xreq_total', service: 'xsvc', labels: { code: '200' } }, (ts) =>
    inExclusion(ts) ? 90 : 98,
  ),
  series({ name: 'xreq_total', service: 'xsvc', labels: { code: '500' } }, (ts) =>
    inExclusion(ts) ? 10 : 2,
  ),
];

// A calendar month in Kolkata: the next month's start, with data around it (30% errors before).
const kolkataNow = new Date(Date.now() + 5.5 * HOUR);
const M = Date.UTC(kolkataNow.getUTCFullYear(), kolkataNow.getUTCMonth() + 1, 1) - 5.5 * HOUR;
const MONTH_DAYS = new Date(
  Date.UTC(kolkataNow.getUTCFullYear(), kolkataNow.getUTCMonth() + 2, 0),
).getUTCDate();
const AT_M = M + 2 * HOUR + 17 * MIN + 4_321;
const CAL = ['200', '500'].map((code) =>
  series(
    { name: 'creq_total', service: 'csvc', labels: { code } },
    (ts) => (code === '200' ? (ts < M ? 70 : 99) : ts < M ? 30 : 1),
    { from: M - 3 * HOUR, to: M + 3 * HOUR },
  ),
);

// A series that exists but never counted anything.
series({ name: 'zero_total', service: 'zsvc' }, () => 0);

// Logs every 5 s over the last 8 hours of data, two hosts; and a decoy service full of errors.
const LOG_FROM = END - 8 * HOUR;
const severityOf = (i: number): Severity =>
  i % 17 === 0
    ? 'error'
    : i % 29 === 0
      ? 'fatal'
      : i % 7 === 0
        ? 'warn'
        : i % 5 === 0
          ? 'debug'
          : 'info';
const LOGS: LogRow[] = [];
for (let ts = LOG_FROM, i = 0; ts < END; ts += 5 * SEC, i++) {
  const status = i % 9 === 0 ? '503' : i % 13 === 0 ? '302' : '200';
  const method = i % 4 === 0 ? 'POST' : 'GET';
  LOGS.push({
    ts,
    tier: 'web',
    host: i % 2 === 0 ? 'w1' : 'w2',
    service: 'logsvc',
    severity: severityOf(i),
    body: `${method} /cart -> ${status}`,
    attributes: { status, method },
  });
  LOGS.push({
    ts,
    tier: 'web',
    host: 'w1',
    service: 'otherlog',
    severity: 'fatal',
    body: 'GET /x -> 500',
    attributes: { status: '500' },
  });
}
const logCount = (from: number, to: number, keep: (row: LogRow) => boolean) =>
  LOGS.filter((r) => r.ts >= from && r.ts < to && keep(r)).length;

const SLOS = {
  good: slo(
    'ratio-good',
    `  service: gsvc
  objective: 99.5
  window: { rolling: 30d }
  sli:
    ratio:
      good: { metric: req_total, matchers: { service: gsvc, code: { op: "!~", value: "5.." } } }
      total: { metric: req_total, matchers: { service: gsvc } }
`,
  ),
  hosts: slo(
    'by-host',
    `  service: hsvc
  objective: 99.9
  window: { rolling: 30d }
  group_by: host
  sli:
    ratio:
      bad: { metric: hreq_total, matchers: { service: hsvc, code: { op: "=~", value: "5.." } } }
      total: { metric: hreq_total, matchers: { service: hsvc } }
`,
  ),
  latency: slo(
    'latency',
    `  service: lsvc
  objective: 90
  window: { rolling: 30d }
  sli: { latency: { metric: rt_seconds, threshold_seconds: 0.5, matchers: { service: lsvc } } }
`,
  ),
  latencyE: slo(
    'latency-e',
    `  service: lsvc2
  objective: 90
  window: { rolling: 30d }
  sli: { latency: { metric: rt_seconds_bucket, threshold_seconds: 0.5, matchers: { service: lsvc2 } } }
`,
  ),
  probe: slo(
    'probe',
    `  service: psvc
  objective: 99
  window: { rolling: 30d }
  sli:
    probe:
      metric: probe_success
      matchers: { service: psvc, target: "https://shop" }
      slice: 1m
      good_when: ">= 1"
`,
  ),
  probe30s: slo(
    'probe-30s',
    `  service: psvc
  objective: 99
  window: { rolling: 30d }
  sli:
    probe:
      metric: probe_success
      matchers: { service: psvc, target: "https://shop" }
      slice: 30s
      good_when: "> 0.5"
`,
  ),
  logs: slo(
    'log-errors',
    `  service: logsvc
  objective: 95
  window: { rolling: 30d }
  sli:
    log_ratio:
      bad: { severity: error }
      total: { service: logsvc }
`,
  ),
  logsGood: slo(
    'log-good',
    `  service: logsvc
  objective: 95
  window: { rolling: 30d }
  group_by: host
  sli:
    log_ratio:
      good: { attributes: { status: { op: "=~", value: "2.." } } }
      total: { service: logsvc, body_contains: get }
`,
  ),
  calendar: slo(
    'calendar',
    `  service: csvc
  objective: 99
  window: { calendar: { unit: month, time_zone: Asia/Kolkata } }
  sli:
    ratio:
      bad: { metric: creq_total, matchers: { service: csvc, code: "500" } }
      total: { metric: creq_total, matchers: { service: csvc } }
`,
  ),
  excluded: slo(
    'excluded',
    `  service: xsvc
  objective: 99.9
  window: { rolling: 30d }
  exclusions:
    - { cron: "10 */6 * * *", duration: 15m, time_zone: Asia/Kolkata, reason: batch }
  sli:
    ratio:
      bad: { metric: xreq_total, matchers: { service: xsvc, code: "500" } }
      total: { metric: xreq_total, matchers: { service: xsvc } }
`,
  ),
};

let store: Store;
let evaluations: SloEvaluation[];

beforeAll(async () => {
  ({ store } = await openTestStore());
  const rows: SampleRow[] = written.flatMap((s) =>
    s.points.map(([ts, value]) => ({
      name: s.name,
      tier: s.tier,
      host: s.host,
      service: s.service,
      labels: s.labels,
      ts,
      value,
    })),
  );
  for (let i = 0; i < rows.length; i += 50_000)
    await writeSamples(store, rows.slice(i, i + 50_000));
  await writeLogs(store, LOGS);
  evaluations = await evaluateSlos(store, Object.values(SLOS), AT);
}, 60_000);

afterAll(async () => {
  await store?.close();
});

describe('evaluateSlos against the raw points', () => {
  it('a ratio SLI with `good` counts every selected series, and only those', async () => {
    const [e, ...more] = byName(evaluations, 'ratio-good');
    expect(more).toEqual([]);
    expect(e!.instance).toBe('');
    expect(e!.at).toBe(AT);
    expect(e!.windows.map((w) => w.name)).toEqual(WINDOW_NAMES);
    // Under an hour, the nominal length; from an hour, from the minute after AT − length (AT is
    // 4.321 s past a minute); from a day, and the period, from the hour after it (37m4.321s).
    const overMinute = AT % MIN;
    const overHour = AT % HOUR;
    expect([overMinute, overHour]).toEqual([4_321, 37 * MIN + 4_321]);
    expect(e!.windows.map((w) => w.ms)).toEqual([
      5 * MIN,
      30 * MIN,
      HOUR - MIN + overMinute,
      2 * HOUR - MIN + overMinute,
      6 * HOUR - MIN + overMinute,
      DAY - HOUR + overHour,
      3 * DAY - HOUR + overHour,
      30 * DAY - HOUR + overHour,
    ]);
    expectCounts(
      e!,
      (f, t) => sum(GOOD, f, t),
      (f, t) => sum([...GOOD, ...GOOD_BAD], f, t),
    );
    // The burst 50 to 20 minutes ago is in the 30m and 1h windows, not in the 5m one.
    const w = Object.fromEntries(e!.windows.map((x) => [x.name, x]));
    expect(w['5m']!.errorRatio).toBeLessThan(w['30m']!.errorRatio);
    await expectSqlPath(store, e!);
  });

  it('group_by host gives one instance per host, each with its own error rate', async () => {
    const list = byName(evaluations, 'by-host');
    expect(list.map((e) => e.instance)).toEqual(['web-1', 'web-2']);
    for (const e of list) {
      const h = HOSTS.find((x) => x.host === e.instance)!;
      expectCounts(
        e,
        (f, t) => sum([h.ok], f, t),
        (f, t) => sum([h.ok, h.bad], f, t),
      );
      await expectSqlPath(store, e);
    }
    const [web1, web2] = list;
    const tier = (e: SloEvaluation, name: string) => e.tiers.find((t) => t.tier.name === name)!;
    // web-1 burns 10× (1% on a 0.1% budget): the 6× tiers, not the 14.4× one.
    expect(web1!.windows.find((w) => w.name === '1h')!.burnRate).toBeCloseTo(10, 9);
    expect(tier(web1!, 'page-fast').active).toBe(false);
    expect(tier(web1!, 'page-slow').active).toBe(true);
    // web-2 at 40% over the last 10 minutes pages fast.
    expect(tier(web2!, 'page-fast').active).toBe(true);
    expect(tier(web2!, 'page-fast').long.name).toBe('1h');
    expect(tier(web2!, 'page-fast').short.name).toBe('5m');
  });

  it('a latency SLI: good is the bucket whose bound is the threshold, total the +Inf bucket', async () => {
    const [e] = byName(evaluations, 'latency');
    expectCounts(
      e!,
      (f, t) => sum([LE_HALF], f, t),
      (f, t) => sum([LE_INF], f, t),
    );
    await expectSqlPath(store, e!);
    // A bucket labelled "5e-01" is the 0.5 s bound too.
    const [e2] = byName(evaluations, 'latency-e');
    expectCounts(
      e2!,
      (f, t) => sum([LE_HALF_E], f, t),
      (f, t) => sum([LE_INF_2], f, t),
    );
    await expectSqlPath(store, e2!);
  });

  it('a probe SLI counts good and total slices of 1m, and of 30s from raw samples', () => {
    for (const [name, sliceMs, passes] of [
      ['probe', MIN, (m: number) => m >= 1],
      ['probe-30s', 30 * SEC, (m: number) => m > 0.5],
    ] as const) {
      const [e, ...more] = byName(evaluations, name);
      expect(more).toEqual([]);
      for (const w of e!.windows) {
        const ref = slices(PROBE, AT - w.ms, AT, sliceMs, passes);
        expect([name, w.name, w.good, w.total]).toEqual([name, w.name, ref.good, ref.total]);
      }
    }
    // Exact slices of the 5m window: 5 whole minutes and the partial minute at its start.
    const [probe] = byName(evaluations, 'probe');
    const five = probe!.windows.find((w) => w.name === '5m')!;
    expect(five.total).toBe(6);
    // The 1h window starts on a minute: 59 whole minutes and the one AT is in.
    const hour = probe!.windows.find((w) => w.name === '1h')!;
    expect(hour.total).toBe(60);
    // Some slices failed over the hour: minute 13k fails one check, minute 97k+5 all four.
    expect(hour.total - hour.good).toBeGreaterThanOrEqual(4);
    // The 1d window starts on the hour after AT − 1d: 23h37m whole, and the minute AT is in.
    const day = probe!.windows.find((w) => w.name === '1d')!;
    expect(day.total).toBe(23 * 60 + 37 + 1);
  });

  it('a log_ratio SLI: severity error counts error and fatal lines, of that service only', async () => {
    const [e] = byName(evaluations, 'log-errors');
    const bad = (r: LogRow) =>
      r.service === 'logsvc' && (r.severity === 'error' || r.severity === 'fatal');
    expectCounts(
      e!,
      (f, t) => logCount(f, t, (r) => r.service === 'logsvc') - logCount(f, t, bad),
      (f, t) => logCount(f, t, (r) => r.service === 'logsvc'),
    );
    // Warnings are not errors: 'warn' lines are in the good count.
    const hour = e!.windows.find((w) => w.name === '1h')!;
    expect(hour.total - hour.good).toBe(logCount(AT - HOUR, AT, bad));
    expect(logCount(AT - HOUR, AT, (r) => r.severity === 'fatal')).toBeGreaterThan(0);
  });

  it('a log_ratio SLI with good attributes, a body filter and group_by host', () => {
    const list = byName(evaluations, 'log-good');
    expect(list.map((e) => e.instance)).toEqual(['w1', 'w2']);
    for (const e of list) {
      const total = (r: LogRow) =>
        r.service === 'logsvc' && r.host === e.instance && /get/i.test(r.body);
      expectCounts(
        e,
        (f, t) => logCount(f, t, (r) => total(r) && /^2..$/.test(r.attributes['status']!)),
        (f, t) => logCount(f, t, total),
      );
    }
  });

  it('a calendar month counts from the first of the month in its zone', async () => {
    const [e] = await evaluateSlos(store, [SLOS.calendar], AT_M);
    expect(periodStart(SLOS.calendar, AT_M)).toBe(M);
    expect(e!.period.ms).toBe(AT_M - M);
    // The tier windows are the 30-day ones scaled to the month's length (and aligned).
    const scale = MONTH_DAYS / 30;
    const nominal = [5 * MIN, 30 * MIN, HOUR, 2 * HOUR, 6 * HOUR, DAY, 3 * DAY].map((ms) =>
      Math.round(ms * scale),
    );
    expect(e!.windows.slice(0, -1).map((w) => w.name)).toEqual(
      nominal.map((ms) => formatDuration(ms)),
    );
    expect(e!.windows.slice(0, -1).map((w) => w.ms)).toEqual(
      nominal.map((ms) => AT_M - windowStart(AT_M, ms)),
    );
    const bad = CAL.filter((s) => s.labels['code'] === '500');
    expectCounts(
      e!,
      (f, t) => sum(CAL, f, t) - sum(bad, f, t),
      (f, t) => sum(CAL, f, t),
    );
    // Before the first of the month errors were at 30%: the period does not see them, the
    // longest window does.
    expect(e!.period.errorRatio).toBeCloseTo(0.01, 12);
    const longest = e!.windows[e!.windows.length - 2]!;
    expect(longest.total).toBeGreaterThan(e!.period.total);
    expect(longest.errorRatio).toBeGreaterThan(0.1);
    expect(e!.budgetRemaining).toBeCloseTo(0, 9);
    await expectSqlPath(store, e!);

    // A day into the month the period still starts at the month's start, though Kolkata's
    // midnight is at 18:30Z, not on the hour: a calendar period is never cut short.
    const later = M + DAY + 2 * HOUR + 17 * MIN + 4_321;
    const [l] = await evaluateSlos(store, [SLOS.calendar], later);
    expect(M % HOUR).toBe(30 * MIN);
    expect(l!.period.ms).toBe(later - M);
    expect([l!.period.good, l!.period.total]).toEqual([
      sum(CAL, M, later) - sum(bad, M, later),
      sum(CAL, M, later),
    ]);
  });

  it('excluded minutes count neither as good nor as total, and hold the tiers while excluded', async () => {
    const [e] = byName(evaluations, 'excluded');
    const bad = EXCL.filter((s) => s.labels['code'] === '500');
    const keep = (ts: number) => !inExclusion(ts);
    expectCounts(
      e!,
      (f, t) => sum(EXCL, f, t, keep) - sum(bad, f, t, keep),
      (f, t) => sum(EXCL, f, t, keep),
    );
    expect(e!.excluded).toBe(false);
    // 2% outside the exclusions on a 0.1% budget: 20×, every window.
    for (const w of e!.windows) expect([w.name, w.burnRate]).toEqual([w.name, 20]);
    expect(e!.tiers.find((t) => t.tier.name === 'page-fast')!.active).toBe(true);
    // The long windows did hold excluded minutes (at 10% errors) that were left out.
    const six = e!.windows.find((w) => w.name === '6h')!;
    expect(sum(EXCL, AT - 6 * HOUR, AT)).toBeGreaterThan(six.total);
    await expectSqlPath(store, e!);

    // Inside the last exclusion before AT (45 past): nothing active; page-slow burns but is held.
    let atExcluded = Math.floor(AT / (6 * HOUR)) * 6 * HOUR + 45 * MIN + 4_321;
    if (atExcluded > AT) atExcluded -= 6 * HOUR;
    expect(inExclusion(atExcluded)).toBe(true);
    const [x] = await evaluateSlos(store, [SLOS.excluded], atExcluded);
    expect(x!.excluded).toBe(true);
    expect(x!.tiers.filter((t) => t.active)).toEqual([]);
    const slow = x!.tiers.find((t) => t.tier.name === 'page-slow')!;
    expect([slow.held, slow.long.burnRate, slow.short.burnRate]).toEqual(['excluded', 20, 20]);
    // The 5m window lies wholly in the exclusion: nothing counted, nothing burning.
    const fast = x!.tiers.find((t) => t.tier.name === 'page-fast')!;
    expect([fast.short.total, fast.short.burnRate, fast.held]).toEqual([0, 0, undefined]);
    expectCounts(
      { ...x!, windows: x!.windows.filter((w) => w.name !== '5m') },
      (f, t) => sum(EXCL, f, t, keep) - sum(bad, f, t, keep),
      (f, t) => sum(EXCL, f, t, keep),
    );
  });

  it('an SLO whose metric has no series, or no events, has no evaluation', async () => {
    const none = [
      slo(
        'missing',
        `  service: nothing
  objective: 99
  window: { rolling: 30d }
  sli: { ratio: { bad: { metric: missing_errors }, total: { metric: missing_total } } }
`,
      ),
      slo(
        'zero',
        `  service: zsvc
  objective: 99
  window: { rolling: 30d }
  sli: { ratio: { bad: { metric: zero_total, matchers: { code: "500" } }, total: { metric: zero_total } } }
`,
      ),
      slo(
        'missing-probe',
        `  service: nothing
  objective: 99
  window: { rolling: 30d }
  sli: { probe: { metric: missing_probe } }
`,
      ),
    ];
    expect(await evaluateSlos(store, none, AT)).toEqual([]);
    // Alongside an SLO with data, only that one is evaluated.
    const mixed = await evaluateSlos(store, [...none, SLOS.good], AT);
    expect(mixed.map((e) => e.slo.name)).toEqual(['ratio-good']);
  });

  it('a log_ratio SLO matching no log line has no evaluation, nor an instance without lines', async () => {
    const noLogs = slo(
      'missing-logs',
      `  service: nothing
  objective: 99
  window: { rolling: 30d }
  sli: { log_ratio: { bad: { severity: error }, total: { service: nolog } } }
`,
    );
    // Other services' lines are in its windows: read, but none counted.
    expect(logCount(AT - HOUR, AT, () => true)).toBeGreaterThan(0);
    expect(await evaluateSlos(store, [noLogs], AT)).toEqual([]);
    // Grouped by service: the lines of otherlog are read too, but make no instance.
    const byService = slo(
      'log-by-service',
      `  service: logsvc
  objective: 95
  window: { rolling: 30d }
  group_by: service
  sli: { log_ratio: { bad: { severity: error }, total: { service: logsvc } } }
`,
    );
    const list = await evaluateSlos(store, [byService], AT);
    expect(list.map((e) => e.instance)).toEqual(['logsvc']);
    const bad = (r: LogRow) =>
      r.service === 'logsvc' && (r.severity === 'error' || r.severity === 'fatal');
    expectCounts(
      list[0]!,
      (f, t) => logCount(f, t, (r) => r.service === 'logsvc') - logCount(f, t, bad),
      (f, t) => logCount(f, t, (r) => r.service === 'logsvc'),
    );
  });

  it('the SQL path drops an instance with no event in any window, as the event path does', async () => {
    const zero = slo(
      'zero-sql',
      `  service: zsvc
  objective: 99
  window: { rolling: 30d }
  sli: { ratio: { bad: { metric: zero_total, matchers: { code: "500" } }, total: { metric: zero_total } } }
`,
    );
    const windows = [{ from: AT - HOUR, to: AT, lengthMs: HOUR }];
    expect(
      sum(
        written.filter((x) => x.name === 'zero_total'),
        T0,
        END,
      ),
    ).toBe(0);
    expect(written.some((x) => x.name === 'zero_total')).toBe(true);
    expect(await measureSli(store, zero, windows)).toEqual(new Map());
    expect(await measureEvents(store, [{ slo: zero, windows }])).toEqual([new Map()]);
    // A probe whose series has no sample in the windows (they are after the data).
    const late = [{ from: END + HOUR, to: END + 2 * HOUR, lengthMs: HOUR }];
    expect(await measureSli(store, SLOS.probe, late)).toEqual(new Map());
  });

  it('a latency threshold that is no bucket bound gives no evaluation, not an all-bad one', async () => {
    const withThreshold = (threshold: string) =>
      slo(
        `latency-${threshold.replace('.', '-')}`,
        `  service: lsvc
  objective: 90
  window: { rolling: 30d }
  sli: { latency: { metric: rt_seconds, threshold_seconds: ${threshold}, matchers: { service: lsvc } } }
`,
      );
    expect(await evaluateSlos(store, [withThreshold('0.3')], AT)).toEqual([]);
    // Next to an SLO with a real bound, only that one; and one of the other bounds works.
    const both = await evaluateSlos(
      store,
      [withThreshold('0.3'), withThreshold('1'), SLOS.latency],
      AT,
    );
    expect(both.map((e) => e.slo.name)).toEqual(['latency-1', 'latency']);
    const one = both[0]!;
    const LE_ONE = written.find(
      (x) => x.name === 'rt_seconds_bucket' && x.service === 'lsvc' && x.labels['le'] === '1',
    )!;
    expectCounts(
      one,
      (f, t) => sum([LE_ONE], f, t),
      (f, t) => sum([LE_INF], f, t),
    );
  });

  // Both paths drop an unmeasurable latency threshold: measureEvents (which evaluateSlos uses)
  // and measureSli(), whose query requires the threshold's bucket.
  it('measureSli() gives nothing either for a threshold that is no bucket bound', async () => {
    const off = slo(
      'latency-off',
      `  service: lsvc
  objective: 90
  window: { rolling: 30d }
  sli: { latency: { metric: rt_seconds, threshold_seconds: 0.3, matchers: { service: lsvc } } }
`,
    );
    const windows = [{ from: AT - HOUR, to: AT, lengthMs: HOUR }];
    expect(await measureEvents(store, [{ slo: off, windows }])).toEqual([new Map()]);
    expect(await measureSli(store, off, windows)).toEqual(new Map());
  });

  it('an exclusion off the minute leaves out whole minute buckets, and raw rows one by one', async () => {
    const X = T0 + 20 * HOUR;
    const exFrom = X + 20 * MIN + 15 * SEC;
    const exTo = X + 30 * MIN + 45 * SEC;
    const cut = slo(
      'ratio-cut',
      `  service: gsvc
  objective: 99.5
  window: { rolling: 30d }
  exclusions:
    - { from: "${iso(exFrom)}", to: "${iso(exTo)}" }
  sli:
    ratio:
      good: { metric: req_total, matchers: { service: gsvc, code: { op: "!~", value: "5.." } } }
      total: { metric: req_total, matchers: { service: gsvc } }
`,
    );
    const windows: MeasureWindow[] = [
      // Whole minutes from the 1-minute rollups: minutes 20 and 30 are partly excluded, so out.
      { from: X, to: X + HOUR, lengthMs: HOUR },
      // Raw samples: only those in the exclusion are out.
      { from: X + 18 * MIN, to: X + 23 * MIN, lengthMs: 5 * MIN },
      // A raw edge (30m30s to 31m) and then minutes.
      { from: X + 30 * MIN + 30 * SEC, to: X + 2 * HOUR, lengthMs: HOUR },
    ];
    const minuteOut = (ts: number) => ts >= X + 20 * MIN && ts < X + 31 * MIN;
    const rawOut = (ts: number) => ts >= exFrom && ts < exTo;
    const keeps = [
      (ts: number) => !minuteOut(ts),
      (ts: number) => !rawOut(ts),
      (ts: number) => (ts < X + 31 * MIN ? !rawOut(ts) : true),
    ];
    const all = [...GOOD, ...GOOD_BAD];
    const expected = {
      good: windows.map((w, i) => sum(GOOD, w.from, w.to, keeps[i])),
      total: windows.map((w, i) => sum(all, w.from, w.to, keeps[i])),
    };
    // The cut is visible: each window lost something, the first more than the raw rows.
    windows.forEach((w, i) => expect(expected.total[i]).toBeLessThan(sum(all, w.from, w.to)));
    expect(sum(all, X, X + HOUR, (ts) => !rawOut(ts))).toBeGreaterThan(expected.total[0]!);
    expect((await measureSli(store, cut, windows)).get('')).toEqual(expected);
    const [events] = await measureEvents(store, [{ slo: cut, windows }]);
    expect(events!.get('')).toEqual(expected);
  });

  it('SLOs with an hourly exclusion over 30 days are evaluated, exactly, in reasonable time', async () => {
    const hourly = `  exclusions:
    - { cron: "10 * * * *", duration: 15m, time_zone: UTC }
`;
    const probe = slo(
      'probe-hourly',
      `  service: psvc
  objective: 99
  window: { rolling: 30d }
${hourly}  sli: { probe: { metric: probe_success, matchers: { target: "https://shop" } } }
`,
    );
    const ratio = slo(
      'ratio-hourly',
      `  service: gsvc
  objective: 99.5
  window: { rolling: 30d }
${hourly}  sli:
    ratio:
      good: { metric: req_total, matchers: { service: gsvc, code: { op: "!~", value: "5.." } } }
      total: { metric: req_total, matchers: { service: gsvc } }
`,
    );
    // Minutes 10 to 24 of every hour are out: 720 holes over the period.
    const keep = (ts: number) => {
      const m = Math.floor((ts % HOUR) / MIN);
      return m < 10 || m >= 25;
    };
    expect(excludedIntervals(probe.exclusions, AT - 30 * DAY, AT)).toHaveLength(720);
    const began = performance.now();
    const list = await evaluateSlos(store, [probe, ratio], AT);
    const seconds = (performance.now() - began) / 1000;
    expect(seconds).toBeLessThan(20);
    expect(list.map((e) => e.slo.name).sort()).toEqual(['probe-hourly', 'ratio-hourly']);
    const p = list.find((e) => e.slo.name === 'probe-hourly')!;
    expect(p.excluded).toBe(false);
    for (const w of p.windows) {
      const ref = slices(PROBE, AT - w.ms, AT, MIN, (m) => m >= 1, keep);
      expect([w.name, w.good, w.total]).toEqual([w.name, ref.good, ref.total]);
    }
    // The hour lost its 15 excluded minutes.
    expect(p.windows.find((w) => w.name === '1h')!.total).toBe(60 - 15);
    const r = list.find((e) => e.slo.name === 'ratio-hourly')!;
    expectCounts(
      r,
      (f, t) => sum(GOOD, f, t, keep),
      (f, t) => sum([...GOOD, ...GOOD_BAD], f, t, keep),
    );
    await expectSqlPath(store, r);
    const six = r.windows.find((w) => w.name === '6h')!;
    expect(six.total).toBeLessThan(sum([...GOOD, ...GOOD_BAD], AT - six.ms, AT));
  }, 60_000);

  it('several event SLOs evaluated together give what each gives alone', async () => {
    for (const s of [SLOS.good, SLOS.latency, SLOS.excluded]) {
      const alone = await evaluateSlos(store, [s], AT);
      expect(alone).toEqual(byName(evaluations, s.name));
    }
  });

  it('writeEvaluations writes one row per SLO instance and window, with the budget left', async () => {
    const list = byName(evaluations, 'by-host');
    await writeEvaluations(store, list);
    const rows = await store.query<{
      ts: string;
      instance: string;
      window: string;
      window_seconds: number;
      good: number;
      total: number;
      error_ratio: number;
      burn_rate: number;
      budget_remaining: number;
      objective: number;
      service: string;
    }>(
      sql`SELECT toUnixTimestamp64Milli(ts) AS ts, instance, window, window_seconds, good, total,
            error_ratio, burn_rate, budget_remaining, objective, service
          FROM ${ident(store.table('sloEvaluations'))} WHERE slo = ${'by-host'}
          ORDER BY instance, window_seconds`,
    );
    expect(rows).toHaveLength(2 * WINDOW_NAMES.length);
    for (const e of list) {
      const mine = rows.filter((r) => r.instance === e.instance);
      expect(mine.map((r) => r.window)).toEqual(WINDOW_NAMES);
      for (const [i, r] of mine.entries()) {
        const w = e.windows[i]!;
        expect(Number(r.ts)).toBe(AT);
        // Seconds, rounded: the effective lengths of the aligned windows are not whole seconds.
        expect(r.window_seconds).toBe(Math.round(w.ms / 1000));
        if (r.window === '1h') expect(r.window_seconds).toBe(3544);
        expect([r.good, r.total]).toEqual([w.good, w.total]);
        expect(r.error_ratio).toBeCloseTo(w.errorRatio, 12);
        expect(r.burn_rate).toBeCloseTo(w.burnRate, 12);
        expect(r.budget_remaining).toBeCloseTo(e.budgetRemaining, 12);
        expect([r.objective, r.service]).toEqual([99.9, 'hsvc']);
      }
    }
    // Nothing to write is no write.
    await writeEvaluations(store, []);
  });
});
