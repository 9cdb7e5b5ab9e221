// Runs the ingest role: JetStream → ClickHouse, with /healthz, /readyz and /metrics.

import type { NatsConnection } from '@nats-io/nats-core';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { Ingester } from '../collector/ingest/ingester.ts';
import { connectBus } from '../core/bus/connect.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import { ConfigError } from '../core/errors.ts';
import { createHealthApp } from '../core/http/health.ts';
import { serveHttp } from '../core/http/serve.ts';
import type { Logger } from '../core/logger.ts';
import { createRegistry, registerChecks } from '../core/metrics.ts';
import { migrate } from '../core/store/migrate.ts';
import { openStore, type Store } from '../core/store/store.ts';
import type { FullConfig } from './config-schema.ts';

/** Starts an ingester on a store and a connection someone else owns (halo up, or runIngestRole). */
export async function startIngester(options: {
  config: FullConfig;
  store: Store;
  nc: NatsConnection;
  logger: Logger;
  registry: Registry;
}): Promise<Ingester> {
  const ingester = new Ingester({
    nc: options.nc,
    store: options.store,
    config: options.config.ingest,
    logger: options.logger,
    registry: options.registry,
  });
  await ingester.start();
  return ingester;
}

/** `halo ingest`: several may run against one ClickHouse server and share the work. */
export async function runIngestRole(
  config: FullConfig,
  logger: Logger,
): Promise<() => Promise<void>> {
  if (config.nats.url === undefined) {
    throw new ConfigError(
      'nats.url: missing: halo ingest consumes from a NATS server (set nats.url or HALO_NATS_URL); `halo up` runs everything in one process',
    );
  }
  const registry = createRegistry('ingest');
  let store: Store | undefined;
  let nc: NatsConnection | undefined;
  const checks = () => ({
    store: async () => (store ? store.ping() : false),
    bus: async () => nc !== undefined && !nc.isClosed(),
  });
  registerChecks(registry, checks);
  const app = new Hono();
  app.route('/', createHealthApp({ registry, checks }));
  const http = await serveHttp(app, config.http.address, config.http.port);
  const stops: Array<() => Promise<void>> = [() => http.close()];
  const stopAll = async () => {
    for (const stop of stops.reverse())
      await stop().catch((err: unknown) => logger.error({ err }, 'stop failed'));
  };
  try {
    const opened = await openStore({ config, logger });
    store = opened;
    stops.push(() => opened.close());
    const connected = await connectBus({ config, logger });
    nc = connected;
    stops.push(async () => {
      if (!connected.isClosed()) await connected.drain();
    });
    await migrate(opened, config, logger);
    await ensureStreams(connected, config, logger);
    const ingester = await startIngester({
      config,
      store: opened,
      nc: connected,
      logger,
      registry,
    });
    stops.push(() => ingester.stop());
  } catch (err) {
    await stopAll();
    throw err;
  }
  return stopAll;
}
