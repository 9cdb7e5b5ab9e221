// Series of the service sources of bench/dashboards' fleet: haproxy, probes, nginx, redis,
// postgres and NATS, named and labelled as collector/agent/sources writes them.

import { GiB, TRAFFIC, c, g, share, type Metric } from './dashboards-series.ts';

const RESPONSE_CLASSES = share({
  '1xx': 0,
  '2xx': 0.9,
  '3xx': 0.06,
  '4xx': 0.035,
  '5xx': 0.004,
  other: 0.0001,
});

/** haproxy_* of collector/agent/haproxy-series.ts: 2 frontends, 2 backends of 4 servers. */
export function haproxySeries(): Metric[] {
  const out: Metric[] = [];
  const responses = (kind: string, labels: Record<string, string>, rps: number, api: boolean) =>
    RESPONSE_CLASSES.map(([code, s]) =>
      c(`haproxy_${kind}_http_responses_total`, { ...labels, code }, rps * s, {
        incident: api && code === '5xx' ? 40 : 1,
      }),
    );
  const common = (kind: string, labels: Record<string, string>, rps: number, api: boolean) => [
    g(`haproxy_${kind}_up`, labels, 1),
    c(`haproxy_${kind}_sessions_total`, labels, rps * 0.3),
    c(`haproxy_${kind}_bytes_in_total`, labels, rps * 800),
    c(`haproxy_${kind}_bytes_out_total`, labels, rps * 12000),
    g(`haproxy_${kind}_current_sessions`, labels, rps * 0.2, { ...TRAFFIC, integer: true }),
    ...responses(kind, labels, rps, api),
  ];
  for (const [proxy, rps] of [
    ['https-in', 900],
    ['http-in', 40],
  ] as const) {
    const labels = { proxy };
    out.push(
      ...common('frontend', labels, rps, proxy === 'https-in'),
      g('haproxy_frontend_status', { ...labels, state: 'OPEN' }, 1),
      c('haproxy_frontend_http_requests_total', labels, rps),
      c('haproxy_frontend_request_errors_total', labels, rps * 0.0005),
      g('haproxy_frontend_current_session_rate', labels, rps * 0.3, TRAFFIC),
    );
  }
  for (const [proxy, rps] of [
    ['web', 500],
    ['api', 400],
  ] as const) {
    const api = proxy === 'api';
    const labels = { proxy };
    out.push(
      ...common('backend', labels, rps, api),
      g('haproxy_backend_status', { ...labels, state: 'UP' }, 1),
      g('haproxy_backend_current_queue', labels, 0.2, { integer: true, noise: 1, incident: 30 }),
      g('haproxy_backend_active_servers', labels, 4, { incident: api ? 0.75 : 1 }),
      g('haproxy_backend_servers_up', labels, 4, { incident: api ? 0.75 : 1 }),
      c('haproxy_backend_connection_errors_total', labels, 0.01, { incident: api ? 50 : 1 }),
      c('haproxy_backend_response_errors_total', labels, 0.02, { incident: api ? 50 : 1 }),
    );
    for (let s = 1; s <= 4; s++) {
      const server = { proxy, server: `${proxy}${s}` };
      // During the incident, api4 is down: its series show it, and its UP ones pause.
      const down = api && s === 4;
      out.push(
        ...common('server', server, rps / 4, api),
        g('haproxy_server_status', { ...server, state: 'UP' }, 1, { during: down ? -1 : 0 }),
        g('haproxy_server_check_status', { ...server, status: 'L7OK' }, 1, {
          during: down ? -1 : 0,
        }),
        g('haproxy_server_current_queue', server, 0.05, { integer: true, noise: 1 }),
        g('haproxy_server_weight', server, 1),
        g('haproxy_server_check_duration_seconds', server, 0.003, { noise: 0.5 }),
        c('haproxy_server_response_errors_total', server, 0.005, { incident: api ? 50 : 1 }),
      );
      if (down)
        out.push(
          g('haproxy_server_status', { ...server, state: 'DOWN' }, 1, { during: 1 }),
          g('haproxy_server_check_status', { ...server, status: 'L7STS' }, 1, { during: 1 }),
        );
    }
  }
  // Up drops to 0 for api4 in the incident hour.
  for (const m of out)
    if (m.name === 'haproxy_server_up' && m.labels['server'] === 'api4') m.incident = 0;
  return out;
}

