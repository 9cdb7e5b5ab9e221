// The alerter's HTTP API on a real store: an Alerter evaluated at injected times (one SLO burning
// fast, one healthy, one grouped by host with one host burning, one without data, and a rule
// alert pending), then /api/v1/slos and /api/v1/alerts read through Hono's app.request.

import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alerter } from '../alerter/alerter.ts';
import { createAlerterApi } from '../alerter/api.ts';
import { errorBudget } from '../alerter/slo/burn.ts';
import { windowStart } from '../alerter/slo/evaluate.ts';
import type { Slo } from '../alerter/slo/model.ts';
import { alertFingerprint, type Transition } from '../alerter/state/machine.ts';
import type { RuleEvaluation } from '../alerter/state/types.ts';
import { silentLogger } from '../core/logger.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { ratioSlo as slo } from './helpers/ratio-slo.ts';
import { openTestStore } from './helpers/store.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const STEP = 10 * SEC;

// 32 hours of clean traffic, then a 90-second total outage on checkout and on api's host h1,
// evaluated 4.321 s after it: 30% of the last 5 minutes failed, and 2.51% of the "1h" window
// (it starts on the minute after AT − 1h, at OUT − 58m: 900 bad of 35,800), which burns a 99.9%
// SLO at 300× and 25.1× (page-fast, 14.4×) but nothing slower (6h: 4.2×, 1d: 1×).
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 34 * HOUR;
const OUT = T0 + 32 * HOUR;
const OUT_END = OUT + 90 * SEC;
const AT = OUT_END + 4_321;
const END = OUT + 20 * MIN;
const AT2 = AT + 5 * MIN;
const AT3 = AT + 11 * MIN;

const iso = (ms: number) => new Date(ms).toISOString();
const WINDOW_NAMES = ['5m', '30m', '1h', '2h', '6h', '1d', '3d', 'period'];
/** Nominal lengths; a window of an hour or more starts on the minute (or hour) after. */
const WINDOW_MS = [5 * MIN, 30 * MIN, HOUR, 2 * HOUR, 6 * HOUR, DAY, 3 * DAY, 30 * DAY];
/** The burn rate of the outage over the "1h" window at AT: [OUT − 58m, AT), 358 points. */
const BURN_1H = 900 / 35_800 / 0.001;

interface Traffic {
  service: string;
  host: string;
  failing: boolean;
}
const TRAFFIC: Traffic[] = [
  { service: 'checkout', host: 'web-1', failing: true },
  { service: 'search', host: 'web-1', failing: false },
  { service: 'api', host: 'h1', failing: true },
  { service: 'api', host: 'h2', failing: false },
];
const badAt = (t: Traffic, ts: number) => (t.failing && ts >= OUT && ts < OUT_END ? 100 : 0);

/** Good and total requests of some traffic in [from, to), from the points written. */
function reference(list: Traffic[], from: number, to: number): { good: number; total: number } {
  let good = 0;
  let total = 0;
  for (const t of list) {
    for (let ts = T0; ts < END; ts += STEP) {
      if (ts < from || ts >= to) continue;
      good += 100 - badAt(t, ts);
      total += 100;
    }
  }
  return { good, total };
}

const SLOS: Slo[] = [
  slo(
    'checkout',
    'checkout',
    `  description: Checkout requests succeed
  alerting:
    page_labels: { route: pager }
    ticket_labels: { route: queue }
    annotations: { dashboard: "https://dash.example.com/checkout" }
`,
  ),
  slo('search', 'search'),
  slo('api', 'api', '  group_by: host\n'),
  slo('empty', 'nothing'),
];
// Metadata labels and annotations go on every alert of the SLO.
SLOS[0] = {
  ...SLOS[0]!,
  labels: { team: 'payments' },
  annotations: { runbook: 'https://runbooks.example.com/checkout' },
};

const DISK_FILLING = { alertname: 'DiskFilling', host: 'db-1', severity: 'ticket' };
const rules = async (): Promise<RuleEvaluation[]> => [
  {
    rule: 'rule:DiskFilling',
    timing: { forMs: 10 * MIN, keepFiringForMs: 0 },
    active: [{ labels: DISK_FILLING, annotations: { summary: 'disk 91% full' }, value: 0.91 }],
  },
];

let store: Store;
let alerter: Alerter;
let api: ReturnType<typeof createAlerterApi>;
let first: Transition[];

