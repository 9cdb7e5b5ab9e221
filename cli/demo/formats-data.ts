// Text renderers of the demo's db-1 and mq-1: the postgres series as Prometheus text, and
// nats-server's /varz and /jsz JSON.

import {
  connectionSamples,
  databaseSamples,
  primarySamples,
} from '../../collector/agent/sources/postgres.ts';
import type { RawSample } from '../../collector/agent/types.ts';
import {
  ORDER_MESSAGE_BYTES,
  type DatabaseCounters,
  type NatsState,
  type PostgresState,
} from './state.ts';

// ----------------------------------------------------------------------------------- postgres

const PG_HELP: Record<string, string> = {
  pg_in_recovery: 'Whether the server is a replica replaying WAL (1) or a primary (0).',
  pg_max_connections: 'The max_connections setting.',
  pg_connections: 'Client connections by database and state (pg_stat_activity).',
  pg_database_size_bytes: 'Size of the database on disk.',
  pg_replication_connected_replicas: 'Replicas streaming from this primary.',
};

/** Prometheus text of samples, one family per name in the order first seen. */
export function promText(samples: readonly RawSample[], help: Record<string, string> = {}): string {
  const families = new Map<string, RawSample[]>();
  for (const sample of samples) {
    const family = families.get(sample.name);
    if (family) family.push(sample);
    else families.set(sample.name, [sample]);
  }
  let out = '';
  for (const [name, list] of families) {
    const text = help[name] ?? `${name.replace(/^pg_/, '').replace(/_/g, ' ')} (pg_stat_database).`;
    out += `# HELP ${name} ${text}\n# TYPE ${name} ${list[0]!.type}\n`;
    for (const s of list) {
      const labels = Object.entries(s.labels)
        .map(([key, value]) => `${key}="${escapeLabel(value)}"`)
        .join(',');
      out += `${name}${labels === '' ? '' : `{${labels}}`} ${s.value}\n`;
    }
  }
  return out;
}

const escapeLabel = (value: string) =>
  value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/**
 * The series the postgres source reads from a primary without replicas. The real source speaks
 * the PostgreSQL wire protocol; simulating that protocol is out of scope, so db-1 serves these
 * same series (made by the source's own functions: same names, types and labels) as Prometheus
 * text, and its agent reads them with the prometheus source type.
 */
export function postgresMetrics(p: PostgresState): string {
  const names = Object.keys(p.databases);
  const rows = Object.entries(p.databases).map(
    ([datname, counters]: [string, DatabaseCounters]) => ({
      datname,
      ...counters,
    }),
  );
  const idle = Math.max(0, p.poolSize - p.active - p.idleInTransaction);
  const connections = [
    { datname: 'shop', state: 'active', count: p.active },
    { datname: 'shop', state: 'idle', count: idle },
    { datname: 'shop', state: 'idle in transaction', count: p.idleInTransaction },
  ];
  const gauge = (name: string, value: number): RawSample => ({
    name,
    labels: {},
    value,
    type: 'gauge',
  });
  return promText(
    [
      gauge('pg_in_recovery', 0),
      gauge('pg_max_connections', p.maxConnections),
      ...connectionSamples(connections, names),
      ...databaseSamples(rows),
      ...primarySamples([]),
    ],
    PG_HELP,
  );
}

// --------------------------------------------------------------------------------------- nats

const NATS_VERSION = '2.10.22';
const JS_CONFIG = {
  max_memory: 1_073_741_824,
  max_storage: 10_737_418_240,
  store_dir: '/var/lib/nats/jetstream',
};

/** nats-server writes durations like 3d4h5m6s. */
function uptime(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(s / 86_400);
  s %= 86_400;
  const parts = [
    days > 0 ? `${days}d` : '',
    days > 0 || s >= 3600 ? `${Math.floor(s / 3600)}h` : '',
    days > 0 || s >= 60 ? `${Math.floor((s % 3600) / 60)}m` : '',
  ];
  return `${parts.join('')}${s % 60}s`;
}

const iso = (ms: number) => new Date(ms).toISOString();
const ZERO_TIME = '0001-01-01T00:00:00Z';

function jetstreamUsage(n: NatsState) {
  const messages = n.stream.lastSeq - n.consumer.ackFloor;
  return { messages, bytes: messages * ORDER_MESSAGE_BYTES };
}

