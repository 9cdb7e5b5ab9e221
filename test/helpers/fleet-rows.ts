// A small HA fleet's samples, alerts and SLO evaluations, named and labelled as the agent writes them.

import type { Store } from '../../core/store/store.ts';
import { writeSamples, type SampleRow } from '../../core/store/write.ts';

export const STEP_MS = 30_000;
/** Minutes of data before `now`. */
export const SPAN_MINUTES = 90;

export const FLEET: Record<string, string[]> = {
  lb: ['lb-1', 'lb-2'],
  web: ['web-1', 'web-2'],
  cache: ['cache-1', 'cache-2'],
  db: ['db-1'],
  mq: ['mq-1', 'mq-2'],
  app: ['app-1', 'app-2'],
  host: ['node-1'],
};
export const TIER_NAMES = Object.keys(FLEET);
export const HOST_NAMES = Object.values(FLEET).flat();
/** mq-2's nats source fails in the last ten minutes: the queue tier is a single point of failure. */
export const FAILING = { host: 'mq-2', since: 10 * 60_000 };
// No "halo." in a value: the tests' runSql rewrites every `halo.` into the test database.
export const CGROUPS = ['/system.slice/halo-agent.service', '/system.slice/docker-shop.scope'];

type Labels = Record<string, string>;
type Add = (name: string, labels: Labels, value: number) => void;

const CPU_MODES: Array<[string, number]> = [
  ['user', 9],
  ['nice', 0.5],
  ['system', 3],
  ['idle', 15],
  ['iowait', 1],
  ['irq', 0.5],
  ['softirq', 0.5],
  ['steal', 0.5],
];
const GiB = 1024 ** 3;

/** node_* as the host source (and node_exporter) report them, per STEP_MS. */
function node(add: Add): void {
  for (const cpu of ['0', '1'])
    for (const [mode, seconds] of CPU_MODES) add('node_cpu_seconds_total', { cpu, mode }, seconds);
  add('node_load1', {}, 0.7);
  add('node_load5', {}, 0.6);
  add('node_load15', {}, 0.5);
  add('node_memory_MemTotal_bytes', {}, 8 * GiB);
  add('node_memory_MemAvailable_bytes', {}, 5 * GiB);
  add('node_memory_Cached_bytes', {}, 2 * GiB);
  add('node_memory_SwapTotal_bytes', {}, GiB);
  add('node_memory_SwapFree_bytes', {}, 0.9 * GiB);
  const disk = { device: 'sda' };
  add('node_disk_read_bytes_total', disk, 1e6);
  add('node_disk_written_bytes_total', disk, 2e6);
  add('node_disk_io_time_seconds_total', disk, 3);
  const nic = { device: 'eth0' };
  add('node_network_receive_bytes_total', nic, 3e6);
  add('node_network_transmit_bytes_total', nic, 2e6);
  add('node_network_receive_packets_total', nic, 3000);
  add('node_network_transmit_packets_total', nic, 2000);
  add('node_network_receive_errs_total', nic, 1);
  add('node_network_transmit_errs_total', nic, 0);
  add('node_network_receive_drop_total', nic, 2);
  add('node_network_transmit_drop_total', nic, 0);
  for (const [mountpoint, size, avail] of [
    ['/', 100 * GiB, 15 * GiB],
    ['/data', 500 * GiB, 300 * GiB],
  ] as const) {
    const fs = {
      device: mountpoint === '/' ? '/dev/sda1' : '/dev/sdb1',
      fstype: 'ext4',
      mountpoint,
    };
    add('node_filesystem_size_bytes', fs, size);
    add('node_filesystem_avail_bytes', fs, avail);
    add('node_filesystem_free_bytes', fs, avail + GiB);
  }
}

/** container_* of the host source's cgroups; the docker scope has a memory limit. */
function containers(add: Add): void {
  for (const cgroup of CGROUPS) {
    const limited = cgroup.includes('docker');
    add('container_cpu_usage_seconds_total', { cgroup }, limited ? 12 : 3);
    add('container_cpu_cfs_periods_total', { cgroup }, 300);
    add('container_cpu_cfs_throttled_periods_total', { cgroup }, limited ? 30 : 0);
    add('container_cpu_cfs_throttled_seconds_total', { cgroup }, limited ? 1.5 : 0);
    add('container_memory_usage_bytes', { cgroup }, limited ? 900e6 : 200e6);
    if (limited) add('container_memory_limit_bytes', { cgroup }, GiB);
    add('container_memory_rss', { cgroup }, limited ? 600e6 : 120e6);
    add('container_memory_cache', { cgroup }, limited ? 250e6 : 60e6);
    add('container_memory_working_set_bytes', { cgroup }, limited ? 700e6 : 150e6);
    const io = { cgroup, device: 'sda' };
    add('container_fs_reads_bytes_total', io, 4e5);
    add('container_fs_writes_bytes_total', io, 8e5);
    add('container_fs_reads_total', io, 40);
    add('container_fs_writes_total', io, 80);
  }
}

