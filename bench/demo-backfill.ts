// Bench: `halo up --backfill 30d` on embedded ClickHouse. Five minutes of "live" data for the demo
// members (about as many series as haproxy, two nginx with access-log metrics, the shop's
// histogram, redis, postgres and nats give: ~850), then 30 days of history before it with the
// demo SLOs replayed. Prints the time of each phase, the machine, and one JSON line last.
// Usage: node --import tsx bench/demo-backfill.ts [DAYS] [SCALE] (SCALE multiplies the series).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSlos } from '../alerter/slo/load.ts';
import { backfillDemo } from '../cli/demo/backfill.ts';
import { configSchema } from '../core/config/schema.ts';
import { silentLogger } from '../core/logger.ts';
import { migrate } from '../core/store/migrate.ts';
import { ident, sql } from '../core/store/sql.ts';
import { openStore } from '../core/store/store.ts';
import { writeLogs, writeSamples, type SampleRow } from '../core/store/write.ts';
import { machine } from './machine.ts';

const days = Number(process.argv[2] ?? 30);
const scale = Number(process.argv[3] ?? 1);
const MIN = 60_000;
const SCRAPE = 5_000;
const LIVE_MS = 5 * MIN;

type Labels = Record<string, string>;
interface Spec {
  name: string;
  tier: string;
  host: string;
  service: string;
  labels: Labels;
  /** A counter's increase per scrape, or a gauge's value. */
  value: number;
  counter: boolean;
}

