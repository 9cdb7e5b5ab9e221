// `halo up`: every role that exists, in one process on the configured (by default embedded)
// store and bus. Starts in an order that fails early, and stops in the reverse order.

import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { Hono } from 'hono';
import { connectBus } from '../core/bus/connect.ts';
import { startLocalNats, type LocalNats } from '../core/bus/local-server.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import { createHealthApp } from '../core/http/health.ts';
import { lateApp, serveHttp, type HttpServer } from '../core/http/serve.ts';
import type { Logger } from '../core/logger.ts';
import { createRegistry, registerChecks } from '../core/metrics.ts';
import { migrate } from '../core/store/migrate.ts';
import { openStore, type Store } from '../core/store/store.ts';
import { startAgent } from './agent.ts';
import { startAlerter } from './alert.ts';
import { startIngester, startIntake } from './ingest.ts';
import { INTAKE_ROUTES } from '../collector/intake/app.ts';
import type { AgentConfig } from '../collector/agent/config.ts';
import { agentSchema, type FullConfig } from './config-schema.ts';
import { startDemo, type DemoOptions } from './demo/run.ts';

export interface Running {
  readonly http: HttpServer;
  readonly store: Store;
  readonly nats: NatsConnection;
  readonly localNats: LocalNats | undefined;
  stop(): Promise<void>;
}

/** Without an agent section, `halo up` watches this host. */
const DEFAULT_AGENT = { tier: 'host', sources: [{ type: 'host' }] };

/** The name of the source through which `halo up` stores its own metrics. */
export const SELF_SOURCE = 'halo';

/**
 * The agent's config with a source scraping this process's own /metrics, unless a source of
 * that name exists: Halo's ingest, alerter and agent figures reach the store like any
 * application's, and the "Halo itself" dashboard reads them there.
 */
export function withSelfScrape(agent: AgentConfig, metricsUrl: string): AgentConfig {
  if (agent.sources.some((s) => s['name'] === SELF_SOURCE)) return agent;
  const self = agentSchema.parse({
    tier: agent.tier,
    sources: [{ type: 'prometheus', name: SELF_SOURCE, service: 'halo', url: metricsUrl }],
  }).sources;
  return { ...agent, sources: [...agent.sources, ...self] };
}

export interface UpOptions {
  /** Run the demo HA stack (halo up without --no-demo). */
  demo?: DemoOptions;
}

export async function startHalo(
  config: FullConfig,
  logger: Logger,
  options: UpOptions = {},
): Promise<Running> {
  const log = logger.child({ module: 'up' });
  const registry = createRegistry('up');
  const stops: Array<{ what: string; stop: () => Promise<void> }> = [];
  let store: Store | undefined;
  let nats: NatsConnection | undefined;
  let started = false;

  const stopAll = async () => {
    for (const { what, stop } of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        log.error({ err, what }, 'stop failed');
      }
    }
    stops.length = 0;
  };

  try {
    const checks = () => ({
      // Schema migrated and streams in place: before that, nothing may rely on us.
      started: async () => started,
      store: async () => (store ? store.ping() : false),
      bus: async () => {
        if (!nats || nats.isClosed()) return false;
        await nats.flush();
        return true;
      },
    });
    registerChecks(registry, checks);
    const app = new Hono();
    app.route('/', createHealthApp({ registry, checks }));
    // The alerter's API exists only once the alerter does; the server starts before it.
    const late: { alerter?: Hono; intake?: Hono } = {};
    // The intake's routes come first: /api/v1/write and the import are not the alerter's.
    const forwardIntake = lateApp(
      () => late.intake,
      (c) =>
        c.json(
          {
            error: config.intake.enabled
              ? 'the intake is starting'
              : 'the intake is off (intake.enabled)',
          },
          503,
        ),
    );
    for (const path of Object.values(INTAKE_ROUTES)) app.post(path, forwardIntake);
    app.all(
      '/api/*',
      lateApp(
        () => late.alerter,
        (c) => c.json({ error: 'the alerter is starting' }, 503),
      ),
    );
    // The alerter's status page, for when Grafana is not there; also the landing page.
    const status = lateApp(
      () => late.alerter,
      (c) => c.text('Halo is starting', 503),
    );
    app.all('/status', status);
    app.all('/status/*', status);
    app.get('/', (c) => c.redirect('/status'));
    // The port first: if it is taken, nothing else has been created yet.
    const http = await serveHttp(app, config.http.address, config.http.port);
    stops.push({ what: 'http', stop: () => http.close() });

    store = await openStore({ config, logger });
    const openedStore = store;
    stops.push({ what: 'store', stop: () => openedStore.close() });

    let localNats: LocalNats | undefined;
    let servers: string[] | undefined;
    if (config.nats.url === undefined) {
      localNats = await startLocalNats({
        dir: join(config.data_dir, 'nats'),
        binary: config.nats.local.binary,
        address: config.nats.local.address,
        port: config.nats.local.port,
        logger,
      });
      const started = localNats;
      stops.push({ what: 'nats-server', stop: () => started.stop() });
      servers = [localNats.url];
    }
    nats = await connectBus({ config, logger, ...(servers ? { servers } : {}) });
    const connected = nats;
    stops.push({
      what: 'nats connection',
      stop: async () => {
        if (!connected.isClosed()) await connected.drain();
      },
    });
    // Schema and streams last: a bus that refuses us should leave nothing half-made.
    await migrate(store, config, logger);
    await ensureStreams(nats, config, logger);

    const ingester = await startIngester({ config, store, nc: nats, logger, registry });
    stops.push({ what: 'ingester', stop: () => ingester.stop() });
    const intake = startIntake({ config, nc: nats, logger, registry });
    if (intake) late.intake = intake;

    const agent = await startAgent({
      agentConfig: withSelfScrape(
        config.agent ?? agentSchema.parse(DEFAULT_AGENT),
        `${http.url}/metrics`,
      ),
      config,
      logger,
      registry,
      connection: () => connected,
    });
    stops.push({ what: 'agent', stop: () => agent.stop() });

    if (options.demo) {
      const demo = await startDemo({
        config,
        logger,
        connection: () => connected,
        store: openedStore,
        demo: options.demo,
      });
      stops.push({ what: 'demo', stop: () => demo.stop() });
    }

    const alerter = await startAlerter({ config, store, nc: nats, logger, registry });
    stops.push({ what: 'alerter', stop: () => alerter.stop() });
    late.alerter = alerter.app;

    started = true;
    log.info(
      { http: http.url, store: store.location, nats: servers?.[0] ?? 'configured servers' },
      'halo is up',
    );
    return { http, store, nats, localNats, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