const BUCKETS: Array<[string, number]> = [
  ['0.005', 100],
  ['0.01', 200],
  ['0.05', 270],
  ['0.1', 290],
  ['0.5', 298],
  ['+Inf', 300],
];

function haproxy(add: Add): void {
  const fe = { proxy: 'http' };
  add('haproxy_frontend_up', fe, 1);
  add('haproxy_frontend_http_requests_total', fe, 300);
  add('haproxy_frontend_current_sessions', fe, 20);
  for (const [code, n] of [
    ['1xx', 0],
    ['2xx', 280],
    ['3xx', 0],
    ['4xx', 15],
    ['5xx', 5],
    ['other', 0],
  ] as const)
    add('haproxy_frontend_http_responses_total', { ...fe, code }, n);
  add('haproxy_backend_current_queue', { proxy: 'web' }, 1);
  add('haproxy_backend_servers_up', { proxy: 'web' }, 2);
  for (const server of ['web-1', 'web-2']) {
    add('haproxy_server_up', { proxy: 'web', server }, 1);
    add('haproxy_server_check_duration_seconds', { proxy: 'web', server }, 0.002);
  }
}

function accessLog(add: Add): void {
  for (const [status_class, n] of [
    ['2xx', 270],
    ['4xx', 20],
    ['5xx', 10],
  ] as const)
    add('http_requests_total', { status_class, method: 'GET', route: '/api/' }, n);
  for (const [le, n] of BUCKETS)
    add('http_request_duration_seconds_bucket', { route: '/api/', le }, n);
  add('http_request_duration_seconds_count', { route: '/api/' }, 300);
}

function app(add: Add): void {
  for (const [code, n] of [
    ['200', 280],
    ['404', 12],
    ['500', 8],
  ] as const)
    add('http_requests_total', { method: 'GET', code }, n);
  for (const [le, n] of BUCKETS)
    add('http_request_duration_seconds_bucket', { method: 'GET', le }, n);
  add('process_cpu_seconds_total', {}, 6);
}

/** Every source of each tier: its type, name and samples. */
function sources(
  tier: string,
  host: string,
): Array<[type: string, name: string, (a: Add) => void]> {
  const hostSource: [string, string, (a: Add) => void] = [
    'host',
    'host',
    (add) => {
      node(add);
      if (tier === 'app' || tier === 'host') containers(add);
    },
  ];
  const own: Record<string, Array<[string, string, (a: Add) => void]>> = {
    lb: [
      ['haproxy', 'haproxy', haproxy],
      [
        'probe',
        'frontend',
        (add) => (add('probe_success', {}, 1), add('probe_duration_seconds', {}, 0.012)),
      ],
    ],
    web: [
      [
        'nginx',
        'nginx-1',
        (add) => (
          add('nginx_connections_active', {}, 10),
          add('nginx_http_requests_total', {}, 300)
        ),
      ],
      ['logs', 'access', accessLog],
    ],
    cache: [
      [
        'redis',
        host === 'cache-1' ? 'primary' : 'replica',
        (add) => {
          add('redis_commands_processed_total', {}, 900);
          add('redis_keyspace_hits_total', {}, 80);
          add('redis_keyspace_misses_total', {}, 20);
          add('redis_memory_used_bytes', {}, 50e6);
          add('redis_memory_max_bytes', {}, 200e6);
          if (host === 'cache-2') add('redis_replication_lag_bytes', {}, 1200);
        },
      ],
    ],
    db: [
      [
        'postgres',
        'primary',
        (add) => {
          add('pg_commits_total', { database: 'shop' }, 600);
          add('pg_rollbacks_total', { database: 'shop' }, 6);
          add('pg_max_connections', {}, 100);
          add('pg_connections', { state: 'active', database: 'shop' }, 7);
          add('pg_connections', { state: 'idle', database: 'shop' }, 13);
          const replica = {
            application_name: 'walreceiver',
            client_addr: '10.0.0.2',
            state: 'streaming',
          };
          add('pg_replication_lag_seconds', replica, 0.4);
        },
      ],
    ],
    mq: [
      [
        'nats',
        'nats',
        (add) => {
          add('nats_in_messages_total', {}, 3000);
          add('nats_out_messages_total', {}, 6000);
          add('nats_jetstream_api_requests_total', {}, 100);
          add('nats_jetstream_api_errors_total', {}, 1);
          add('nats_jetstream_storage_used_bytes', {}, 3 * GiB);
          add('nats_jetstream_storage_max_bytes', {}, 10 * GiB);
          const consumer = { account: '$G', stream: 'HALO_METRICS', consumer: 'ingest' };
          add('nats_consumer_pending_messages', consumer, 40);
          add('nats_consumer_ack_pending_messages', consumer, 5);
        },
      ],
    ],
    app: [
      ['prometheus', 'shop', app],
      ['prometheus', 'halo-ingest', (add) => add('halo_process_cpu_seconds_total', {}, 1.5)],
    ],
    host: [['prometheus', 'node_exporter', node]],
  };
  return [...(own[tier] ?? []), hostSource];
}

