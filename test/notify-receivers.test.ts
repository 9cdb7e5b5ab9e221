// Receivers at real local HTTP servers: PagerDuty Events v2, Slack Block Kit and its pace, the
// Alertmanager webhook v4 payload signed with Standard Webhooks, retries and give-up on an
// injected clock, and no routing key, webhook URL or signing secret in any log, error or result.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../core/config/load.ts';
import { extendConfigSchema } from '../core/config/schema.ts';
import { createLogger } from '../core/logger.ts';
import { receiversSchema, receiversShape } from '../alerter/receivers/config.ts';
import {
  backoffMs,
  DEFAULT_DELIVERY,
  parseRetryAfter,
  type DeliverySettings,
} from '../alerter/receivers/deliver.ts';
import { createReceiverMetrics } from '../alerter/receivers/metrics.ts';
import { buildNotification } from '../alerter/receivers/notification.ts';
import { createReceivers } from '../alerter/receivers/receiver.ts';
import type { Notification, NotificationAlert } from '../alerter/receivers/types.ts';
import { standardWebhookHeaders, signingKey } from '../alerter/receivers/webhook.ts';
import { freePort } from './helpers/ports.ts';
import { startReceiverServer, type ReceiverServer } from './helpers/receiver-server.ts';
import { tempDir } from './helpers/temp.ts';

const ROUTING_KEY = 'R0utingKey0123456789abcdefSECRET';
const SLACK_PATH = '/services/T0001/B0002/slackT0kenS3cret';
const HOOK_PATH = '/alerts/in?token=hookT0kenS3cret';
const SIGNING_KEY = `whsec_${Buffer.from('signing-key-of-32-bytes-exactly!').toString('base64')}`;

const T0 = Date.parse('2025-03-01T12:00:00Z');

const servers: ReceiverServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function server(port?: number): Promise<ReceiverServer> {
  const s = await startReceiverServer(port);
  servers.push(s);
  return s;
}

function fakeTime(start = T0) {
  const time = {
    now: start,
    sleeps: [] as number[],
    clock: () => time.now,
    sleep: (ms: number) => {
      time.sleeps.push(ms);
      time.now += ms;
      return Promise.resolve();
    },
  };
  return time;
}

function setup(
  receivers: unknown,
  options: { delivery?: Partial<DeliverySettings>; real?: boolean; random?: () => number } = {},
) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const registry = new Registry();
  const time = fakeTime();
  const built = createReceivers(receiversSchema.parse(receivers), {
    logger: createLogger({ level: 'trace', destination }),
    metrics: createReceiverMetrics(registry),
    delivery: { ...DEFAULT_DELIVERY, ...options.delivery },
    random: options.random ?? (() => 0.5),
    // Through wrappers, so that a test may swap time.sleep.
    ...(options.real ? {} : { clock: () => time.clock(), sleep: (ms: number) => time.sleep(ms) }),
  });
  return {
    receiver: (name: string) => built.get(name)!,
    logs: () => lines.join(''),
    registry,
    time,
  };
}

const sloAlert = (over: Partial<NotificationAlert> = {}): NotificationAlert => ({
  status: 'firing',
  labels: {
    alertname: 'checkout-availability',
    slo: 'checkout-availability',
    service: 'checkout',
    severity: 'page',
    burn_tier: 'page-fast',
    tier: 'web',
  },
  annotations: {
    summary: 'checkout-availability: error budget burning at 15.2× over 1h and 16.0× over 5m',
    description: 'Objective 99.9%. Error ratio 1.52% over 1h; 71.20% of the budget left.',
    runbook: 'https://runbooks.example/checkout',
    dashboard: 'https://grafana.example/d/slo?var-slo=checkout-availability',
  },
  startsAt: '2025-03-01T11:58:00.000Z',
  fingerprint: '9183746501234',
  generatorURL: 'http://halo.example:8750/api/v1/slos',
  ...over,
});

function notification(alerts: NotificationAlert[], receiver = 'ops'): Notification {
  return buildNotification({
    receiver,
    groupKey: '{}:{alertname="checkout-availability"}',
    groupLabels: { alertname: 'checkout-availability' },
    alerts,
    externalURL: 'http://halo.example:8750',
  });
}

