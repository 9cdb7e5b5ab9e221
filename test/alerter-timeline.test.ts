// SLO alerting timelines on data that went through the real ingest path (batches published to
// nats-server, stored by the ingester into embedded ClickHouse), played with an injected clock:
// a total outage, a slow burn, recovery, an exclusion window, the low-traffic guard, and burn
// rates checked against a reference computed from the raw points.

import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alerter } from '../alerter/alerter.ts';
import { detectionTime, errorBudget } from '../alerter/slo/burn.ts';
import { evaluateSlos } from '../alerter/slo/evaluate.ts';
import type { Slo } from '../alerter/slo/model.ts';
import { parseSlos } from '../alerter/slo/spec.ts';
import { tiersForSlo } from '../alerter/slo/windows.ts';
import type { Transition } from '../alerter/state/machine.ts';
import { ingestConfigSchema } from '../collector/ingest/config.ts';
import { Ingester } from '../collector/ingest/ingester.ts';
import { encodeBatch, type MetricBatch } from '../core/batch.ts';
import { connectBus } from '../core/bus/connect.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import { BATCH_VERSION, metricsSubject, STREAMS } from '../core/conventions.ts';
import { silentLogger } from '../core/logger.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { publishAll } from './helpers/batches.ts';
import { testConfig } from './helpers/config.ts';
import { startNatsServer, type TestNats } from './helpers/nats.ts';
import { openTestStore } from './helpers/store.ts';
import { until } from './helpers/wait.ts';

const logger = silentLogger();
const STEP = 10_000; // scrape interval of the generated traffic
const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
// Clean history long enough for every tier's long window (3 days), then each incident.
const T0 = Math.floor((Date.now() - 4 * DAY) / HOUR) * HOUR;
const INCIDENT = T0 + 3 * DAY + 7 * MIN + 3_000; // not aligned on purpose

let nats: TestNats;
let nc: NatsConnection;
let store: Store;
let ingester: Ingester;

interface Traffic {
  service: string;
  from: number;
  to: number;
  /** Requests per scrape interval. */
  requests: number;
  /** Share of failing requests at a time. */
  errorRate: (t: number) => number;
}

/** Every point of a traffic pattern: [ts, good, bad] every STEP. */
function points(traffic: Traffic): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let t = traffic.from; t < traffic.to; t += STEP) {
    const bad = Math.round(traffic.requests * traffic.errorRate(t));
    out.push([t, traffic.requests - bad, bad]);
  }
  return out;
}

/** The traffic as agent batches (counter deltas per code), one batch per hour. */
function batches(traffic: Traffic): Array<{ id: string; subject: string; data: Uint8Array }> {
  const all = points(traffic);
  const out: Array<{ id: string; subject: string; data: Uint8Array }> = [];
  for (let i = 0; i < all.length; i += 360) {
    const chunk = all.slice(i, i + 360);
    const batch: MetricBatch = {
      v: BATCH_VERSION,
      kind: 'metrics',
      id: `${traffic.service}-${i}`,
      tier: 'web',
      host: 'web-1',
      series: [
        {
          name: 'http_requests_total',
          service: traffic.service,
          labels: { code: '200', route: '/checkout "v2"' },
          points: chunk.map(([t, good]) => [t, good]),
        },
        {
          name: 'http_requests_total',
          service: traffic.service,
          labels: { code: '503', route: '/checkout "v2"' },
          points: chunk.map(([t, , bad]) => [t, bad]),
        },
      ],
    };
    out.push({ id: batch.id, subject: metricsSubject('web', 'web-1'), data: encodeBatch(batch) });
  }
  return out;
}

const OUTAGE_END = INCIDENT + 10 * MIN;
const SCENARIOS: Traffic[] = [
  {
    service: 'outage',
    from: T0,
    to: INCIDENT + 30 * MIN,
    requests: 100,
    errorRate: (t) => (t >= INCIDENT && t < OUTAGE_END ? 1 : 0),
  },
  {
    service: 'slowburn',
    from: T0,
    to: INCIDENT + 4 * HOUR,
    requests: 100,
    errorRate: (t) => (t >= INCIDENT ? 0.02 : 0),
  },
  {
    service: 'maintenance',
    from: T0,
    to: INCIDENT + 30 * MIN,
    requests: 100,
    errorRate: (t) => (t >= INCIDENT && t < OUTAGE_END ? 1 : 0),
  },
  {
    service: 'quiet',
    from: T0,
    to: INCIDENT + 30 * MIN,
    requests: 1,
    errorRate: (t) => (t >= INCIDENT && t < OUTAGE_END ? 1 : 0),
  },
];

