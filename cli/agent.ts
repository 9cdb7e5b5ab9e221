// Runs the agent role: sources on this host → spool → JetStream, with /healthz, /readyz and /metrics.

import { Hono } from 'hono';
import { Agent } from '../collector/agent/agent.ts';
import { SOURCE_DEFINITIONS } from '../collector/agent/sources/index.ts';
import type { AgentConfig } from '../collector/agent/config.ts';
import { BusLink } from '../core/bus/link.ts';
import { ConfigError } from '../core/errors.ts';
import { createHealthApp } from '../core/http/health.ts';
import { serveHttp } from '../core/http/serve.ts';
import type { Logger } from '../core/logger.ts';
import { createRegistry, registerChecks } from '../core/metrics.ts';
import { acquireDirLock } from '../core/store/lock.ts';
import type { FullConfig } from './config-schema.ts';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Registry } from 'prom-client';

export interface RunningAgent {
  agent: Agent;
  stop(): Promise<void>;
}

/** Starts an agent on a connection someone else owns (halo up) or on a BusLink of its own. */
export async function startAgent(options: {
  agentConfig: AgentConfig;
  config: FullConfig;
  logger: Logger;
  registry: Registry;
  connection: () => NatsConnection | undefined;
}): Promise<RunningAgent> {
  const { agentConfig, config, logger } = options;
  const home = join(config.data_dir, 'agent');
  mkdirSync(home, { recursive: true });
  // Two agents on one spool would send each other's batches: one per data dir.
  const lock = acquireDirLock(join(home, 'agent.lock'), `agent directory ${home}`);
  try {
    const agent = await Agent.create({
      config: agentConfig,
      dataDir: config.data_dir,
      definitions: SOURCE_DEFINITIONS,
      connection: options.connection,
      logger,
      registry: options.registry,
    });
    agent.start();
    return {
      agent,
      stop: async () => {
        try {
          await agent.stop(5000);
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** `halo agent`: needs a NATS server; works on while it is away (the spool fills). */
export async function runAgentRole(
  config: FullConfig,
  logger: Logger,
): Promise<() => Promise<void>> {
  if (!config.agent) {
    throw new ConfigError(
      'agent: missing: add an agent section with at least tier and sources (see halo.example.yaml)',
    );
  }
  if (config.nats.url === undefined) {
    throw new ConfigError(
      'nats.url: missing: halo agent publishes to a NATS server (set nats.url or HALO_NATS_URL); `halo up` runs everything in one process',
    );
  }
  const registry = createRegistry('agent');
  const link = new BusLink({ config, logger });
  let running: RunningAgent | undefined;
  const checks = () => ({
    bus: async () => link.current() !== undefined,
    agent: async () => running !== undefined,
  });
  registerChecks(registry, checks);
  const app = new Hono();
  app.route('/', createHealthApp({ registry, checks }));
  const http = await serveHttp(app, config.http.address, config.http.port);
  try {
    running = await startAgent({
      agentConfig: config.agent,
      config,
      logger,
      registry,
      connection: () => link.current(),
    });
  } catch (err) {
    await link.close();
    await http.close();
    throw err;
  }
  const started = running;
  return async () => {
    await started.stop();
    await link.close();
    await http.close();
  };
}
