// A realistic, deterministic SLO report for October 2026 in Europe/Berlin: one SLO met, one at
// risk, one breached, one instance without data, an exclusion, two incidents (one ongoing) and
// hostile label values; for the renderer tests and whoever else renders a report.

import type { BudgetPoint, Report, SloReport } from '../../alerter/report/model.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;

export const PERIOD_FROM = Date.parse('2026-09-30T22:00:00Z');
export const PERIOD_TO = Date.parse('2026-10-31T23:00:00Z');

/** A label value that must never reach a page as markup. */
export const MALICIOUS_VALUE = '<script>alert("x")</script>';

/**
 * Local midnights of Oct 1 … Nov 1 in Berlin: CEST (UTC+2) up to and including Oct 25, when
 * clocks go back at 03:00, then CET (UTC+1). Written out rather than computed, so that the
 * fixture does not depend on the code under test.
 */
const MIDNIGHTS = Array.from(
  { length: 32 },
  (_, i) => Date.UTC(2026, 9, 1 + i) - (i <= 24 ? 2 : 1) * HOUR,
);

/** Points at each local midnight; `spent[i]` is the share of the budget spent on day i. */
function burnDown(spent: readonly number[]): BudgetPoint[] {
  let remaining = 1;
  return MIDNIGHTS.map((at, i) => {
    if (i > 0) remaining -= spent[i - 1] ?? 0;
    return { at, remaining: Math.round(remaining * 1e6) / 1e6 };
  });
}

const days = (share: number) => Array.from({ length: 31 }, () => share);

/** 1% a day, and 9% more on Oct 13 during the incident: 60% left. */
const checkoutSpent = days(0.01).map((s, i) => (i === 12 ? s + 0.09 : s));
/** A steady 88% over the month: 12% left. */
const searchSpent = days(0.88 / 31);
/** 3% a day, and 45% more in the incident still firing at the end: 38% overspent. */
const paymentsSpent = days(0.03).map((s, i) => (i === 29 ? s + 0.15 : i === 30 ? s + 0.3 : s));

const checkout: SloReport = {
  slo: 'checkout-availability',
  service: 'checkout',
  instance: '',
  description: 'Checkout requests answered without a 5xx error.',
  sliKind: 'ratio',
  objective: 99.9,
  good: 12_445_020,
  total: 12_450_000,
  bad: 4_980,
  attained: 99.96,
  budget: { total: 12_450, used: 4_980, remaining: 7_470, remainingPercent: 60 },
  status: 'met',
  previous: { attained: 99.941, status: 'met' },
  change: 99.96 - 99.941,
  burnDown: burnDown(checkoutSpent),
  exclusions: [
    {
      from: Date.parse('2026-10-18T00:00:00Z'),
      to: Date.parse('2026-10-18T02:00:00Z'),
      reason: 'Planned database migration (CHG-1042)',
    },
  ],
  contributors: [
    { label: 'route', value: '/api/cart', bad: 2_988, share: 0.6 },
    { label: 'user_agent', value: MALICIOUS_VALUE, bad: 996, share: 0.2 },
    { label: 'host', value: 'web-2', bad: 498, share: 0.1 },
  ],
};

const search: SloReport = {
  slo: 'search-latency',
  service: 'search',
  instance: '',
  description: 'Search requests answered within 300 ms.',
  sliKind: 'latency',
  objective: 99,
  good: 3_171_840,
  total: 3_200_000,
  bad: 28_160,
  attained: 99.12,
  budget: { total: 32_000, used: 28_160, remaining: 3_840, remainingPercent: 12 },
  status: 'at risk',
  previous: { attained: 99.3, status: 'met' },
  change: 99.12 - 99.3,
  burnDown: burnDown(searchSpent),
  exclusions: [],
  contributors: [
    { label: 'route', value: '/search?q=*', bad: 19_712, share: 0.7 },
    { label: 'host', value: 'search-3', bad: 5_632, share: 0.2 },
  ],
};