beforeAll(async () => {
  ({ store } = await openTestStore());
  const rows: SampleRow[] = [];
  for (const t of TRAFFIC) {
    for (let ts = T0; ts < END; ts += STEP) {
      const bad = badAt(t, ts);
      const base = { name: 'http_requests_total', tier: 'web', host: t.host, service: t.service };
      rows.push({ ...base, labels: { code: '200' }, ts, value: 100 - bad });
      rows.push({ ...base, labels: { code: '503' }, ts, value: bad });
    }
  }
  for (let i = 0; i < rows.length; i += 50_000)
    await writeSamples(store, rows.slice(i, i + 50_000));
  alerter = new Alerter({
    store,
    logger: silentLogger(),
    registry: new Registry(),
    slos: SLOS,
    rules,
    intervalMs: 15_000,
  });
  api = createAlerterApi(alerter, SLOS);
  first = await alerter.evaluate(AT);
}, 60_000);

afterAll(async () => {
  await store?.close();
});

interface TierJson {
  name: string;
  severity: string;
  factor: number;
  longWindow?: string;
  shortWindow?: string;
  held: string | null;
  alert: string;
}
interface InstanceJson {
  instance: string;
  sli: number | null;
  good: number;
  total: number;
  budgetRemaining: number;
  excluded: boolean;
  burnRates: Record<string, number>;
  tiers: TierJson[];
}
interface SlosJson {
  evaluatedAt: string | null;
  leading: boolean;
  slos: Array<{
    name: string;
    service: string;
    description: string | null;
    objective: number;
    window: unknown;
    labels: Record<string, string>;
    instances: InstanceJson[];
  }>;
}
interface AlertJson {
  fingerprint: string;
  state: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number;
  activeSince: string;
  firedAt?: string;
  resolvedAt?: string;
}
interface AlertsJson {
  alerts: AlertJson[];
}

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await api.request(path);
  return { status: res.status, body: (await res.json()) as T };
}

const checkoutLabels = {
  team: 'payments',
  route: 'pager',
  alertname: 'checkout',
  slo: 'checkout',
  service: 'checkout',
  severity: 'page',
  burn_tier: 'page-fast',
};
const apiLabels = {
  alertname: 'api',
  slo: 'api',
  service: 'api',
  severity: 'page',
  burn_tier: 'page-fast',
  host: 'h1',
};

const tiers = (firing: string[]) =>
  [
    ['page-fast', 'page', 14.4, '1h', '5m'],
    ['page-slow', 'page', 6, '6h', '30m'],
    ['ticket-fast', 'ticket', 3, '1d', '2h'],
    ['ticket-slow', 'ticket', 1, '3d', '6h'],
  ].map(([name, severity, factor, longWindow, shortWindow]) => ({
    name,
    severity,
    factor,
    longWindow,
    shortWindow,
    held: null,
    alert: firing.includes(name as string) ? 'firing' : 'inactive',
  }));

/** An instance of /api/v1/slos against the reference computed from the traffic. */
function expectInstance(instance: InstanceJson, traffic: Traffic[], at: number, firing: string[]) {
  const budget = errorBudget(99.9);
  const period = reference(traffic, windowStart(at, 30 * DAY), at);
  expect(instance.good).toBe(period.good);
  expect(instance.total).toBe(period.total);
  expect(instance.sli).toBeCloseTo(period.good / period.total, 12);
  expect(instance.budgetRemaining).toBeCloseTo(
    1 - (period.total - period.good) / period.total / budget,
    9,
  );
  expect(instance.excluded).toBe(false);
  expect(Object.keys(instance.burnRates)).toEqual(WINDOW_NAMES);
  WINDOW_NAMES.forEach((name, i) => {
    const w = reference(traffic, windowStart(at, WINDOW_MS[i]!), at);
    const expected = (w.total - w.good) / w.total / budget;
    expect([name, instance.burnRates[name]]).toEqual([name, expect.closeTo(expected, 9)]);
  });
  expect(instance.tiers).toEqual(tiers(firing));
}