const firing = () => notification([sloAlert()]);
const resolved = () =>
  notification([sloAlert({ status: 'resolved', endsAt: '2025-03-01T12:20:00.000Z' })]);

const json = (body: string) => JSON.parse(body) as Record<string, unknown>;

/** An independent Standard Webhooks verifier: the receiving side, written from the spec. */
function verifySignature(headers: IncomingHttpHeaders, body: string, secret: string): boolean {
  const id = String(headers['webhook-id']);
  const timestamp = String(headers['webhook-timestamp']);
  const key = secret.startsWith('whsec_')
    ? Buffer.from(secret.slice(6), 'base64')
    : Buffer.from(secret, 'utf8');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return String(headers['webhook-signature'])
    .split(' ')
    .some((entry) => {
      const [version, signature] = entry.split(',');
      const given = Buffer.from(signature ?? '', 'base64');
      return (
        version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected)
      );
    });
}

describe('receiver config', () => {
  it('fills the defaults and prints every key, URL and signing secret as <secret>', () => {
    const [ops] = receiversSchema.parse([
      {
        name: 'ops',
        pagerduty_configs: [{ routing_key: ROUTING_KEY, severity: { info: 'info' } }],
        slack_configs: [{ webhook_url: `https://hooks.slack.com${SLACK_PATH}` }],
        webhook_configs: [{ url: `https://hooks.example${HOOK_PATH}`, secret: SIGNING_KEY }],
      },
    ]);
    expect(ops?.pagerduty_configs[0]).toMatchObject({
      url: 'https://events.pagerduty.com/v2/enqueue',
      severity: { page: 'critical', ticket: 'warning', info: 'info' },
      client: 'Halo',
      send_resolved: true,
    });
    expect(ops?.webhook_configs[0]).toMatchObject({ max_alerts: 0, send_resolved: true });
    const printed = JSON.stringify(ops) + String(ops?.slack_configs[0]?.webhook_url);
    expect(printed).not.toMatch(/SECRET|S3cret|whsec_/);
    expect(printed.match(/<secret>/g)).toHaveLength(5);
  });

  it('a bad secret URL is refused without the URL appearing in the error', () => {
    const dir = tempDir();
    const file = join(dir, 'halo.yaml');
    writeFileSync(
      file,
      [
        'notify:',
        '  receivers:',
        '    - name: ops',
        '      slack_configs:',
        `        - webhook_url: hooks.slack.com${SLACK_PATH}`,
        '      webhook_configs:',
        `        - url: "https://user:pw@hooks.example${HOOK_PATH}"`,
        `          secret: "whsec_not base64 ${SIGNING_KEY}"`,
        '      pagerduty_configs:',
        '        - url: https://events.example/v2/enqueue',
      ].join('\n'),
    );
    const schema = extendConfigSchema({ notify: z.strictObject(receiversShape).prefault({}) });
    let message = '';
    try {
      loadConfig({ schema, path: file });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('webhook_url: expected an http:// or https:// URL');
    expect(message).toContain('url: expected a URL without user or password');
    expect(message).toContain('secret: expected base64 after whsec_');
    expect(message).toContain('expected a PagerDuty Events API v2 routing (integration) key');
    expect(message).not.toMatch(/S3cret|hooks\.example|user:pw|signing-key/);
  });

  it('two receivers of one name are refused', () => {
    const result = receiversSchema.safeParse([{ name: 'ops' }, { name: 'ops' }]);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({
      path: [1, 'name'],
      message: 'expected a receiver name not used before',
    });
  });
});

describe('PagerDuty Events v2', () => {
  it('a trigger then a resolve of one group share its dedup_key; every field as the spec has it', async () => {
    const pd = await server();
    pd.script({ status: 202, body: '{"status":"success","message":"Event processed"}' });
    const { receiver } = setup([
      {
        name: 'ops',
        pagerduty_configs: [{ routing_key: ROUTING_KEY, url: pd.url('/v2/enqueue') }],
      },
    ]);
    const [sent] = await receiver('ops').notify(firing());
    expect(sent).toMatchObject({ kind: 'pagerduty', outcome: 'sent', attempts: 1, status: 202 });
    await receiver('ops').notify(resolved());

    expect(pd.requests.map((r) => [r.method, r.path])).toEqual([
      ['POST', '/v2/enqueue'],
      ['POST', '/v2/enqueue'],
    ]);
    expect(pd.requests[0]?.headers['content-type']).toBe('application/json');
    const trigger = json(pd.requests[0]!.body);
    const resolve = json(pd.requests[1]!.body);
    const dedupKey = createHash('sha256')
      .update('ops\u0000{}:{alertname="checkout-availability"}')
      .digest('hex');
    expect(trigger.dedup_key).toBe(dedupKey);
    expect(resolve).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'resolve',
      dedup_key: dedupKey,
    });
    expect(Object.keys(trigger).sort()).toEqual(
      [
        'client',
        'client_url',
        'dedup_key',
        'event_action',
        'links',
        'payload',
        'routing_key',
      ].sort(),
    );
    expect(trigger).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      client: 'Halo',
      client_url: 'http://halo.example:8750',
      links: [
        { href: 'https://grafana.example/d/slo?var-slo=checkout-availability', text: 'Dashboard' },
        { href: 'https://runbooks.example/checkout', text: 'Runbook' },
      ],
    });
    const payload = trigger.payload as Record<string, unknown>;
    expect(payload).toMatchObject({
      summary: 'checkout-availability: error budget burning at 15.2× over 1h and 16.0× over 5m',
      source: 'checkout',
      severity: 'critical',
      timestamp: '2025-03-01T11:58:00.000Z',
      component: 'checkout',
      group: 'web',
      class: 'checkout-availability',
    });
    expect(payload.custom_details).toMatchObject({
      num_firing: 1,
      num_resolved: 0,
      slo: 'checkout-availability',
      burn_tier: 'page-fast',
      description: 'Objective 99.9%. Error ratio 1.52% over 1h; 71.20% of the budget left.',
      firing: [{ labels: sloAlert().labels, annotations: sloAlert().annotations }],
      resolved: [],
    });
  });

  it('maps severity labels (page critical, ticket warning, unknown error), highest of the group', async () => {
    const pd = await server();
    const { receiver } = setup([
      { name: 'ops', pagerduty_configs: [{ routing_key: ROUTING_KEY, url: pd.url() }] },
    ]);
    const ticket = sloAlert({ labels: { ...sloAlert().labels, severity: 'ticket' } });
    const odd = sloAlert({ labels: { ...sloAlert().labels, severity: 'odd' }, fingerprint: '2' });
    await receiver('ops').notify(notification([ticket]));
    await receiver('ops').notify(notification([ticket, odd]));
    await receiver('ops').notify(notification([ticket, odd, { ...sloAlert(), fingerprint: '3' }]));
    const severities = pd.requests.map(
      (r) => (json(r.body).payload as { severity: string }).severity,
    );
    expect(severities).toEqual(['warning', 'error', 'critical']);
  });

  it('cuts a summary to 1024 characters', async () => {
    const pd = await server();
    const { receiver } = setup([
      { name: 'ops', pagerduty_configs: [{ routing_key: ROUTING_KEY, url: pd.url() }] },
    ]);
    const long = sloAlert({ annotations: { summary: 'x'.repeat(5000) } });
    await receiver('ops').notify(notification([long]));
    const summary = (json(pd.requests[0]!.body).payload as { summary: string }).summary;
    expect([...summary]).toHaveLength(1024);
    expect(summary.endsWith('…')).toBe(true);
  });
});

