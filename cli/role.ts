// Runs one role that needs the store and a NATS server (`halo ingest`, `halo alert`): health and
// metrics over HTTP first, then the store, the bus and the schema, then the role; stops in the
// reverse order.

import type { NatsConnection } from '@nats-io/nats-core';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { connectBus } from '../core/bus/connect.ts';
import { ConfigError } from '../core/errors.ts';
import { createHealthApp } from '../core/http/health.ts';
import { lateApp, serveHttp } from '../core/http/serve.ts';
import type { Logger } from '../core/logger.ts';
import { createRegistry, registerChecks } from '../core/metrics.ts';
import { migrate } from '../core/store/migrate.ts';
import { openStore, type Store } from '../core/store/store.ts';
import type { FullConfig } from './config-schema.ts';

export interface RoleContext {
  config: FullConfig;
  store: Store;
  nc: NatsConnection;
  logger: Logger;
  registry: Registry;
}

export interface StartedRole {
  stop(): Promise<void>;
  /** Routes the role serves besides /healthz, /readyz and /metrics. */
  app?: Hono;
}

export async function runRole(
  config: FullConfig,
  logger: Logger,
  role: { name: string; needsNats: string; start: (ctx: RoleContext) => Promise<StartedRole> },
): Promise<() => Promise<void>> {
  if (config.nats.url === undefined) {
    throw new ConfigError(
      `nats.url: missing: halo ${role.name} ${role.needsNats} (set nats.url or HALO_NATS_URL); \`halo up\` runs everything in one process`,
    );
  }
  const registry = createRegistry(role.name);
  let store: Store | undefined;
  let nc: NatsConnection | undefined;
  const checks = () => ({
    store: async () => (store ? store.ping() : false),
    bus: async () => nc !== undefined && !nc.isClosed(),
  });
  registerChecks(registry, checks);
  const app = new Hono();
  app.route('/', createHealthApp({ registry, checks }));
  // The role's own routes exist only once it has started; the port is taken first.
  const late: { app?: Hono } = {};
  const forward = lateApp(
    () => late.app,
    (c) => c.json({ error: `halo ${role.name} is starting` }, 503),
  );
  app.all('/api/*', forward);
  // The intake's OTLP routes (halo ingest).
  app.all('/v1/*', forward);
  // The alerter's status page (other roles answer 404 once started).
  app.all('/status', forward);
  app.all('/status/*', forward);
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
    const started = await role.start({ config, store: opened, nc: connected, logger, registry });
    stops.push(() => started.stop());
    if (started.app) late.app = started.app;
  } catch (err) {
    await stopAll();
    throw err;
  }
  return stopAll;
}
