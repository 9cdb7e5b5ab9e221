// Burn-rate math, tier scaling to the SLO period, and the `halo slo check` table.

import { describe, expect, it } from 'vitest';
import {
  budgetBeforeFiring,
  budgetConsumed,
  burnRate,
  canFire,
  detectionTime,
  errorBudget,
} from '../alerter/slo/burn.ts';
import { describeSlo, formatCheck } from '../alerter/slo/check.ts';
import { parseSlos, type Slo } from '../alerter/slo/spec.ts';
import {
  periodMs,
  tiersFor,
  workbookTable,
  type BurnRateTier as Tier,
} from '../alerter/slo/windows.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const P30 = 30 * DAY;
const [pageFast, pageSlow, ticketFast, ticketSlow] = tiersFor(P30) as [Tier, Tier, Tier, Tier];

function slo(objective: number, window = 'rolling: 30d'): Slo {
  const [s] = parseSlos(
    `apiVersion: halo/v1
kind: SLO
metadata: { name: checkout }
spec:
  service: checkout
  objective: ${objective}
  window: { ${window} }
  sli: { probe: { metric: probe_success } }
`,
    'test.yaml',
  );
  return s!;
}

describe('burn-rate basics', () => {
  const cases: Array<[string, number, number]> = [
    ['a 99.9% objective leaves a 0.1% budget', errorBudget(99.9), 0.001],
    ['a 99% objective leaves a 1% budget', errorBudget(99), 0.01],
    ['a 2% error ratio on a 0.1% budget burns 20×', burnRate(0.02, 0.001), 20],
    ['burning 14.4× for 1h of 30d spends 2% of the budget', budgetConsumed(14.4, HOUR, P30), 0.02],
    ['burning 1× for 3d of 30d spends 10% of the budget', budgetConsumed(1, 3 * DAY, P30), 0.1],
  ];
  it.each(cases)('%s', (_name, got, expected) => {
    expect(got).toBeCloseTo(expected, 12);
  });
});

describe('the SRE workbook table, scaled to the SLO period', () => {
  it('for 30 days it is 14.4× 1h/5m, 6× 6h/30m, 3× 1d/2h, 1× 3d/6h', () => {
    expect(tiersFor(P30)).toEqual([
      {
        name: 'page-fast',
        severity: 'page',
        factor: 14.4,
        longWindowMs: HOUR,
        shortWindowMs: 5 * MIN,
      },
      {
        name: 'page-slow',
        severity: 'page',
        factor: 6,
        longWindowMs: 6 * HOUR,
        shortWindowMs: 30 * MIN,
      },
      {
        name: 'ticket-fast',
        severity: 'ticket',
        factor: 3,
        longWindowMs: DAY,
        shortWindowMs: 2 * HOUR,
      },
      {
        name: 'ticket-slow',
        severity: 'ticket',
        factor: 1,
        longWindowMs: 3 * DAY,
        shortWindowMs: 6 * HOUR,
      },
    ]);
    expect(workbookTable().periodMs).toBe(P30);
  });

  it('a 7-day SLO gets windows ×7/30 and the same factors, so each tier spends the same budget share', () => {
    const tiers = tiersFor(7 * DAY);
    expect(tiers[0]).toMatchObject({ factor: 14.4, longWindowMs: 14 * MIN, shortWindowMs: 70_000 });
    expect(tiers.map((t) => budgetConsumed(t.factor, t.longWindowMs, 7 * DAY))).toEqual([
      0.02, 0.05, 0.1, 0.1,
    ]);
  });

  const calendar: Array<[string, string, string, number]> = [
    [
      'February 2025 in UTC has 28 days',
      'calendar: { unit: month, time_zone: UTC }',
      '2025-02-10T00:00:00Z',
      28,
    ],
    [
      'at 23:30 UTC on 31 January it is already February in Berlin',
      'calendar: { unit: month, time_zone: Europe/Berlin }',
      '2025-01-31T23:30:00Z',
      28,
    ],
    [
      'the first quarter of 2024 has 91 days',
      'calendar: { unit: quarter, time_zone: UTC }',
      '2024-03-31T12:00:00Z',
      91,
    ],
    [
      'the fourth quarter has 92 days',
      'calendar: { unit: quarter, time_zone: UTC }',
      '2025-11-15T00:00:00Z',
      92,
    ],
  ];
  it.each(calendar)(
    'a calendar window has the nominal length of its current unit: %s',
    (_n, w, now, days) => {
      expect(periodMs(slo(99.9, w).window, new Date(now))).toBe(days * DAY);
    },
  );
});

