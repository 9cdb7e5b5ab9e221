// The Alertmanager-v2-compatible notify API on a real SilenceStore and nats-server: bearer tokens
// with read and write scopes, silences created, listed and expired, alerts with silencedBy and
// inhibitedBy, postable alerts validated, and no token ever in a response or a log line.

import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiConfigSchema,
  createNotifyApi,
  type BookAlert,
  type ExternalAlert,
  type NotifyApiDeps,
} from '../alerter/api-v2/index.ts';
import { SilenceStore } from '../alerter/silence/index.ts';
import { silentLogger } from '../core/logger.ts';
import { capturedLogger } from './helpers/captured-logger.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const HOUR = 3_600_000;
const READ_TOKEN = 'read-token-5f1c9a7e-never-shown';
const WRITE_TOKEN = 'write-token-8d2b6c4f-never-shown';

let nats: TestNats;
let nc: NatsConnection;
const stores: SilenceStore[] = [];
let buckets = 0;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await nc?.close();
  await nats?.stop();
});

/** Every test its own bucket, so that no silence leaks into the next. */
async function newStore(): Promise<SilenceStore> {
  const store = await SilenceStore.open({
    nc,
    bucket: `notify_api_test_${++buckets}`,
    logger: silentLogger(),
  });
  stores.push(store);
  return store;
}

/** Log lines captured as text, to check that no token reaches them. */
const capturedDebugLogger = () => capturedLogger('debug');

const tokens = apiConfigSchema.parse({
  tokens: [
    { name: 'grafana', token: READ_TOKEN, scope: 'read' },
    { name: 'oncall', token: WRITE_TOKEN, scope: 'write' },
  ],
}).tokens;

const webAlert: BookAlert = {
  fingerprint: '1111',
  labels: { alertname: 'HighErrorRate', service: 'web' },
  annotations: { summary: 'web is failing' },
  state: 'firing',
  activeSince: T0 - 10 * 60_000,
  firedAt: T0 - 5 * 60_000,
};
const dbAlert: BookAlert = {
  fingerprint: '2222',
  labels: { alertname: 'ReplicaLag', service: 'db' },
  annotations: {},
  state: 'firing',
  activeSince: T0 - 60_000,
  firedAt: T0 - 60_000,
};
const apiAlert: BookAlert = {
  fingerprint: '3333',
  labels: { alertname: 'SlowRequests', service: 'api' },
  annotations: {},
  state: 'firing',
  activeSince: T0 - 60_000,
  firedAt: T0 - 60_000,
};
const pendingAlert: BookAlert = {
  fingerprint: '4444',
  labels: { alertname: 'Pending', service: 'web' },
  annotations: {},
  state: 'pending',
  activeSince: T0,
};

async function setup(overrides: Partial<NotifyApiDeps> = {}) {
  const received: ExternalAlert[][] = [];
  const { logger, lines } = capturedDebugLogger();
  const silences = await newStore();
  const app = createNotifyApi({
    tokens,
    silences,
    alerts: () => [webAlert, dbAlert, apiAlert, pendingAlert],
    inhibitedBy: (labels) => (labels['service'] === 'db' ? 'db-cluster-down' : undefined),
    receive: (alerts) => received.push(alerts),
    clock: () => T0,
    logger,
    ...overrides,
  });
  const responses: string[] = [];
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await app.request(path, init);
    const text = await res.text();
    responses.push(text, JSON.stringify([...res.headers.entries()]));
    return {
      status: res.status,
      headers: res.headers,
      text,
      json: () => JSON.parse(text) as unknown,
    };
  };
  return { app, call, received, lines, responses, silences };
}

const silenceBody = {
  matchers: [{ name: 'service', value: 'web', isRegex: false, isEqual: true }],
  startsAt: new Date(T0).toISOString(),
  endsAt: new Date(T0 + HOUR).toISOString(),
  createdBy: 'alice',
  comment: 'deploying web',
};

