// The overview's tier kinds: member rule and throughput, errors, latency, saturation panels of each.

import { joinSql, shareSql } from './joined-sql.ts';
import {
  partSql,
  quantileSql,
  ratioSql,
  seriesSql,
  type MetricSelector,
  type Scope,
} from './metric-sql.ts';
import type { Membership } from './overview-members.ts';
import type { Targets } from './panels.ts';

/** A panel of a tier row, before its id, size and links are set. */
export interface KindPanel {
  title: string;
  description: string;
  unit: string;
  targets: Targets;
  steps?: ReadonlyArray<readonly [number, string]>;
  min?: number;
  max?: number;
}

export interface TierKind {
  title: string;
  /** The kind's own dashboard, linked from every series. */
  uid: string;
  members: Membership;
  /** How a host becomes a member of this kind, for the stats' descriptions. */
  membersRule: string;
  throughput: KindPanel;
  errors: KindPanel;
  latency: KindPanel;
  saturation: KindPanel;
}

const TIER: readonly Scope[] = ['tier'];
const BY_TIER = ['tier'];
const ERROR_STEPS: ReadonlyArray<readonly [number, string]> = [
  [0.01, 'orange'],
  [0.05, 'red'],
];
const FULL_STEPS: ReadonlyArray<readonly [number, string]> = [
  [0.8, 'orange'],
  [0.9, 'red'],
];

const sel = (metric: string | readonly string[], match?: MetricSelector['match']) => ({
  metric,
  scope: TIER,
  ...(match ? { match } : {}),
});

/** A rate summed per tier. */
const rate = (metric: string | readonly string[], as: string, match?: MetricSelector['match']) =>
  seriesSql({ ...sel(metric, match), over: 'rate', by: BY_TIER, as });

/** A gauge per tier: each series' mean in the bucket, then combined across series. */
const gauge = (
  metric: string | readonly string[],
  as: string,
  across: 'sum' | 'avg' | 'max',
  over: 'avg' | 'max' = 'avg',
) => seriesSql({ ...sel(metric), over, across, by: BY_TIER, as });

type GaugeOver = { over: 'avg' | 'max'; across: 'sum' | 'max' };
/** One value per series and bucket, the largest: one aggregation, the cheapest gauge read. */
const LARGEST: GaugeOver = { over: 'max', across: 'max' };
/** Series of a host added up (e.g. connections by state and database). */
const ADDED: GaugeOver = { over: 'avg', across: 'sum' };

/**
 * Gauge a over gauge b per member (`on`: tier, host and maybe source), keeping `b > 0` (0 means
 * no limit), then the fullest member of each tier.
 */
const fullest = (
  a: string,
  b: string,
  as: string,
  opts: { complement?: boolean; on?: string[]; a?: GaugeOver; b?: GaugeOver } = {},
) => {
  const on = opts.on ?? ['tier', 'host'];
  return joinSql({
    a: { ...sel(a), ...(opts.a ?? LARGEST), by: on },
    b: { ...sel(b), ...(opts.b ?? LARGEST), by: on },
    on,
    expr: opts.complement ? '1 - a / b' : 'a / b',
    where: 'b > 0',
    group: BY_TIER,
    across: 'max',
    as,
  });
};

// Access-log request metrics carry `status_class`; an instrumented app's do not (Prometheus
// clients label by `code`), and its histograms carry `method`, which the access-log one never has.
const ACCESS_LOG = { status_class: { op: '=~', value: '.+' } } as const;
const APP_REQUESTS = { status_class: '' } as const;

