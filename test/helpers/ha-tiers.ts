// The HA stack's tiers: their host names, the real servers each runs, and each tier agent's
// sources as its halo.yaml would list them.

import { existsSync } from 'node:fs';
import type { HttpServer } from '../../core/http/serve.ts';
import { startAppServer, type AppServer } from './app-server.ts';
import { startPostgresPair, startRedisPair } from './data-servers.ts';
import {
  NGINX_TIMED_FORMAT,
  startHaproxy,
  startNginx,
  startNodeExporter,
  type NginxServer,
} from './tier-servers.ts';

export const TIERS = ['lb', 'web', 'cache', 'db', 'mq', 'app', 'host'] as const;
export type TierName = (typeof TIERS)[number];

/** The host name each tier's agent reports. */
export const HA_HOSTS: Record<TierName, string> = {
  lb: 'lb-1',
  web: 'web-1',
  cache: 'cache-1',
  db: 'db-1',
  mq: 'mq-1',
  app: 'app-1',
  host: 'node-1',
};

export const REDIS_PASSWORD = 'Ha-redis-pa55';
const PG_PASSWORD = 'Ha-pg-pa55';

/** nginx behind haproxy: 200s, a 404 for anything unknown, a 500 and a 503, stub_status. */
const webNginx = () =>
  startNginx({
    http: (dir) => `  ${NGINX_TIMED_FORMAT}\n  access_log ${dir}/access.log timed;`,
    server: (dir) => `    root ${dir}/html;
    location = / { return 200 "ok\\n"; }
    location /api/ { return 200 "[]\\n"; }
    location = /boom { return 500; }
    location = /unavailable { return 503; }
    location = /stub_status { access_log off; stub_status; }`,
  });

/** The root of the cgroup v2 tree: /sys/fs/cgroup, or its unified part on a hybrid host. */
function cgroupRoot(): string {
  return existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? '/sys/fs/cgroup'
    : '/sys/fs/cgroup/unified';
}

export interface Servers {
  nginx: NginxServer[];
  haproxy: Awaited<ReturnType<typeof startHaproxy>>;
  redis: Awaited<ReturnType<typeof startRedisPair>>;
  postgres: Awaited<ReturnType<typeof startPostgresPair>>;
  nodeExporter: Awaited<ReturnType<typeof startNodeExporter>>;
  app: AppServer;
}

export async function startServers(): Promise<Servers> {
  const [nginx, redis, postgres, nodeExporter, app] = await Promise.all([
    Promise.all([webNginx(), webNginx()]),
    startRedisPair(REDIS_PASSWORD),
    startPostgresPair(PG_PASSWORD),
    startNodeExporter(['cpu', 'meminfo', 'loadavg', 'filesystem', 'netdev']),
    startAppServer(),
  ]);
  const haproxy = await startHaproxy({ web: nginx.map((n) => n.port) });
  return { nginx, haproxy, redis, postgres, nodeExporter, app };
}

/** Each tier's sources, as its halo.yaml would list them. */
export function tierSources(
  s: Servers,
  bus: { monitor: string },
  self: HttpServer,
): Record<TierName, unknown[]> {
  const local = (port: number) => `127.0.0.1:${port}`;
  const postgres = { primary: s.postgres.primaryPort, replica: s.postgres.replicaPort };
  return {
    lb: [
      { type: 'haproxy', socket: s.haproxy.socket },
      { type: 'probe', name: 'frontend', target: `http://127.0.0.1:${s.haproxy.frontend}/` },
    ],
    web: [
      ...s.nginx.map((n, i) => ({
        type: 'nginx',
        name: `nginx-${i + 1}`,
        url: `http://127.0.0.1:${n.port}/stub_status`,
      })),
      {
        type: 'logs',
        name: 'access',
        service: 'shop',
        paths: s.nginx.map((n) => `${n.dir}/access.log`),
        format: 'nginx',
        start_at: 'beginning',
        access_log: { route_label: ['/api/'] },
      },
    ],
    cache: [
      {
        type: 'redis',
        name: 'primary',
        address: local(s.redis.primaryPort),
        password: REDIS_PASSWORD,
      },
      { type: 'redis', name: 'replica', address: local(s.redis.replicaPort) },
    ],
    db: Object.entries(postgres)
      .filter(([, port]) => port !== undefined)
      .map(([name, port]) => ({
        type: 'postgres',
        name,
        connection: { port, password: PG_PASSWORD },
      })),
    mq: [{ type: 'nats', url: bus.monitor }],
    app: [
      { type: 'prometheus', name: 'shop', service: 'shop', url: `${s.app.url}/metrics` },
      { type: 'prometheus', name: 'halo-ingest', service: 'halo', url: `${self.url}/metrics` },
      {
        type: 'logs',
        name: 'shop-log',
        service: 'shop',
        paths: [s.app.logFile],
        format: 'json',
        start_at: 'beginning',
      },
    ],
    host: [
      { type: 'host', cgroups: ['self'], cgroup_path: cgroupRoot() },
      { type: 'prometheus', name: 'node_exporter', url: s.nodeExporter.url },
    ],
  };
}
