// Time intervals: end-exclusive times, weekday ranges, negative days, time zones and DST, muted routes, config errors.

import { describe, expect, it } from 'vitest';
import {
  activeAt,
  muted,
  muteReason,
  timeIntervalsSchema,
  type NamedTimeInterval,
} from '../alerter/timeintervals/index.ts';
import { notifyError } from './fixtures/notify/config-schema.ts';

/** One named interval from its Alertmanager-format time intervals. */
const interval = (...timeIntervals: unknown[]): NamedTimeInterval =>
  timeIntervalsSchema.parse([{ name: 'test', time_intervals: timeIntervals }])[0]!;

const at = (iso: string) => Date.parse(iso);

type Case = [string, NamedTimeInterval, string, boolean];

describe('a moment is inside a time interval when every field it sets matches', () => {
  const office = interval({ times: [{ start_time: '09:00', end_time: '17:00' }] });
  const lateEvening = interval({ times: [{ start_time: '22:00', end_time: '24:00' }] });
  const workdays = interval({ weekdays: ['monday:friday'] });
  const weekend = interval({ weekdays: ['saturday', 'Sunday'] });
  const lastDay = interval({ days_of_month: ['-1'] });
  const lastThree = interval({ days_of_month: ['-3:-1'] });
  const lateInMonth = interval({ days_of_month: ['25:31'] });
  const past29th = interval({ days_of_month: ['30:31'] });
  const q1 = interval({ months: ['january:march'] });
  const years = interval({ years: ['2025:2026'] });
  const officeHours = interval({
    weekdays: ['monday:friday'],
    times: [{ start_time: '09:00', end_time: '17:00' }],
  });
  const always = interval({});

  const cases: Case[] = [
    ['the start time is inside', office, '2025-06-02T09:00:00Z', true],
    ['a second before the start is outside', office, '2025-06-02T08:59:59Z', false],
    ['a minute before the end is inside', office, '2025-06-02T16:59:59Z', true],
    ['the end time is outside (end-exclusive)', office, '2025-06-02T17:00:00Z', false],
    ['24:00 ends at midnight: 23:59 is inside', lateEvening, '2025-06-02T23:59:00Z', true],
    ['24:00 ends at midnight: 00:00 is outside', lateEvening, '2025-06-03T00:00:00Z', false],
    ['monday:friday holds a wednesday', workdays, '2025-06-04T12:00:00Z', true],
    ['monday:friday holds the friday', workdays, '2025-06-06T23:59:00Z', true],
    ['monday:friday does not hold a saturday', workdays, '2025-06-07T00:00:00Z', false],
    ['weekdays are case-insensitive: Sunday', weekend, '2025-06-08T12:00:00Z', true],
    ['-1 is the 28th of a february', lastDay, '2025-02-28T12:00:00Z', true],
    ['-1 is not the 28th of a leap february', lastDay, '2024-02-28T12:00:00Z', false],
    ['-1 is the 29th of a leap february', lastDay, '2024-02-29T12:00:00Z', true],
    ['-3:-1 holds the 28th of a 30-day month', lastThree, '2025-04-28T00:00:00Z', true],
    ['-3:-1 does not hold the 27th of a 30-day month', lastThree, '2025-04-27T23:59:00Z', false],
    ['25:31 ends with a short month', lateInMonth, '2025-02-28T12:00:00Z', true],
    ['30:31 never holds a day of february', past29th, '2024-02-29T12:00:00Z', false],
    ['january:march holds march', q1, '2025-03-31T12:00:00Z', true],
    ['january:march does not hold april', q1, '2025-04-01T00:00:00Z', false],
    ['2025:2026 holds 2026', years, '2026-12-31T23:59:00Z', true],
    ['2025:2026 does not hold 2027', years, '2027-01-01T00:00:00Z', false],
    ['fields combine: office hours on a weekday', officeHours, '2025-06-02T10:00:00Z', true],
    [
      'fields combine: office hours on a saturday are out',
      officeHours,
      '2025-06-07T10:00:00Z',
      false,
    ],
    ['an interval that sets no field always holds', always, '2025-06-07T10:00:00Z', true],
  ];
  it.each(cases)('%s', (_name, i, iso, expected) => {
    expect(activeAt(i, at(iso))).toBe(expected);
  });

  it('a named interval holds when any of its time intervals does', () => {
    const i = interval(
      { weekdays: ['saturday'] },
      { times: [{ start_time: '00:00', end_time: '06:00' }] },
    );
    expect(activeAt(i, at('2025-06-07T12:00:00Z'))).toBe(true);
    expect(activeAt(i, at('2025-06-04T05:00:00Z'))).toBe(true);
    expect(activeAt(i, at('2025-06-04T12:00:00Z'))).toBe(false);
  });
});