const LB: TierKind = {
  title: 'Load balancers',
  uid: 'halo-lb',
  members: { types: ['haproxy'] },
  membersRule: 'hosts with a haproxy source',
  throughput: {
    title: 'Requests by tier',
    description: 'HTTP requests per second received by the haproxy frontends of each tier.',
    unit: 'reqps',
    targets: rate('haproxy_frontend_http_requests_total', 'requests'),
  },
  errors: {
    title: '5xx ratio by tier',
    description:
      'Share of frontend responses with a 5xx status (haproxy_frontend_http_responses_total{code="5xx"} over all codes).',
    unit: 'percentunit',
    steps: ERROR_STEPS,
    targets: partSql({
      of: sel('haproxy_frontend_http_responses_total'),
      part: [{ code: '5xx' }],
      by: BY_TIER,
      as: 'errors',
    }),
  },
  latency: {
    title: 'Probe and health-check duration by tier',
    description:
      'probe: mean duration of the probes run by the tier’s agents (a full request through the balancer, as a client sees it). ' +
      'check: mean duration of haproxy’s own health checks of its servers. Neither is a request latency histogram; haproxy exposes none.',
    unit: 's',
    targets: [
      gauge('probe_duration_seconds', 'probe', 'avg'),
      gauge('haproxy_server_check_duration_seconds', 'check', 'avg'),
    ],
  },
  saturation: {
    title: 'Sessions and queue by tier',
    description:
      'sessions: current frontend sessions; queued: requests waiting in backend queues for a free server (should stay 0).',
    unit: 'short',
    targets: [
      gauge('haproxy_frontend_current_sessions', 'sessions', 'sum'),
      gauge('haproxy_backend_current_queue', 'queued', 'sum', 'max'),
    ],
  },
};

const WEB: TierKind = {
  title: 'Web',
  uid: 'halo-web',
  members: { types: ['nginx'] },
  membersRule: 'hosts with an nginx source',
  throughput: {
    title: 'Requests by tier',
    description: 'Requests per second served by nginx (stub_status request counter).',
    unit: 'reqps',
    targets: rate('nginx_http_requests_total', 'requests'),
  },
  errors: {
    title: '5xx ratio by tier',
    description:
      'Share of requests answered with a 5xx status, from the access logs (http_requests_total by status_class).',
    unit: 'percentunit',
    steps: ERROR_STEPS,
    targets: partSql({
      of: sel('http_requests_total', ACCESS_LOG),
      part: [{ status_class: '5xx' }],
      by: BY_TIER,
      as: 'errors',
    }),
  },
  latency: {
    title: 'Request duration p50 / p99 by tier',
    description:
      'Quantiles of request time from the access-log histogram (http_request_duration_seconds_bucket without a method label).',
    unit: 's',
    targets: quantileSql({
      ...sel('http_request_duration_seconds_bucket', { method: '' }),
      quantiles: { p50: 0.5, p99: 0.99 },
      by: BY_TIER,
    }),
  },
  saturation: {
    title: 'Active connections by tier',
    description:
      'Open client connections (nginx_connections_active), summed over the tier; compare with worker_connections.',
    unit: 'short',
    targets: gauge('nginx_connections_active', 'connections', 'sum'),
  },
};

const CACHE: TierKind = {
  title: 'Caches',
  uid: 'halo-cache',
  members: { types: ['redis'] },
  membersRule: 'hosts with a redis source',
  throughput: {
    title: 'Commands by tier',
    description: 'Redis commands processed per second.',
    unit: 'ops',
    targets: rate('redis_commands_processed_total', 'commands'),
  },
  errors: {
    title: 'Keyspace miss ratio by tier',
    description:
      'Lookups that found no key (misses over hits + misses): a cache that misses much does not spare the database.',
    unit: 'percentunit',
    targets: shareSql({
      series: sel(['redis_keyspace_hits_total', 'redis_keyspace_misses_total']),
      group: BY_TIER,
      label: 'name',
      part: "name = 'redis_keyspace_misses_total'",
      as: 'misses',
    }),
  },
  latency: {
    title: 'Replication lag by tier',
    description:
      'Redis has no latency histogram in INFO; the largest replica lag in bytes behind its primary (redis_replication_lag_bytes) stands in for freshness.',
    unit: 'bytes',
    targets: gauge('redis_replication_lag_bytes', 'lag', 'max', 'max'),
  },
  saturation: {
    title: 'Memory used of maxmemory (fullest instance)',
    description:
      'redis_memory_used_bytes over redis_memory_max_bytes per instance, the fullest instance of each tier. Instances without maxmemory (0: no limit, bounded only by the host’s memory) are left out, so the panel is empty when none has one.',
    unit: 'percentunit',
    steps: FULL_STEPS,
    targets: fullest('redis_memory_used_bytes', 'redis_memory_max_bytes', 'memory', {
      on: ['tier', 'host', 'source'],
    }),
  },
};

