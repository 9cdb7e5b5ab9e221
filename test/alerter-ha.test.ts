// Two alerters share one store and a lease in NATS KV: the leader pages; when it dies without
// releasing the lease (its connection cut, its schedule stopped), the other takes over within two
// evaluation intervals, resumes the open alerts from the history, and fires what comes next.
// Every tier fires exactly once in the alert history: none lost, none twice; and the page
// reaches the receiver once, whichever replica sends it.

import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alerter } from '../alerter/alerter.ts';
import { Lease } from '../alerter/ha/lease.ts';
import { notifyConfigSchema } from '../alerter/notify/config.ts';
import { Notifier } from '../alerter/notify/notifier.ts';
import type { Slo } from '../alerter/slo/model.ts';
import { parseSlos } from '../alerter/slo/spec.ts';
import { connectBus } from '../core/bus/connect.ts';
import { silentLogger } from '../core/logger.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { testConfig } from './helpers/config.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { startReceiverServer, type ReceiverServer } from './helpers/receiver-server.ts';
import { openTestStore } from './helpers/store.ts';
import { until } from './helpers/wait.ts';

const logger = silentLogger();
const INTERVAL = 2000;
const TTL = 1500;
let nats: TestNats;
let store: Store;
const connections: NatsConnection[] = [];
const alerters: Alerter[] = [];

let receiver: ReceiverServer;

beforeAll(async () => {
  nats = await startNatsServer();
  ({ store } = await openTestStore());
  receiver = await startReceiverServer();
});
afterAll(async () => {
  for (const a of alerters) await a.stop().catch(() => undefined);
  for (const nc of connections) if (!nc.isClosed()) await nc.close();
  await store?.close();
  await nats?.stop();
  await receiver?.close();
});

// 99.99% over 30 days: at 10 requests a second, a total outage fires page-fast after 5.2 s,
// ticket-slow after 8.6 s (a day of history in its 3-day window), page-slow after 13 s and
// ticket-fast after 26 s.
const [SLO] = parseSlos(
  `apiVersion: halo/v1
kind: SLO
metadata: { name: api }
spec:
  service: api
  objective: 99.99
  window: { rolling: 30d }
  sli:
    ratio:
      bad: { metric: http_requests_total, matchers: { code: "500" } }
      total: { metric: http_requests_total }
`,
  'api.yaml',
) as [Slo];

async function replica(name: string): Promise<Alerter> {
  const nc = await connectBus({ config: testConfig({ nats: { url: nats.url } }), logger });
  connections.push(nc);
  const lease = await Lease.open({ nc, ttlMs: TTL, holder: name, logger });
  // Both replicas notify the same webhook; the notification log is what keeps them in step.
  const notifier = new Notifier({
    config: notifyConfigSchema.parse({
      receivers: [{ name: 'tools', webhook_configs: [{ url: receiver.url('/hook') }] }],
      route: {
        receiver: 'tools',
        group_by: ['slo'],
        group_wait: '1s',
        group_interval: '2s',
        repeat_interval: '1h',
      },
    }),
    store,
    logger,
    sources: { slos: [SLO] },
  });
  const alerter = new Alerter({
    store,
    logger,
    registry: new Registry(),
    slos: [SLO],
    intervalMs: INTERVAL,
    lease,
    notifier,
  });
  alerters.push(alerter);
  return alerter;
}

async function firings(): Promise<Array<{ tier: string; at: number }>> {
  const rows = await store.query<{ tier: string; at: string }>(
    sql`SELECT labels['burn_tier'] AS tier, toUnixTimestamp64Milli(ts) AS at
        FROM ${ident(store.table('alerts'))} WHERE state = 'firing' ORDER BY ts`,
  );
  return rows.map((r) => ({ tier: r.tier, at: Number(r.at) }));
}

describe('alerter failover', () => {
  it('the standby takes over within two intervals; every tier fires once', async () => {
    const start = Math.floor(Date.now() / 1000) * 1000;
    const outage = start + 6000;
    // A day of clean traffic, one point a second, then a total outage; written ahead of time.
    const rows: SampleRow[] = [];
    for (let t = start - 86_400_000; t < start + 60_000; t += 1000) {
      const bad = t >= outage ? 10 : 0;
      const base = { name: 'http_requests_total', tier: 'web', host: 'api-1', service: 'api' };
      rows.push({ ...base, labels: { code: '200' }, ts: t, value: 10 - bad });
      rows.push({ ...base, labels: { code: '500' }, ts: t, value: bad });
    }
    for (let i = 0; i < rows.length; i += 100_000)
      await writeSamples(store, rows.slice(i, i + 100_000));

    const a = await replica('alerter-a');
    a.start();
    await until(
      async () => a.status().leading && a.status().lastEvaluation !== undefined,
      'a to lead',
    );
    const b = await replica('alerter-b');
    b.start();
    await until(
      async () => (await firings()).some((f) => f.tier === 'page-fast'),
      'the page from a',
    );
    expect(b.status().leading).toBe(false);
    expect(b.status().lastEvaluation).toBeUndefined();
    // a tells the receiver of the page before it dies.
    await until(async () => receiver.requests.length === 1, 'the page at the receiver');

    // a dies: its connection cut (the lease is never released), its schedule stopped.
    await connections[0]!.close();
    await a.stop();
    const killed = Date.now();
    await until(async () => b.status().lastEvaluation !== undefined, 'b to take over');
    const takeover = Date.now() - killed;
    expect(takeover).toBeLessThanOrEqual(2 * INTERVAL);
    // b resumed a's page rather than paging again.
    expect(b.book.alerts().find((x) => x.labels['burn_tier'] === 'page-fast')?.state).toBe(
      'firing',
    );

    await until(
      async () => (await firings()).some((f) => f.tier === 'ticket-fast'),
      'the last tier to fire',
      60_000,
    );
    const fired = await firings();
    const tiers = fired.map((f) => f.tier).sort();
    expect(tiers).toEqual(['page-fast', 'page-slow', 'ticket-fast', 'ticket-slow']);
    // page-fast came from a before it died; page-slow and ticket-fast from b after.
    const at = (tier: string) => fired.find((f) => f.tier === tier)!.at;
    expect(at('page-fast')).toBeLessThan(killed);
    expect(at('page-slow')).toBeGreaterThan(killed);
    expect(at('ticket-fast')).toBeGreaterThan(killed);
    // b read the notification log back: the page was told once, and the later tiers, inhibited
    // by it (the SLO-tier built-in), not at all.
    expect(receiver.requests).toHaveLength(1);
    const told = JSON.parse(receiver.requests[0]!.body) as {
      alerts: Array<{ labels: Record<string, string> }>;
    };
    expect(told.alerts.map((x) => x.labels['burn_tier'])).toEqual(['page-fast']);
    // Fired on time: not before its detection time from the outage, less one scrape (a point
    // stamped t counts the second before t) and the up to one minute a 1-hour window is short.
    expect(at('page-fast') - outage).toBeGreaterThanOrEqual(5184 * (59 / 60) - 1000);
    expect(at('ticket-fast') - outage).toBeGreaterThanOrEqual(25_920 * (23 / 24) - 1000);
  }, 120_000);
});
