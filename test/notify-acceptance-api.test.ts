// Acceptance timeline of outside alerts (as a Prometheus posts them) through the notify API to a
// real local webhook, on an injected clock: the tier-wide built-in inhibition, a 429 with
// Retry-After then success, the release of inhibited alerts when the tier alert resolves, a
// silence created through the API, and repeat_interval.

import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alerter } from '../alerter/alerter.ts';
import { apiConfigSchema, createNotifyApi } from '../alerter/api-v2/index.ts';
import { notifyConfigSchema } from '../alerter/notify/config.ts';
import { Notifier } from '../alerter/notify/notifier.ts';
import { SilenceStore } from '../alerter/silence/index.ts';
import { connectBus } from '../core/bus/connect.ts';
import { silentLogger } from '../core/logger.ts';
import type { Store } from '../core/store/store.ts';
import { testConfig } from './helpers/config.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { startReceiverServer, type ReceiverServer } from './helpers/receiver-server.ts';
import { openTestStore } from './helpers/store.ts';

const logger = silentLogger();
const S = 1000;
const MIN = 60 * S;
const T0 = Date.UTC(2026, 10, 20, 9, 0, 0);
const WRITE = 'write-token-0123456789';

let nats: TestNats;
let nc: NatsConnection;
let store: Store;
let receiver: ReceiverServer;
let silences: SilenceStore;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connectBus({ config: testConfig({ nats: { url: nats.url } }), logger });
  silences = await SilenceStore.open({ nc, logger });
  ({ store } = await openTestStore());
  receiver = await startReceiverServer();
});
afterAll(async () => {
  await silences?.close();
  await nc?.close();
  await nats?.stop();
  await receiver?.close();
  await store?.close();
});

interface Payload {
  status: string;
  groupLabels: Record<string, string>;
  alerts: Array<{ status: string; labels: Record<string, string> }>;
}
const payloads = () =>
  receiver.requests.filter((r) => r.at > 0).map((r) => JSON.parse(r.body) as Payload);
const summary = (p: Payload) =>
  `${p.groupLabels['alertname']}: ${p.alerts
    .map((a) => `${a.labels['host'] ?? a.labels['tier']}:${a.status}`)
    .sort()
    .join(' ')}`;

describe('outside alerts through the notify API', () => {
  it('inhibits host alerts under a tier alert, retries a 429, releases them on resolution, honours a silence, and repeats', async () => {
    const clock = { now: T0 };
    const notifier = new Notifier({
      config: notifyConfigSchema.parse({
        receivers: [{ name: 'tools', webhook_configs: [{ url: receiver.url('/hook') }] }],
        delivery: { initial_backoff: '10ms', max_backoff: '50ms', give_up_after: '1m' },
        route: {
          receiver: 'tools',
          group_by: ['alertname'],
          group_wait: '30s',
          group_interval: '2m',
          repeat_interval: '1h',
        },
      }),
      store,
      logger,
      silences,
    });
    const alerter = new Alerter({
      store,
      logger,
      registry: new Registry(),
      slos: [],
      intervalMs: 15 * S,
      notifier,
      clock: () => clock.now,
    });
    const api = createNotifyApi({
      tokens: apiConfigSchema.parse({ tokens: [{ name: 'ops', token: WRITE, scope: 'write' }] })
        .tokens,
      silences,
      alerts: () => [],
      inhibitedBy: (labels) => notifier.inhibitedBy(labels),
      receive: (alerts) => notifier.receive(alerts, clock.now),
      clock: () => clock.now,
      logger,
    });
    const post = async (path: string, body: unknown) => {
      const response = await api.request(path, {
        method: 'POST',
        headers: { authorization: `Bearer ${WRITE}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status, await response.clone().text()).toBe(200);
      return response;
    };
    const host = (h: string, endsAt?: string) => ({
      labels: { alertname: 'HostDown', tier: 'web', host: h },
      annotations: { summary: `${h} is down` },
      ...(endsAt ? { endsAt } : {}),
    });
    const tier = (endsAt?: string) => ({
      labels: { alertname: 'TierDown', tier: 'web', scope: 'tier' },
      annotations: { summary: 'the web tier is down' },
      ...(endsAt ? { endsAt } : {}),
    });
    // Prometheus posts what fires at every evaluation; the alerter evaluates every 15 s.
    let firing: unknown[] = [];
    const step = async (to: number) => {
      for (; clock.now <= to; clock.now += 15 * S) {
        await post('/api/v2/alerts', firing);
        await alerter.evaluate(clock.now);
      }
      clock.now -= 15 * S;
    };

    receiver.script({ status: 429, headers: { 'retry-after': '1' } });
    firing = [host('web-1'), host('web-2'), tier()];
    await step(T0 + 45 * S);
    // The tier alert alone, after one 429 and a retry a second later; the host alerts are held.
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]!.at - receiver.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(payloads().slice(1).map(summary)).toEqual(['TierDown: web:firing']);

    // The tier recovers: its resolution goes out, and the hosts still down are told at once
    // (their group waited out group_wait long ago).
    clock.now += 15 * S;
    firing = [host('web-1'), host('web-2'), tier(new Date(clock.now).toISOString())];
    await step(clock.now);
    firing = [host('web-1'), host('web-2')];
    await step(T0 + 4 * MIN);
    expect(payloads().slice(2).map(summary).sort()).toEqual([
      'HostDown: web-1:firing web-2:firing',
      'TierDown: web:resolved',
    ]);

    // web-2 is silenced through the API; web-3 goes down: the next notification has web-1
    // and web-3 only.
    const created = await post('/api/v2/silences', {
      matchers: [{ name: 'host', value: 'web-2', isRegex: false, isEqual: true }],
      startsAt: new Date(clock.now).toISOString(),
      endsAt: new Date(clock.now + 2 * 3_600_000).toISOString(),
      createdBy: 'ops',
      comment: 'web-2 is being rebuilt',
    });
    expect(await created.json()).toMatchObject({ silenceID: expect.any(String) as unknown });
    firing = [host('web-1'), host('web-2'), host('web-3')];
    await step(T0 + 8 * MIN);
    expect(payloads().slice(4).map(summary)).toEqual(['HostDown: web-1:firing web-3:firing']);

    // Nothing changes for repeat_interval: then the same notification once more.
    const before = receiver.requests.length;
    await step(T0 + 60 * MIN);
    expect(receiver.requests).toHaveLength(before);
    await step(T0 + 70 * MIN);
    expect(receiver.requests).toHaveLength(before + 1);
    expect(summary(payloads().at(-1)!)).toBe('HostDown: web-1:firing web-3:firing');
  }, 120_000);
});
