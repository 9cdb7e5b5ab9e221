// The queues dashboard: NATS traffic, clients, cluster links, JetStream streams and consumers.

import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { TABLES } from '../core/conventions.ts';
import {
  RECENT,
  SIZE,
  hostVariable,
  table as tableName,
  tierVariable,
  inSelection,
} from './common.ts';
import { ratioSql, ratioStatSql, seriesSql, statSql, type Scope } from './metric-sql.ts';
import {
  dashboardLink,
  haloDashboard,
  stat,
  table,
  timeseries,
  type DataLink,
  withSections,
} from './panels.ts';

const SCOPE: readonly Scope[] = ['tier', 'host'];
const SAMPLES = tableName(TABLES.samples);

const HOST_LINK: DataLink = {
  title: 'Host ${__field.labels.host}',
  url: '/d/halo-hosts?var-tier=${__field.labels.tier}&var-host=${__field.labels.host}&${__url_time_range}',
};

const STORAGE = {
  numerator: { metric: 'nats_jetstream_storage_used_bytes', scope: SCOPE },
  denominator: { metric: 'nats_jetstream_storage_max_bytes', scope: SCOPE },
};

function overviewPanels() {
  return [
    stat({
      id: 1,
      title: 'Messages in',
      description: 'Messages received by the selected servers per second, over the range.',
      unit: 'mps',
      targets: statSql({ metric: 'nats_in_messages_total', over: 'rate', scope: SCOPE }),
    }),
    stat({
      id: 2,
      title: 'Connections',
      description: 'Client connections open now, summed over the selected servers.',
      unit: 'short',
      targets: statSql({ metric: 'nats_connections', over: 'last', across: 'sum', scope: SCOPE }),
    }),
    stat({
      id: 3,
      title: 'Slow consumers',
      description:
        'Clients the servers cut off or dropped messages for because they did not read fast enough, in the range. Anything above 0 means lost messages for core NATS subscribers.',
      unit: 'short',
      steps: [[1, 'red']],
      background: true,
      targets: statSql({ metric: 'nats_slow_consumers_total', over: 'increase', scope: SCOPE }),
    }),
    stat({
      id: 4,
      title: 'JetStream storage used',
      description:
        'File storage JetStream uses, as a share of its configured maximum (average over the range, all selected servers). Publishes fail when a server reaches 100%.',
      unit: 'percentunit',
      steps: [
        [0.75, 'orange'],
        [0.9, 'red'],
      ],
      targets: ratioStatSql(STORAGE),
    }),
  ];
}

function trafficPanels() {
  return [
    timeseries({
      id: 11,
      title: 'Messages in / out per second',
      description:
        'Messages received from (in) and delivered to (out) clients, routes and leafnodes. Out above in is fan-out to several subscribers.',
      unit: 'mps',
      targets: seriesSql({
        metric: ['nats_in_messages_total', 'nats_out_messages_total'],
        over: 'rate',
        by: ['name'],
        scope: SCOPE,
      }),
    }),
    timeseries({
      id: 12,
      title: 'Bytes in / out per second',
      description: 'Payload bytes received and delivered per second by the selected servers.',
      unit: 'Bps',
      targets: seriesSql({
        metric: ['nats_in_bytes_total', 'nats_out_bytes_total'],
        over: 'rate',
        by: ['name'],
        scope: SCOPE,
      }),
    }),
  ];
}

function clientPanels() {
  return [
    timeseries({
      id: 21,
      title: 'Connections by host',
      description: 'Client connections open on each server; a sudden drop is clients failing over.',
      unit: 'short',
      width: SIZE.third,
      links: [HOST_LINK],
      targets: seriesSql({
        metric: 'nats_connections',
        over: 'avg',
        across: 'avg',
        by: ['tier', 'host'],
        scope: SCOPE,
      }),
    }),
    timeseries({
      id: 22,
      title: 'Subscriptions by host',
      description: 'Subscriptions registered on each server (clients, routes and leafnodes).',
      unit: 'short',
      width: SIZE.third,
      links: [HOST_LINK],
      targets: seriesSql({
        metric: 'nats_subscriptions',
        over: 'avg',
        across: 'avg',
        by: ['tier', 'host'],
        scope: SCOPE,
      }),
    }),
    timeseries({
      id: 23,
      title: 'Slow consumers per second',
      description:
        'Rate of slow-consumer events per server. Any value above 0 (red) is a client that could not keep up; the server dropped its messages or its connection.',
      unit: 'short',
      width: SIZE.third,
      steps: [[0.0001, 'red']],
      drawSteps: true,
      links: [HOST_LINK],
      targets: seriesSql({
        metric: 'nats_slow_consumers_total',
        over: 'rate',
        by: ['tier', 'host'],
        scope: SCOPE,
      }),
    }),
    timeseries({
      id: 24,
      title: 'Cluster routes and leafnodes',
      description:
        'Routes (links to the other servers of the cluster) and leafnode connections per server, the lowest in each interval. A server with fewer routes than its peers is cut off from part of the cluster.',
      unit: 'short',
      width: SIZE.full,
      links: [HOST_LINK],
      targets: seriesSql({
        metric: ['nats_routes', 'nats_leafnodes'],
        over: 'min',
        across: 'min',
        by: ['name', 'tier', 'host'],
        scope: SCOPE,
      }),
    }),
  ];
}