describe('Slack incoming webhooks', () => {
  it('posts Block Kit with a text fallback, and a resolved message that says so', async () => {
    const slack = await server();
    const { receiver } = setup([
      {
        name: 'ops',
        slack_configs: [{ webhook_url: slack.url(SLACK_PATH), channel: '#ops', username: 'halo' }],
      },
    ]);
    await receiver('ops').notify(firing());
    await receiver('ops').notify(resolved());
    const [fire, done] = slack.requests.map((r) => json(r.body));
    expect(slack.requests[0]?.path).toBe(SLACK_PATH);
    expect(fire).toMatchObject({ channel: '#ops', username: 'halo' });
    expect(fire?.text).toBe(
      '🔥 [FIRING:1] checkout-availability (page-fast checkout page web): ' +
        'checkout-availability: error budget burning at 15.2× over 1h and 16.0× over 5m',
    );
    const blocks = fire?.blocks as Array<Record<string, unknown>>;
    expect(blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(blocks[0]).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: '🔥 [FIRING:1] checkout-availability (page-fast checkout page web)',
        emoji: true,
      },
    });
    expect((blocks[1]?.text as { text: string }).text).toContain('71.20% of the budget left');
    expect(blocks[2]?.fields).toEqual([
      { type: 'mrkdwn', text: '*Severity*\npage' },
      { type: 'mrkdwn', text: '*Service*\ncheckout' },
      { type: 'mrkdwn', text: '*SLO*\ncheckout-availability' },
      { type: 'mrkdwn', text: '*Burn tier*\npage-fast' },
      { type: 'mrkdwn', text: '*Tier*\nweb' },
      { type: 'mrkdwn', text: '*Alerts*\n1 firing' },
    ]);
    expect(blocks[3]?.elements).toEqual([
      {
        type: 'mrkdwn',
        text: '<https://grafana.example/d/slo?var-slo=checkout-availability|Dashboard>',
      },
      { type: 'mrkdwn', text: '<https://runbooks.example/checkout|Runbook>' },
      { type: 'mrkdwn', text: '<http://halo.example:8750|Halo>' },
      { type: 'mrkdwn', text: 'Since 2025-03-01T11:58:00.000Z' },
    ]);
    expect(String(done?.text)).toMatch(/^✅ \[RESOLVED\] checkout-availability/);
    const doneBlocks = done?.blocks as Array<{ text?: { text: string } }>;
    expect(doneBlocks[0]?.text?.text).toMatch(/^✅ \[RESOLVED\]/);
    expect(doneBlocks[1]?.text?.text).toMatch(/^\*Resolved\.\* /);
  });

  it('lists several alerts by their own labels and escapes mrkdwn', async () => {
    const slack = await server();
    const { receiver } = setup([
      { name: 'ops', slack_configs: [{ webhook_url: slack.url(SLACK_PATH) }] },
    ]);
    const host = (h: string, status: 'firing' | 'resolved' = 'firing'): NotificationAlert => ({
      status,
      labels: { alertname: 'HostDown', host: h, tier: 'web' },
      annotations: { summary: `${h} <down> & out` },
      startsAt: '2025-03-01T11:00:00.000Z',
      fingerprint: h,
    });
    await receiver('ops').notify(notification([host('web-1'), host('web-2', 'resolved')]));
    const blocks = json(slack.requests[0]!.body).blocks as Array<{ text?: { text: string } }>;
    expect(blocks[3]?.text?.text).toBe(
      ':red_circle: `host=web-1` web-1 &lt;down&gt; &amp; out\n' +
        ':white_check_mark: `host=web-2` web-2 &lt;down&gt; &amp; out',
    );
  });

  it('sends at most one message a second per webhook, in order; another webhook is not held up', async () => {
    const slack = await server();
    const { receiver } = setup(
      [
        { name: 'ops', slack_configs: [{ webhook_url: slack.url('/services/A') }] },
        { name: 'dev', slack_configs: [{ webhook_url: slack.url('/services/B') }] },
      ],
      { real: true },
    );
    const start = Date.now();
    const alerts = ['first', 'second', 'third'].map((summary) =>
      notification([sloAlert({ fingerprint: summary, annotations: { summary } })]),
    );
    await Promise.all([
      ...alerts.map((n) => receiver('ops').notify(n)),
      receiver('dev').notify(notification([sloAlert()], 'dev')),
    ]);
    const onA = slack.requests.filter((r) => r.path === '/services/A').map((r) => r.at);
    const onB = slack.requests.filter((r) => r.path === '/services/B').map((r) => r.at);
    expect(onA).toHaveLength(3);
    expect(onA[1]! - onA[0]!).toBeGreaterThanOrEqual(950);
    expect(onA[2]! - onA[1]!).toBeGreaterThanOrEqual(950);
    expect(onA[2]! - start).toBeLessThan(3500);
    expect(onB[0]! - start).toBeLessThan(500);
    const texts = slack.requests
      .filter((r) => r.path === '/services/A')
      .map((r) => String(json(r.body).text).split(': ')[1]);
    expect(texts).toEqual(['first', 'second', 'third']);
  });
});

