// SLO report on real chDB for October 2026 in Europe/Berlin (CEST to CET on the 25th): every
// number (attainment, budget, status, change, burn-down, incident budget, contributors, the
// summary) against a reference summed from the raw points written, with month edges in local
// time, an exclusion window, a grouped latency SLO, a probe SLO and the alert history.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, burnDownTicks } from '../alerter/report/build.ts';
import type { Report, SloReport } from '../alerter/report/model.ts';
import { completedPeriod, lastPeriod, parsePeriod } from '../alerter/report/period.ts';
import {
  INCIDENT_COLUMNS,
  SLO_COLUMNS,
  renderCsv,
  renderIncidentsCsv,
  renderJson,
} from '../alerter/report/tabular.ts';
import { renderHtml } from '../alerter/report/html.ts';
import { renderMarkdown } from '../alerter/report/markdown.ts';
import type { Slo } from '../alerter/slo/model.ts';
import { parseSlos } from '../alerter/slo/spec.ts';
import { TABLES } from '../core/conventions.ts';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { openTestStore } from './helpers/store.ts';

/** Data is stamped in 2026: kept whatever day the tests run (TTLs count from the real clock). */
const LONG_RETENTION = {
  clickhouse: {
    retention: { samples: '3650d', rollups_1m: '3650d', rollups_1h: '3650d', alerts: '3650d' },
  },
};

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const utc = (text: string) => Date.parse(text);
const ZONE = 'Europe/Berlin';
// October 2026 in Berlin: from Oct 1 00:00 CEST (UTC+2) to Nov 1 00:00 CET (UTC+1).
const FROM = utc('2026-09-30T22:00:00Z');
const TO = utc('2026-10-31T23:00:00Z');
const PREV_FROM = utc('2026-08-31T22:00:00Z');
const NOW = utc('2026-11-05T12:00:00Z');
const STEP = 5 * MIN;
const DATA_FROM = utc('2026-08-30T00:00:00Z');
const DATA_TO = utc('2026-11-03T00:00:00Z');
const MAINTENANCE = { from: utc('2026-10-10T00:00:00Z'), to: utc('2026-10-10T06:00:00Z') };
const OUTAGE = { from: utc('2026-10-15T10:00:00Z'), to: utc('2026-10-15T11:00:00Z') };

function slo(name: string, spec: string): Slo {
  const [parsed] = parseSlos(
    `apiVersion: halo/v1\nkind: SLO\nmetadata: { name: ${name} }\nspec:\n${spec}`,
    `${name}.yaml`,
  );
  return parsed!;
}

const SLOS = [
  slo(
    'checkout-availability',
    `  service: checkout
  objective: 99.5
  description: Checkout requests that do not fail
  window: { calendar: { unit: month, time_zone: ${ZONE} } }
  exclusions:
    - { from: "${new Date(MAINTENANCE.from).toISOString()}", to: "${new Date(MAINTENANCE.to).toISOString()}", reason: planned database maintenance }
  sli:
    ratio:
      bad: { metric: http_requests_total, matchers: { service: checkout, code: { op: "=~", value: "5.." } } }
      total: { metric: http_requests_total, matchers: { service: checkout } }
`,
  ),
  slo(
    'search-latency',
    `  service: search
  objective: 99
  window: { calendar: { unit: month, time_zone: ${ZONE} } }
  group_by: route
  sli: { latency: { metric: http_request_duration_seconds, threshold_seconds: 0.3, matchers: { service: search } } }
`,
  ),
  slo(
    'shop-probe',
    `  service: shop
  objective: 99.9
  window: { calendar: { unit: month, time_zone: ${ZONE} } }
  sli:
    probe:
      metric: probe_success
      matchers: { service: shop }
      slice: 1m
      good_when: ">= 1"
`,
  ),
  slo(
    'billing-availability',
    `  service: billing
  objective: 99.9
  window: { calendar: { unit: month, time_zone: ${ZONE} } }
  sli:
    ratio:
      bad: { metric: billing_requests_total, matchers: { code: "500" } }
      total: { metric: billing_requests_total }
`,
  ),
];