describe('authentication and scopes', () => {
  it('refuses a request without a token, or with a wrong one, with 401 and WWW-Authenticate', async () => {
    const { call } = await setup();
    for (const token of [undefined, 'not-a-token', `${READ_TOKEN}x`]) {
      const res = await call('GET', '/api/v2/silences', token);
      expect(res.status).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/u);
      expect(res.json()).toEqual({ error: expect.any(String) });
    }
    expect((await call('POST', '/api/v2/silences', undefined, silenceBody)).status).toBe(401);
    expect((await call('DELETE', `/api/v2/silence/${crypto.randomUUID()}`)).status).toBe(401);
  });

  it('lets a read token read but answers 403 on POST silences, DELETE silence and POST alerts', async () => {
    const { call } = await setup();
    expect((await call('GET', '/api/v2/silences', READ_TOKEN)).status).toBe(200);
    expect((await call('GET', '/api/v2/alerts', READ_TOKEN)).status).toBe(200);
    const post = await call('POST', '/api/v2/silences', READ_TOKEN, silenceBody);
    expect(post.status).toBe(403);
    expect(post.json()).toEqual({ error: expect.stringContaining('write token') });
    const del = await call('DELETE', `/api/v2/silence/${crypto.randomUUID()}`, READ_TOKEN);
    expect(del.status).toBe(403);
    expect((await call('POST', '/api/v2/alerts', READ_TOKEN, [])).status).toBe(403);
  });

  it('refuses every request with 401 when no token is configured', async () => {
    const { call } = await setup({ tokens: apiConfigSchema.parse({}).tokens });
    const requests: [string, string][] = [
      ['GET', '/api/v2/alerts'],
      ['POST', '/api/v2/alerts'],
      ['GET', '/api/v2/silences'],
      ['POST', '/api/v2/silences'],
      ['GET', `/api/v2/silence/${crypto.randomUUID()}`],
      ['DELETE', `/api/v2/silence/${crypto.randomUUID()}`],
    ];
    for (const [method, path] of requests) {
      const res = await call(method, path, WRITE_TOKEN, method === 'GET' ? undefined : []);
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.json()).toEqual({ error: expect.stringContaining('configure api.tokens') });
    }
  });

  it('never shows a token in a response or a log line', async () => {
    const { call, lines, responses } = await setup();
    await call('GET', '/api/v2/silences', 'wrong-token-abc');
    await call('POST', '/api/v2/silences', READ_TOKEN, silenceBody);
    const created = await call('POST', '/api/v2/silences', WRITE_TOKEN, silenceBody);
    expect(created.status).toBe(200);
    await call('POST', '/api/v2/alerts', WRITE_TOKEN, [{ labels: {} }]);
    const all = [...responses, ...lines].join('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of [READ_TOKEN, WRITE_TOKEN, 'wrong-token-abc']) {
      expect(all).not.toContain(secret);
    }
    expect(String(tokens[0]?.token)).toBe('<secret>');
    expect(JSON.stringify(tokens)).not.toContain(READ_TOKEN);
  });

  it('refuses config with an unknown scope or a duplicate name, naming the key', () => {
    const scope = apiConfigSchema.safeParse({
      tokens: [{ name: 'a', token: 't', scope: 'admin' }],
    });
    expect(scope.success).toBe(false);
    expect(JSON.stringify(scope.error?.issues)).toContain('expected read or write');
    const dup = apiConfigSchema.safeParse({
      tokens: [
        { name: 'a', token: 't1', scope: 'read' },
        { name: 'a', token: 't2', scope: 'write' },
      ],
    });
    expect(JSON.stringify(dup.error?.issues)).toContain('duplicate token name');
  });
});