export function probeSeries(api: boolean): Metric[] {
  return [
    g('probe_success', {}, 1, { flap: 0.0005, incident: api ? 0 : 1 }),
    g('probe_duration_seconds', {}, 0.09, { noise: 0.4, incident: api ? 20 : 1 }),
    g('probe_http_status_code', {}, 200, { incident: api ? 503 / 200 : 1 }),
    g('probe_tls_cert_expiry_seconds', {}, 40 * 86400, { trend: -1 / 40 }),
    ...(api ? [g('probe_failure', { reason: 'status' }, 1, { during: 1 })] : []),
  ];
}

export function nginxSeries(rps: number): Metric[] {
  return [
    g('nginx_connections_active', {}, rps * 1.6, { ...TRAFFIC, integer: true }),
    g('nginx_connections_reading', {}, rps * 0.03, { ...TRAFFIC, integer: true }),
    g('nginx_connections_writing', {}, rps * 0.15, { ...TRAFFIC, integer: true, incident: 3 }),
    g('nginx_connections_waiting', {}, rps * 1.4, { ...TRAFFIC, integer: true }),
    c('nginx_connections_accepted_total', {}, rps * 0.25),
    c('nginx_connections_handled_total', {}, rps * 0.25),
    c('nginx_http_requests_total', {}, rps),
  ];
}

export function redisSeries(primary: boolean, peer: string): Metric[] {
  const ops = primary ? 8000 : 2000;
  const out = [
    g('redis_uptime_seconds', {}, 30 * 86400, { trend: 1 / 30 }),
    g('redis_connected_clients', {}, 180, { ...TRAFFIC, integer: true }),
    g('redis_blocked_clients', {}, 0.3, { integer: true, noise: 1 }),
    g('redis_memory_used_bytes', {}, 3.2 * GiB, { amp: 0.05, noise: 0.01 }),
    g('redis_memory_max_bytes', {}, 6 * GiB),
    g('redis_memory_fragmentation_ratio', {}, 1.12, { noise: 0.02 }),
    g('redis_rdb_changes_since_last_save', {}, 40000, { noise: 0.9, integer: true }),
    g('redis_aof_enabled', {}, 0),
    c('redis_connections_received_total', {}, 3),
    c('redis_commands_processed_total', {}, ops),
    g('redis_instantaneous_ops_per_second', {}, ops, TRAFFIC),
    c('redis_net_input_bytes_total', {}, ops * 90),
    c('redis_net_output_bytes_total', {}, ops * 400),
    c('redis_rejected_connections_total', {}, 0.0001),
    c('redis_expired_keys_total', {}, 40),
    c('redis_evicted_keys_total', {}, 0.5),
    c('redis_keyspace_hits_total', {}, ops * 0.55),
    c('redis_keyspace_misses_total', {}, ops * 0.05),
    g('redis_connected_replicas', {}, primary ? 1 : 0),
    g('redis_master_repl_offset_bytes', {}, 5e11, { trend: 0.01 }),
    g('redis_db_keys', { db: 'db0' }, 2.4e6, { noise: 0.01, amp: 0.05 }),
    g('redis_db_expiring_keys', { db: 'db0' }, 1.9e6, { noise: 0.01, amp: 0.05 }),
    g('redis_rdb_last_bgsave_ok', {}, 1),
    g('redis_role', { role: 'master' }, primary ? 1 : 0),
    g('redis_role', { role: 'replica' }, primary ? 0 : 1),
  ];
  const replica = { replica: `${peer}:6379` };
  if (primary)
    out.push(
      g('redis_replica_lag_bytes', replica, 2000, { noise: 1, integer: true }),
      g('redis_replica_lag_seconds', replica, 0.5, { noise: 1, integer: true }),
      g('redis_replica_online', replica, 1),
    );
  else
    out.push(
      g('redis_master_link_up', {}, 1),
      g('redis_replication_lag_bytes', {}, 2000, { noise: 1, integer: true }),
      g('redis_master_last_io_seconds', {}, 0.5, { noise: 1, integer: true }),
    );
  return out;
}

const PG_COUNTERS: Array<[string, number]> = [
  ['pg_commits_total', 900],
  ['pg_rollbacks_total', 2],
  ['pg_deadlocks_total', 0.0005],
  ['pg_conflicts_total', 0],
  ['pg_temp_bytes_total', 2e4],
  ['pg_temp_files_total', 0.01],
  ['pg_blocks_read_total', 300],
  ['pg_blocks_hit_total', 60000],
  ['pg_tuples_returned_total', 2e5],
  ['pg_tuples_fetched_total', 4e4],
  ['pg_tuples_inserted_total', 150],
  ['pg_tuples_updated_total', 120],
  ['pg_tuples_deleted_total', 10],
];