/** The demo members' series, named and labelled as the agent's sources emit them. */
function demoSeries(copy: number): Spec[] {
  const out: Spec[] = [];
  const member = (tier: string, host: string, service: string) => ({
    c: (name: string, labels: Labels, value: number) =>
      out.push({ name, tier, host, service, labels, value, counter: true }),
    g: (name: string, labels: Labels, value: number) =>
      out.push({ name, tier, host, service, labels, value, counter: false }),
  });
  const suffix = copy === 0 ? '' : `-${copy}`;
  const lb = member('lb', `lb-1${suffix}`, 'haproxy');
  const proxy = (kind: string, labels: Labels, state: string) => {
    const m = (metric: string) => `haproxy_${kind}_${metric}`;
    lb.g(m('up'), labels, 1);
    lb.g(m('status'), { ...labels, state }, 1);
    lb.g(m('current_sessions'), labels, 40);
    lb.g(m('current_session_rate'), labels, 20);
    lb.c(m('sessions_total'), labels, 100);
    lb.c(m('bytes_in_total'), labels, 60_000);
    lb.c(m('bytes_out_total'), labels, 400_000);
    lb.c(m('http_requests_total'), labels, 100);
    for (const [code, n] of [
      ['1xx', 0],
      ['2xx', 92],
      ['3xx', 3],
      ['4xx', 5],
      ['5xx', 0],
      ['other', 0],
    ] as const)
      lb.c(m('http_responses_total'), { ...labels, code }, n);
  };
  proxy('frontend', { proxy: 'www' }, 'OPEN');
  proxy('backend', { proxy: 'web' }, 'UP');
  for (const server of ['web-1', 'web-2']) {
    proxy('server', { proxy: 'web', server }, 'UP');
    lb.g('haproxy_server_weight', { proxy: 'web', server }, 1);
    lb.g('haproxy_server_check_status', { proxy: 'web', server, status: 'L7OK' }, 1);
    lb.c('haproxy_server_downtime_seconds_total', { proxy: 'web', server }, 0);
  }
  const routes = ['/', '/api/products', '/api/cart', '/api/orders', 'other'];
  const le = [
    '0.005',
    '0.01',
    '0.025',
    '0.05',
    '0.1',
    '0.25',
    '0.5',
    '1',
    '2.5',
    '5',
    '10',
    '+Inf',
  ];
  const histogram = (
    add: (name: string, labels: Labels, value: number) => void,
    labels: Labels,
    n: number,
  ) => {
    le.forEach((bound, i) =>
      add(
        'http_request_duration_seconds_bucket',
        { ...labels, le: bound },
        Math.round(n * Math.min(1, 0.05 + i * 0.16)),
      ),
    );
    add('http_request_duration_seconds_count', labels, n);
    add('http_request_duration_seconds_sum', labels, n * 0.05);
  };
  for (const web of ['web-1', 'web-2']) {
    const w = member('web', `${web}${suffix}`, 'nginx');
    w.c('nginx_connections_accepted_total', {}, 5);
    w.c('nginx_connections_handled_total', {}, 5);
    w.c('nginx_http_requests_total', {}, 50);
    for (const s of ['active', 'reading', 'writing', 'waiting'])
      w.g(`nginx_connections_${s}`, {}, s === 'active' ? 12 : 3);
    for (const route of routes) {
      for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'OTHER'])
        for (const status_class of ['1xx', '2xx', '3xx', '4xx', '5xx'])
          w.c(
            'http_requests_total',
            { route, method, status_class },
            method === 'GET' && status_class === '2xx'
              ? 9
              : method === 'POST' && status_class === '2xx'
                ? 2
                : 0,
          );
      histogram(w.c, { route }, 11);
    }
  }
  const app = member('app', `app-1${suffix}`, 'shop');
  for (const route of routes.slice(0, 4)) {
    for (const method of ['GET', 'POST']) {
      for (const code of ['200', '404', '500'])
        app.c(
          'http_requests_total',
          { method, route, code },
          code === '200' ? 12 : code === '404' ? 0.2 : 0,
        );
      histogram(app.c, { method, route }, 12);
    }
  }
  app.g('process_resident_memory_bytes', {}, 80_000_000);
  app.c('process_cpu_seconds_total', {}, 0.2);
  const redis = member('cache', `cache-1${suffix}`, 'redis');
  for (const name of [
    'commands_processed',
    'keyspace_hits',
    'keyspace_misses',
    'net_input_bytes',
    'net_output_bytes',
    'expired_keys',
    'evicted_keys',
    'connections_received',
    'rejected_connections',
  ])
    redis.c(`redis_${name}_total`, {}, name.endsWith('bytes') ? 30_000 : 40);
  for (const [name, v] of [
    ['connected_clients', 8],
    ['blocked_clients', 0],
    ['memory_used_bytes', 3e6],
    ['memory_max_bytes', 0],
    ['memory_fragmentation_ratio', 1.2],
    ['instantaneous_ops_per_second', 60],
    ['uptime_seconds', 300],
    ['rdb_changes_since_last_save', 40],
    ['rdb_last_bgsave_ok', 1],
    ['connected_replicas', 0],
    ['role', 1],
  ] as const)
    redis.g(`redis_${name}`, name === 'role' ? { role: 'master' } : {}, v);
  for (const db of ['0', '1']) {
    redis.g('redis_db_keys', { db }, 2000);
    redis.g('redis_db_expiring_keys', { db }, 1500);
  }
  const pg = member('db', `db-1${suffix}`, 'postgres');
  for (const datname of ['shop', 'postgres']) {
    for (const name of [
      'commits',
      'rollbacks',
      'blocks_read',
      'blocks_hit',
      'tuples_returned',
      'tuples_fetched',
      'tuples_inserted',
      'tuples_updated',
      'tuples_deleted',
      'conflicts',
      'temp_files',
      'temp_bytes',
      'deadlocks',
    ])
      pg.c(`pg_${name}_total`, { datname }, 25);
    pg.g('pg_database_size_bytes', { datname }, 9e6);
    for (const state of ['active', 'idle', 'idle in transaction'])
      pg.g('pg_connections', { datname, state }, state === 'idle' ? 6 : 1);
  }
  pg.g('pg_max_connections', {}, 100);
  pg.g('pg_in_recovery', {}, 0);
  const nats = member('mq', `mq-1${suffix}`, 'nats');
  for (const name of [
    'in_messages',
    'out_messages',
    'in_bytes',
    'out_bytes',
    'slow_consumers',
    'connections',
    'jetstream_api_requests',
    'jetstream_api_errors',
  ])
    nats.c(`nats_${name}_total`, {}, 20);
  for (const name of [
    'connections',
    'subscriptions',
    'routes',
    'leafnodes',
    'memory_bytes',
    'cpu_ratio',
    'jetstream_memory_used_bytes',
    'jetstream_storage_used_bytes',
    'jetstream_memory_max_bytes',
    'jetstream_storage_max_bytes',
  ])
    nats.g(`nats_${name}`, {}, name.includes('bytes') ? 1e6 : 4);
  for (const name of ['stream_messages', 'stream_bytes', 'stream_consumers'])
    nats.g(`nats_${name}`, { stream: 'ORDERS' }, 10);
  for (const name of [
    'pending_messages',
    'ack_pending_messages',
    'redelivered_messages',
    'waiting_pulls',
  ])
    nats.g(`nats_consumer_${name}`, { stream: 'ORDERS', consumer: 'fulfilment' }, 1);
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'halo-bench-backfill-'));
const logger = silentLogger();
const config = configSchema.parse({ data_dir: dir });
const store = await openStore({ config, logger });
try {
  await migrate(store, config, logger);
  const to = Math.floor(Date.now() / MIN) * MIN - 10 * MIN;
  const specs = Array.from({ length: scale }, (_, copy) => demoSeries(copy)).flat();
  const rows: SampleRow[] = [];
  for (let i = 0; i * SCRAPE < LIVE_MS; i++) {
    for (const s of specs) {
      // The agent publishes a counter from its second scrape on; gauges move a little.
      if (s.counter && i === 0) continue;
      const value = s.counter ? s.value : s.value * (1 + ((i % 5) - 2) * 0.001);
      rows.push({
        name: s.name,
        tier: s.tier,
        host: s.host,
        service: s.service,
        labels: s.labels,
        ts: to + i * SCRAPE,
        value,
      });
    }
  }
  await writeSamples(store, rows);
  await writeLogs(
    store,
    Array.from({ length: 60 }, (_, i) => ({
      ts: to + i * SCRAPE,
      tier: 'app',
      host: 'app-1',
      service: 'shop',
      severity: 'info' as const,
      body: 'GET /api/products 200',
      attributes: {
        method: 'GET',
        route: '/api/products',
        status: '200',
        log_file_path: '/demo/logs/app-1/app.log',
      },
    })),
  );
  const hosts = [...new Set(specs.map((s) => s.host))];
  const { slos } = loadSlos([fileURLToPath(new URL('../cli/demo/slos.yaml', import.meta.url))]);
  const result = await backfillDemo({
    store,
    slos,
    hosts,
    from: to - days * 86_400_000,
    to,
    logger,
    liveMs: LIVE_MS,
  });
  const [front] = await store.query<{ good: number; total: number }>(
    sql`SELECT good, total FROM ${ident(store.table('sloEvaluations'))}
      WHERE slo = 'front-door-availability' AND window = 'period' ORDER BY ts DESC LIMIT 1`,
  );
  const alerts = await store.query<{ ts: string; slo: string; severity: string; state: string }>(
    sql`SELECT ts, slo, severity, state FROM ${ident(store.table('alerts'))} ORDER BY ts`,
  );
  const figures = {
    bench: 'demo-backfill',
    days,
    series: result.series,
    samples: result.samples,
    log_lines: result.logLines,
    evaluations: result.evaluations,
    transitions: result.transitions,
    seconds: Number(result.seconds.toFixed(1)),
    samples_seconds: Number(result.phases.samples.toFixed(1)),
    logs_seconds: Number(result.phases.logs.toFixed(1)),
    replay_seconds: Number(result.phases.replay.toFixed(1)),
    replay_ms_per_step: Math.round(
      (1000 * result.phases.replay * slos.length) / result.evaluations,
    ),
    samples_per_second: Math.round(result.samples / result.phases.samples),
    front_door_attainment_percent: front
      ? Number(((100 * front.good) / front.total).toFixed(3))
      : null,
    machine: machine(),
  };
  console.log(`machine: ${figures.machine}`);
  console.log(
    `backfill of ${days} days: ${result.series} series, ${result.samples} samples in ${figures.samples_seconds} s ` +
      `(${figures.samples_per_second} samples/s with the rollups), ${result.logLines} log lines in ${figures.logs_seconds} s, ` +
      `${result.evaluations} SLO evaluations and ${result.transitions} transitions replayed in ${figures.replay_seconds} s ` +
      `(${figures.replay_ms_per_step} ms per step of ${slos.length} SLOs); ` +
      `${figures.seconds} s in all`,
  );
  console.log(
    `front door attainment over the ${days} days: ${figures.front_door_attainment_percent} %`,
  );
  for (const a of alerts) console.log(`  ${a.ts} ${a.slo} ${a.severity} ${a.state}`);
  console.log(JSON.stringify(figures));
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
