// The status page on real chDB and nats-server: SLO figures and charts, escaping, tier health, token-gated silences.

import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alerter, type AlerterStatus } from '../alerter/alerter.ts';
import { apiConfigSchema } from '../alerter/api-v2/index.ts';
import { parseRules } from '../alerter/rules/index.ts';
import { SilenceStore } from '../alerter/silence/index.ts';
import { alertFingerprint, type Alert } from '../alerter/state/machine.ts';
import { checkSilenceForm, createStatusPage, type StatusPageDeps } from '../alerter/status/page.ts';
import { budgetBarSvg, sparklineSvg } from '../alerter/status/svg.ts';
import { ruleEvaluator } from '../cli/rules.ts';
import { silentLogger } from '../core/logger.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { capturedLogger } from './helpers/captured-logger.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { ratioSlo as slo } from './helpers/ratio-slo.ts';
import { openTestStore } from './helpers/store.ts';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const STEP = 30 * SEC;

// 26 hours of traffic up to AT (on the hour, so that every window has a clean edge); checkout
// fails 10% of its 100 requests a step in the last 10 minutes: 100 bad of 1,000 over 5m (100×
// a 99.9% SLO's budget), 200 of 12,000 over 1h (16.7×, so page-fast fires), 200 of 72,000 over
// 6h (2.78×, below page-slow's 6×), 200 of 312,000 over the period: SLI 99.9359%, 35.9% of the
// budget left.
const AT = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
const T0 = AT - 26 * HOUR;
const OUTAGE = AT - 10 * MIN;

const READ_TOKEN = 'read-token-3e7a1c55-not-for-pages';
const WRITE_TOKEN = 'write-token-9b4d2f60-not-for-pages';

const SLOS = [
  slo('checkout', 'checkout', '  description: Checkout requests succeed\n'),
  slo('search', 'search'),
  slo('api', 'api', '  group_by: host\n'),
];

const RULES = parseRules(
  `apiVersion: halo/v1
kind: AlertRule
metadata: { name: web-thin }
spec:
  redundancy: { min: 2 }
---
apiVersion: halo/v1
kind: AlertRule
metadata: { name: host-silent }
spec:
  absence: {}
`,
  'rules.yaml',
);

const SCRIPT = '<script>alert("x")</script>';
const scriptLabels = { alertname: 'BadLabel', severity: 'ticket', host: SCRIPT };
const SCRIPT_ALERT: Alert = {
  fingerprint: alertFingerprint(scriptLabels),
  rule: 'rule:BadLabel',
  labels: scriptLabels,
  annotations: { summary: `"quoted" <b>summary</b> of ${SCRIPT}` },
  state: 'firing',
  value: 1,
  activeSince: AT - 20 * MIN,
  lastActive: AT,
  firedAt: AT - 15 * MIN,
};
const diskLabels = { alertname: 'DiskFilling', severity: 'ticket', host: 'db-1' };
const PENDING_ALERT: Alert = {
  fingerprint: alertFingerprint(diskLabels),
  rule: 'rule:DiskFilling',
  labels: diskLabels,
  annotations: { summary: 'disk 91% full' },
  state: 'pending',
  value: 0.91,
  activeSince: AT - 2 * MIN,
  lastActive: AT,
};

let store: Store;
let nats: TestNats;
let nc: NatsConnection;
let alerter: Alerter;
const silenceStores: SilenceStore[] = [];
let evaluationRows = 0;

function traffic(): SampleRow[] {
  const rows: SampleRow[] = [];
  const series = [
    { service: 'checkout', host: 'app-1', failing: true },
    { service: 'search', host: 'app-1', failing: false },
    { service: 'api', host: 'h1', failing: false },
    { service: 'api', host: 'h2', failing: false },
  ];
  for (const s of series) {
    for (let ts = T0; ts < AT; ts += STEP) {
      const bad = s.failing && ts >= OUTAGE ? 10 : 0;
      const base = { name: 'http_requests_total', tier: 'app', host: s.host, service: s.service };
      rows.push({ ...base, labels: { code: '200' }, ts, value: 100 - bad });
      rows.push({ ...base, labels: { code: '503' }, ts, value: bad });
    }
  }
  // The web tier: web-1 reports to the end, web-2 went quiet 20 minutes ago.
  for (const [host, until] of [
    ['web-1', AT],
    ['web-2', AT - 20 * MIN],
  ] as const) {
    for (let ts = AT - 2 * HOUR; ts < until; ts += 10 * SEC)
      rows.push({ name: 'agent_up', tier: 'web', host, service: '', labels: {}, ts, value: 1 });
  }
  return rows;
}