export function postgresSeries(primary: boolean, peer: string): Metric[] {
  const out: Metric[] = [
    g('pg_in_recovery', {}, primary ? 0 : 1),
    g('pg_max_connections', {}, 400),
  ];
  for (const database of ['shop', 'postgres']) {
    const scale = (database === 'shop' ? 1 : 0.001) * (primary ? 1 : 0.3);
    for (const [name, rate] of PG_COUNTERS) out.push(c(name, { database }, rate * scale));
    out.push(g('pg_database_size_bytes', { database }, database === 'shop' ? 80 * GiB : 9e6));
    for (const [state, n] of share({ active: 12, idle: 60, 'idle in transaction': 2 }))
      out.push(
        g('pg_connections', { state, database }, database === 'shop' ? n : n / 30, {
          ...TRAFFIC,
          integer: true,
          incident: state === 'active' ? 3 : 1,
        }),
      );
  }
  const repl = { application_name: peer, client_addr: '10.0.4.2', state: 'streaming' };
  if (primary)
    out.push(
      g('pg_replication_connected_replicas', {}, 1),
      g('pg_replication_lag_bytes', repl, 4096, { noise: 1, integer: true }),
      g('pg_replication_lag_seconds', repl, 0.02, { noise: 1 }),
    );
  else
    out.push(g('pg_wal_receiver_up', {}, 1), g('pg_replica_lag_seconds', {}, 0.03, { noise: 1 }));
  return out;
}

const STREAM_NAMES = ['HALO_METRICS', 'HALO_LOGS', 'HALO_DEAD_LETTERS'];

export function natsSeries(i: number): Metric[] {
  const out: Metric[] = [
    g('nats_connections', {}, 260, { noise: 0.02, integer: true }),
    c('nats_connections_total', {}, 0.05),
    c('nats_in_messages_total', {}, 3000),
    c('nats_out_messages_total', {}, 3200),
    c('nats_in_bytes_total', {}, 3000 * 6000),
    c('nats_out_bytes_total', {}, 3200 * 6000),
    c('nats_slow_consumers_total', {}, 0.0002),
    g('nats_subscriptions', {}, 900, { noise: 0.01, integer: true }),
    g('nats_memory_bytes', {}, 300e6, { noise: 0.05 }),
    g('nats_routes', {}, 2),
    g('nats_leafnodes', {}, 0),
    g('nats_cpu_ratio', {}, 0.35, TRAFFIC),
    g('nats_jetstream_memory_used_bytes', {}, 0),
    g('nats_jetstream_storage_used_bytes', {}, 40 * GiB, { noise: 0.05 }),
    g('nats_jetstream_memory_max_bytes', {}, 4 * GiB),
    g('nats_jetstream_storage_max_bytes', {}, 200 * GiB),
    c('nats_jetstream_api_requests_total', {}, 60),
    c('nats_jetstream_api_errors_total', {}, 0.001),
  ];
  // Only a stream's leader reports it: each server of a cluster of three leads one stream.
  const stream = STREAM_NAMES[i % 3]!;
  const labels = { account: '$G', stream };
  const backlog = stream === 'HALO_DEAD_LETTERS' ? 0 : 1;
  out.push(
    g('nats_stream_messages', labels, stream === 'HALO_DEAD_LETTERS' ? 12 : 4e6, { noise: 0.1 }),
    g('nats_stream_bytes', labels, stream === 'HALO_DEAD_LETTERS' ? 4e4 : 20 * GiB, {
      noise: 0.1,
    }),
    g('nats_stream_consumers', labels, backlog),
  );
  if (backlog) {
    const consumer = { ...labels, consumer: 'ingester' };
    const opts = { noise: 1, integer: true, incident: 20 };
    out.push(
      g('nats_consumer_pending_messages', consumer, 40, opts),
      g('nats_consumer_ack_pending_messages', consumer, 8, opts),
      g('nats_consumer_redelivered_messages', consumer, 0.05, opts),
      g('nats_consumer_waiting_pulls', consumer, 1, { integer: true }),
    );
  }
  return out;
}