describe('webhooks (Alertmanager v4, Standard Webhooks signatures)', () => {
  it('posts the v4 payload, field by field', async () => {
    const hook = await server();
    const { receiver } = setup([{ name: 'ops', webhook_configs: [{ url: hook.url(HOOK_PATH) }] }]);
    const alerts = [
      sloAlert(),
      sloAlert({ status: 'resolved', fingerprint: '77', endsAt: '2025-03-01T12:01:00.000Z' }),
    ];
    delete alerts[1]!.generatorURL;
    await receiver('ops').notify(notification(alerts));
    const request = hook.requests[0]!;
    expect(request.path).toBe(HOOK_PATH);
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['user-agent']).toMatch(/^Halo\//);
    expect(request.headers['webhook-signature']).toBeUndefined();
    expect(request.headers['webhook-id']).toBeUndefined();
    expect(request.headers['webhook-timestamp']).toBeUndefined();
    const body = json(request.body);
    expect(Object.keys(body).sort()).toEqual(
      [
        'alerts',
        'commonAnnotations',
        'commonLabels',
        'externalURL',
        'groupKey',
        'groupLabels',
        'receiver',
        'status',
        'truncatedAlerts',
        'version',
      ].sort(),
    );
    expect(body).toEqual({
      version: '4',
      groupKey: '{}:{alertname="checkout-availability"}',
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'ops',
      groupLabels: { alertname: 'checkout-availability' },
      commonLabels: sloAlert().labels,
      commonAnnotations: sloAlert().annotations,
      externalURL: 'http://halo.example:8750',
      alerts: [
        {
          status: 'firing',
          labels: sloAlert().labels,
          annotations: sloAlert().annotations,
          startsAt: '2025-03-01T11:58:00.000Z',
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://halo.example:8750/api/v1/slos',
          fingerprint: '9183746501234',
        },
        {
          status: 'resolved',
          labels: sloAlert().labels,
          annotations: sloAlert().annotations,
          startsAt: '2025-03-01T11:58:00.000Z',
          endsAt: '2025-03-01T12:01:00.000Z',
          generatorURL: '',
          fingerprint: '77',
        },
      ],
    });
  });

  it('keeps max_alerts alerts and counts the rest in truncatedAlerts', async () => {
    const hook = await server();
    const { receiver } = setup([
      { name: 'ops', webhook_configs: [{ url: hook.url(HOOK_PATH), max_alerts: 2 }] },
    ]);
    const alerts = ['1', '2', '3', '4'].map((fingerprint) => sloAlert({ fingerprint }));
    await receiver('ops').notify({ ...notification(alerts), truncatedAlerts: 1 });
    const body = json(hook.requests[0]!.body) as { alerts: Array<{ fingerprint: string }> };
    expect(body.alerts.map((a) => a.fingerprint)).toEqual(['1', '2']);
    expect(json(hook.requests[0]!.body).truncatedAlerts).toBe(3);
  });

  it('signs with webhook-id, webhook-timestamp and webhook-signature; retries keep the id', async () => {
    const hook = await server();
    hook.script({ status: 503 });
    const { receiver, time } = setup([
      { name: 'ops', webhook_configs: [{ url: hook.url(HOOK_PATH), secret: SIGNING_KEY }] },
    ]);
    const [report] = await receiver('ops').notify(firing());
    expect(report).toMatchObject({ outcome: 'sent', attempts: 2 });
    const [first, second] = hook.requests;
    for (const r of [first!, second!]) {
      expect(verifySignature(r.headers, r.body, SIGNING_KEY)).toBe(true);
      expect(r.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
      expect(verifySignature(r.headers, `${r.body} `, SIGNING_KEY)).toBe(false);
    }
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(first!.headers['webhook-timestamp']).toBe(String(T0 / 1000));
    const retriedAt = Math.floor((T0 + time.sleeps[0]!) / 1000);
    expect(second!.headers['webhook-timestamp']).toBe(String(retriedAt));
  });

  it('signs with a raw (not whsec_) secret as its UTF-8 bytes, and uses a given notification id', async () => {
    const hook = await server();
    const raw = 'a plain shared secret';
    const { receiver } = setup([
      { name: 'ops', webhook_configs: [{ url: hook.url(), secret: raw }] },
    ]);
    await receiver('ops').notify({ ...firing(), id: 'nflog-42' });
    const r = hook.requests[0]!;
    expect(r.headers['webhook-id']).toBe('nflog-42');
    expect(verifySignature(r.headers, r.body, raw)).toBe(true);
  });

  it('reproduces the Standard Webhooks reference signature', () => {
    const headers = standardWebhookHeaders(
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      '{"test": 2432232314}',
      signingKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
    );
    expect(headers['webhook-signature']).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});

describe('console', () => {
  const consoleReceivers = (configs: unknown[]) => {
    const written: string[] = [];
    const built = createReceivers(
      receiversSchema.parse([{ name: 'console', console_configs: configs }]),
      { logger: createLogger({ level: 'silent' }), consoleWrite: (t) => written.push(t) },
    );
    return { receiver: built.get('console')!, written };
  };

  it('writes a firing and a resolved notification as text: title, summary, labels, links', async () => {
    const { receiver, written } = consoleReceivers([{}]);
    expect(await receiver.notify(firing())).toEqual([
      { kind: 'console', target: 'console #1 of receiver console', outcome: 'sent', attempts: 1 },
    ]);
    await receiver.notify(resolved());
    expect(written).toHaveLength(2);
    const [fired, done] = written;
    expect(fired).toMatch(/^\[FIRING:1\] checkout-availability .*→ ops\n/);
    expect(fired).toContain('  checkout-availability: error budget burning at 15.2×');
    expect(fired).toContain('burn_tier="page-fast"');
    expect(fired).toContain('  - firing since 2025-03-01T11:58:00.000Z');
    expect(fired).toContain('  Runbook: https://runbooks.example/checkout');
    expect(done).toMatch(/^\[RESOLVED\] checkout-availability/);
    expect(done).toContain('  - resolved at 2025-03-01T12:20:00.000Z');
  });

  it('writes one JSON line in json format, and leaves resolved out when send_resolved is off', async () => {
    const { receiver, written } = consoleReceivers([{ format: 'json', send_resolved: false }]);
    await receiver.notify(firing());
    const [skipped] = await receiver.notify(resolved());
    expect(skipped?.outcome).toBe('skipped');
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/\n$/);
    const line = JSON.parse(written[0]!) as Notification & { firing: number };
    expect(line.status).toBe('firing');
    expect(line.firing).toBe(1);
    expect(line.alerts[0]?.labels['slo']).toBe('checkout-availability');
  });

  it('a format it does not know is refused by name', () => {
    expect(() =>
      receiversSchema.parse([{ name: 'c', console_configs: [{ format: 'yaml' }] }]),
    ).toThrow(/expected text or json/);
  });
});

describe('delivery: retries, Retry-After, give-up', () => {
  const hookReceiver = (url: string) => [{ name: 'ops', webhook_configs: [{ url }] }];

  it('retries a 500 after a jittered backoff, then is sent', async () => {
    const hook = await server();
    hook.script({ status: 500, body: 'boom' }, { status: 502 });
    const { receiver, time, logs } = setup(hookReceiver(hook.url()), { random: () => 0.25 });
    const [report] = await receiver('ops').notify(firing());
    expect(report).toMatchObject({ outcome: 'sent', attempts: 3, status: 200 });
    // Full jitter: random × min(max_backoff, 1s × 2^(retry−1)).
    expect(time.sleeps).toEqual([250, 500]);
    expect(hook.requests).toHaveLength(3);
    expect(logs()).toContain(
      'notification attempt failed, retrying: webhook #1 of receiver ops: HTTP 500: boom',
    );
  });

  it('waits as long as Retry-After says, in seconds or as an HTTP date', async () => {
    const hook = await server();
    const { receiver, time } = setup(hookReceiver(hook.url()));
    hook.script(
      { status: 429, headers: { 'retry-after': '7' } },
      { status: 503, headers: { 'retry-after': new Date(T0 + 7000 + 30_000).toUTCString() } },
    );
    const [report] = await receiver('ops').notify(firing());
    expect(report).toMatchObject({ outcome: 'sent', attempts: 3 });
    expect(time.sleeps).toEqual([7000, 30_000]);
  });

  it('does not retry a 400: the outcome is failed with the status', async () => {
    const hook = await server();
    hook.script({ status: 400, body: '{"message":"Event object is invalid"}' });
    const { receiver, time } = setup(hookReceiver(hook.url()));
    const [report] = await receiver('ops').notify(firing());
    expect(report).toEqual({
      kind: 'webhook',
      target: 'webhook #1 of receiver ops',
      outcome: 'failed',
      attempts: 1,
      status: 400,
      error: 'webhook #1 of receiver ops: HTTP 400: {"message":"Event object is invalid"}',
    });
    expect(time.sleeps).toEqual([]);
  });

  it('does not follow a redirect, which would carry the body elsewhere', async () => {
    const hook = await server();
    hook.script({ status: 307, headers: { location: hook.url('/elsewhere') } });
    const { receiver } = setup(hookReceiver(hook.url(HOOK_PATH)));
    const [report] = await receiver('ops').notify(firing());
    expect(report).toMatchObject({ outcome: 'failed', attempts: 1, status: 307 });
    expect(hook.requests.map((r) => r.path)).toEqual([HOOK_PATH]);
  });

  it('gives up once the next retry would start after give_up_after', async () => {
    const hook = await server();
    hook.script(...Array.from({ length: 40 }, () => ({ status: 503 })));
    const { receiver, time, registry } = setup(hookReceiver(hook.url()), { random: () => 0.999 });
    const [report] = await receiver('ops').notify(firing());
    // Waits ~1s, 2s, 4s … 32s, then 60s (max_backoff): 14 of them fit in 10m, a 15th would not.
    expect(time.sleeps).toHaveLength(14);
    expect(time.sleeps.slice(0, 7)).toEqual([999, 1998, 3996, 7992, 15984, 31968, 59940]);
    const slept = time.sleeps.reduce((a, b) => a + b, 0);
    expect(slept).toBeLessThanOrEqual(600_000);
    expect(slept + 59_940).toBeGreaterThan(600_000);
    expect(report).toMatchObject({ outcome: 'gave_up', attempts: 15, status: 503 });
    expect(report?.error).toBe(
      'webhook #1 of receiver ops: gave up after 15 attempts (give_up_after 10m): HTTP 503',
    );
    expect(hook.requests).toHaveLength(15);
    const counted = await registry.getSingleMetricAsString('halo_notifications_total');
    expect(counted).toContain(
      'halo_notifications_total{receiver="ops",integration="webhook",outcome="gave_up"} 1',
    );
  });

  it('retries a refused connection until the receiver is up', async () => {
    const port = await freePort();
    const { receiver, time } = setup(hookReceiver(`http://127.0.0.1:${port}${HOOK_PATH}`));
    const sleep = time.sleep;
    let up: Promise<ReceiverServer> | undefined;
    time.sleep = async (ms: number) => {
      await sleep(ms);
      if (time.sleeps.length === 2) up = server(port);
      await up;
    };
    const [report] = await receiver('ops').notify(firing());
    expect(report).toMatchObject({ outcome: 'sent', attempts: 3, status: 200 });
    expect((await up)?.requests).toHaveLength(1);
  });

  it('retries a request that times out', async () => {
    const hook = await server();
    hook.script({ status: 200, delayMs: 2000 });
    const { receiver, logs } = setup(hookReceiver(hook.url()), { delivery: { timeoutMs: 200 } });
    const [report] = await receiver('ops').notify(firing());
    expect(report).toMatchObject({ outcome: 'sent', attempts: 2 });
    expect(logs()).toContain('webhook #1 of receiver ops: timed out after 200ms');
  });

  it('reads Retry-After and computes the backoff as the tables say', () => {
    const cases: Array<[string, string | null, number | undefined]> = [
      ['delay-seconds', '120', 120_000],
      ['an HTTP date in the future', new Date(T0 + 5000).toUTCString(), 5000],
      ['an HTTP date in the past waits nothing', new Date(T0 - 5000).toUTCString(), 0],
      ['garbage is ignored', 'soon', undefined],
      ['absent', null, undefined],
    ];
    for (const [, header, expected] of cases) expect(parseRetryAfter(header, T0)).toBe(expected);
    const settings = { ...DEFAULT_DELIVERY, initialBackoffMs: 100, maxBackoffMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, settings, () => 0.5))).toEqual([
      50, 100, 200, 400, 500, 500,
    ]);
  });
});