// ---- the points written, kept for the reference ----

interface Point {
  name: string;
  host: string;
  service: string;
  labels: Record<string, string>;
  ts: number;
  value: number;
}
const points: Point[] = [];

const HOSTS = ['web-1', 'web-2'];
const ROUTES = ['/pay', '/cart'];
const CODES = ['200', '500', '503'];

function checkoutValue(i: number, ts: number, h: number, r: number, code: string): number {
  if (code === '200') return 100 + ((i + h + r) % 7);
  let bad = 0;
  if (code === '500' && (i * 7 + h * 3 + r) % 50 === 0) bad += 2;
  if (code === '503' && (i * 11 + h + r * 5) % 90 === 0) bad += 1;
  // The outage: web-2 /pay fails hard for an hour.
  if (code === '500' && h === 1 && r === 0 && ts >= OUTAGE.from && ts < OUTAGE.to) bad += 40;
  // Inside the maintenance window: excluded, however bad.
  if (code === '503' && h === 0 && r === 1 && ts >= MAINTENANCE.from && ts < MAINTENANCE.to)
    bad += 80;
  return bad;
}

/** Lines at the month's edges in local time: Sep 30 23:30 CEST, Oct 1 00:30 CEST, Nov 1 00:30 CET. */
const EDGES: Array<[string, number]> = [
  ['2026-09-30T21:30:00Z', 600], // September in Berlin (and in UTC)
  ['2026-09-30T22:30:00Z', 500], // October in Berlin, September in UTC
  ['2026-10-31T22:30:00Z', 300], // October in Berlin and UTC
  ['2026-10-31T23:30:00Z', 700], // November in Berlin, October in UTC
];

beforeAllData();
function beforeAllData(): void {
  let i = 0;
  for (let ts = DATA_FROM; ts < DATA_TO; ts += STEP, i++) {
    HOSTS.forEach((host, h) =>
      ROUTES.forEach((route, r) =>
        CODES.forEach((code) => {
          const value = checkoutValue(i, ts, h, r, code);
          if (value > 0 || code === '200')
            points.push({
              name: 'http_requests_total',
              host,
              service: 'checkout',
              labels: { route, code },
              ts,
              value,
            });
        }),
      ),
    );
    // Latency buckets (deltas per bucket, cumulative over le): /search 4% slow, /suggest 0.8%.
    for (const [route, slow] of [
      ['/search', 2],
      ['/suggest', i % 5 === 0 ? 2 : 0],
    ] as const) {
      for (const [le, n] of [
        ['0.1', 30],
        ['0.3', 50 - slow],
        ['1', 50],
        ['+Inf', 50],
      ] as const)
        points.push({
          name: 'http_request_duration_seconds_bucket',
          host: 'search-1',
          service: 'search',
          labels: { route, le },
          ts,
          value: n,
        });
    }
  }
  for (const [at, value] of EDGES)
    points.push({
      name: 'http_requests_total',
      host: 'web-1',
      service: 'checkout',
      labels: { route: '/pay', code: '500' },
      ts: utc(at),
      value,
    });
  // A probe per minute from two hosts; probe-2 fails for 10 minutes of the outage, probe-1 now
  // and then.
  let m = 0;
  for (let ts = utc('2026-09-25T00:00:00Z'); ts < DATA_TO; ts += MIN, m++) {
    for (const host of ['probe-1', 'probe-2']) {
      const fails =
        (host === 'probe-2' && ts >= OUTAGE.from && ts < OUTAGE.from + 10 * MIN) ||
        (host === 'probe-1' && m % 5000 === 17);
      points.push({
        name: 'probe_success',
        host,
        service: 'shop',
        labels: { target: 'https://shop' },
        ts,
        value: fails ? 0 : 1,
      });
    }
  }
}

