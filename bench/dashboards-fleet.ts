// The fleet of bench/dashboards: tiers, their host counts at 200 hosts and the sources each host
// runs, and every series of it with the labels the agent adds.

import {
  accessLogSeries,
  appSeries,
  g,
  hostSeries,
  type Metric,
  type SeriesSpec,
} from './dashboards-series.ts';
import {
  haproxySeries,
  natsSeries,
  nginxSeries,
  postgresSeries,
  probeSeries,
  redisSeries,
} from './dashboards-services.ts';

export interface Tier {
  tier: string;
  hosts: number;
  /** The agent's `service` for the host, by host number. */
  service: (i: number) => string;
  /** cgroups besides the agent's own. */
  cgroups: string[];
  /** Sources besides `host`: [source name, source type, its series]. */
  sources: (i: number, host: string) => Array<[string, string, Metric[]]>;
}

const pad = (i: number) => String(i + 1).padStart(2, '0');
const pairPeer = (tier: string, i: number) => `${tier}-${pad(i % 2 === 0 ? i + 1 : i - 1)}`;
const APP_SERVICES = ['checkout', 'catalog', 'accounts'];

/** The fleet at 200 hosts; other sizes scale each tier, one host at least. */
export const TIERS: Tier[] = [
  {
    tier: 'lb',
    cgroups: ['/system.slice/haproxy.service'],
    hosts: 4,
    service: () => 'edge',
    sources: () => [
      ['haproxy', 'haproxy', haproxySeries()],
      ['probe-shop', 'probe', probeSeries(false)],
      ['probe-api', 'probe', probeSeries(true)],
    ],
  },
  {
    tier: 'web',
    cgroups: ['/system.slice/nginx.service', '/system.slice/fluent-bit.service'],
    hosts: 40,
    service: () => 'storefront',
    sources: (_i, host) => [
      ['nginx', 'nginx', nginxSeries(120)],
      ['access-log', 'logs', accessLogSeries(120, host)],
    ],
  },
  {
    tier: 'cache',
    cgroups: ['/system.slice/redis-server.service'],
    hosts: 12,
    service: () => 'sessions',
    sources: (i) => [['redis', 'redis', redisSeries(i % 2 === 0, pairPeer('cache', i))]],
  },
  {
    tier: 'db',
    cgroups: ['/system.slice/postgresql.service'],
    hosts: 8,
    service: () => 'orders-db',
    sources: (i) => [['postgres', 'postgres', postgresSeries(i % 2 === 0, pairPeer('db', i))]],
  },
  {
    tier: 'mq',
    cgroups: ['/system.slice/nats-server.service'],
    hosts: 6,
    service: () => 'bus',
    sources: (i) => [['nats', 'nats', natsSeries(i)]],
  },
  {
    tier: 'app',
    cgroups: ['/system.slice/app.service'],
    hosts: 90,
    service: (i) => APP_SERVICES[i % 3]!,
    // The incident: checkout fails and slows for an hour.
    sources: (i, host) => [['app', 'prometheus', appSeries(50, host, i % 3 === 0)]],
  },
  {
    tier: 'ops',
    cgroups: ['/system.slice/cron.service'],
    hosts: 40,
    service: () => '',
    sources: () => [],
  },
];

/** Host counts per tier for a fleet of `total` hosts (200: the counts above). */
export function fleet(total: number): Array<[Tier, number]> {
  const planned = TIERS.reduce((n, t) => n + t.hosts, 0);
  return TIERS.map((t) => [t, Math.max(1, Math.round((t.hosts * total) / planned))]);
}

/** Every series of the fleet, with `source` on each as the agent adds it. */
export function fleetSeries(total: number): SeriesSpec[] {
  const out: SeriesSpec[] = [];
  for (const [t, count] of fleet(total)) {
    for (let i = 0; i < count; i++) {
      const host = `${t.tier}-${pad(i)}`;
      const load = t.tier === 'ops' ? 0.2 : t.tier === 'app' ? 0.55 : 0.4;
      const hit = t.tier === 'app' && i % 3 === 0;
      const sources: Array<[string, string, Metric[]]> = [
        ['host', 'host', hostSeries(load, t.cgroups)],
        ...t.sources(i, host),
      ];
      for (const [source, type, metrics] of sources) {
        const own = [
          g('halo_source_up', { type }, 1, { flap: 0.0002 }),
          g('halo_source_duration_seconds', { type }, type === 'host' ? 0.004 : 0.02, {
            noise: 0.6,
          }),
        ];
        for (const m of [...own, ...metrics]) {
          out.push({
            ...m,
            // Host figures move in the incident on the failing checkout hosts only.
            incident: m.name.startsWith('node_') && !hit ? 1 : m.incident,
            tier: t.tier,
            host,
            service: t.service(i),
            labels: { ...m.labels, source },
          });
        }
      }
    }
  }
  return out;
}