describe('send_resolved and metrics', () => {
  it('skips a resolved notification where send_resolved is off, and sends only firing alerts', async () => {
    const hook = await server();
    const { receiver, registry } = setup([
      { name: 'ops', webhook_configs: [{ url: hook.url(), send_resolved: false }] },
    ]);
    const [skipped] = await receiver('ops').notify(resolved());
    expect(skipped).toMatchObject({ outcome: 'skipped', attempts: 0 });
    expect(hook.requests).toHaveLength(0);
    const mixed = notification([
      sloAlert(),
      sloAlert({ status: 'resolved', fingerprint: '2', endsAt: '2025-03-01T12:01:00.000Z' }),
    ]);
    await receiver('ops').notify(mixed);
    const body = json(hook.requests[0]!.body) as { alerts: Array<{ fingerprint: string }> };
    expect(body.alerts.map((a) => a.fingerprint)).toEqual(['9183746501234']);
    const requests = await registry.getSingleMetricAsString('halo_notification_requests_total');
    expect(requests).toContain('{receiver="ops",integration="webhook",code="200"} 1');
    const outcomes = await registry.getSingleMetricAsString('halo_notifications_total');
    expect(outcomes).toContain('{receiver="ops",integration="webhook",outcome="skipped"} 1');
    expect(outcomes).toContain('{receiver="ops",integration="webhook",outcome="sent"} 1');
  });
});