// ---- the reference, from the points ----

const excluded = (ts: number) => ts >= MAINTENANCE.from && ts < MAINTENANCE.to;

function checkoutCounts(from: number, to: number) {
  let total = 0;
  let bad = 0;
  for (const p of points) {
    if (p.name !== 'http_requests_total' || p.ts < from || p.ts >= to || excluded(p.ts)) continue;
    total += p.value;
    if (p.labels['code']!.startsWith('5')) bad += p.value;
  }
  return { total, bad, good: total - bad };
}

function latencyCounts(route: string, from: number, to: number) {
  let total = 0;
  let good = 0;
  for (const p of points) {
    if (p.name !== 'http_request_duration_seconds_bucket' || p.labels['route'] !== route) continue;
    if (p.ts < from || p.ts >= to) continue;
    if (p.labels['le'] === '+Inf') total += p.value;
    if (p.labels['le'] === '0.3') good += p.value;
  }
  return { total, good, bad: total - good };
}

function probeCounts(from: number, to: number, host?: string) {
  const byMinute = new Map<number, number[]>();
  for (const p of points) {
    if (p.name !== 'probe_success' || p.ts < from || p.ts >= to) continue;
    if (host !== undefined && p.host !== host) continue;
    const list = byMinute.get(p.ts) ?? [];
    list.push(p.value);
    byMinute.set(p.ts, list);
  }
  let good = 0;
  for (const values of byMinute.values())
    if (values.reduce((a, b) => a + b, 0) / values.length >= 1) good++;
  return { total: byMinute.size, good, bad: byMinute.size - good };
}

// ---- the report ----

let store: Store;
let report: Report;

beforeAll(async () => {
  ({ store } = await openTestStore(LONG_RETENTION));
  const rows: SampleRow[] = points.map((p) => ({ ...p, tier: 'app' }));
  for (let i = 0; i < rows.length; i += 100_000)
    await writeSamples(store, rows.slice(i, i + 100_000));
  const alert = (
    fingerprint: number,
    ts: string,
    state: 'firing' | 'resolved',
    labels: Record<string, string>,
    summary: string,
  ) => ({
    ts: ts.replace('T', ' ').replace('Z', ''),
    fingerprint,
    alertname: labels['alertname'],
    state,
    severity: labels['severity'] ?? '',
    slo: labels['slo'] ?? '',
    labels,
    annotations: { summary },
    value: 1,
    active_since: ts.replace('T', ' ').replace('Z', ''),
  });
  const page = {
    alertname: 'checkout-availability',
    slo: 'checkout-availability',
    severity: 'page',
    burn_tier: 'page-fast',
  };
  const slow = { ...page, severity: 'ticket', burn_tier: 'ticket-slow' };
  const latency = {
    alertname: 'search-latency',
    slo: 'search-latency',
    severity: 'ticket',
    burn_tier: 'ticket-slow',
    route: '/search',
  };
  const host = { alertname: 'HostDown', severity: 'page', host: 'db-2' };
  await store.client.insert({
    table: `${store.database}.${TABLES.alerts}`,
    format: 'JSONEachRow',
    values: [
      // Fired in September, resolved in October: counted from the month's start.
      alert(1, '2026-09-30T21:00:00Z', 'firing', slow, 'burning since September'),
      alert(1, '2026-09-30T23:00:00Z', 'resolved', slow, 'burning since September'),
      alert(2, '2026-10-15T10:05:00Z', 'firing', page, 'checkout burning <fast>'),
      alert(2, '2026-10-15T10:50:00Z', 'resolved', page, 'checkout burning <fast>'),
      alert(3, '2026-10-20T08:00:00Z', 'firing', latency, 'search slow'),
      alert(3, '2026-10-20T20:00:00Z', 'resolved', latency, 'search slow'),
      // Still firing when the month ends.
      alert(4, '2026-10-30T12:00:00Z', 'firing', host, 'db-2 is down'),
      // November: not in the report.
      alert(5, '2026-11-01T10:00:00Z', 'firing', page, 'later'),
    ],
  });
  report = await buildReport({
    store,
    slos: SLOS,
    period: parsePeriod('2026-10', ZONE),
    now: NOW,
  });
}, 120_000);