beforeAll(async () => {
  ({ store } = await openTestStore());
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
  await writeSamples(store, traffic());
  alerter = new Alerter({
    store,
    logger: silentLogger(),
    registry: new Registry(),
    slos: SLOS,
    rules: ruleEvaluator(store, RULES, silentLogger())!,
    intervalMs: 15_000,
  });
  // The alerter's own evaluations (and writes) every 10 minutes over the charted 6 hours.
  for (let at = AT - 6 * HOUR; at <= AT; at += 10 * MIN) await alerter.evaluate(at);
  const [count] = await store.query<{ n: string }>(
    sql`SELECT count() AS n FROM ${ident(store.table('sloEvaluations'))}`,
  );
  evaluationRows = Number(count!.n);
}, 120_000);

afterAll(async () => {
  await Promise.all(silenceStores.map((s) => s.close()));
  await nc?.close();
  await nats?.stop();
  await store?.close();
});

const tokens = apiConfigSchema.parse({
  tokens: [
    { name: 'grafana', token: READ_TOKEN, scope: 'read' },
    { name: 'oncall', token: WRITE_TOKEN, scope: 'write' },
  ],
}).tokens;

/** The alerter's status with two alerts of our own: a label holding a script, and a pending one. */
const status = (): AlerterStatus => {
  const s = alerter.status();
  return { ...s, alerts: [...s.alerts, SCRIPT_ALERT, PENDING_ALERT] };
};