/** Used and max as two targets: each summed over the servers (one series per server). */
const usedVsMax = (kind: 'storage' | 'memory') =>
  (['used', 'max'] as const).map((part) => ({
    refId: part === 'used' ? 'A' : 'B',
    sql: seriesSql({
      metric: `nats_jetstream_${kind}_${part}_bytes`,
      over: 'avg',
      across: 'sum',
      as: part,
      scope: SCOPE,
    }),
  }));

function jetstreamPanels() {
  return [
    timeseries({
      id: 31,
      title: 'JetStream storage: used vs max',
      description:
        'File storage JetStream uses against its configured maximum, summed over the selected servers.',
      unit: 'bytes',
      width: SIZE.third,
      targets: usedVsMax('storage'),
    }),
    timeseries({
      id: 32,
      title: 'JetStream memory: used vs max',
      description:
        'Memory JetStream uses for memory-backed streams against its configured maximum, summed over the selected servers.',
      unit: 'bytes',
      width: SIZE.third,
      targets: usedVsMax('memory'),
    }),
    timeseries({
      id: 33,
      title: 'JetStream storage used by host',
      description:
        'Share of the storage maximum each server uses. Above 90% (red) the server soon refuses writes to its streams.',
      unit: 'percentunit',
      width: SIZE.third,
      max: 1,
      steps: [
        [0.75, 'orange'],
        [0.9, 'red'],
      ],
      drawSteps: true,
      links: [HOST_LINK],
      targets: ratioSql({ ...STORAGE, by: ['tier', 'host'] }),
    }),
    timeseries({
      id: 34,
      title: 'JetStream API requests and errors',
      description:
        'JetStream API calls (stream and consumer management, pulls, acks by API) and the ones that failed, per second.',
      unit: 'reqps',
      width: SIZE.half,
      targets: seriesSql({
        metric: ['nats_jetstream_api_requests_total', 'nats_jetstream_api_errors_total'],
        over: 'rate',
        by: ['name'],
        scope: SCOPE,
      }),
    }),
    timeseries({
      id: 35,
      title: 'JetStream API error ratio',
      description: 'Share of JetStream API calls that failed. Above 1% something misuses the API.',
      unit: 'percentunit',
      width: SIZE.half,
      steps: [
        [0.01, 'orange'],
        [0.05, 'red'],
      ],
      drawSteps: true,
      targets: ratioSql({
        numerator: { metric: 'nats_jetstream_api_errors_total', scope: SCOPE },
        denominator: { metric: 'nats_jetstream_api_requests_total', scope: SCOPE },
      }),
    }),
  ];
}

/**
 * The latest value of each stream gauge in the last five minutes of raw samples. Only a stream's
 * leader reports it, so the latest sample of a stream across hosts is the leader's.
 */
const streamTableSql = `SELECT
  account,
  stream,
  argMax(host, ts) AS leader,
  argMaxIf(value, ts, name = 'nats_stream_messages') AS messages,
  argMaxIf(value, ts, name = 'nats_stream_bytes') AS bytes,
  argMaxIf(value, ts, name = 'nats_stream_consumers') AS consumers
FROM (
  SELECT labels['account'] AS account, labels['stream'] AS stream, host, name, ts, value
  FROM ${SAMPLES}
  WHERE name IN ('nats_stream_messages', 'nats_stream_bytes', 'nats_stream_consumers')
    AND ${RECENT}
    AND ${inSelection('tier', 'tier')} AND ${inSelection('host', 'host')}
)
GROUP BY account, stream
ORDER BY bytes DESC
LIMIT 500`;

