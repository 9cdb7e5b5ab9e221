// `halo up`'s demo HA stack, simulated in-process: lb-1 (haproxy), web-1 and web-2 (nginx),
// app-1 (the shop app), cache-1 (redis), db-1 (postgres) and mq-1 (nats), each serving its
// metrics in its real server's format on a loopback port and writing its logs to files, so
// Halo's real agent collects them through its real sources.

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from '../../core/logger.ts';
import { Endpoint } from './endpoint.ts';
import { LogFile } from './log-file.ts';
import { serverFor } from './servers.ts';
import { ROUTES } from './routes.ts';
import { MEMBER_SPECS, MODES, type Kind, type Mode } from './state.ts';
import { TrafficModel } from './traffic.ts';

export {
  scheduleIncident,
  type Incident,
  type IncidentEvent,
  type IncidentOptions,
} from './incident.ts';

export interface DemoStackOptions {
  /** The folder of the demo's files; logs go to <dir>/logs/<host>/. */
  dir: string;
  /** Requests per second at the front door. @default 20 */
  rps?: number;
  /** @default Date.now */
  clock?: () => number;
  /** Seed of the simulated traffic. @default 1 */
  seed?: number;
  /** How often start()'s timer ticks, in ms. @default 500 */
  tickMs?: number;
  logger?: Logger;
  /** A log file is rotated (file → file.1) before it grows past this. @default 8 MiB */
  logMaxBytes?: number;
}

export interface DemoMember {
  host: string;
  tier: string;
  service: string;
  kind: Kind;
  mode: Mode;
}

export interface DemoStack {
  members: readonly DemoMember[];
  /** One agent config per member (input of the agent schema: tier, host, interval, sources…), pointing at its ports and log files. */
  agents(): Array<Record<string, unknown>>;
  setMode(host: string, mode: DemoMember['mode']): Promise<void>;
  tick(now?: number): void;
  start(): void;
  /** Closes every socket, timer and file handle; idempotent. */
  stop(): Promise<void>;
}

/** The files each member writes its log lines to, under <dir>/logs/. */
export function logPaths(dir: string): Record<string, string> {
  const logs = join(resolve(dir), 'logs');
  return {
    'web-1': join(logs, 'web-1', 'access.log'),
    'web-2': join(logs, 'web-2', 'access.log'),
    'app-1': join(logs, 'app-1', 'app.log'),
  };
}

const ROUTE_LABELS = [...new Set(ROUTES.map((r) => r.route))];

