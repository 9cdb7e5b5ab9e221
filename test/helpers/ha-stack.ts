// Seeds a store with a whole HA stack's data through the real path: real servers of every tier,
// one real agent per tier on the bus, the real ingester into chDB, the real alerter paging a webhook.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Registry } from 'prom-client';
import { Hono } from 'hono';
import { Agent } from '../../collector/agent/agent.ts';
import { agentConfigSchema } from '../../collector/agent/config.ts';
import { SOURCE_DEFINITIONS } from '../../collector/agent/sources/index.ts';
import { ingestConfigSchema } from '../../collector/ingest/config.ts';
import { Ingester } from '../../collector/ingest/ingester.ts';
import { jetstream } from '@nats-io/jetstream';
import { connectBus } from '../../core/bus/connect.ts';
import { BusLink } from '../../core/bus/link.ts';
import { ensureStreams } from '../../core/bus/streams.ts';
import { createHealthApp } from '../../core/http/health.ts';
import { serveHttp } from '../../core/http/serve.ts';
import { silentLogger } from '../../core/logger.ts';
import { createRegistry, registerChecks } from '../../core/metrics.ts';
import { SUBJECT_ROOTS } from '../../core/conventions.ts';
import { ident, sql } from '../../core/store/sql.ts';
import type { Store } from '../../core/store/store.ts';
import { startAlerter } from '../../cli/alert.ts';
import { haloConfigSchema } from '../../cli/config-schema.ts';
import { testConfig } from './config.ts';
import { startReceiverServer } from './receiver-server.ts';
import {
  HA_HOSTS,
  REDIS_PASSWORD,
  startServers,
  tierSources,
  TIERS,
  type TierName,
} from './ha-tiers.ts';
import { runTraffic } from './ha-traffic.ts';
import { startNatsServer, type TestNats } from './nats.ts';
import { freePort } from './ports.ts';
import type { Started } from './process.ts';
import { openTestStore } from './store.ts';
import { tempDir } from './temp.ts';
import { until } from './wait.ts';

export { HA_HOSTS, TIERS, type TierName };

export interface SeededStack {
  /** The migrated store holding the data; open until stop(). */
  store: Store;
  database: string;
  /** Earliest and latest timestamp stored in samples and logs (ms since the epoch). */
  from: number;
  to: number;
  hosts: Record<TierName, string>;
  /** Stops every server and closes the store; temp dirs go when the test file ends. */
  stop(): Promise<void>;
}

export interface SeedOptions {
  /** How long the agents collect while traffic runs. @default 12 */
  seconds?: number;
}

const logger = silentLogger();

interface RunningAgent {
  agent: Agent;
  link: BusLink;
}

async function startAgents(
  busUrl: string,
  sources: Record<TierName, unknown[]>,
  registries: Partial<Record<TierName, Registry>>,
): Promise<RunningAgent[]> {
  const schema = agentConfigSchema(SOURCE_DEFINITIONS);
  const config = testConfig({ nats: { url: busUrl } });
  return Promise.all(
    TIERS.map(async (tier) => {
      const link = new BusLink({ config, logger });
      await link.ready();
      const agent = await Agent.create({
        config: schema.parse({
          tier,
          host: HA_HOSTS[tier],
          interval: '1s',
          batch: { max_age: '200ms' },
          spool: { fsync: false },
          sources: sources[tier],
        }),
        dataDir: tempDir(`halo-agent-${tier}-`),
        definitions: SOURCE_DEFINITIONS,
        connection: () => link.current(),
        logger,
        ...(registries[tier] ? { registry: registries[tier] } : {}),
      });
      agent.start();
      return { agent, link };
    }),
  );
}

/** The span of what was stored, over samples and logs. */
async function storedSpan(store: Store): Promise<{ from: number; to: number }> {
  const rows = await store.query<{ from: string; to: string }>(
    sql`SELECT toUnixTimestamp64Milli(min(ts)) AS from, toUnixTimestamp64Milli(max(ts)) AS to
        FROM (SELECT ts FROM ${ident(store.table('samples'))}
              UNION ALL SELECT ts FROM ${ident(store.table('logs'))})`,
  );
  return { from: Number(rows[0]?.from), to: Number(rows[0]?.to) };
}

/** Runs fn the first time only; later calls get the same promise (for stop-once teardown). */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