let buckets = 0;
async function setup(overrides: Partial<StatusPageDeps> = {}, withSilences = true) {
  const { logger, lines } = capturedLogger('trace');
  const silences = withSilences
    ? await SilenceStore.open({ nc, bucket: `status_page_${++buckets}`, logger })
    : undefined;
  if (silences) silenceStores.push(silences);
  const app = createStatusPage({
    status,
    slos: SLOS,
    rules: RULES,
    ...(silences ? { silences } : {}),
    tokens,
    store,
    clock: () => AT,
    logger,
    ...overrides,
  });
  const bodies: string[] = [];
  const request = async (path: string, init?: RequestInit) => {
    const res = await app.request(path, init);
    const text = await res.text();
    bodies.push(text, JSON.stringify([...res.headers.entries()]));
    return { status: res.status, headers: res.headers, text };
  };
  const post = (fields: Record<string, string>) =>
    request('/status/silence', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  return { app, request, post, silences, lines, bodies };
}

/** The <tr> of an SLO instance. */
function sloRow(html: string, name: string, instance = ''): string {
  const start = html.indexOf(`<tr data-slo="${name}" data-instance="${instance}">`);
  expect(start, `row of ${name} ${instance}`).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</tr>', start));
}

function alertRow(html: string, fingerprint: string): string {
  const start = html.indexOf(`data-fingerprint="${fingerprint}"`);
  expect(start, `row of alert ${fingerprint}`).toBeGreaterThanOrEqual(0);
  return html.slice(html.lastIndexOf('<tr', start), html.indexOf('</tr>', start));
}

const checkoutPage = () =>
  alerter.status().alerts.find((a) => a.labels['alertname'] === 'checkout')!;

describe('the page', () => {
  it('the alerter wrote its evaluations over 6 hours, and checkout pages', () => {
    // 37 evaluations × (4 SLO instances) × 8 windows.
    expect(evaluationRows).toBe(37 * 4 * 8);
    expect(checkoutPage().labels).toMatchObject({ burn_tier: 'page-fast', severity: 'page' });
    expect(checkoutPage().state).toBe('firing');
  });

  it('refreshes itself, says when it was evaluated and that this alerter leads', async () => {
    const { request } = await setup();
    const res = await request('/status');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/u);
    expect(res.headers.get('Content-Security-Policy')).toContain("default-src 'none'");
    expect(res.text).toContain('<meta http-equiv="refresh" content="15">');
    expect(res.text).toContain('<h1>Halo status</h1>');
    expect(res.text).toContain(`evaluated at <time datetime="${new Date(AT).toISOString()}">`);
    expect(res.text).toContain('this alerter leads');
    expect(res.text).not.toContain('Nothing has been evaluated yet');
    expect(res.text).toContain('<a href="/api/v1/slos">');
    expect(res.text).toContain('<a href="/api/v1/alerts">');
    expect(res.text).toContain('<a href="/metrics">');
  });

  it('has a row per SLO instance with its SLI, budget, burn rates, tier states and a chart', async () => {
    const { request } = await setup();
    const html = (await request('/status')).text;
    const checkout = sloRow(html, 'checkout');
    expect(checkout).toContain('Checkout requests succeed');
    expect(checkout).toContain('99.9%');
    expect(checkout).toContain('30d rolling');
    expect(checkout).toContain('99.935%');
    expect(checkout).toContain('35.9%');
    for (const [window, burn] of [
      ['5m', '100×'],
      ['30m', '33.3×'],
      ['1h', '16.7×'],
      ['6h', '2.8×'],
      ['1d', '0.69×'],
    ])
      expect(checkout).toContain(`<li>${window} <b>${burn}</b></li>`);
    expect(checkout).toMatch(/<span class="chip firing"[^>]*>page-fast: firing<\/span>/u);
    expect(checkout).toMatch(/<span class="chip inactive"[^>]*>page-slow: inactive<\/span>/u);
    expect(checkout).toMatch(/<svg class="spark"[^>]*>.*<path d="M[^"]+L[^"]+"/su);
    expect(checkout).toContain('now 16.7×');

    const search = sloRow(html, 'search');
    expect(search).toContain('100%');
    expect(search).toContain('100.0%');
    expect(search).toContain('<li>1h <b>0×</b></li>');
    expect(search).not.toContain('chip firing');
    expect(search).toMatch(/<path d="M/u);
    // A group_by SLO: one row per instance.
    expect(sloRow(html, 'api', 'h1')).toContain('host=h1');
    expect(sloRow(html, 'api', 'h2')).toContain('host=h2');
  });

  it('lists firing alerts first and pending ones greyed, every string escaped', async () => {
    const { request } = await setup();
    const html = (await request('/status')).text;
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<b>summary');
    const row = alertRow(html, SCRIPT_ALERT.fingerprint);
    expect(row).toContain('<tr class="firing"');
    expect(row).toContain('host="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"');
    expect(row).toContain('&quot;quoted&quot; &lt;b&gt;summary&lt;/b&gt;');
    expect(row).toContain('not muted');
    expect(row).toContain(`href="/status/alerts/${SCRIPT_ALERT.fingerprint}"`);
    expect(alertRow(html, PENDING_ALERT.fingerprint)).toContain('<tr class="pending"');
    expect(alertRow(html, checkoutPage().fingerprint)).toContain('slo="checkout"');
    const order = [checkoutPage(), SCRIPT_ALERT, PENDING_ALERT].map((a) =>
      html.indexOf(`data-fingerprint="${a.fingerprint}"`),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('shows the web tier with one of two members healthy', async () => {
    const { request } = await setup();
    const html = (await request('/status')).text;
    const group = (tier: string) => {
      const start = html.indexOf(`<tr data-rule="web-thin" data-group="tier=${tier}">`);
      expect(start, `tier ${tier}`).toBeGreaterThanOrEqual(0);
      return html.slice(start, html.indexOf('</tr>', start));
    };
    expect(group('web')).toContain('<b>1 / 2</b>');
    expect(group('web')).toContain('2 seen');
    expect(group('web')).toContain('<span class="chip degraded">degraded</span>');
    // The application hosts (they send the request counters) are all there.
    expect(group('app')).toContain('<b>3 / 2</b>');
    expect(group('app')).toContain('<span class="chip ok">ok</span>');
    expect(html).not.toContain('data-rule="host-silent"');
  });

  it('says why there is no Silence button without a silence store', async () => {
    const { request, post } = await setup({}, false);
    const html = (await request('/status')).text;
    expect(html).toContain('No Silence button: this alerter runs without a silence store');
    expect(html).not.toContain('Silence…');
    const res = await post({
      fingerprint: SCRIPT_ALERT.fingerprint,
      duration: '1h',
      comment: 'x',
      token: WRITE_TOKEN,
    });
    expect(res.status).toBe(503);
  });

  it('has a banner when nothing was evaluated yet', async () => {
    const { request } = await setup({
      status: () => ({ leading: false, lastEvaluation: undefined, evaluations: [], alerts: [] }),
    });
    const html = (await request('/status')).text;
    expect(html).toContain('Nothing has been evaluated yet');
    expect(html).toContain('standing by');
    expect(html).toContain('No alert is firing or pending.');
    // The charts come from the store whatever this replica evaluated.
    expect(sloRow(html, 'checkout')).toContain('no evaluation yet');
    expect(sloRow(html, 'checkout')).toMatch(/<path d="M/u);
  });
});

describe('silencing an alert', () => {
  const form = (token?: string, extra: Record<string, string> = {}) => ({
    fingerprint: checkoutPage().fingerprint,
    duration: '4h',
    comment: 'fixing the payment provider <b>now</b>',
    author: '',
    ...(token !== undefined ? { token } : {}),
    ...extra,
  });

  it('offers a form that does not refresh, with a password field for the token', async () => {
    const { request } = await setup();
    const res = await request(`/status/alerts/${SCRIPT_ALERT.fingerprint}`);
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('http-equiv="refresh"');
    expect(res.text).toContain('<form class="silence" method="post" action="/status/silence"');
    expect(res.text).toContain('<input id="token" name="token" type="password" required>');
    expect(res.text).not.toContain('<script');
    expect((await request('/status/alerts/123')).status).toBe(404);
  });

  it('refuses without a token, with a wrong one, with a read token, and with a bad form', async () => {
    const { post, silences, lines, bodies } = await setup();
    const none = await post(form());
    expect(none.status).toBe(401);
    expect(none.text).toContain('Enter an API token of scope write');
    const wrong = await post(form(`${WRITE_TOKEN}x`));
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('That API token is not valid');
    const read = await post(form(READ_TOKEN));
    expect(read.status).toBe(403);
    expect(read.text).toContain('The token of grafana may only read');
    const duration = await post(form(WRITE_TOKEN, { duration: '99y' }));
    expect(duration.status).toBe(400);
    expect(duration.text).toContain('duration: expected one of 1h, 4h, 24h (got &quot;99y&quot;)');
    const empty = await post(form(WRITE_TOKEN, { comment: '  ' }));
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('comment: say why you silence this alert');
    const long = await post(form(WRITE_TOKEN, { comment: 'x'.repeat(1001) }));
    expect(long.status).toBe(400);
    expect(long.text).toContain('comment: at most 1000 characters (got 1001)');
    const gone = await post({ ...form(WRITE_TOKEN), fingerprint: '42' });
    expect(gone.status).toBe(404);
    // The refused form comes back with what was typed, escaped, and an empty token field.
    expect(duration.text).toContain('fixing the payment provider &lt;b&gt;now&lt;/b&gt;');
    expect(duration.text).toContain('<input id="token" name="token" type="password" required>');
    expect(silences!.list({ at: AT })).toEqual([]);
    for (const text of [...bodies, ...lines]) {
      expect(text).not.toContain(WRITE_TOKEN);
      expect(text).not.toContain(READ_TOKEN);
    }
    expect(lines.join('')).toContain('"reason":"read-only token"');
  });

  it('with a write token creates the silence, redirects, and the alert shows as silenced', async () => {
    const { request, post, silences, lines, bodies } = await setup();
    const alert = checkoutPage();
    const res = await post(form(WRITE_TOKEN));
    expect(res.status).toBe(303);
    const location = res.headers.get('Location')!;
    expect(location).toMatch(/^\/status\?silenced=[0-9a-f-]{36}$/u);
    const id = location.slice('/status?silenced='.length);

    const [silence] = silences!.list({ at: AT });
    expect(silence).toMatchObject({
      id,
      state: 'active',
      startsAt: AT,
      endsAt: AT + 4 * HOUR,
      createdBy: 'oncall',
      comment: 'fixing the payment provider <b>now</b>',
    });
    expect(silence!.matchers).toEqual(
      Object.entries(alert.labels)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([label, value]) => ({ label, op: '=', value })),
    );
    expect(silence!.matchers.map((m) => m.label)).toEqual([
      'alertname',
      'burn_tier',
      'service',
      'severity',
      'slo',
    ]);
    expect(silences!.silencedBy(alert.labels, AT)).toEqual([id]);

    const page = await request(location);
    expect(page.text).toContain(`Silence ${id} created by oncall`);
    const row = alertRow(page.text, alert.fingerprint);
    expect(row).toContain('<tr class="firing silenced"');
    expect(row).toContain(`silenced</span> by <code>${id}</code> (oncall)`);
    expect(alertRow(page.text, SCRIPT_ALERT.fingerprint)).toContain('not muted');

    // The author, when given, is the silence's creator.
    const second = await post(
      form(WRITE_TOKEN, { fingerprint: SCRIPT_ALERT.fingerprint, author: 'alice', duration: '1h' }),
    );
    expect(second.status).toBe(303);
    const made = silences!.list({ at: AT }).find((s) => s.createdBy === 'alice')!;
    expect(made.matchers).toContainEqual({ label: 'host', op: '=', value: SCRIPT });
    expect(made.endsAt).toBe(AT + HOUR);

    expect(lines.join('')).toContain('silence created from the status page');
    for (const text of [...bodies, ...lines]) {
      expect(text).not.toContain(WRITE_TOKEN);
      expect(text).not.toContain(READ_TOKEN);
    }
  });
});

describe('the pieces', () => {
  const spark = (points: ReadonlyArray<readonly [number, number]>) =>
    sparklineSvg(
      points.map(([at, value]) => ({ at: at * MIN, value })),
      { from: 0, to: 60 * MIN, title: 'Burn <rate>', marks: [1, 14.4], maxGapMs: 15 * MIN },
    );

  it.each([
    [
      'a continuous series is one line',
      [
        [0, 0],
        [10, 1],
        [20, 2],
      ],
      'M2 38L',
      1,
    ],
    [
      'a gap longer than maxGapMs starts a new line',
      [
        [0, 0],
        [10, 1],
        [40, 2],
      ],
      'M',
      2,
    ],
  ] as const)('%s', (_, points, start, moves) => {
    const svg = spark(points);
    const d = /<path d="([^"]+)"/u.exec(svg)![1]!;
    expect(d.startsWith(start)).toBe(true);
    expect(d.split('M').length - 1).toBe(moves);
    expect(svg).toContain('aria-label="Burn &lt;rate&gt;: from 0× to 2.0×, now 2.0×"');
  });

  it('a chart without points says "no data" and draws no line', () => {
    const svg = spark([]);
    expect(svg).toContain('>no data</text>');
    expect(svg).not.toContain('<path');
  });

  it('a budget bar is empty when the budget is overspent, and full at most', () => {
    expect(budgetBarSvg(-0.5)).toContain('<rect width="0" height="8" fill="#c62828"/>');
    expect(budgetBarSvg(3)).toContain('<rect width="80" height="8" fill="#2e7d32"/>');
  });

  it.each([
    [
      'a whitelisted duration and a comment pass',
      { duration: '24h', comment: 'why', author: '' },
      { durationMs: 24 * HOUR },
    ],
    [
      'every problem of the form is named',
      { duration: '2h', comment: '', author: 'a'.repeat(257) },
      {
        problems: [
          'duration: expected one of 1h, 4h, 24h (got "2h")',
          'comment: say why you silence this alert',
          'author: at most 256 characters (got 257)',
        ],
      },
    ],
  ])('%s', (_, form, expected) => {
    expect(checkSilenceForm(form)).toEqual(expected);
  });
});