afterAll(async () => {
  await store?.close();
});

const row = (name: string, instance = ''): SloReport => {
  const r = report.slos.find((s) => s.slo === name && s.instance === instance);
  if (!r) throw new Error(`no row ${name} ${instance}`);
  return r;
};

describe('periods in a time zone', () => {
  it('a month, a quarter and an ISO week start at local midnight; DST makes them uneven', () => {
    const oct = parsePeriod('2026-10', ZONE);
    expect([oct.period.from, oct.period.to]).toEqual([FROM, TO]);
    expect(oct.period.to - oct.period.from).toBe(31 * DAY + HOUR);
    expect(oct.previous.from).toBe(PREV_FROM);
    expect(oct.previous.to).toBe(FROM);
    const q = parsePeriod('2026-Q4', 'Asia/Kolkata');
    expect(q.period.from).toBe(utc('2026-09-30T18:30:00Z'));
    expect(q.period.to).toBe(utc('2026-12-31T18:30:00Z'));
    expect(q.previous.label).toBe('2026-Q3');
    const w = parsePeriod('2026-W44', ZONE);
    // Monday Oct 26 (CET from the 25th) to Monday Nov 2.
    expect([w.period.from, w.period.to]).toEqual([
      utc('2026-10-25T23:00:00Z'),
      utc('2026-11-01T23:00:00Z'),
    ]);
    expect(parsePeriod('2021-W01', 'UTC').period.from).toBe(utc('2021-01-04T00:00:00Z'));
    expect(parsePeriod('2026-W01', 'UTC').previous.label).toBe('2025-W52');
  });

  it('--last and the last whole period of a schedule', () => {
    const last = lastPeriod('7d', NOW, ZONE);
    expect([last.period.from, last.period.to]).toEqual([NOW - 7 * DAY, NOW]);
    expect([last.previous.from, last.previous.to]).toEqual([NOW - 14 * DAY, NOW - 7 * DAY]);
    // Nov 1 at 00:30 in Berlin is still Oct 31 in UTC: the month before is October.
    expect(completedPeriod('month', utc('2026-10-31T23:30:00Z'), ZONE).period.label).toBe(
      '2026-10',
    );
    expect(completedPeriod('quarter', NOW, ZONE).period.label).toBe('2026-Q3');
    expect(completedPeriod('week', NOW, ZONE).period.label).toBe('2026-W44');
  });

  it('bad periods and zones are refused with a clear message', () => {
    expect(() => parsePeriod('2026-13', ZONE)).toThrow('month 13 is not 01–12');
    expect(() => parsePeriod('2026-W54', ZONE)).toThrow('2026 has weeks 01–53');
    expect(() => parsePeriod('October', ZONE)).toThrow('expected a month (2026-10)');
    expect(() => parsePeriod('2026-10', 'Mars/Olympus')).toThrow(
      'unknown time zone "Mars/Olympus"',
    );
    expect(() => lastPeriod('soon', NOW, ZONE)).toThrow('expected a duration like 7d');
  });

  it('burn-down ticks fall on local midnights, 31 of them plus the end', () => {
    const ticks = burnDownTicks(FROM, TO, ZONE);
    expect(ticks[0]).toBe(FROM);
    expect(ticks.at(-1)).toBe(TO);
    expect(ticks).toHaveLength(32);
    expect(ticks[1]).toBe(utc('2026-10-01T22:00:00Z'));
    // Oct 26 00:00 is CET.
    expect(ticks).toContain(utc('2026-10-25T23:00:00Z'));
  });
});