describe('fields are read on the wall clock of the location, across DST', () => {
  const newYorkOffice = interval({
    times: [{ start_time: '09:00', end_time: '17:00' }],
    location: 'America/New_York',
  });
  const berlinWorkdays = interval({ weekdays: ['monday:friday'], location: 'Europe/Berlin' });
  const berlinLastDay = interval({ days_of_month: ['-1'], location: 'Europe/Berlin' });
  const berlin = (start: string, end: string) =>
    interval({ times: [{ start_time: start, end_time: end }], location: 'Europe/Berlin' });
  const twoToThree = berlin('02:00', '03:00');
  const oneToThree = berlin('01:00', '03:00');

  const cases: Case[] = [
    ['New York 09:00 in winter is 14:00 UTC', newYorkOffice, '2025-01-15T14:00:00Z', true],
    ['New York 08:30 in winter is 13:30 UTC', newYorkOffice, '2025-01-15T13:30:00Z', false],
    ['New York 09:00 in summer is 13:00 UTC', newYorkOffice, '2025-07-15T13:00:00Z', true],
    [
      'New York 17:00 in summer is 21:00 UTC: outside',
      newYorkOffice,
      '2025-07-15T21:00:00Z',
      false,
    ],
    ['friday 23:30 UTC is saturday in Berlin', berlinWorkdays, '2025-06-06T23:30:00Z', false],
    ['sunday 22:30 UTC is monday in Berlin', berlinWorkdays, '2025-06-08T22:30:00Z', true],
    [
      '31 January 23:30 UTC is 1 February in Berlin: not the last day',
      berlinLastDay,
      '2025-01-31T23:30:00Z',
      false,
    ],
    ['28 February 23:30 UTC is 1 March in Berlin', berlinLastDay, '2025-02-28T23:30:00Z', false],
    [
      '27 February 23:30 UTC is the last day of February in Berlin',
      berlinLastDay,
      '2025-02-27T23:30:00Z',
      true,
    ],
    // 30 March 2025: Berlin clocks jump from 02:00 CET to 03:00 CEST at 01:00 UTC.
    ['spring forward: 01:59 CET is before 02:00', twoToThree, '2025-03-30T00:59:00Z', false],
    [
      'spring forward: 02:00–03:00 never happens, 03:00 CEST follows',
      twoToThree,
      '2025-03-30T01:00:00Z',
      false,
    ],
    ['spring forward: 01:00–03:00 holds 01:30 CET', oneToThree, '2025-03-30T00:30:00Z', true],
    [
      'spring forward: 01:00–03:00 ends after one real hour',
      oneToThree,
      '2025-03-30T01:00:00Z',
      false,
    ],
    // 26 October 2025: Berlin clocks fall back from 03:00 CEST to 02:00 CET at 01:00 UTC.
    ['fall back: 02:00 CEST is inside 02:00–03:00', twoToThree, '2025-10-26T00:00:00Z', true],
    [
      'fall back: 02:00 CET, an hour later, is inside again',
      twoToThree,
      '2025-10-26T01:00:00Z',
      true,
    ],
    ['fall back: 02:59 CET is still inside', twoToThree, '2025-10-26T01:59:00Z', true],
    [
      'fall back: 03:00 CET ends it, two real hours after it began',
      twoToThree,
      '2025-10-26T02:00:00Z',
      false,
    ],
  ];
  it.each(cases)('%s', (_name, i, iso, expected) => {
    expect(activeAt(i, at(iso))).toBe(expected);
  });
});