describe('silences', () => {
  it('creates, lists, gets and expires a silence with a write token', async () => {
    const { call } = await setup();
    const created = await call('POST', '/api/v2/silences', WRITE_TOKEN, silenceBody);
    expect(created.status).toBe(200);
    const { silenceID } = created.json() as { silenceID: string };
    expect(silenceID).toMatch(/^[0-9a-f-]{36}$/u);

    const expected = {
      id: silenceID,
      status: { state: 'active' },
      updatedAt: new Date(T0).toISOString(),
      matchers: [{ name: 'service', value: 'web', isRegex: false, isEqual: true }],
      startsAt: new Date(T0).toISOString(),
      endsAt: new Date(T0 + HOUR).toISOString(),
      createdBy: 'alice',
      comment: 'deploying web',
    };
    expect((await call('GET', '/api/v2/silences', READ_TOKEN)).json()).toEqual([expected]);
    expect((await call('GET', `/api/v2/silence/${silenceID}`, READ_TOKEN)).json()).toEqual(
      expected,
    );
    const filtered = await call('GET', '/api/v2/silences?filter=service%3D%22db%22', READ_TOKEN);
    expect(filtered.json()).toEqual([]);
    const byWeb = await call('GET', '/api/v2/silences?filter=service%3D%22web%22', READ_TOKEN);
    expect(byWeb.json()).toEqual([expected]);

    expect((await call('DELETE', `/api/v2/silence/${silenceID}`, WRITE_TOKEN)).status).toBe(200);
    const after = (await call('GET', `/api/v2/silence/${silenceID}`, READ_TOKEN)).json();
    expect(after).toMatchObject({ status: { state: 'expired' } });
    const again = await call('DELETE', `/api/v2/silence/${silenceID}`, WRITE_TOKEN);
    expect(again.status).toBe(409);
    expect(again.json()).toEqual({ error: expect.stringContaining('already expired') });
  });

  it('answers 404 for an unknown silence and 400 for a bad one, naming the field', async () => {
    const { call } = await setup();
    const unknown = crypto.randomUUID();
    expect((await call('GET', `/api/v2/silence/${unknown}`, READ_TOKEN)).status).toBe(404);
    expect((await call('DELETE', `/api/v2/silence/${unknown}`, WRITE_TOKEN)).status).toBe(404);
    expect((await call('DELETE', '/api/v2/silence/not-a-uuid', WRITE_TOKEN)).status).toBe(404);

    const cases: [string, unknown, string][] = [
      ['no matchers', { ...silenceBody, matchers: [] }, 'at least one matcher'],
      ['a bad time', { ...silenceBody, endsAt: 'tomorrow' }, 'silence.endsAt'],
      [
        'a bad regex',
        { ...silenceBody, matchers: [{ name: 'a', value: '(', isRegex: true }] },
        'invalid regular expression',
      ],
      ['an unknown key', { ...silenceBody, endAt: 'x' }, 'unknown key "endAt"'],
      ['not JSON', '{', 'expected JSON'],
    ];
    for (const [name, body, message] of cases) {
      const res = await call('POST', '/api/v2/silences', WRITE_TOKEN, body);
      expect(res.status, name).toBe(400);
      expect(res.json(), name).toEqual({ error: expect.stringContaining(message) });
    }
  });
});