export async function startDemoStack(o: DemoStackOptions): Promise<DemoStack> {
  if (typeof o.dir !== 'string' || o.dir === '') {
    throw new TypeError('demo stack: dir is empty: expected the folder for its log files');
  }
  const logMaxBytes = o.logMaxBytes ?? 8 * 1024 * 1024;
  if (!Number.isInteger(logMaxBytes) || logMaxBytes < 4096) {
    throw new RangeError(
      `demo stack: logMaxBytes is ${logMaxBytes}: expected whole bytes of 4096 or more`,
    );
  }
  const logger = o.logger?.child({ module: 'demo-stack' });
  const paths = logPaths(o.dir);
  const files = new Map<string, LogFile>();
  for (const [host, path] of Object.entries(paths)) {
    mkdirSync(join(path, '..'), { recursive: true });
    files.set(host, new LogFile(path, logMaxBytes, logger));
  }
  const model = new TrafficModel({
    ...(o.rps !== undefined ? { rps: o.rps } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.clock !== undefined ? { clock: o.clock } : {}),
    ...(o.tickMs !== undefined ? { tickMs: o.tickMs } : {}),
    ...(logger !== undefined ? { logger } : {}),
    sink: (host, lines) => files.get(host)?.append(lines),
  });
  const endpoints = new Map<string, Endpoint>();
  for (const spec of MEMBER_SPECS) {
    const port = () => endpoints.get(spec.host)?.port ?? 0;
    const create = serverFor(spec.kind, spec.host, {
      state: model.state,
      clock: model.clock,
      port,
    });
    endpoints.set(spec.host, new Endpoint(spec.host, create));
  }
  const closeAll = async () => {
    model.stop();
    await Promise.all([...endpoints.values()].map((e) => e.close()));
    for (const file of files.values()) file.close();
  };
  try {
    for (const endpoint of endpoints.values()) await endpoint.open();
  } catch (err) {
    await closeAll();
    throw err;
  }
  model.state.redis.port = endpoints.get('cache-1')!.port;
  const members: DemoMember[] = MEMBER_SPECS.map((spec) => ({ ...spec, mode: 'healthy' }));
  const portOf = (host: string) => endpoints.get(host)!.port;
  logger?.info(
    {
      ports: Object.fromEntries(MEMBER_SPECS.map((m) => [m.host, portOf(m.host)])),
      rps: model.rps,
    },
    'demo stack started',
  );

  let stopped: Promise<void> | undefined;
  let queue: Promise<void> = Promise.resolve();

  const apply = async (host: string, mode: Mode) => {
    const member = members.find((m) => m.host === host);
    if (!member) {
      throw new Error(
        `demo stack: no member ${host} (expected one of ${members.map((m) => m.host).join(', ')})`,
      );
    }
    if (!(MODES as readonly string[]).includes(mode)) {
      throw new Error(
        `demo stack: mode ${String(mode)} of ${host}: expected one of ${MODES.join(', ')}`,
      );
    }
    if (stopped) throw new Error(`demo stack: set ${host} ${mode}: the stack is stopped`);
    const endpoint = endpoints.get(host)!;
    if (mode === 'down') {
      // haproxy's check fails as the listener goes: no request reaches a closed server.
      model.setMode(host, mode);
      await endpoint.close();
    } else {
      await endpoint.open();
      model.setMode(host, mode);
    }
    member.mode = mode;
    logger?.info({ host, mode, port: endpoint.port }, 'demo member mode');
  };

  return {
    members,
    agents: () => agentConfigs(o.dir, portOf),
    setMode(host, mode) {
      const run = queue.then(() => apply(host, mode));
      queue = run.catch(() => undefined);
      return run;
    },
    tick(now) {
      if (!stopped) model.tick(now);
    },
    start() {
      if (!stopped) model.start();
    },
    stop() {
      stopped ??= queue.then(closeAll).then(() => logger?.info('demo stack stopped'));
      return stopped;
    },
  };
}

/** Each member's agent config, as its halo.yaml `agent:` section would read. */
function agentConfigs(
  dir: string,
  portOf: (host: string) => number,
): Array<Record<string, unknown>> {
  const paths = logPaths(dir);
  const url = (host: string, path = '') => `http://127.0.0.1:${portOf(host)}${path}`;
  const agent = (tier: string, host: string, sources: unknown[]) => ({
    tier,
    host,
    interval: '5s',
    sources,
  });
  const web = (host: string) =>
    agent('web', host, [
      { type: 'nginx', service: 'nginx', url: url(host, '/stub_status') },
      {
        type: 'logs',
        name: 'access-log',
        service: 'nginx',
        paths: [paths[host]],
        format: 'nginx',
        start_at: 'beginning',
        access_log: { route_label: ROUTE_LABELS },
      },
    ]);
  return [
    agent('lb', 'lb-1', [{ type: 'haproxy', service: 'haproxy', url: url('lb-1', '/stats') }]),
    web('web-1'),
    web('web-2'),
    agent('app', 'app-1', [
      { type: 'prometheus', name: 'shop', service: 'shop', url: url('app-1', '/metrics') },
      {
        type: 'logs',
        name: 'app-log',
        service: 'shop',
        paths: [paths['app-1']],
        format: 'json',
        start_at: 'beginning',
      },
    ]),
    agent('cache', 'cache-1', [
      { type: 'redis', service: 'redis', address: `127.0.0.1:${portOf('cache-1')}` },
    ]),
    // db-1 serves the postgres source's own series as Prometheus text (see formats-data.ts):
    // the wire protocol is not simulated, so the prometheus source reads them.
    agent('db', 'db-1', [
      { type: 'prometheus', name: 'postgres', service: 'postgres', url: url('db-1', '/metrics') },
    ]),
    agent('mq', 'mq-1', [{ type: 'nats', service: 'nats', url: url('mq-1') }]),
  ];
}
