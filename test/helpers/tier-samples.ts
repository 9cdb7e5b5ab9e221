// Samples of the tier sources (haproxy, probe, nginx, access log, redis, postgres) named and
// labelled as the agent emits them, with an incident at the end: for the tier dashboard tests.

import type { SampleRow } from '../../core/store/write.ts';

/** When the data starts, and when the incident (a server down, a replica link lost) begins. */
export interface Timeline {
  from: number;
  incident: number;
}

export type Labels = Record<string, string>;
type Emit = (name: string, labels: Labels, value: number) => void;

/** One agent source on one host: its samples every STEP, counters as deltas per interval. */
export interface SourceSpec {
  tier: string;
  host: string;
  service: string;
  source: string;
  samples: (emit: Emit, ts: number, t: Timeline) => void;
}

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'];

export function haproxy(host: string): SourceSpec {
  return {
    tier: 'lb',
    host,
    service: 'haproxy',
    source: 'haproxy',
    samples(emit, ts, t) {
      const down = ts >= t.incident;
      const proxy = (kind: string, labels: Labels, state: string, up: number) => {
        const m = (metric: string) => `haproxy_${kind}_${metric}`;
        emit(m('up'), labels, up);
        emit(m('status'), { ...labels, state }, 1);
        emit(m('current_sessions'), labels, 40);
        emit(m('sessions_total'), labels, 300);
        emit(m('bytes_in_total'), labels, 3e6);
        emit(m('bytes_out_total'), labels, 9e6);
        emit(m('current_session_rate'), labels, 10);
        emit(m('request_errors_total'), labels, 1);
        emit(m('connection_errors_total'), labels, 2);
        emit(m('response_errors_total'), labels, 1);
        emit(m('current_queue'), labels, kind === 'backend' ? 3 : 0);
        emit(m('downtime_seconds_total'), labels, up ? 0 : 30);
        emit(m('weight'), labels, 100);
        emit(m('http_requests_total'), labels, 600);
        emit(m('http_requests_rate'), labels, 20);
        CLASSES.forEach((code, i) =>
          emit(m('http_responses_total'), { ...labels, code }, [0, 540, 20, 25, 10, 5][i]!),
        );
      };
      proxy('frontend', { proxy: 'fe_https' }, 'OPEN', 1);
      proxy('backend', { proxy: 'be_app' }, 'UP', 1);
      emit('haproxy_backend_active_servers', { proxy: 'be_app' }, down ? 1 : 2);
      emit('haproxy_backend_backup_servers', { proxy: 'be_app' }, 0);
      emit('haproxy_backend_servers_up', { proxy: 'be_app' }, down ? 1 : 2);
      for (const server of ['app-1', 'app-2']) {
        const broken = down && server === 'app-2';
        const labels = { proxy: 'be_app', server };
        proxy('server', labels, broken ? 'DOWN' : 'UP', broken ? 0 : 1);
        emit('haproxy_server_check_status', { ...labels, status: broken ? 'L4TOUT' : 'L7OK' }, 1);
        emit('haproxy_server_check_duration_seconds', labels, broken ? 2 : 0.004);
      }
    },
  };
}

export function probe(host: string): SourceSpec {
  return {
    tier: 'lb',
    host,
    service: 'probe',
    source: 'probe-public',
    samples(emit, ts, t) {
      emit('probe_success', {}, ts >= t.incident ? 0 : 1);
      emit('probe_duration_seconds', {}, 0.12);
      emit('probe_http_status_code', {}, 200);
    },
  };
}

export function nginx(host: string): SourceSpec {
  return {
    tier: 'web',
    host,
    service: 'nginx',
    source: 'nginx',
    samples(emit) {
      emit('nginx_connections_active', {}, 120);
      emit('nginx_connections_reading', {}, 5);
      emit('nginx_connections_writing', {}, 15);
      emit('nginx_connections_waiting', {}, 100);
      emit('nginx_connections_accepted_total', {}, 300);
      emit('nginx_connections_handled_total', {}, host === 'web-2' ? 297 : 300);
      emit('nginx_http_requests_total', {}, 900);
    },
  };
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'OTHER'];
const BOUNDS = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '5'];

/** The logs source's access metrics with routes, as AccessMetrics emits them. */
export function accessLog(host: string): SourceSpec {
  return {
    tier: 'web',
    host,
    service: 'nginx',
    source: 'nginx-access',
    samples(emit) {
      for (const route of ['/api', 'other']) {
        for (const method of METHODS) {
          for (const status_class of ['1xx', '2xx', '3xx', '4xx', '5xx']) {
            const n =
              method === 'GET'
                ? { '1xx': 0, '2xx': 500, '3xx': 20, '4xx': 30, '5xx': host === 'web-2' ? 20 : 2 }[
                    status_class
                  ]!
                : method === 'POST' && status_class === '2xx'
                  ? 100
                  : 0;
            emit('http_requests_total', { status_class, method, route }, n);
          }
        }
        const cumulative = [300, 450, 560, 600, 640, 665, 670];
        BOUNDS.forEach((le, i) =>
          emit('http_request_duration_seconds_bucket', { route, le }, cumulative[i]!),
        );
        emit('http_request_duration_seconds_bucket', { route, le: '+Inf' }, 672);
        emit('http_request_duration_seconds_sum', { route }, 150);
        emit('http_request_duration_seconds_count', { route }, 672);
      }
    },
  };
}