describe('the alerter API after an evaluation', () => {
  it('the evaluation fired the two page-fast alerts and left the rule alert pending', () => {
    expect(
      first.map((t) => [t.alert.labels['alertname'], t.alert.labels['host'], t.from, t.to]),
    ).toEqual(
      expect.arrayContaining([
        ['checkout', undefined, 'inactive', 'firing'],
        ['api', 'h1', 'inactive', 'firing'],
        ['DiskFilling', 'db-1', 'inactive', 'pending'],
      ]),
    );
    expect(first).toHaveLength(3);
  });

  it('/api/v1/slos gives each SLO with its instances, burn rates and tier alert states', async () => {
    const { status, body } = await get<SlosJson>('/api/v1/slos');
    expect(status).toBe(200);
    expect(body.evaluatedAt).toBe(iso(AT));
    expect(body.leading).toBe(true);
    expect(body.slos.map((s) => s.name)).toEqual(['checkout', 'search', 'api', 'empty']);
    const [checkout, search, grouped, empty] = body.slos as [
      SlosJson['slos'][number],
      SlosJson['slos'][number],
      SlosJson['slos'][number],
      SlosJson['slos'][number],
    ];

    expect(checkout).toMatchObject({
      name: 'checkout',
      service: 'checkout',
      description: 'Checkout requests succeed',
      objective: 99.9,
      window: { kind: 'rolling', periodMs: 30 * DAY },
      labels: { team: 'payments' },
    });
    expect(checkout.instances).toHaveLength(1);
    expect(checkout.instances[0]!.instance).toBe('');
    expectInstance(checkout.instances[0]!, [TRAFFIC[0]!], AT, ['page-fast']);
    expect(windowStart(AT, HOUR)).toBe(OUT - 58 * MIN);
    expect(checkout.instances[0]!.burnRates['1h']).toBeCloseTo(BURN_1H, 9);
    expect(checkout.instances[0]!.burnRates['5m']).toBeCloseTo(300, 9);

    expect(search.description).toBeNull();
    expect(search.instances).toHaveLength(1);
    expectInstance(search.instances[0]!, [TRAFFIC[1]!], AT, []);
    expect(search.instances[0]).toMatchObject({ sli: 1, budgetRemaining: 1 });
    for (const rate of Object.values(search.instances[0]!.burnRates)) expect(rate).toBe(0);

    // Grouped by host: the alert state is per instance.
    const byHost = [...grouped.instances].sort((a, b) => (a.instance < b.instance ? -1 : 1));
    expect(byHost.map((i) => i.instance)).toEqual(['h1', 'h2']);
    expectInstance(byHost[0]!, [TRAFFIC[2]!], AT, ['page-fast']);
    expectInstance(byHost[1]!, [TRAFFIC[3]!], AT, []);

    // No data: listed, without instances.
    expect(empty).toMatchObject({ name: 'empty', service: 'nothing', instances: [] });
  });

  it('/api/v1/alerts lists the pending and firing alerts with labels, annotations and times', async () => {
    const { status, body } = await get<AlertsJson>('/api/v1/alerts');
    expect(status).toBe(200);
    const alerts = [...body.alerts].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
    const budgetLeft = (() => {
      const p = reference([TRAFFIC[0]!], windowStart(AT, 30 * DAY), AT);
      return `${((1 - (p.total - p.good) / p.total / errorBudget(99.9)) * 100).toFixed(2)}%`;
    })();
    const expected = [
      {
        fingerprint: alertFingerprint(checkoutLabels),
        state: 'firing',
        labels: checkoutLabels,
        annotations: {
          runbook: 'https://runbooks.example.com/checkout',
          dashboard: 'https://dash.example.com/checkout',
          summary:
            'checkout: error budget burning at 25.1× over 1h and 300.0× over 5m (tier page-fast: 14.4×)',
          description: `Objective 99.9%. Error ratio 2.51% over 1h, 30.00% over 5m; ${budgetLeft} of the budget left in the period.`,
        },
        value: expect.closeTo(BURN_1H, 9),
        activeSince: iso(AT),
        firedAt: iso(AT),
      },
      {
        fingerprint: alertFingerprint(apiLabels),
        state: 'firing',
        labels: apiLabels,
        annotations: {
          summary:
            'api (h1): error budget burning at 25.1× over 1h and 300.0× over 5m (tier page-fast: 14.4×)',
          description: `Objective 99.9%. Error ratio 2.51% over 1h, 30.00% over 5m; ${budgetLeft} of the budget left in the period.`,
        },
        value: expect.closeTo(BURN_1H, 9),
        activeSince: iso(AT),
        firedAt: iso(AT),
      },
      {
        fingerprint: alertFingerprint(DISK_FILLING),
        state: 'pending',
        labels: DISK_FILLING,
        annotations: { summary: 'disk 91% full' },
        value: 0.91,
        activeSince: iso(AT),
      },
    ].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
    expect(alerts).toEqual(expected);
  });

  it('?state= filters by state; an unknown state is a 400 that says what is expected', async () => {
    const names = (body: AlertsJson) => body.alerts.map((a) => a.labels['alertname']).sort();
    const pending = await get<AlertsJson>('/api/v1/alerts?state=pending');
    expect([pending.status, names(pending.body)]).toEqual([200, ['DiskFilling']]);
    const firing = await get<AlertsJson>('/api/v1/alerts?state=firing');
    expect([firing.status, names(firing.body)]).toEqual([200, ['api', 'checkout']]);
    const resolved = await get<AlertsJson>('/api/v1/alerts?state=resolved');
    expect([resolved.status, resolved.body]).toEqual([200, { alerts: [] }]);
    const bogus = await get<unknown>('/api/v1/alerts?state=bogus');
    expect(bogus).toEqual({
      status: 400,
      body: { error: 'state: expected pending, firing or resolved' },
    });
  });
});