/** Every sample of the fleet from SPAN_MINUTES before `now` up to `now`, one every STEP_MS. */
export function fleetRows(now: number): SampleRow[] {
  const out: SampleRow[] = [];
  const start = now - SPAN_MINUTES * 60_000;
  for (const [tier, hosts] of Object.entries(FLEET)) {
    for (const host of hosts) {
      for (const [type, source, emit] of sources(tier, host)) {
        const service = source === 'shop' || source === 'access' ? 'shop' : '';
        for (let ts = start; ts < now; ts += STEP_MS) {
          const failing = host === FAILING.host && type === 'nats' && ts >= now - FAILING.since;
          const add: Add = (name, labels, value) =>
            out.push({ name, tier, host, service, labels: { ...labels, source }, ts, value });
          add('halo_source_up', { type }, failing ? 0 : 1);
          add('halo_source_duration_seconds', { type }, 0.01);
          if (!failing) emit(add);
        }
      }
    }
  }
  return out;
}

const chTime = (ms: number): string =>
  new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** Alert transitions: two alerts still firing (one labelled with a tier), one resolved. */
export function alertRows(now: number): Record<string, unknown>[] {
  const alert = (fingerprint: number, alertname: string, tier: string) => ({
    fingerprint,
    alertname,
    severity: 'page',
    slo: '',
    labels: { alertname, severity: 'page', ...(tier ? { tier } : {}), __rule__: alertname },
    annotations: { summary: `${alertname} on ${tier || 'the stack'}` },
    value: 1,
    active_since: chTime(now - 40 * 60_000),
  });
  const at = (minutesAgo: number, state: string, a: ReturnType<typeof alert>) => ({
    ...a,
    ts: chTime(now - minutesAgo * 60_000),
    state,
  });
  const down = alert(1, 'SourceDown', 'mq');
  const lag = alert(2, 'ReplicationLag', 'db');
  const burn = alert(3, 'ErrorBudgetBurn', '');
  return [
    at(40, 'pending', down),
    at(35, 'firing', down),
    at(40, 'pending', lag),
    at(35, 'firing', lag),
    at(20, 'resolved', lag),
    at(30, 'pending', burn),
    at(25, 'firing', burn),
  ];
}

/** SLO evaluations every five minutes for two SLOs, the period window and a burn window. */
export function sloRows(now: number): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const slo of ['checkout-availability', 'search-latency']) {
    for (let t = now - SPAN_MINUTES * 60_000, i = 0; t < now; t += 5 * 60_000, i++) {
      for (const [window, seconds] of [
        ['1h', 3600],
        ['period', 2_592_000],
      ] as const) {
        const errorRatio = 0.0005 + (i % 5) * 0.0001;
        rows.push({
          ts: chTime(t),
          slo,
          service: 'shop',
          instance: '',
          // In percent, as alerter/slo/model.ts defines it.
          objective: 99.9,
          window,
          window_seconds: seconds,
          good: 10_000 * (1 - errorRatio),
          total: 10_000,
          error_ratio: errorRatio,
          burn_rate: errorRatio / 0.001,
          budget_remaining: 0.8 - i / 100,
        });
      }
    }
  }
  return rows;
}

/** Writes the fleet's samples, alerts and SLO evaluations into a migrated store. */
export async function seedFleet(store: Store, now: number): Promise<void> {
  const rows = fleetRows(now);
  for (let i = 0; i < rows.length; i += 100_000)
    await writeSamples(store, rows.slice(i, i + 100_000));
  await store.client.insert({
    table: store.table('alerts'),
    values: alertRows(now),
    format: 'JSONEachRow',
  });
  await store.client.insert({
    table: store.table('sloEvaluations'),
    values: sloRows(now),
    format: 'JSONEachRow',
  });
}