export function redis(host: string, role: 'master' | 'replica'): SourceSpec {
  return {
    tier: 'cache',
    host,
    service: 'redis',
    source: 'redis',
    samples(emit, ts, t) {
      const gauges: Record<string, number> = {
        redis_uptime_seconds: 86_400,
        redis_connected_clients: 40,
        redis_blocked_clients: 1,
        redis_memory_used_bytes: 600e6,
        redis_memory_max_bytes: 1e9,
        redis_memory_fragmentation_ratio: 1.2,
        redis_rdb_changes_since_last_save: 100,
        redis_aof_enabled: 0,
        redis_instantaneous_ops_per_second: 2000,
        redis_connected_replicas: role === 'master' ? 1 : 0,
        redis_master_repl_offset_bytes: (ts - t.from) * 10,
        redis_rdb_last_bgsave_ok: 1,
      };
      for (const [name, value] of Object.entries(gauges)) emit(name, {}, value);
      const counters: Record<string, number> = {
        redis_connections_received_total: 10,
        redis_commands_processed_total: 60_000,
        redis_net_input_bytes_total: 3e6,
        redis_net_output_bytes_total: 9e6,
        redis_rejected_connections_total: 0,
        redis_expired_keys_total: 50,
        redis_evicted_keys_total: role === 'master' ? 5 : 0,
        redis_keyspace_hits_total: 45_000,
        redis_keyspace_misses_total: 5_000,
      };
      for (const [name, value] of Object.entries(counters)) emit(name, {}, value);
      emit('redis_db_keys', { db: 'db0' }, 100_000);
      emit('redis_db_expiring_keys', { db: 'db0' }, 80_000);
      emit('redis_role', { role: 'master' }, role === 'master' ? 1 : 0);
      emit('redis_role', { role: 'replica' }, role === 'replica' ? 1 : 0);
      if (role === 'master') {
        const replica = { replica: '10.0.3.2:6379' };
        emit('redis_replica_lag_bytes', replica, 2048);
        emit('redis_replica_lag_seconds', replica, 0);
        emit('redis_replica_online', replica, 1);
      } else {
        const linkDown = ts >= t.incident;
        emit('redis_master_link_up', {}, linkDown ? 0 : 1);
        emit('redis_replication_lag_bytes', {}, linkDown ? 5e6 : 1024);
        if (!linkDown) emit('redis_master_last_io_seconds', {}, 1);
      }
    },
  };
}

const PG_COUNTERS: Record<string, number> = {
  pg_commits_total: 3000,
  pg_rollbacks_total: 30,
  pg_deadlocks_total: 0,
  pg_conflicts_total: 0,
  pg_temp_bytes_total: 1e6,
  pg_temp_files_total: 1,
  pg_blocks_read_total: 100,
  pg_blocks_hit_total: 9900,
  pg_tuples_returned_total: 50_000,
  pg_tuples_fetched_total: 20_000,
  pg_tuples_inserted_total: 500,
  pg_tuples_updated_total: 300,
  pg_tuples_deleted_total: 50,
};
const PG_STATES = [
  'active',
  'idle',
  'idle in transaction',
  'idle in transaction (aborted)',
  'fastpath function call',
  'disabled',
];

export function postgres(host: string, role: 'primary' | 'replica'): SourceSpec {
  return {
    tier: 'db',
    host,
    service: 'postgres',
    source: 'postgres',
    samples(emit) {
      emit('pg_in_recovery', {}, role === 'replica' ? 1 : 0);
      emit('pg_max_connections', {}, 100);
      for (const database of ['app', 'postgres']) {
        for (const state of PG_STATES) {
          const n = database === 'app' ? { active: 10, idle: 30 }[state] : undefined;
          emit('pg_connections', { state, database }, n ?? 0);
        }
        for (const [name, value] of Object.entries(PG_COUNTERS)) {
          emit(name, { database }, database === 'app' ? value : value / 100);
        }
        emit('pg_database_size_bytes', { database }, database === 'app' ? 5e9 : 8e6);
      }
      if (role === 'primary') {
        emit('pg_replication_connected_replicas', {}, 1);
        const labels = { application_name: 'db-2', client_addr: '10.0.4.2', state: 'streaming' };
        emit('pg_replication_lag_bytes', labels, 4096);
        emit('pg_replication_lag_seconds', labels, 0.2);
      } else {
        emit('pg_wal_receiver_up', {}, 1);
        emit('pg_replica_lag_seconds', {}, 0.5);
      }
    },
  };
}

/** Two hosts of each tier: lb (haproxy, and a probe on lb-1), web (nginx, access log), cache, db. */
export const SOURCES: SourceSpec[] = [
  haproxy('lb-1'),
  haproxy('lb-2'),
  probe('lb-1'),
  nginx('web-1'),
  nginx('web-2'),
  accessLog('web-1'),
  accessLog('web-2'),
  redis('cache-1', 'master'),
  redis('cache-2', 'replica'),
  postgres('db-1', 'primary'),
  postgres('db-2', 'replica'),
];

/** The samples of the sources every `step` ms from `t.from` to `to`, as the agent publishes them. */
export function sampleRows(
  sources: readonly SourceSpec[],
  t: Timeline,
  to: number,
  step: number,
): SampleRow[] {
  const out: SampleRow[] = [];
  for (let ts = t.from; ts <= to; ts += step) {
    for (const s of sources) {
      s.samples(
        (name, labels, value) =>
          out.push({
            name,
            tier: s.tier,
            host: s.host,
            service: s.service,
            labels: { ...labels, source: s.source },
            ts,
            value,
          }),
        ts,
        t,
      );
    }
  }
  return out;
}