/** The store, the bus with its monitoring port, and the ingester serving its own /metrics. */
async function startPipeline(stops: Array<() => Promise<void>>) {
  const { store } = await openTestStore();
  stops.push(() => store.close());
  const monitorPort = await freePort();
  const bus: TestNats = await startNatsServer(['-m', String(monitorPort)]);
  stops.push(() => bus.stop());
  const config = testConfig({ nats: { url: bus.url } });
  const nc: NatsConnection = await connectBus({ config, logger });
  stops.push(() => nc.close());
  await ensureStreams(nc, config, logger);
  const registry = createRegistry('ingest');
  const ingester = new Ingester({
    nc,
    store,
    config: ingestConfigSchema.parse({ insert: { max_wait: '200ms' } }),
    logger,
    registry,
  });
  await ingester.start();
  const stopIngester = once(() => ingester.stop(5000));
  stops.push(stopIngester);
  // The readiness checks `halo ingest` has, reported on /metrics as halo_check_up.
  const checks = () => ({
    store: () => store.ping(),
    bus: async () => {
      await nc.flush();
      return true;
    },
  });
  registerChecks(registry, checks);
  const self = await serveHttp(
    new Hono().route('/', createHealthApp({ registry, checks })),
    '127.0.0.1',
    0,
  );
  stops.push(() => self.close());
  const monitor = `http://127.0.0.1:${monitorPort}`;
  return { store, bus, nc, registry, monitor, ingester, stopIngester, self };
}

// The app's checkout SLO and a rule on the load balancer's 5xx, both breached by the traffic.
const SLO_SPEC = `apiVersion: halo/v1
kind: SLO
metadata: { name: shop-availability }
spec:
  service: shop
  objective: 99.9
  window: { rolling: 30d }
  sli:
    ratio:
      bad: { metric: http_requests_total, matchers: { tier: app, code: "500" } }
      total: { metric: http_requests_total, matchers: { tier: app } }
`;
const RULE_SPEC = `apiVersion: halo/v1
kind: AlertRule
metadata:
  name: lb-5xx
  labels: { severity: ticket }
spec:
  threshold:
    metric: haproxy_frontend_http_responses_total
    matchers: { tier: lb, code: 5xx }
    aggregation: increase
    over: 1m
    by: [host]
    op: '>'
    value: 0
`;

/**
 * The real alerter (\`halo alert\`'s start-up) on a 1 s schedule, paging a local webhook
 * receiver: SLO evaluations, alert history and the notification log fill as in production, and
 * its figures join the ingester's on the /metrics an agent scrapes.
 */
async function startAlerting(store: Store, nc: NatsConnection, registry: Registry) {
  const receiver = await startReceiverServer();
  const dir = tempDir('halo-alerting-');
  writeFileSync(join(dir, 'slo.yaml'), SLO_SPEC);
  writeFileSync(join(dir, 'rules.yaml'), RULE_SPEC);
  const config = haloConfigSchema.parse({
    alerter: { slos: [join(dir, 'slo.yaml')], rules: [join(dir, 'rules.yaml')], interval: '1s' },
    notify: {
      receivers: [{ name: 'hook', webhook_configs: [{ url: receiver.url('/hook') }] }],
      route: { receiver: 'hook', group_by: ['alertname'], group_wait: '1s' },
    },
  });
  const started = await startAlerter({ config, store, nc, logger, registry });
  return {
    stop: once(async () => {
      await started.stop();
      await receiver.close();
    }),
  };
}

/**
 * Starts the stack, runs traffic for `seconds` while the agents collect every second, stops the
 * agents (they flush their spools) and returns once the ingester has stored every batch.
 */
export async function seedHaStack(options: SeedOptions = {}): Promise<SeededStack> {
  const seconds = options.seconds ?? 12;
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    const { store, bus, nc, registry, monitor, ingester, stopIngester, self } =
      await startPipeline(stops);
    const servers = await startServers();
    const started: Started[] = [
      ...servers.nginx.map((n) => n.server),
      servers.haproxy.server,
      ...servers.redis.servers,
      ...servers.postgres.servers,
      servers.nodeExporter.server,
    ];
    stops.push(async () => {
      await servers.app.close();
      for (const server of started.reverse()) await server.stop('SIGINT');
    });
    const alerting = await startAlerting(store, nc, registry);
    stops.push(alerting.stop);
    // The app agent counts into the registry its halo-ingest source scrapes, as in `halo up`.
    const agents = await startAgents(bus.url, tierSources(servers, { monitor }, self), {
      app: registry,
    });
    const stopAgents = once(async () => {
      await Promise.all(agents.map((a) => a.agent.stop(5000)));
      await Promise.all(agents.map((a) => a.link.close()));
    });
    stops.push(stopAgents);
    // A batch that does not decode: the ingester dead-letters it and counts it.
    await jetstream(nc).publish(`${SUBJECT_ROOTS.metrics}.app.app-1`, '{not json');
    await runTraffic(
      {
        frontend: `http://127.0.0.1:${servers.haproxy.frontend}`,
        app: servers.app.url,
        redis: { port: servers.redis.primaryPort, password: REDIS_PASSWORD },
        postgres: { socketDir: servers.postgres.socketDir, port: servers.postgres.primaryPort },
        nats: bus.url,
      },
      seconds,
    );
    // A last collection after the traffic, so counters include its final round.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await stopAgents();
    await until(
      async () => Object.values(await ingester.pending()).every((n) => n === 0),
      'the ingester to store every batch',
      30_000,
    );
    await stopIngester();
    await alerting.stop();
    const span = await storedSpan(store);
    return { store, database: store.database, ...span, hosts: { ...HA_HOSTS }, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