/** JetStream's usage as /varz (jetstream.stats) and /jsz both report it. */
function jetStreamStats(bytes: number, api: { total: number; errors: number }) {
  return {
    memory: 0,
    storage: bytes,
    reserved_memory: 0,
    reserved_storage: 0,
    accounts: 1,
    ha_assets: 0,
    api,
  };
}

/** GET /varz: the server's identity, limits, connections and traffic. */
export function natsVarz(n: NatsState, now: number, httpPort: number): Record<string, unknown> {
  const { bytes } = jetstreamUsage(n);
  const api = { total: n.apiTotal, errors: n.apiErrors };
  return {
    server_id: n.serverId,
    server_name: n.serverName,
    version: NATS_VERSION,
    proto: 1,
    go: 'go1.22.8',
    host: '127.0.0.1',
    port: 4222,
    max_connections: 65_536,
    ping_interval: 120_000_000_000,
    ping_max: 2,
    http_host: '127.0.0.1',
    http_port: httpPort,
    http_base_path: '',
    https_port: 0,
    auth_timeout: 2,
    max_control_line: 4096,
    max_payload: 1_048_576,
    max_pending: 67_108_864,
    cluster: {},
    gateway: {},
    leaf: {},
    mqtt: {},
    websocket: {},
    jetstream: {
      config: JS_CONFIG,
      stats: jetStreamStats(bytes, api),
    },
    tls_timeout: 2,
    write_deadline: 10_000_000_000,
    start: iso(n.startedAt),
    now: iso(now),
    uptime: uptime(now - n.startedAt),
    mem: n.memBytes,
    cores: 4,
    gomaxprocs: 4,
    cpu: n.cpuPercent,
    connections: n.connections,
    total_connections: n.totalConnections,
    routes: 0,
    remotes: 0,
    leafnodes: 0,
    in_msgs: n.inMsgs,
    out_msgs: n.outMsgs,
    in_bytes: n.inBytes,
    out_bytes: n.outBytes,
    slow_consumers: n.slowConsumers,
    subscriptions: n.subscriptions,
    config_load_time: iso(n.startedAt),
    system_account: '$SYS',
  };
}

/** GET /jsz with accounts, streams and consumers as query flags, as nats-server answers it. */
export function natsJsz(
  n: NatsState,
  now: number,
  query: URLSearchParams,
): Record<string, unknown> {
  const flag = (name: string) => ['true', '1'].includes(query.get(name) ?? '');
  const { messages, bytes } = jetstreamUsage(n);
  const api = { total: n.apiTotal, errors: n.apiErrors };
  const c = n.consumer;
  const consumer = {
    stream_name: n.stream.name,
    name: c.name,
    created: iso(c.createdAt),
    delivered: { consumer_seq: c.delivered + c.redelivered, stream_seq: c.delivered },
    ack_floor: { consumer_seq: c.ackFloor, stream_seq: c.ackFloor },
    num_ack_pending: c.delivered - c.ackFloor,
    num_redelivered: c.redelivered,
    num_waiting: c.waiting,
    num_pending: n.stream.lastSeq - c.delivered,
    cluster: { leader: n.serverName },
  };
  const stream = {
    name: n.stream.name,
    created: iso(n.stream.createdAt),
    cluster: { leader: n.serverName },
    state: {
      messages,
      bytes,
      first_seq: c.ackFloor + 1,
      first_ts: messages > 0 ? iso(n.stream.firstTs) : ZERO_TIME,
      last_seq: n.stream.lastSeq,
      last_ts: n.stream.lastSeq > 0 ? iso(n.stream.lastTs) : ZERO_TIME,
      num_subjects: messages > 0 ? 1 : 0,
      consumer_count: 1,
    },
    ...(flag('consumers') ? { consumer_detail: [consumer] } : {}),
  };
  const account = {
    name: '$G',
    id: '$G',
    memory: 0,
    storage: bytes,
    accounts: 0,
    ha_assets: 0,
    api,
    ...(flag('streams') || flag('consumers') ? { stream_detail: [stream] } : {}),
  };
  return {
    server_id: n.serverId,
    now: iso(now),
    config: JS_CONFIG,
    ...jetStreamStats(bytes, api),
    streams: 1,
    consumers: 1,
    messages,
    bytes,
    ...(flag('accounts') ? { account_details: [account] } : {}),
  };
}