describe('the report against the raw points', () => {
  it('checkout: attainment, budget and status with the local month edges and the exclusion', () => {
    const ref = checkoutCounts(FROM, TO);
    const r = row('checkout-availability');
    expect(r.total).toBe(ref.total);
    expect(r.bad).toBe(ref.bad);
    expect(r.good).toBe(ref.good);
    expect(r.attained).toBeCloseTo((ref.good / ref.total) * 100, 9);
    const allowed = 0.005 * ref.total;
    expect(r.budget.total).toBeCloseTo(allowed, 6);
    expect(r.budget.used).toBe(ref.bad);
    expect(r.budget.remaining).toBeCloseTo(allowed - ref.bad, 6);
    expect(r.budget.remainingPercent).toBeCloseTo(((allowed - ref.bad) / allowed) * 100, 6);
    expect(r.status).toBe('met');
    // The edges: Oct 1 00:30 local (500 bad) and Oct 31 23:30 (300) in; the other two out.
    const utcMonth = checkoutCounts(utc('2026-10-01T00:00:00Z'), utc('2026-11-01T00:00:00Z'));
    expect(ref.bad - utcMonth.bad).not.toBe(0);
    // Without the exclusion the 80-per-point burst would count.
    let withMaintenance = 0;
    for (const p of points)
      if (p.name === 'http_requests_total' && excluded(p.ts) && p.labels['code']!.startsWith('5'))
        withMaintenance += p.value;
    expect(withMaintenance).toBeGreaterThan(1000);
    expect(r.exclusions).toEqual([
      { from: MAINTENANCE.from, to: MAINTENANCE.to, reason: 'planned database maintenance' },
    ]);
    expect(r.description).toBe('Checkout requests that do not fail');
  });

  it('checkout: change from September, and the burn-down at each local midnight', () => {
    const r = row('checkout-availability');
    const prev = checkoutCounts(PREV_FROM, FROM);
    const now = checkoutCounts(FROM, TO);
    expect(r.previous!.attained).toBeCloseTo((prev.good / prev.total) * 100, 9);
    expect(r.change).toBeCloseTo((now.good / now.total) * 100 - (prev.good / prev.total) * 100, 9);
    const allowed = 0.005 * now.total;
    const ticks = burnDownTicks(FROM, TO, ZONE);
    expect(r.burnDown.map((b) => b.at)).toEqual(ticks);
    r.burnDown.forEach((b) =>
      expect(b.remaining).toBeCloseTo(1 - checkoutCounts(FROM, b.at).bad / allowed, 9),
    );
    expect(r.burnDown[0]!.remaining).toBe(1);
    // It only goes down.
    for (let i = 1; i < r.burnDown.length; i++)
      expect(r.burnDown[i]!.remaining).toBeLessThanOrEqual(r.burnDown[i - 1]!.remaining);
  });

  it('checkout: top contributors by host, route and code', () => {
    const r = row('checkout-availability');
    const ref = checkoutCounts(FROM, TO);
    const badBy = (label: string, value: string) => {
      let n = 0;
      for (const p of points) {
        if (p.name !== 'http_requests_total' || p.ts < FROM || p.ts >= TO || excluded(p.ts))
          continue;
        if (!p.labels['code']!.startsWith('5')) continue;
        const v = label === 'host' ? p.host : p.labels[label];
        if (v === value) n += p.value;
      }
      return n;
    };
    const find = (label: string, value: string) =>
      r.contributors.find((c) => c.label === label && c.value === value);
    for (const [label, value] of [
      ['host', 'web-1'],
      ['host', 'web-2'],
      ['route', '/pay'],
      ['route', '/cart'],
      ['code', '500'],
      ['code', '503'],
    ] as const) {
      const c = find(label, value);
      expect(c, `${label}=${value}`).toBeDefined();
      expect(c!.bad).toBe(badBy(label, value));
      expect(c!.share).toBeCloseTo(badBy(label, value) / ref.bad, 9);
    }
    // Good requests are not bad events: code 200 is never listed.
    expect(find('code', '200')).toBeUndefined();
    // Largest first within a label.
    const routes = r.contributors.filter((c) => c.label === 'route');
    expect(routes[0]!.bad).toBeGreaterThanOrEqual(routes[1]!.bad);
  });

  it('search latency, grouped by route: /search breached, /suggest at risk', () => {
    for (const [route, status] of [
      ['/search', 'breached'],
      ['/suggest', 'at risk'],
    ] as const) {
      const ref = latencyCounts(route, FROM, TO);
      const r = row('search-latency', route);
      expect(r.total).toBe(ref.total);
      expect(r.good).toBe(ref.good);
      expect(r.attained).toBeCloseTo((ref.good / ref.total) * 100, 9);
      expect(r.budget.remainingPercent).toBeCloseTo(
        ((0.01 * ref.total - ref.bad) / (0.01 * ref.total)) * 100,
        6,
      );
      expect(r.status).toBe(status);
      expect(r.contributors).toEqual([
        { label: 'host', value: 'search-1', bad: ref.bad, share: 1 },
      ]);
    }
  });

  it('the probe SLO counts one-minute slices; its contributors are hosts', () => {
    const ref = probeCounts(FROM, TO);
    const r = row('shop-probe');
    expect(r.total).toBe(ref.total);
    expect(r.total).toBe((31 * 24 + 1) * 60);
    expect(r.good).toBe(ref.good);
    expect(r.sliKind).toBe('probe');
    const p2 = probeCounts(FROM, TO, 'probe-2');
    const p1 = probeCounts(FROM, TO, 'probe-1');
    expect(r.contributors).toEqual([
      { label: 'host', value: 'probe-2', bad: p2.bad, share: p2.bad / ref.bad },
      { label: 'host', value: 'probe-1', bad: p1.bad, share: p1.bad / ref.bad },
    ]);
    expect(p2.bad).toBe(10);
  });

  it('an SLO without data is listed as such and left out of the attainment', () => {
    const r = row('billing-availability');
    expect(r.status).toBe('no data');
    expect(r.attained).toBeNull();
    expect(r.budget.remainingPercent).toBeNull();
    expect(r.burnDown).toEqual([]);
  });

  it('incidents: clipped to the month, ongoing at its end, budget consumed while firing', () => {
    const list = report.incidents.map((i) => [i.alertname, i.instance, i.start, i.end, i.ongoing]);
    expect(list).toEqual([
      ['checkout-availability', '', FROM, utc('2026-09-30T23:00:00Z'), false],
      [
        'checkout-availability',
        '',
        utc('2026-10-15T10:05:00Z'),
        utc('2026-10-15T10:50:00Z'),
        false,
      ],
      [
        'search-latency',
        '/search',
        utc('2026-10-20T08:00:00Z'),
        utc('2026-10-20T20:00:00Z'),
        false,
      ],
      ['HostDown', 'db-2', utc('2026-10-30T12:00:00Z'), TO, true],
    ]);
    const allowed = 0.005 * checkoutCounts(FROM, TO).total;
    const [first, outage, search, host] = report.incidents;
    expect(first!.budgetConsumed).toBeCloseTo(checkoutCounts(FROM, first!.end).bad / allowed, 9);
    expect(outage!.budgetConsumed).toBeCloseTo(
      checkoutCounts(outage!.start, outage!.end).bad / allowed,
      9,
    );
    expect(outage!.severity).toBe('page');
    expect(outage!.tier).toBe('page-fast');
    expect(outage!.durationMs).toBe(45 * MIN);
    const s = latencyCounts('/search', search!.start, search!.end);
    expect(search!.budgetConsumed).toBeCloseTo(
      s.bad / (0.01 * latencyCounts('/search', FROM, TO).total),
      9,
    );
    expect(host!.budgetConsumed).toBeNull();
    expect(host!.summary).toBe('db-2 is down');
  });

  it('the summary: met of all, weighted attainment, the risks least budget first', () => {
    const s = report.summary;
    expect(s.slosTotal).toBe(5);
    expect(s.slosMet).toBe(3);
    expect(s.breached).toBe(1);
    expect(s.atRisk).toBe(1);
    expect(s.noData).toBe(1);
    const rows = report.slos.filter((r) => r.total > 0);
    const good = rows.reduce((n, r) => n + r.good, 0);
    const total = rows.reduce((n, r) => n + r.total, 0);
    expect(s.weightedAttainment).toBeCloseTo((good / total) * 100, 9);
    expect(s.risks).toHaveLength(2);
    expect(s.risks[0]).toMatch(/^search \/ search-latency \(\/search\): breached/);
    expect(s.risks[1]).toMatch(
      /^search \/ search-latency \(\/suggest\): at risk, only \d+\.\d% of the error budget left/,
    );
    expect(report.period.label).toBe('2026-10');
    expect(report.title).toBe('SLO report: October 2026');
  });
});