const paymentsEu: SloReport = {
  slo: 'payments-availability',
  service: 'payments',
  instance: 'eu-central',
  description: 'Payment authorisations that succeed, per region.',
  sliKind: 'ratio',
  objective: 99.95,
  good: 1_998_620,
  total: 2_000_000,
  bad: 1_380,
  attained: 99.931,
  budget: { total: 1_000, used: 1_380, remaining: -380, remainingPercent: -38 },
  status: 'breached',
  previous: { attained: 99.962, status: 'met' },
  change: 99.931 - 99.962,
  burnDown: burnDown(paymentsSpent),
  exclusions: [],
  contributors: [
    { label: 'status', value: '503', bad: 1_104, share: 0.8 },
    { label: 'route', value: '/pay|refund', bad: 207, share: 0.15 },
  ],
};

const paymentsUs: SloReport = {
  slo: 'payments-availability',
  service: 'payments',
  instance: 'us-east',
  description: 'Payment authorisations that succeed, per region.',
  sliKind: 'ratio',
  objective: 99.95,
  good: 0,
  total: 0,
  bad: 0,
  attained: null,
  budget: { total: 0, used: 0, remaining: 0, remainingPercent: null },
  status: 'no data',
  previous: null,
  change: null,
  burnDown: [],
  exclusions: [],
  contributors: [],
};

const slos = [checkout, search, paymentsEu, paymentsUs];
const withData = slos.filter((s) => s.total > 0);
const good = withData.reduce((sum, s) => sum + s.good, 0);
const total = withData.reduce((sum, s) => sum + s.total, 0);

const ongoingStart = Date.parse('2026-10-30T20:40:00Z');

const base: Report = {
  title: 'SLO report',
  generatedAt: Date.parse('2026-11-01T06:00:00Z'),
  period: {
    label: '2026-10',
    title: 'October 2026',
    from: PERIOD_FROM,
    to: PERIOD_TO,
    timeZone: 'Europe/Berlin',
  },
  previousPeriod: {
    label: '2026-09',
    title: 'September 2026',
    from: Date.parse('2026-08-31T22:00:00Z'),
    to: PERIOD_FROM,
    timeZone: 'Europe/Berlin',
  },
  summary: {
    slosTotal: 4,
    slosMet: 1,
    atRisk: 1,
    breached: 1,
    noData: 1,
    weightedAttainment: (good / total) * 100,
    risks: [
      'payments-availability (eu-central) is breached: 99.931% against 99.95%, its budget overspent by 38%.',
      'search-latency is at risk: 12% of its error budget left, 99.120% against 99%.',
    ],
  },
  slos,
  incidents: [
    {
      alertname: 'checkout-availability',
      slo: 'checkout-availability',
      instance: '',
      severity: 'page',
      tier: 'page-fast',
      summary: 'checkout-availability burns its error budget 14.4× too fast',
      start: Date.parse('2026-10-13T12:05:00Z'),
      end: Date.parse('2026-10-13T12:05:00Z') + 2 * HOUR + 15 * MINUTE,
      durationMs: 2 * HOUR + 15 * MINUTE,
      ongoing: false,
      budgetConsumed: 0.09,
    },
    {
      alertname: 'payments-availability',
      slo: 'payments-availability',
      instance: 'eu-central',
      severity: 'page',
      tier: 'page-slow',
      summary: 'payments 5xx above 0.3% | eu-central',
      start: ongoingStart,
      end: PERIOD_TO,
      durationMs: PERIOD_TO - ongoingStart,
      ongoing: true,
      budgetConsumed: 0.45,
    },
  ],
};

/** A fresh copy of the sample report (tests may mutate it), top-level fields replaced. */
export function sampleReport(overrides: Partial<Report> = {}): Report {
  return { ...structuredClone(base), ...overrides };
}