describe('the alerter API as time goes on', () => {
  it('after recovery the page-fast alerts are resolved: listed only with ?state=resolved', async () => {
    const transitions = await alerter.evaluate(AT2);
    expect(transitions.map((t) => [t.alert.labels['alertname'], t.from, t.to]).sort()).toEqual([
      ['api', 'firing', 'resolved'],
      ['checkout', 'firing', 'resolved'],
    ]);
    const open = await get<AlertsJson>('/api/v1/alerts');
    expect(open.body.alerts.map((a) => [a.labels['alertname'], a.state])).toEqual([
      ['DiskFilling', 'pending'],
    ]);
    const resolved = await get<AlertsJson>('/api/v1/alerts?state=resolved');
    const checkout = resolved.body.alerts.find((a) => a.labels['alertname'] === 'checkout');
    expect(resolved.body.alerts).toHaveLength(2);
    expect(checkout).toMatchObject({
      state: 'resolved',
      activeSince: iso(AT),
      firedAt: iso(AT),
      resolvedAt: iso(AT2),
    });
    const slos = await get<SlosJson>('/api/v1/slos');
    expect(slos.body.evaluatedAt).toBe(iso(AT2));
    const [c, , grouped] = slos.body.slos;
    expectInstance(c!.instances[0]!, [TRAFFIC[0]!], AT2, []);
    for (const instance of grouped!.instances) expect(instance.tiers).toEqual(tiers([]));
  });

  it('the rule alert fires once pending for its `for`, and the history holds every change', async () => {
    const transitions = await alerter.evaluate(AT3);
    expect(transitions.map((t) => [t.alert.labels['alertname'], t.from, t.to])).toEqual([
      ['DiskFilling', 'pending', 'firing'],
    ]);
    const firing = await get<AlertsJson>('/api/v1/alerts?state=firing');
    expect(firing.body.alerts).toEqual([
      {
        fingerprint: alertFingerprint(DISK_FILLING),
        state: 'firing',
        labels: DISK_FILLING,
        annotations: { summary: 'disk 91% full' },
        value: 0.91,
        activeSince: iso(AT),
        firedAt: iso(AT3),
      },
    ]);
    const history = await store.query<{ alertname: string; state: string; n: string }>(
      sql`SELECT alertname, toString(state) AS state, count() AS n FROM ${ident(store.table('alerts'))}
          GROUP BY alertname, state ORDER BY alertname, state`,
    );
    expect(history.map((h) => [h.alertname, h.state, Number(h.n)])).toEqual([
      ['DiskFilling', 'firing', 1],
      ['DiskFilling', 'pending', 1],
      ['api', 'firing', 1],
      ['api', 'resolved', 1],
      ['checkout', 'firing', 1],
      ['checkout', 'resolved', 1],
    ]);
    // One evaluation row per SLO instance (4: empty has none) and window, per evaluation (3).
    const [evaluations] = await store.query<{ n: string }>(
      sql`SELECT count() AS n FROM ${ident(store.table('sloEvaluations'))}`,
    );
    expect(Number(evaluations!.n)).toBe(4 * WINDOW_NAMES.length * 3);
  });
});