function streamPanels() {
  return [
    table({
      id: 41,
      title: 'Streams now',
      description:
        'Each JetStream stream as its leader last reported it (last 5 minutes before the end of the range): messages, bytes and consumers.',
      unit: 'short',
      height: SIZE.graphHeight,
      columnUnits: { bytes: 'bytes' },
      sortBy: 'bytes',
      targets: streamTableSql,
    }),
    timeseries({
      id: 42,
      title: 'Messages by stream',
      description: 'Messages stored in each stream (reported by its leader).',
      unit: 'short',
      width: SIZE.third,
      targets: seriesSql({
        metric: 'nats_stream_messages',
        over: 'avg',
        across: 'max',
        by: ['stream'],
        scope: SCOPE,
      }),
    }),
    timeseries({
      id: 43,
      title: 'Bytes by stream',
      description: 'Bytes stored in each stream; growth without limit means no retention applies.',
      unit: 'bytes',
      width: SIZE.third,
      targets: seriesSql({
        metric: 'nats_stream_bytes',
        over: 'avg',
        across: 'max',
        by: ['stream'],
        scope: SCOPE,
      }),
    }),
    timeseries({
      id: 44,
      title: 'Consumers by stream',
      description: 'Consumers defined on each stream.',
      unit: 'short',
      width: SIZE.third,
      targets: seriesSql({
        metric: 'nats_stream_consumers',
        over: 'last',
        across: 'max',
        by: ['stream'],
        scope: SCOPE,
      }),
    }),
  ];
}

/** A consumer gauge per stream and consumer; the leader of each consumer reports it. */
const consumerSeries = (metric: string) =>
  seriesSql({ metric, over: 'max', across: 'max', by: ['stream', 'consumer'], scope: SCOPE });

function consumerPanels() {
  return [
    timeseries({
      id: 51,
      title: 'Consumer pending messages',
      description:
        'Messages in the stream not yet delivered to each consumer (its lag). A line that keeps growing is a consumer that cannot keep up.',
      unit: 'short',
      steps: [
        [10_000, 'orange'],
        [100_000, 'red'],
      ],
      drawSteps: true,
      targets: consumerSeries('nats_consumer_pending_messages'),
    }),
    timeseries({
      id: 52,
      title: 'Consumer ack pending',
      description:
        'Messages delivered but not acknowledged yet. Near the consumer max_ack_pending the server stops delivering.',
      unit: 'short',
      steps: [
        [1000, 'orange'],
        [10_000, 'red'],
      ],
      drawSteps: true,
      targets: consumerSeries('nats_consumer_ack_pending_messages'),
    }),
    timeseries({
      id: 53,
      title: 'Consumer redelivered',
      description:
        'Messages delivered more than once (not acknowledged in time). A rising line is a consumer failing or too slow for its ack wait.',
      unit: 'short',
      steps: [
        [1, 'orange'],
        [100, 'red'],
      ],
      drawSteps: true,
      targets: consumerSeries('nats_consumer_redelivered_messages'),
    }),
    timeseries({
      id: 54,
      title: 'Consumer waiting pulls',
      description:
        'Pull requests waiting for messages. For a pull consumer, 0 for long means no client is pulling (its workers are down); push consumers are always 0.',
      unit: 'short',
      targets: consumerSeries('nats_consumer_waiting_pulls'),
    }),
  ];
}

function serverPanels() {
  return [
    timeseries({
      id: 61,
      title: 'Server CPU',
      description: 'CPU used by each nats-server, in cores (100% = one core busy).',
      unit: 'percentunit',
      links: [HOST_LINK],
      targets: seriesSql({
        metric: 'nats_cpu_ratio',
        over: 'avg',
        across: 'avg',
        by: ['tier', 'host'],
        scope: SCOPE,
      }),
    }),
    timeseries({
      id: 62,
      title: 'Server memory',
      description: 'Resident memory of each nats-server.',
      unit: 'bytes',
      links: [HOST_LINK],
      targets: seriesSql({
        metric: 'nats_memory_bytes',
        over: 'avg',
        across: 'avg',
        by: ['tier', 'host'],
        scope: SCOPE,
      }),
    }),
  ];
}

export function mqDashboard(): dashboard.DashboardBuilder {
  const d = haloDashboard('halo-mq', 'Halo / Queues', ['nats', 'mq'])
    .withVariable(tierVariable({ prefix: 'nats_' }))
    .withVariable(hostVariable({ prefix: 'nats_' }))
    .link(dashboardLink('Overview', 'halo-overview'))
    .link(dashboardLink('Hosts', 'halo-hosts'))
    .link(dashboardLink('Applications', 'halo-app'))
    .link(dashboardLink('Logs', 'halo-logs'))
    .link(dashboardLink('Halo itself', 'halo-self'));
  const sections: Array<[number, string, Array<cog.Builder<dashboard.Panel>>]> = [
    [100, 'Overview', overviewPanels()],
    [110, 'Traffic', trafficPanels()],
    [120, 'Clients and cluster', clientPanels()],
    [130, 'JetStream', jetstreamPanels()],
    [140, 'Streams', streamPanels()],
    [150, 'Consumers', consumerPanels()],
    [160, 'Server', serverPanels()],
  ];
  return withSections(d, sections);
}