describe('detection time of a constant error ratio on a 99.9% 30-day SLO', () => {
  const budget = 0.001;
  const cases: Array<[string, Tier, number, number | undefined]> = [
    ['a total outage fires the 14.4× page after 51.84 s', pageFast, 1, 51.84],
    ['a total outage fires the 6× page after 129.6 s', pageSlow, 1, 129.6],
    ['a total outage fires the 3× ticket after 259.2 s', ticketFast, 1, 259.2],
    ['a total outage fires the 1× ticket after 259.2 s', ticketSlow, 1, 259.2],
    ['a 2% error ratio fires the 14.4× page after 43m12s', pageFast, 0.02, 2592],
    ['a 2% error ratio fires the 6× page after 1h48m', pageSlow, 0.02, 6480],
    ['a 2% error ratio fires the 3× ticket after 3h36m', ticketFast, 0.02, 12_960],
    ['a 2% error ratio fires the 1× ticket after 3h36m', ticketSlow, 0.02, 12_960],
    ['a 0.5% error ratio never fires the 14.4× page', pageFast, 0.005, undefined],
    ['a 0.5% error ratio never fires the 6× page', pageSlow, 0.005, undefined],
    ['a 0.5% error ratio fires the 3× ticket after 14h24m', ticketFast, 0.005, 51_840],
    [
      'an error ratio exactly at the threshold fires at the end of the long window',
      pageFast,
      0.0144,
      3600,
    ],
    ['no errors never fire', pageFast, 0, undefined],
  ];
  it.each(cases)('%s', (_name, tier, e, seconds) => {
    const t = detectionTime(tier, budget, e);
    if (seconds === undefined) expect(t).toBeUndefined();
    else expect(t! / 1000).toBeCloseTo(seconds, 6);
  });

  it('whatever the error ratio, a tier has spent its budget share when it fires', () => {
    for (const e of [1, 0.1, 0.02]) {
      expect(
        [pageFast, pageSlow, ticketFast, ticketSlow].map((t) =>
          budgetBeforeFiring(t, budget, e, P30),
        ),
      ).toEqual([0.02, 0.05, 0.1, 0.1]);
    }
  });
});

describe('whether a tier can fire at all', () => {
  const cases: Array<[string, number, number, boolean]> = [
    ['a 14.4× tier on a 99.9% objective can fire', 14.4, 99.9, true],
    ['a 14.4× tier on a 90% objective cannot: it needs 144% of events to fail', 14.4, 90, false],
    ['a 6× tier on a 90% objective can fire from 60% errors', 6, 90, true],
    ['a 10× tier on a 90% objective fires only on a total outage', 10, 90, true],
  ];
  it.each(cases)('%s', (_name, factor, objective, expected) => {
    expect(canFire({ factor }, errorBudget(objective))).toBe(expected);
  });
});

describe('halo slo check', () => {
  it('a 99.9% 30-day SLO at a 2% error rate: every tier fires, the fast page after 43m12s', () => {
    const rows = describeSlo(slo(99.9), { errorRate: 0.02 });
    expect(
      rows.map((r) => [r.tier, r.outageDetectionMs, r.detectionMs, r.budgetBeforeFiring]),
    ).toEqual([
      ['page-fast', 51_840, 2_592_000, 0.02],
      ['page-slow', 129_600, 6_480_000, 0.05],
      ['ticket-fast', 259_200, 12_960_000, 0.1],
      ['ticket-slow', 259_200, 12_960_000, 0.1],
    ]);
    expect(formatCheck(rows)).toBe(
      [
        'TIER         SEVERITY  FACTOR  LONG  SHORT  OUTAGE  AT 2%   BUDGET SPENT',
        'page-fast    page      14.4×   1h    5m     51.8s   43m12s  2%',
        'page-slow    page      6×      6h    30m    2m10s   1h48m   5%',
        'ticket-fast  ticket    3×      1d    2h     4m19s   3h36m   10%',
        'ticket-slow  ticket    1×      3d    6h     4m19s   3h36m   10%',
        '',
      ].join('\n'),
    );
  });

  it('a 90% SLO warns that the 14.4× page can never fire', () => {
    const rows = describeSlo(slo(90), { errorRate: 1 });
    expect(rows[0]).toMatchObject({
      tier: 'page-fast',
      outageDetectionMs: undefined,
      detectionMs: undefined,
    });
    expect(rows[0]?.warning).toBe(
      'tier page-fast can never fire: 14.4× a 10% budget needs 144% of events to fail',
    );
    expect(rows.slice(1).every((r) => r.warning === undefined)).toBe(true);
    expect(formatCheck(rows)).toContain(
      'page-fast    page      14.4×   1h    5m     never   never    -',
    );
    expect(formatCheck(rows)).toContain('\nwarning: tier page-fast can never fire');
  });
});