const iso = (ms: number) => new Date(ms).toISOString();

function slo(service: string, objective: number, extra = ''): Slo {
  const [parsed] = parseSlos(
    `apiVersion: halo/v1
kind: SLO
metadata: { name: ${service} }
spec:
  service: ${service}
  objective: ${objective}
  window: { rolling: 30d }
  sli:
    ratio:
      bad: { metric: http_requests_total, matchers: { service: ${service}, code: { op: "=~", value: "5.." } } }
      total: { metric: http_requests_total, matchers: { service: ${service} } }
${extra}`,
    `${service}.yaml`,
  );
  return parsed!;
}

beforeAll(async () => {
  nats = await startNatsServer();
  const config = testConfig({ nats: { url: nats.url } });
  nc = await connectBus({ config, logger });
  await ensureStreams(nc, config, logger);
  ({ store } = await openTestStore());
  ingester = new Ingester({
    nc,
    store,
    config: ingestConfigSchema.parse({ insert: { max_wait: '100ms' } }),
    logger,
    registry: new Registry(),
  });
  await ingester.start();
  await publishAll(nc, SCENARIOS.flatMap(batches));
  const expected = SCENARIOS.reduce((n, s) => n + points(s).length * 2, 0);
  const jsm = await jetstreamManager(nc);
  await until(
    async () => {
      const info = await jsm.consumers.info(STREAMS.metrics, 'halo-ingest');
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    'the ingester to store every batch',
    120_000,
  );
  const [row] = await store.query<{ n: string }>(
    sql`SELECT count() AS n FROM ${ident(store.table('samples'))}`,
  );
  expect(Number(row?.n)).toBe(expected);
}, 180_000);

afterAll(async () => {
  await ingester?.stop(2000);
  await nc?.close();
  await store?.close();
  await nats?.stop();
});

/** Plays the alerter over times (ascending), returning every transition. */
async function play(alerter: Alerter, times: number[]): Promise<Transition[]> {
  const out: Transition[] = [];
  for (const at of times) out.push(...(await alerter.evaluate(at)));
  return out;
}

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let t = from; t <= to; t += step) out.push(t);
  return out;
}

const INTERVAL = 15_000;

function newAlerter(slos: Slo[]): Alerter {
  return new Alerter({ store, logger, registry: new Registry(), slos, intervalMs: INTERVAL });
}

const firing = (transitions: Transition[], tier: string) =>
  transitions.filter((t) => t.to === 'firing' && t.alert.labels['burn_tier'] === tier);

