// Runs the demo inside `halo up`: the simulated HA stack, one real agent per member publishing to
// the bus, and the scripted incident. A member that goes down takes its agent with it, as a host
// would, and comes back with a new one.

import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { Agent } from '../../collector/agent/agent.ts';
import { SOURCE_DEFINITIONS } from '../../collector/agent/sources/index.ts';
import type { Logger } from '../../core/logger.ts';
import { sleep } from '../../core/sleep.ts';
import { ident, param, sql } from '../../core/store/sql.ts';
import type { Store } from '../../core/store/store.ts';
import { expandFiles, loadSlos } from '../../alerter/slo/load.ts';
import { agentSchema, type FullConfig } from '../config-schema.ts';
import { DEMO_TOKEN_NAME, keepDemoToken } from './config.ts';
import { scheduleIncident, type IncidentEvent } from './incident.ts';
import { startDemoStack, type DemoStack } from './stack.ts';

export interface DemoOptions {
  /** When the scripted incident starts after start-up; undefined: no incident. */
  incidentAfterMs?: number;
  /** How long the failing web server answers 5xx before it goes down. @default 2m */
  errorsForMs?: number;
  /** How long it stays down before it recovers. @default 3m */
  downForMs?: number;
  /** Requests per second through the stack. @default 20 */
  rps?: number;
  /** Write this much history before the first live data (`--backfill 30d`). */
  backfillMs?: number;
}

export interface RunningDemo {
  stack: DemoStack;
  /** The incident's steps so far, oldest first. */
  events: readonly IncidentEvent[];
  stop(): Promise<void>;
}

export async function startDemo(options: {
  config: FullConfig;
  logger: Logger;
  connection: () => NatsConnection | undefined;
  store: Store;
  demo: DemoOptions;
}): Promise<RunningDemo> {
  const { config, logger, demo } = options;
  const log = logger.child({ module: 'demo' });
  const home = join(config.data_dir, 'demo');
  const stack = await startDemoStack({
    dir: join(home, 'stack'),
    logger,
    ...(demo.rps !== undefined ? { rps: demo.rps } : {}),
  });
  const agents = new Map<string, Agent>();
  const configs = new Map(
    stack.agents().map((raw) => [String(raw['host']), agentSchema.parse(raw)] as const),
  );

  const startAgent = async (host: string) => {
    const agentConfig = configs.get(host);
    if (!agentConfig || agents.has(host)) return;
    const agent = await Agent.create({
      config: agentConfig,
      dataDir: join(home, 'agents', host),
      definitions: SOURCE_DEFINITIONS,
      connection: options.connection,
      logger: logger.child({ demo_member: host }),
    });
    agent.start();
    agents.set(host, agent);
  };
  const stopAgent = async (host: string) => {
    const agent = agents.get(host);
    agents.delete(host);
    await agent?.stop(2000);
  };

  const events: IncidentEvent[] = [];
  const stopping = new AbortController();
  let incident: { cancel(): void } | undefined;
  try {
    for (const host of configs.keys()) await startAgent(host);
    stack.start();
    if (demo.incidentAfterMs !== undefined) {
      incident = scheduleIncident(stack, {
        afterMs: demo.incidentAfterMs,
        errorsForMs: demo.errorsForMs ?? 120_000,
        downForMs: demo.downForMs ?? 180_000,
        onEvent: (event) => {
          events.push(event);
          log.warn({ phase: event.phase, host: event.host }, event.text);
          // A member that is down takes its agent with it; it comes back with a new one.
          const change = event.phase === 'down' ? stopAgent(event.host) : startAgent(event.host);
          change.catch((err: unknown) =>
            log.error({ err, host: event.host }, 'demo agent could not follow the incident'),
          );
        },
      });
    }
    // The status page's silence form asks for the demo's token: kept where its user finds it.
    const token = config.api.tokens.find((t) => t.name === DEMO_TOKEN_NAME);
    const tokenFile = token ? keepDemoToken(config.data_dir, token.token.reveal()) : undefined;
    log.info(
      {
        ...(tokenFile ? { silence_token_file: tokenFile } : {}),
        members: stack.members.map((m) => `${m.host} (${m.tier})`),
        incident_after_s:
          demo.incidentAfterMs === undefined ? null : Math.round(demo.incidentAfterMs / 1000),
      },
      'demo HA stack started',
    );
  } catch (err) {
    await Promise.allSettled([...agents.keys()].map(stopAgent));
    await stack.stop();
    throw err;
  }
  const backfill =
    demo.backfillMs !== undefined
      ? runBackfill({
          store: options.store,
          config,
          hosts: stack.members.map((m) => m.host),
          ms: demo.backfillMs,
          log,
          signal: stopping.signal,
        })
      : undefined;
  return {
    stack,
    events,
    stop: async () => {
      stopping.abort();
      await backfill;
      incident?.cancel();
      await Promise.allSettled([...agents.keys()].map(stopAgent));
      await stack.stop();
    },
  };
}

/** Polls until every host has a live sample; the time of the earliest, or undefined if stopped. */
async function firstLiveSample(
  store: Store,
  hosts: readonly string[],
  signal: AbortSignal,
): Promise<number | undefined> {
  while (!signal.aborted) {
    const [row] = await store.query<{ hosts: string; first: string }>(
      sql`SELECT uniqExact(host) AS hosts, toUnixTimestamp64Milli(min(ts)) AS first
        FROM ${ident(store.table('samples'))} WHERE has(${param(hosts, 'Array(String)')}, host)`,
    );
    if (row && Number(row.hosts) >= hosts.length) return Number(row.first);
    await sleep(2000, signal).catch(() => undefined);
  }
  return undefined;
}

/**
 * `--backfill`: once every member has live data, history before it, for the same series, with
 * the demo's SLOs replayed over it. Runs beside the live demo; its failure is logged, not fatal.
 */
async function runBackfill(o: {
  store: Store;
  config: FullConfig;
  hosts: readonly string[];
  ms: number;
  log: Logger;
  signal: AbortSignal;
}): Promise<void> {
  try {
    const to = await firstLiveSample(o.store, o.hosts, o.signal);
    if (to === undefined) return;
    const { slos } = loadSlos(expandFiles(o.config.alerter.slos));
    o.log.info({ days: Math.round(o.ms / 86_400_000) }, 'demo backfill: writing history');
    // Loaded only when asked for.
    const { backfillDemo } = await import('./backfill.ts');
    const result = await backfillDemo({
      store: o.store,
      slos,
      hosts: o.hosts,
      from: to - o.ms,
      to,
      logger: o.log,
      signal: o.signal,
      onProgress: (done: number, total: number, what: string) =>
        o.log.info({ done, total }, `demo backfill: ${what}`),
    });
    o.log.info(
      {
        series: result.series,
        samples: result.samples,
        log_lines: result.logLines,
        evaluations: result.evaluations,
        incidents: result.incidents.length,
        seconds: result.seconds,
      },
      'demo backfill done',
    );
  } catch (err) {
    if (o.signal.aborted) return;
    o.log.error({ err }, 'demo backfill failed; the live demo goes on');
  }
}