describe('alerts', () => {
  it('lists firing alerts with silencedBy from a matching silence and inhibitedBy from the rule', async () => {
    const { call } = await setup();
    const { silenceID } = (
      await call('POST', '/api/v2/silences', WRITE_TOKEN, silenceBody)
    ).json() as { silenceID: string };

    const alerts = (await call('GET', '/api/v2/alerts', READ_TOKEN)).json() as {
      fingerprint: string;
      status: unknown;
    }[];
    expect(alerts.map((a) => a.fingerprint)).toEqual(['1111', '2222', '3333']);
    expect(alerts[0]).toEqual({
      labels: webAlert.labels,
      annotations: webAlert.annotations,
      receivers: [],
      fingerprint: '1111',
      startsAt: new Date(T0 - 5 * 60_000).toISOString(),
      updatedAt: new Date(T0 - 5 * 60_000).toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      status: { state: 'suppressed', silencedBy: [silenceID], inhibitedBy: [], mutedBy: [] },
    });
    expect(alerts[1]?.status).toEqual({
      state: 'suppressed',
      silencedBy: [],
      inhibitedBy: ['db-cluster-down'],
      mutedBy: [],
    });
    expect(alerts[2]?.status).toMatchObject({ state: 'active' });

    const fingerprints = async (query: string) =>
      ((await call('GET', `/api/v2/alerts?${query}`, READ_TOKEN)).json() as BookAlert[]).map(
        (a) => a.fingerprint,
      );
    expect(await fingerprints('silenced=false')).toEqual(['2222', '3333']);
    expect(await fingerprints('inhibited=false')).toEqual(['1111', '3333']);
    expect(await fingerprints('silenced=false&inhibited=false&active=true')).toEqual(['3333']);
    expect(await fingerprints('active=false')).toEqual(['1111', '2222']);
    expect(await fingerprints('filter=service%3D~%22web%7Capi%22')).toEqual(['1111', '3333']);
    expect(
      await fingerprints('filter=service%3D~%22web%7Capi%22&filter=alertname%3D%22SlowRequests%22'),
    ).toEqual(['3333']);

    const bad = await call('GET', '/api/v2/alerts?filter=service', READ_TOKEN);
    expect(bad.status).toBe(400);
    expect(bad.json()).toEqual({ error: expect.stringContaining('query filter') });
    expect((await call('GET', '/api/v2/alerts?silenced=maybe', READ_TOKEN)).status).toBe(400);
  });

  it('hands valid posted alerts to receive, parsed', async () => {
    const { call, received } = await setup();
    const res = await call('POST', '/api/v2/alerts', WRITE_TOKEN, [
      {
        labels: { alertname: 'DiskFull', host: 'h1' },
        annotations: { summary: 'disk full' },
        startsAt: '2030-01-01T00:00:00Z',
        endsAt: '2030-01-01T01:00:00+01:00',
        generatorURL: 'http://prometheus/graph',
      },
      { labels: { alertname: 'Other' } },
    ]);
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(received).toEqual([
      [
        {
          labels: { alertname: 'DiskFull', host: 'h1' },
          annotations: { summary: 'disk full' },
          startsAt: T0,
          endsAt: T0,
          generatorURL: 'http://prometheus/graph',
        },
        { labels: { alertname: 'Other' }, annotations: {} },
      ],
    ]);
  });

  it.each([
    ['a body that is not a list', { labels: {} }, 'expected a JSON array of alerts'],
    ['an alert without labels', [{ annotations: {} }], 'alerts[0].labels'],
    [
      'an alert without alertname',
      [{ labels: { alertname: 'A' } }, { labels: { a: 'b' } }],
      'alerts[1].labels: expected a non-empty alertname',
    ],
    [
      'a bad label name',
      [{ labels: { alertname: 'A', 'bad-name': 'x' } }],
      'alerts[0].labels.bad-name',
    ],
    [
      'a label value that is not a string',
      [{ labels: { alertname: 'A', n: 1 } }],
      'alerts[0].labels.n',
    ],
    [
      'a startsAt that is not a time',
      [{ labels: { alertname: 'A' }, startsAt: 'now' }],
      'alerts[0].startsAt',
    ],
    [
      'an endsAt before startsAt',
      [
        {
          labels: { alertname: 'A' },
          startsAt: '2030-01-01T01:00:00Z',
          endsAt: '2030-01-01T00:00:00Z',
        },
      ],
      'alerts[0].endsAt',
    ],
    ['an unknown key', [{ labels: { alertname: 'A' }, status: 'firing' }], 'unknown key "status"'],
  ])('refuses %s with 400 naming the field', async (_name, body, message) => {
    const { call, received } = await setup();
    const res = await call('POST', '/api/v2/alerts', WRITE_TOKEN, body);
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ error: expect.stringContaining(message) });
    expect(received).toEqual([]);
  });
});
