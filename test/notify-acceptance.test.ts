// Acceptance timeline of the whole alerting path: an SLO outage in the store, the alerter
// evaluating on an injected clock, routing, grouping (group_wait), the built-in SLO-tier
// inhibition, a retry on HTTP 500, resolution, and no duplicate after an alerter restart in the
// middle of a group — received by a real local webhook receiver (Alertmanager v4 payload).

import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alerter } from '../alerter/alerter.ts';
import { notifyConfigSchema } from '../alerter/notify/config.ts';
import { Notifier } from '../alerter/notify/notifier.ts';
import type { Slo } from '../alerter/slo/model.ts';
import { parseSlos } from '../alerter/slo/spec.ts';
import { silentLogger } from '../core/logger.ts';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { startReceiverServer, type ReceiverServer } from './helpers/receiver-server.ts';
import { openTestStore } from './helpers/store.ts';

const logger = silentLogger();
const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
// Two days of clean traffic, a 10-minute total outage, then clean again.
const T0 = Math.floor((Date.now() - 3 * 86_400_000) / HOUR) * HOUR;
const OUTAGE = T0 + 2 * 86_400_000 + 5 * MIN;
const OUTAGE_END = OUTAGE + 10 * MIN;
const INTERVAL = 15 * S;

let store: Store;
let receiver: ReceiverServer;

const [SLO] = parseSlos(
  `apiVersion: halo/v1
kind: SLO
metadata: { name: checkout }
spec:
  service: checkout
  objective: 99.9
  window: { rolling: 30d }
  sli:
    ratio:
      bad: { metric: http_requests_total, matchers: { code: "500" } }
      total: { metric: http_requests_total }
`,
  'checkout.yaml',
) as [Slo];

beforeAll(async () => {
  ({ store } = await openTestStore());
  receiver = await startReceiverServer();
  const rows: SampleRow[] = [];
  for (let t = T0; t < OUTAGE_END + 30 * MIN; t += 10 * S) {
    const bad = t >= OUTAGE && t < OUTAGE_END ? 100 : 0;
    const base = { name: 'http_requests_total', tier: 'web', host: 'web-1', service: 'checkout' };
    rows.push({ ...base, labels: { code: '200' }, ts: t, value: 100 - bad });
    rows.push({ ...base, labels: { code: '500' }, ts: t, value: bad });
  }
  await writeSamples(store, rows);
}, 60_000);

afterAll(async () => {
  await receiver?.close();
  await store?.close();
});

function alerter(): Alerter {
  const config = notifyConfigSchema.parse({
    external_url: 'https://halo.example.com',
    receivers: [{ name: 'tools', webhook_configs: [{ url: receiver.url('/hook') }] }],
    delivery: { initial_backoff: '10ms', max_backoff: '50ms', give_up_after: '1m' },
    route: {
      receiver: 'tools',
      group_by: ['slo'],
      group_wait: '30s',
      group_interval: '1m',
      repeat_interval: '4h',
    },
  });
  const notifier = new Notifier({ config, store, logger, sources: { slos: [SLO] } });
  return new Alerter({
    store,
    logger,
    registry: new Registry(),
    slos: [SLO],
    intervalMs: INTERVAL,
    notifier,
  });
}

interface Payload {
  version: string;
  status: string;
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  externalURL: string;
  alerts: Array<{ status: string; labels: Record<string, string>; fingerprint: string }>;
}

const payloads = () => receiver.requests.map((r) => JSON.parse(r.body) as Payload);
const tiers = (p: Payload) => p.alerts.map((a) => `${a.labels['burn_tier']}:${a.status}`).sort();

describe('the alerting path, end to end', () => {
  it('pages once per group after group_wait, inhibits lower tiers, retries a 500, tells the resolution, and does not repeat after a restart', async () => {
    receiver.script({ status: 500 }); // the first delivery fails once, then succeeds
    const first = alerter();
    await first.resume(OUTAGE - MIN);
    const times = (from: number, to: number) => {
      const out: number[] = [];
      for (let t = from; t <= to; t += INTERVAL) out.push(t);
      return out;
    };
    // Page-fast fires at OUTAGE + 60 s; the group waits 30 s.
    for (const at of times(OUTAGE - MIN, OUTAGE + 75 * S)) await first.evaluate(at);
    expect(receiver.requests).toHaveLength(0);
    await first.evaluate(OUTAGE + 90 * S);
    // One failed attempt (500), then the notification itself.
    expect(receiver.requests).toHaveLength(2);
    const [page] = payloads().slice(1);
    expect(page).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'tools',
      groupLabels: { slo: 'checkout' },
      externalURL: 'https://halo.example.com',
    });
    expect(tiers(page!)).toEqual(['page-fast:firing']);
    expect(receiver.requests[0]!.body).toBe(receiver.requests[1]!.body);

    // Later tiers fire (page-slow at ~130 s, tickets at ~260 s) but page-fast inhibits them:
    // nothing new reaches the receiver while page-fast fires. Then the alerter restarts.
    for (const at of times(OUTAGE + 105 * S, OUTAGE + 6 * MIN)) await first.evaluate(at);
    expect(
      first.book
        .alerts()
        .filter((a) => a.state === 'firing')
        .map((a) => a.labels['burn_tier'])
        .sort(),
    ).toEqual(['page-fast', 'page-slow', 'ticket-fast', 'ticket-slow']);
    expect(receiver.requests).toHaveLength(2);

    const second = alerter();
    await second.resume(OUTAGE + 6 * MIN + 15 * S);
    for (const at of times(OUTAGE + 6 * MIN + 15 * S, OUTAGE + 12 * MIN)) await second.evaluate(at);
    // The restarted alerter told nothing the first had told already.
    expect(receiver.requests).toHaveLength(2);

    // Recovery: page-fast resolves within its 5-minute window; the lower tiers it held back
    // now show, firing, with the resolution of page-fast in the same group notification.
    for (const at of times(OUTAGE + 12 * MIN + 15 * S, OUTAGE_END + 8 * MIN))
      await second.evaluate(at);
    const next = payloads().slice(2);
    expect(next.length).toBeGreaterThanOrEqual(1);
    expect(tiers(next[0]!)).toContain('page-fast:resolved');
    expect(next[0]!.groupKey).toBe(page!.groupKey);
    // Each notification went out once: no two identical bodies in a row.
    const bodies = receiver.requests.slice(1).map((r) => r.body);
    expect(new Set(bodies).size).toBe(bodies.length);
  }, 120_000);
});