const DB: TierKind = {
  title: 'Databases',
  uid: 'halo-db',
  members: { types: ['postgres'] },
  membersRule: 'hosts with a postgres source',
  throughput: {
    title: 'Transactions by tier',
    description: 'Commits and rollbacks per second (pg_commits_total + pg_rollbacks_total).',
    unit: 'ops',
    targets: rate(['pg_commits_total', 'pg_rollbacks_total'], 'transactions'),
  },
  errors: {
    title: 'Rollback ratio by tier',
    description: 'Rollbacks over commits + rollbacks.',
    unit: 'percentunit',
    steps: ERROR_STEPS,
    targets: shareSql({
      series: sel(['pg_commits_total', 'pg_rollbacks_total']),
      group: BY_TIER,
      label: 'name',
      part: "name = 'pg_rollbacks_total'",
      as: 'rollbacks',
    }),
  },
  latency: {
    title: 'Replication lag by tier',
    description:
      'Postgres exposes no query latency histogram here; the largest replication lag in seconds (pg_replication_lag_seconds on primaries, pg_replica_lag_seconds on replicas).',
    unit: 's',
    steps: [
      [10, 'orange'],
      [60, 'red'],
    ],
    targets: gauge(['pg_replication_lag_seconds', 'pg_replica_lag_seconds'], 'lag', 'max', 'max'),
  },
  saturation: {
    title: 'Connections of max_connections (fullest host)',
    description:
      'Client connections in every state (pg_connections) over pg_max_connections per host, the fullest host of each tier.',
    unit: 'percentunit',
    steps: FULL_STEPS,
    targets: fullest('pg_connections', 'pg_max_connections', 'connections', { a: ADDED }),
  },
};

const QUEUE: TierKind = {
  title: 'Queues',
  uid: 'halo-mq',
  members: { types: ['nats'] },
  membersRule: 'hosts with a nats source',
  throughput: {
    title: 'Messages by tier',
    description: 'Messages per second into (in) and out of (out) the NATS servers.',
    unit: 'short',
    targets: [rate('nats_in_messages_total', 'in'), rate('nats_out_messages_total', 'out')],
  },
  errors: {
    title: 'JetStream API error ratio by tier',
    description:
      'JetStream API requests that failed (nats_jetstream_api_errors_total over requests).',
    unit: 'percentunit',
    steps: ERROR_STEPS,
    targets: ratioSql({
      numerator: sel('nats_jetstream_api_errors_total'),
      denominator: sel('nats_jetstream_api_requests_total'),
      by: BY_TIER,
      as: 'errors',
    }),
  },
  latency: {
    title: 'Consumer backlog by tier',
    description:
      'NATS has no delivery latency metric; messages not yet delivered (pending) and delivered but not acknowledged (ack_pending), summed over consumers.',
    unit: 'short',
    targets: [
      gauge('nats_consumer_pending_messages', 'pending', 'sum'),
      gauge('nats_consumer_ack_pending_messages', 'ack_pending', 'sum'),
    ],
  },
  saturation: {
    title: 'JetStream storage used of max (fullest host)',
    description:
      'nats_jetstream_storage_used_bytes over nats_jetstream_storage_max_bytes per host, the fullest host of each tier.',
    unit: 'percentunit',
    steps: FULL_STEPS,
    targets: fullest(
      'nats_jetstream_storage_used_bytes',
      'nats_jetstream_storage_max_bytes',
      'storage',
    ),
  },
};