describe('a route is muted inside a mute interval, or outside all of its active intervals', () => {
  const intervals = timeIntervalsSchema.parse([
    { name: 'nights', time_intervals: [{ times: [{ start_time: '00:00', end_time: '07:00' }] }] },
    { name: 'weekdays', time_intervals: [{ weekdays: ['monday:friday'] }] },
    { name: 'office', time_intervals: [{ times: [{ start_time: '09:00', end_time: '17:00' }] }] },
  ]);
  const route = (mute: string[], active: string[]) => ({
    muteTimeIntervals: mute,
    activeTimeIntervals: active,
  });
  const WED_NIGHT = at('2025-06-04T03:00:00Z');
  const WED_NOON = at('2025-06-04T12:00:00Z');
  const WED_EVENING = at('2025-06-04T20:00:00Z');
  const SAT_NOON = at('2025-06-07T12:00:00Z');

  const cases: Array<[string, string[], string[], number, string | undefined]> = [
    ['a route without intervals is never muted', [], [], WED_NIGHT, undefined],
    ['inside a mute interval', ['nights'], [], WED_NIGHT, 'inside mute time interval nights'],
    ['outside the mute interval', ['nights'], [], WED_NOON, undefined],
    ['inside one of the active intervals', [], ['office', 'nights'], WED_NIGHT, undefined],
    [
      'outside all active intervals',
      [],
      ['office', 'nights'],
      WED_EVENING,
      'outside active time intervals office, nights',
    ],
    [
      'mute wins over active',
      ['weekdays'],
      ['office'],
      WED_NOON,
      'inside mute time interval weekdays',
    ],
    [
      'active on weekdays only: saturday is muted',
      [],
      ['weekdays'],
      SAT_NOON,
      'outside active time intervals weekdays',
    ],
  ];
  it.each(cases)('%s', (_name, mute, active, when, reason) => {
    expect(muteReason(route(mute, active), when, intervals)).toBe(reason);
    expect(muted(route(mute, active), when, intervals)).toBe(reason !== undefined);
  });

  it('an interval that is not defined is an error, not a silent unmute', () => {
    expect(() => muted(route(['holidays'], []), WED_NOON, intervals)).toThrow(
      'time interval "holidays" is not defined',
    );
  });
});

describe('a broken time interval gives one line naming the file, the key and what is expected', () => {
  const prefix = 'notify.time_intervals.0.time_intervals.0';
  const cases: Array<[string, string, string]> = [
    [
      'an end before the start (times do not cross midnight)',
      'end-before-start.yaml',
      `end-before-start.yaml:10: ${prefix}.times.0.end_time: got "06:00", expected an end_time after start_time (the end is not included; to cross midnight, write two ranges, one ending at 24:00)`,
    ],
    [
      'a weekday range that runs backwards',
      'weekday-range-backwards.yaml',
      `weekday-range-backwards.yaml:8: ${prefix}.weekdays.0: got "saturday:sunday", expected the first day on or before the last (the week runs sunday to saturday: list saturday and sunday apart)`,
    ],
    [
      'a day range from a negative to a positive day',
      'day-of-month-mixed-signs.yaml',
      `day-of-month-mixed-signs.yaml:8: ${prefix}.days_of_month.0: got "-3:5", expected a negative last day after a negative first day`,
    ],
    [
      'a time without two hour digits',
      'bad-time.yaml',
      `bad-time.yaml:8: ${prefix}.times.0.start_time: got "9:00", expected a time like "09:00" (00:00 to 24:00)`,
    ],
    [
      'a time zone that does not exist',
      'bad-location.yaml',
      `bad-location.yaml:9: ${prefix}.location: got "Europe/Atlantis", expected an IANA time zone like "Europe/Berlin", "UTC" or "Local"`,
    ],
    [
      'a name defined twice',
      'duplicate-interval.yaml',
      'duplicate-interval.yaml:8: notify.time_intervals.1.name: got "office", expected each time interval name once (office is defined twice)',
    ],
  ];
  it.each(cases)('%s', (_name, file, message) => {
    expect(notifyError(file)).toBe(message);
  });

  it.each([
    [
      'a weekday that is not one',
      { weekdays: ['funday'] },
      'expected a weekday like monday or a range like monday:friday',
    ],
    [
      'day 0',
      { days_of_month: [0] },
      'expected a day of the month (1 to 31, or -1 for the last) or a range like 1:7',
    ],
    [
      'month 13',
      { months: ['13'] },
      'expected a month (january or 1) or a range like january:march',
    ],
    ['years backwards', { years: ['2026:2025'] }, 'expected the first on or before the last'],
  ])('refuses %s', (_name, spec, message) => {
    const result = timeIntervalsSchema.safeParse([{ name: 'x', time_intervals: [spec] }]);
    expect(result.error?.issues.map((i) => i.message)).toEqual([message]);
  });
});