describe('secrets stay out of logs, errors and results', () => {
  it('for every receiver: a refusing server that echoes them, and a closed port', async () => {
    const echo = await server();
    const closed = await freePort();
    const secrets = [
      ROUTING_KEY,
      SLACK_PATH,
      'slackT0kenS3cret',
      HOOK_PATH,
      'hookT0kenS3cret',
      SIGNING_KEY,
    ];
    echo.script(...Array.from({ length: 3 }, () => ({ status: 400, echo: true })));
    const receivers = (base: (path: string) => string) => [
      {
        name: 'ops',
        pagerduty_configs: [{ routing_key: ROUTING_KEY, url: base('/v2/enqueue') }],
        slack_configs: [{ webhook_url: base(SLACK_PATH) }],
        webhook_configs: [{ url: base(HOOK_PATH), secret: SIGNING_KEY }],
      },
    ];
    const refused = setup(receivers((p) => echo.url(p)));
    const closedUrl = (p: string) => `http://127.0.0.1:${closed}${p}`;
    const down = setup(receivers(closedUrl), { delivery: { giveUpAfterMs: 5000 } });
    const reports = [
      ...(await refused.receiver('ops').notify(firing())),
      ...(await down.receiver('ops').notify(firing())),
    ];
    expect(reports.map((r) => [r.kind, r.outcome])).toEqual([
      ['pagerduty', 'failed'],
      ['slack', 'failed'],
      ['webhook', 'failed'],
      ['pagerduty', 'gave_up'],
      ['slack', 'gave_up'],
      ['webhook', 'gave_up'],
    ]);
    expect(reports[3]?.error).toMatch(
      /^pagerduty #1 of receiver ops: gave up after \d+ attempts .*: connection refused \(ECONNREFUSED\)$/,
    );
    expect(reports[0]?.error).toMatch(
      /^pagerduty #1 of receiver ops: HTTP 400: got POST \/v2\/enqueue: \{"routing_key":"<secret>"/,
    );
    expect(reports[1]?.error).toMatch(
      /^slack webhook #1 of receiver ops: HTTP 400: got POST <secret>: \{/,
    );
    expect(reports[2]?.error).toMatch(
      /^webhook #1 of receiver ops: HTTP 400: got POST <secret>: \{/,
    );
    const everything = [JSON.stringify(reports), refused.logs(), down.logs()].join('\n');
    expect(refused.logs()).toContain('notification failed, not retried');
    expect(down.logs()).toContain('notification given up');
    for (const secret of [
      ...secrets,
      `127.0.0.1:${echo.url().split(':')[2]}`,
      `127.0.0.1:${closed}`,
    ]) {
      expect(everything).not.toContain(secret.replace(/\/$/, ''));
    }
  });
});