const APP: TierKind = {
  title: 'Applications',
  uid: 'halo-app',
  members: {
    types: ['prometheus'],
    exporting: ['http_requests_total', 'http_request_duration_seconds_bucket'],
  },
  membersRule:
    'hosts with a prometheus source that exports http_requests_total or http_request_duration_seconds (an instrumented app; node_exporter and access logs do not count)',
  throughput: {
    title: 'Requests by tier',
    description:
      'Requests per second counted by the applications themselves (http_requests_total without the access logs’ status_class).',
    unit: 'reqps',
    targets: rate('http_requests_total', 'requests', APP_REQUESTS),
  },
  errors: {
    title: '5xx ratio by tier',
    description:
      'Share of application requests answered with a 5xx code (http_requests_total{code=~"5.."} over all).',
    unit: 'percentunit',
    steps: ERROR_STEPS,
    targets: partSql({
      of: sel('http_requests_total', APP_REQUESTS),
      part: [{ code: { op: '=~', value: '5[0-9][0-9]' } }],
      by: BY_TIER,
      as: 'errors',
    }),
  },
  latency: {
    title: 'Request duration p50 / p99 by tier',
    description:
      'Quantiles from the applications’ own histogram (http_request_duration_seconds_bucket with a method label).',
    unit: 's',
    targets: quantileSql({
      ...sel('http_request_duration_seconds_bucket', { method: { op: '!=', value: '' } }),
      quantiles: { p50: 0.5, p99: 0.99 },
      by: BY_TIER,
    }),
  },
  saturation: {
    title: 'Process CPU by tier',
    description:
      'CPU cores used by the scraped processes (process_cpu_seconds_total, and Halo’s own halo_process_cpu_seconds_total).',
    unit: 'short',
    targets: rate(['process_cpu_seconds_total', 'halo_process_cpu_seconds_total'], 'cores'),
  },
};

const HOSTS: TierKind = {
  title: 'Hosts',
  uid: 'halo-hosts',
  members: { types: ['host'] },
  membersRule: 'hosts with a host source',
  throughput: {
    title: 'Network traffic by tier',
    description: 'Bytes per second received (rx) and sent (tx) on the hosts’ interfaces.',
    unit: 'Bps',
    targets: [
      rate('node_network_receive_bytes_total', 'rx'),
      rate('node_network_transmit_bytes_total', 'tx'),
    ],
  },
  errors: {
    title: 'Network error and drop ratio by tier',
    description:
      'Packets received or sent with an error or dropped, over all packets received and sent.',
    unit: 'percentunit',
    steps: [
      [0.001, 'orange'],
      [0.01, 'red'],
    ],
    targets: ratioSql({
      numerator: sel([
        'node_network_receive_errs_total',
        'node_network_transmit_errs_total',
        'node_network_receive_drop_total',
        'node_network_transmit_drop_total',
      ]),
      denominator: sel([
        'node_network_receive_packets_total',
        'node_network_transmit_packets_total',
      ]),
      by: BY_TIER,
      as: 'errors',
    }),
  },
  latency: {
    title: 'CPU busy by tier',
    description: 'Share of CPU time not idle nor waiting for IO, over every CPU of the tier.',
    unit: 'percentunit',
    max: 1,
    steps: FULL_STEPS,
    targets: partSql({
      of: sel('node_cpu_seconds_total'),
      part: [{ mode: { op: '!~', value: 'idle|iowait' } }],
      by: BY_TIER,
      as: 'busy',
    }),
  },
  saturation: {
    title: 'Memory used (fullest host)',
    description:
      '1 − MemAvailable / MemTotal per host, the fullest host of each tier (page cache counts as available).',
    unit: 'percentunit',
    max: 1,
    steps: FULL_STEPS,
    targets: fullest('node_memory_MemAvailable_bytes', 'node_memory_MemTotal_bytes', 'used', {
      complement: true,
    }),
  },
};

/** The rows of the overview, in order. */
export const TIER_KINDS: readonly TierKind[] = [LB, WEB, CACHE, DB, QUEUE, APP, HOSTS];