describe('SLO alert timelines', () => {
  it('a total outage on a 99.9% SLO pages through the 14.4× tier within the workbook bound, and resolves within the short window', async () => {
    const spec = slo('outage', 99.9);
    const fast = tiersForSlo(spec).find((t) => t.name === 'page-fast')!;
    const bound = detectionTime(fast, errorBudget(99.9), 1)!;
    expect(bound).toBeCloseTo(51_840, 0);
    const transitions = await play(
      newAlerter([spec]),
      range(INCIDENT - MIN, OUTAGE_END + 8 * MIN, INTERVAL),
    );
    const [fired] = firing(transitions, 'page-fast');
    expect(fired, 'the 14.4× tier fires').toBeDefined();
    const delay = fired!.at - INCIDENT;
    // Not before the bound (the data does not allow it), within the bound plus one interval.
    expect(delay).toBeGreaterThanOrEqual(bound);
    expect(delay).toBeLessThanOrEqual(bound + INTERVAL);
    expect(fired!.alert.labels).toMatchObject({
      alertname: 'outage',
      slo: 'outage',
      severity: 'page',
      burn_tier: 'page-fast',
    });
    const resolved = transitions.find(
      (t) => t.to === 'resolved' && t.alert.labels['burn_tier'] === 'page-fast',
    );
    expect(resolved, 'the page resolves after recovery').toBeDefined();
    expect(resolved!.at).toBeGreaterThan(OUTAGE_END);
    expect(resolved!.at - OUTAGE_END).toBeLessThanOrEqual(5 * MIN + INTERVAL);
    // The history holds the same story.
    const history = await store.query<{ state: string; n: string }>(
      sql`SELECT state, count() AS n FROM ${ident(store.table('alerts'))}
          WHERE slo = ${'outage'} AND labels['burn_tier'] = ${'page-fast'} GROUP BY state ORDER BY state`,
    );
    expect(history.map((h) => [h.state, Number(h.n)])).toEqual([
      ['firing', 1],
      ['resolved', 1],
    ]);
  }, 120_000);

  it('a 2% error rate on a 99.8% SLO (a 10× burn) fires only the 6× tier, at its predicted time', async () => {
    const spec = slo('slowburn', 99.8);
    const slow = tiersForSlo(spec).find((t) => t.name === 'page-slow')!;
    const predicted = detectionTime(slow, errorBudget(99.8), 0.02)!;
    expect(predicted).toBeCloseTo(3.6 * HOUR, -3);
    const times = [
      ...range(INCIDENT, INCIDENT + predicted - 10 * MIN, 5 * MIN),
      ...range(INCIDENT + predicted - 5 * MIN, INCIDENT + predicted + 5 * MIN, INTERVAL),
      ...range(INCIDENT + predicted + 10 * MIN, INCIDENT + 4 * HOUR, 10 * MIN),
    ];
    const transitions = await play(newAlerter([spec]), times);
    const fired = transitions.filter((t) => t.to === 'firing');
    expect(fired.map((t) => t.alert.labels['burn_tier'])).toEqual(['page-slow']);
    const delay = fired[0]!.at - INCIDENT;
    expect(delay).toBeGreaterThanOrEqual(predicted - STEP);
    expect(delay).toBeLessThanOrEqual(predicted + INTERVAL);
  }, 120_000);

  it('an exclusion window suppresses the page and spends no budget', async () => {
    const spec = slo(
      'maintenance',
      99.9,
      `  exclusions:
    - { from: "${iso(INCIDENT - MIN)}", to: "${iso(OUTAGE_END + MIN)}", reason: planned maintenance }`,
    );
    const alerter = newAlerter([spec]);
    const transitions = await play(alerter, range(INCIDENT - MIN, OUTAGE_END + 8 * MIN, INTERVAL));
    expect(transitions).toEqual([]);
    const [evaluation] = await evaluateSlos(store, [spec], OUTAGE_END + 2 * MIN);
    expect(evaluation?.budgetRemaining).toBe(1);
    // Without the exclusion the same data pages.
    const unprotected = await play(
      newAlerter([slo('maintenance', 99.9)]),
      range(INCIDENT, OUTAGE_END, INTERVAL),
    );
    expect(firing(unprotected, 'page-fast')).toHaveLength(1);
  }, 120_000);

  it('the low-traffic guard holds: a total outage on 6 requests a minute pages only without it', async () => {
    const guarded = slo('quiet', 99.9, '  min_events: 3000');
    const times = range(INCIDENT, OUTAGE_END + 2 * MIN, INTERVAL);
    expect(await play(newAlerter([guarded]), times)).toEqual([]);
    const [evaluation] = await evaluateSlos(store, [guarded], OUTAGE_END);
    // Every tier burns, and every one is held: some window has fewer than 3,000 events.
    for (const tier of evaluation!.tiers) {
      expect([tier.tier.name, tier.held]).toEqual([tier.tier.name, 'low traffic']);
      expect(Math.min(tier.long.total, tier.short.total)).toBeLessThan(3000);
    }
    // One request every 10 s over the (minute-aligned) hour.
    const long = evaluation!.tiers.find((t) => t.tier.name === 'page-fast')!.long;
    expect(long.total).toBe(
      points(SCENARIOS[3]!).filter(([t]) => t >= OUTAGE_END - long.ms && t < OUTAGE_END).length,
    );
    expect(long.total).toBeGreaterThan(350);
    expect(firing(await play(newAlerter([slo('quiet', 99.9)]), times), 'page-fast')).toHaveLength(
      1,
    );
  }, 120_000);

  it('burn rates match a reference computed from the raw points, for every window', async () => {
    const spec = slo('slowburn', 99.8);
    const traffic = SCENARIOS[1]!;
    const all = points(traffic);
    const budget = errorBudget(99.8);
    for (const at of [INCIDENT + 37 * MIN + 4_321, INCIDENT + 3 * HOUR + 1_234]) {
      const [evaluation] = await evaluateSlos(store, [spec], at);
      expect(evaluation).toBeDefined();
      for (const w of evaluation!.windows) {
        const from = at - w.ms;
        let good = 0;
        let total = 0;
        for (const [t, g, b] of all) {
          if (t < from || t >= at) continue;
          good += g;
          total += g + b;
        }
        expect([w.name, w.total]).toEqual([w.name, total]);
        expect([w.name, w.good]).toEqual([w.name, good]);
        const reference = (total - good) / total / budget;
        expect(w.burnRate).toBeCloseTo(reference, 9);
      }
    }
  }, 120_000);
});
