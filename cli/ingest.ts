// Runs the ingest role: JetStream → ClickHouse, with /healthz, /readyz and /metrics.

import type { NatsConnection } from '@nats-io/nats-core';
import type { Registry } from 'prom-client';
import type { Hono } from 'hono';
import { batchLimitsOf } from '../collector/ingest/config.ts';
import { Ingester } from '../collector/ingest/ingester.ts';
import { createIntakeApp } from '../collector/intake/app.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import type { Logger } from '../core/logger.ts';
import type { Store } from '../core/store/store.ts';
import type { FullConfig } from './config-schema.ts';
import { runRole } from './role.ts';

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

/**
 * The HTTP intake (remote_write, text import, OTLP) on this connection, when `intake.enabled`:
 * it publishes to the streams the ingesters consume.
 */
export function startIntake(options: {
  config: FullConfig;
  nc: NatsConnection;
  logger: Logger;
  registry: Registry;
}): Hono | undefined {
  const { config } = options;
  if (!config.intake.enabled) return undefined;
  return createIntakeApp({
    config: config.intake,
    limits: batchLimitsOf(config.ingest),
    nc: options.nc,
    consumer: config.ingest.consumer,
    maxStreamBytes: {
      metrics: config.nats.streams.metrics.max_bytes.bytes,
      logs: config.nats.streams.logs.max_bytes.bytes,
    },
    logger: options.logger,
    registry: options.registry,
  });
}

/** `halo ingest`: several may run against one ClickHouse server and share the work. */
export function runIngestRole(config: FullConfig, logger: Logger): Promise<() => Promise<void>> {
  return runRole(config, logger, {
    name: 'ingest',
    needsNats: 'consumes from a NATS server',
    start: async ({ store, nc, registry }) => {
      await ensureStreams(nc, config, logger);
      const ingester = await startIngester({ config, store, nc, logger, registry });
      const app = startIntake({ config, nc, logger, registry });
      return { stop: () => ingester.stop(), ...(app ? { app } : {}) };
    },
  });
}