describe('the formats', () => {
  it('CSV parses, with the documented columns, a row per SLO instance', () => {
    const lines = renderCsv(report).trimEnd().split('\r\n');
    expect(lines[0]).toBe(SLO_COLUMNS.join(','));
    expect(lines).toHaveLength(1 + report.slos.length);
    const cells = lines.map((l) => l.split(','));
    const col = (name: string) => SLO_COLUMNS.indexOf(name as (typeof SLO_COLUMNS)[number]);
    const checkout = cells.find((c) => c[col('slo')] === 'checkout-availability')!;
    const r = row('checkout-availability');
    expect(Number(checkout[col('total_events')])).toBe(r.total);
    expect(Number(checkout[col('attained_percent')])).toBeCloseTo(r.attained!, 5);
    expect(checkout[col('status')]).toBe('met');
    expect(checkout[col('period_from')]).toBe('2026-09-30T22:00:00.000Z');
    expect(checkout[col('time_zone')]).toBe(ZONE);
    expect(Number(checkout[col('excluded_seconds')])).toBe(6 * 3600);
    expect(Number(checkout[col('incidents')])).toBe(2);
    const incidents = renderIncidentsCsv(report).trimEnd().split('\r\n');
    expect(incidents[0]).toBe(INCIDENT_COLUMNS.join(','));
    expect(incidents).toHaveLength(1 + report.incidents.length);
  });

  it('JSON parses, with times in UTC and the documented keys', () => {
    const json = JSON.parse(renderJson(report)) as Record<string, unknown> & {
      slos: Array<Record<string, unknown>>;
      incidents: Array<Record<string, unknown>>;
    };
    expect(json['schema']).toBe('halo.report/v1');
    expect((json['period'] as { from: string }).from).toBe('2026-09-30T22:00:00.000Z');
    expect(Object.keys(json.slos[0]!)).toEqual([
      'service',
      'slo',
      'instance',
      'description',
      'sli',
      'objective_percent',
      'good_events',
      'total_events',
      'bad_events',
      'attained_percent',
      'budget',
      'status',
      'previous',
      'change_points',
      'burn_down',
      'exclusions',
      'contributors',
    ]);
    expect(json.incidents.at(-1)!['ongoing']).toBe(true);
  });

  it('HTML and Markdown carry the numbers and escape what came from labels', () => {
    const html = renderHtml(report);
    expect(html).toContain('checkout burning &lt;fast&gt;');
    expect(html).not.toContain('checkout burning <fast>');
    expect(html).toContain('planned database maintenance');
    expect(html.match(/<svg/g)!.length).toBeGreaterThanOrEqual(4);
    const md = renderMarkdown(report);
    expect(md.indexOf('3 of 5')).toBeGreaterThan(-1);
    expect(md.indexOf('3 of 5')).toBeLessThan(md.indexOf('|'));
  });
});
