// The Halo-itself dashboard: agents and sources, the ingest pipeline, the alerter, notifications.

import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { TABLES } from '../core/conventions.ts';
import {
  RECENT,
  SEEN_IN_RANGE,
  SIZE,
  hostVariable,
  table as tableName,
  tierVariable,
  inSelection,
} from './common.ts';
import {
  BOTTOM_NOTE,
  quantileSql,
  ratioSql,
  seriesSql,
  statSql,
  memberOf,
  rangeSql,
  withTopMembers,
  type SeriesQuery,
  type MetricSelector,
  type Scope,
} from './metric-sql.ts';
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
const SERIES = tableName(TABLES.series);
const NOTIFICATIONS = tableName(TABLES.notifications);
const VARIABLES = `${inSelection('tier', 'tier')} AND ${inSelection('host', 'host')}`;

const HOST_LINK: DataLink = {
  title: 'Host ${__field.labels.host}',
  url: '/d/halo-hosts?var-tier=${__field.labels.tier}&var-host=${__field.labels.host}&${__url_time_range}',
};
const ANY_ABOVE_ZERO: ReadonlyArray<readonly [number, string]> = [[0.0001, 'red']];

const sel = (metric: string | string[], extra: Partial<MetricSelector> = {}): MetricSelector => ({
  metric,
  scope: SCOPE,
  ...extra,
});

/** Sources up per host: the hosts with the lowest share drawn, ranked over the range. */
const BY_HOST = ['tier', 'host'];
const sourcesUp: SeriesQuery = {
  ...sel('halo_source_up'),
  over: 'avg',
  across: 'avg',
  by: BY_HOST,
};

const agentsReportingSql = `SELECT toUInt32(uniqExact(host)) AS value
FROM ${SAMPLES}
WHERE name = 'halo_source_up' AND ${RECENT} AND ${VARIABLES}`;

const agentsSilentSql = `SELECT toUInt32(uniqExact(host)) AS value
FROM ${SERIES}
WHERE name = 'halo_source_up' AND ${SEEN_IN_RANGE} AND ${VARIABLES}
  AND host NOT IN (
    SELECT DISTINCT host FROM ${SAMPLES} WHERE name = 'halo_source_up' AND ${RECENT}
  )`;

const sourcesDownSql = `SELECT toUInt32(countIf(up = 0)) AS value
FROM (
  SELECT argMax(value, ts) AS up
  FROM ${SAMPLES}
  WHERE name = 'halo_source_up' AND ${RECENT} AND ${VARIABLES}
  GROUP BY fingerprint
)`;

/**
 * Every source seen in the range (the series table), with its state in the last five minutes:
 * up, down (collections fail), or silent (its agent stopped reporting).
 */
const sourcesTableSql = `SELECT
  s.tier AS tier,
  s.host AS host,
  s.source AS source,
  s.type AS type,
  multiIf(r.seen = 0, 'silent', r.up = 1, 'up', 'down') AS state,
  r.duration AS duration,
  r.last_sample AS last_sample
FROM (
  SELECT tier, host, any(labels)['source'] AS source, any(labels)['type'] AS type
  FROM ${SERIES}
  WHERE name = 'halo_source_up' AND ${SEEN_IN_RANGE} AND ${VARIABLES}
  GROUP BY fingerprint, tier, host
) AS s
LEFT JOIN (
  SELECT
    host,
    labels['source'] AS source,
    1 AS seen,
    argMaxIf(value, ts, name = 'halo_source_up') AS up,
    avgIf(value, name = 'halo_source_duration_seconds') AS duration,
    max(ts) AS last_sample
  FROM ${SAMPLES}
  WHERE name IN ('halo_source_up', 'halo_source_duration_seconds') AND ${RECENT} AND ${VARIABLES}
  GROUP BY host, source
) AS r ON s.host = r.host AND s.source = r.source
ORDER BY state = 'up', host, source
LIMIT 2000`;

const lastNotificationsSql = `SELECT
  ts AS time,
  receiver,
  integration,
  toString(outcome) AS outcome,
  attempts,
  length(firing_alerts) AS firing,
  length(resolved_alerts) AS resolved,
  error
FROM ${NOTIFICATIONS}
WHERE $__timeFilter(ts)
ORDER BY ts DESC
LIMIT 200`;

function overviewPanels(): Array<cog.Builder<dashboard.Panel>> {
  return [
    stat({
      id: 1,
      title: 'Agents reporting',
      description:
        'Hosts whose agent sent halo_source_up in the last 5 minutes before the end of the range.',
      unit: 'short',
      targets: agentsReportingSql,
    }),
    stat({
      id: 2,
      title: 'Agents silent',
      description:
        'Hosts with an agent seen in the range (or up to 2 h before it) that sent nothing in the last 5 minutes: a stopped agent, a dead host or a cut network.',
      unit: 'short',
      steps: [[1, 'red']],
      background: true,
      targets: agentsSilentSql,
    }),
    stat({
      id: 3,
      title: 'Sources down',
      description:
        'Sources whose latest collection failed (halo_source_up = 0) in the last 5 minutes; the table below says which.',
      unit: 'short',
      steps: [[1, 'red']],
      background: true,
      targets: sourcesDownSql,
    }),
    stat({
      id: 4,
      title: 'Ingest rows per second',
      description: 'Rows the ingesters inserted into ClickHouse per second over the range.',
      unit: 'rowsps',
      targets: statSql({ ...sel('halo_ingest_rows_total'), over: 'rate' }),
    }),
    stat({
      id: 5,
      title: 'Consumer pending now',
      description:
        'Batches waiting in the streams for an ingester, the largest stream: growing means the ingesters fall behind.',
      unit: 'short',
      steps: [
        [1000, 'orange'],
        [10_000, 'red'],
      ],
      targets: statSql({ ...sel('halo_ingest_consumer_pending'), over: 'last', across: 'max' }),
    }),
    stat({
      id: 6,
      title: 'Dead letters',
      description:
        'Batches that did not decode or validate in the range, moved to the dead-letter stream: their data is not stored.',
      unit: 'short',
      steps: [[1, 'red']],
      background: true,
      targets: statSql({ ...sel('halo_ingest_dead_letters_total'), over: 'increase' }),
    }),
    stat({
      id: 7,
      title: 'Leading alerters',
      description:
        'Alerter replicas holding the lease now. Exactly 1 is right: 0 means nothing evaluates rules or SLOs, 2 means the lease is broken.',
      unit: 'short',
      base: 'red',
      steps: [
        [1, 'green'],
        [2, 'red'],
      ],
      background: true,
      targets: statSql({ ...sel('halo_alerter_leading'), over: 'last', across: 'sum' }),
    }),
    stat({
      id: 8,
      title: 'Alerts firing',
      description: 'Alerts firing now, as the leading alerter counts them.',
      unit: 'short',
      steps: [[1, 'orange']],
      targets: statSql({
        ...sel('halo_alerter_alerts', { match: { state: 'firing' } }),
        over: 'last',
        across: 'max',
      }),
    }),
  ];
}

function agentPanels(): Array<cog.Builder<dashboard.Panel>> {
  return [
    table({
      id: 11,
      title: 'Sources',
      description:
        'Every source of every agent seen in the range, with its state in the last 5 minutes (down and silent first) and its collection time.',
      unit: 'short',
      columnUnits: { duration: 's', last_sample: 'dateTimeAsIso' },
      links: [
        {
          title: 'Host ${__data.fields.host}',
          url: '/d/halo-hosts?var-tier=${__data.fields.tier}&var-host=${__data.fields.host}&${__url_time_range}',
        },
      ],
      targets: sourcesTableSql,
    }),
    timeseries({
      id: 12,
      title: 'Sources up by host',
      description:
        'Share of a host’s sources whose collection succeeded (1 = all). A dip is a source failing; a gap is an agent not reporting.' +
        BOTTOM_NOTE,
      unit: 'percentunit',
      min: 0,
      max: 1,
      base: 'red',
      steps: [[0.999, 'green']],
      links: [HOST_LINK],
      targets: withTopMembers(
        seriesSql({ ...sourcesUp, only: memberOf(['host']) }),
        rangeSql(sourcesUp),
        ['host'],
        { lowest: true },
      ),
    }),
    timeseries({
      id: 13,
      title: 'Collection time by source type',
      description:
        'The slowest collection of each source type per interval. Close to the collection interval, samples arrive late or are skipped.',
      unit: 's',
      steps: [
        [5, 'orange'],
        [10, 'red'],
      ],
      targets: seriesSql({
        ...sel('halo_source_duration_seconds'),
        over: 'max',
        across: 'max',
        by: ['type'],
      }),
    }),
  ];
}

function agentPipelinePanels(): Array<cog.Builder<dashboard.Panel>> {
  return [
    timeseries({
      id: 21,
      title: 'Agent samples per second',
      description:
        'Samples each agent collected and handed to its batcher. Per host only: the scraping source overwrites the metric’s own `source` label.',
      unit: 'short',
      width: SIZE.third,
      links: [HOST_LINK],
      targets: seriesSql({
        ...sel('halo_agent_samples_total'),
        over: 'rate',
        by: ['tier', 'host'],
      }),
    }),
    timeseries({
      id: 22,
      title: 'Agent batches by outcome',
      description:
        'Batches per second: published is normal; spooled means JetStream was out of reach; dropped, rejected and lost are data lost.',
      unit: 'short',
      width: SIZE.third,
      stacked: true,
      targets: seriesSql({ ...sel('halo_agent_batches_total'), over: 'rate', by: ['outcome'] }),
    }),
    timeseries({
      id: 23,
      title: 'Agent spool',
      description:
        'Bytes of batches waiting in each agent’s spool for JetStream. Above zero for long, the agent cannot publish; when full it drops batches.',
      unit: 'bytes',
      width: SIZE.third,
      steps: [
        [1e6, 'orange'],
        [1e8, 'red'],
      ],
      links: [HOST_LINK],
      targets: seriesSql({
        ...sel('halo_agent_spool_bytes'),
        over: 'max',
        across: 'max',
        by: ['tier', 'host'],
      }),
    }),
    timeseries({
      id: 24,
      title: 'Agent invalid samples and source errors',
      description:
        'Samples dropped at the agent because the ingester would refuse them, and failed collections, per second. Anything above 0 is data missing.',
      unit: 'short',
      steps: ANY_ABOVE_ZERO,
      targets: seriesSql({
        ...sel(['halo_agent_invalid_samples_total', 'halo_agent_source_errors_total']),
        over: 'rate',
        by: ['name'],
      }),
    }),
    timeseries({
      id: 25,
      title: 'Agent log records per second',
      description: 'Log records the agents spooled, by tier.',
      unit: 'short',
      targets: seriesSql({ ...sel('halo_agent_log_records_total'), over: 'rate', by: ['tier'] }),
    }),
  ];
}

const meanPerInsert = (metric: string, as: string) =>
  ratioSql({
    numerator: sel(`${metric}_sum`),
    denominator: sel(`${metric}_count`),
    by: ['kind'],
    as,
  });

function ingestPanels(): Array<cog.Builder<dashboard.Panel>> {
  return [
    timeseries({
      id: 31,
      title: 'Rows inserted per second',
      description: 'Rows the ingesters inserted into ClickHouse, by kind (samples, logs).',
      unit: 'rowsps',
      width: SIZE.third,
      targets: seriesSql({ ...sel('halo_ingest_rows_total'), over: 'rate', by: ['kind'] }),
    }),
    timeseries({
      id: 32,
      title: 'Insert latency p50 / p99',
      description:
        'Time of one insert into ClickHouse by kind (retries excluded), from the halo_ingest_insert_seconds histogram.',
      unit: 's',
      width: SIZE.third,
      steps: [
        [1, 'orange'],
        [2.5, 'red'],
      ],
      targets: quantileSql({
        ...sel('halo_ingest_insert_seconds_bucket'),
        by: ['kind'],
        quantiles: { p50: 0.5, p99: 0.99 },
      }),
    }),
    timeseries({
      id: 33,
      title: 'Insert size',
      description:
        'Mean rows (A) and stream batches (B) per insert, by kind. Small inserts under load mean the ingester flushes too often for ClickHouse.',
      unit: 'short',
      width: SIZE.third,
      targets: [
        meanPerInsert('halo_ingest_insert_rows', 'rows'),
        meanPerInsert('halo_ingest_insert_batches', 'batches'),
      ],
    }),
    timeseries({
      id: 34,
      title: 'Consumer pending (lag)',
      description:
        'Batches in each stream not yet delivered to an ingester. Flat is keeping up; a rising line means the ingesters fall behind.',
      unit: 'short',
      width: SIZE.third,
      steps: [
        [1000, 'orange'],
        [10_000, 'red'],
      ],
      drawSteps: true,
      targets: seriesSql({
        ...sel('halo_ingest_consumer_pending'),
        over: 'max',
        across: 'max',
        by: ['stream'],
      }),
    }),
    timeseries({
      id: 35,
      title: 'Data refused or failed',
      description:
        'Per second: batches sent to dead letters, series and samples dropped for the tier’s series limit, and failed inserts (retried). Anything above 0 deserves a look.',
      unit: 'short',
      width: SIZE.third,
      steps: ANY_ABOVE_ZERO,
      targets: seriesSql({
        ...sel([
          'halo_ingest_dead_letters_total',
          'halo_ingest_dropped_series_total',
          'halo_ingest_dropped_samples_total',
          'halo_ingest_insert_errors_total',
        ]),
        over: 'rate',
        by: ['name'],
      }),
    }),
    timeseries({
      id: 36,
      title: 'Batches by outcome, redelivered',
      description:
        'Batches per second by kind and outcome (stored, dead), and batches delivered again after a crash or lost ack (looked up in the journal, not stored twice).',
      unit: 'short',
      width: SIZE.third,
      targets: [
        seriesSql({ ...sel('halo_ingest_batches_total'), over: 'rate', by: ['kind', 'outcome'] }),
        seriesSql({
          ...sel('halo_ingest_redelivered_total'),
          over: 'rate',
          by: ['kind'],
          as: 'redelivered',
        }),
      ],
    }),
  ];
}

function alerterPanels(): Array<cog.Builder<dashboard.Panel>> {
  return [
    timeseries({
      id: 41,
      title: 'Evaluation time p50 / p99',
      description:
        'Time of one evaluation of every SLO and rule. Close to the evaluation interval, evaluations get skipped.',
      unit: 's',
      width: SIZE.third,
      steps: [
        [10, 'orange'],
        [30, 'red'],
      ],
      targets: quantileSql({
        ...sel('halo_alerter_evaluation_seconds_bucket'),
        quantiles: { p50: 0.5, p99: 0.99 },
      }),
    }),
    timeseries({
      id: 42,
      title: 'Evaluation failures and skips',
      description:
        'Evaluations that failed (the store did not answer) and scheduled ones skipped because the previous was still running, per second.',
      unit: 'short',
      width: SIZE.third,
      steps: ANY_ABOVE_ZERO,
      targets: seriesSql({
        ...sel([
          'halo_alerter_evaluation_failures_total',
          'halo_alerter_evaluations_skipped_total',
        ]),
        over: 'rate',
        by: ['name'],
      }),
    }),
    timeseries({
      id: 43,
      title: 'Leader by host',
      description:
        'Which alerter replica holds the lease (1). Exactly one line at 1 at any time; a change is a failover.',
      unit: 'short',
      width: SIZE.third,
      min: 0,
      max: 1,
      links: [HOST_LINK],
      targets: seriesSql({
        ...sel('halo_alerter_leading'),
        over: 'max',
        across: 'max',
        by: ['tier', 'host'],
      }),
    }),
    timeseries({
      id: 44,
      title: 'Alerts by state',
      description: 'Pending, firing and resolved alerts the alerter holds.',
      unit: 'short',
      targets: seriesSql({
        ...sel('halo_alerter_alerts'),
        over: 'max',
        across: 'max',
        by: ['state'],
      }),
    }),
    timeseries({
      id: 45,
      title: 'Alert transitions',
      description: 'Alert state changes per interval, by the state entered.',
      unit: 'short',
      targets: seriesSql({
        ...sel('halo_alerter_transitions_total'),
        over: 'increase',
        by: ['to'],
      }),
    }),
  ];
}

function notificationPanels(): Array<cog.Builder<dashboard.Panel>> {
  return [
    timeseries({
      id: 51,
      title: 'Notifications by receiver and outcome',
      description:
        'Notifications per interval by receiver, integration and outcome (sent, failed, gave_up, skipped).',
      unit: 'short',
      width: SIZE.third,
      targets: seriesSql({
        ...sel('halo_notifications_total'),
        over: 'increase',
        by: ['receiver', 'integration', 'outcome'],
      }),
    }),
    timeseries({
      id: 52,
      title: 'Failed notifications',
      description:
        'Notifications that failed or were given up per interval, by receiver and integration: someone did not hear about an alert.',
      unit: 'short',
      width: SIZE.third,
      steps: [[1, 'red']],
      targets: seriesSql({
        ...sel('halo_notifications_total', {
          match: { outcome: { op: '=~', value: 'failed|gave_up' } },
        }),
        over: 'increase',
        by: ['receiver', 'integration'],
      }),
    }),
    timeseries({
      id: 53,
      title: 'Notification requests by status',
      description:
        'HTTP requests made to deliver notifications per interval, by integration and status code (or error, timeout).',
      unit: 'short',
      width: SIZE.third,
      targets: seriesSql({
        ...sel('halo_notification_requests_total'),
        over: 'increase',
        by: ['integration', 'code'],
      }),
    }),
    table({
      id: 54,
      title: 'Last notifications',
      description:
        'The newest deliveries from the notification log: receiver, integration, outcome, attempts, the alerts they carried and the error if any.',
      unit: 'short',
      columnUnits: { time: 'dateTimeAsIso' },
      targets: lastNotificationsSql,
    }),
  ];
}

function processPanels(): Array<cog.Builder<dashboard.Panel>> {
  const byRole = ['role', 'tier', 'host'];
  return [
    timeseries({
      id: 61,
      title: 'Process CPU by role',
      description: 'CPU used by each Halo process (agent, ingest, alerter), in cores.',
      unit: 'percentunit',
      width: SIZE.third,
      links: [HOST_LINK],
      targets: seriesSql({ ...sel('halo_process_cpu_seconds_total'), over: 'rate', by: byRole }),
    }),
    timeseries({
      id: 62,
      title: 'Process memory by role',
      description: 'Resident memory of each Halo process.',
      unit: 'bytes',
      width: SIZE.third,
      links: [HOST_LINK],
      targets: seriesSql({
        ...sel('halo_process_resident_memory_bytes'),
        over: 'max',
        across: 'max',
        by: byRole,
      }),
    }),
    timeseries({
      id: 63,
      title: 'Dependency checks',
      description:
        'Readiness checks of each process (store, bus, …): 1 passes, 0 fails. The lowest per interval.',
      unit: 'short',
      width: SIZE.third,
      min: 0,
      max: 1,
      base: 'red',
      steps: [[1, 'green']],
      targets: seriesSql({
        ...sel('halo_check_up'),
        over: 'min',
        across: 'min',
        by: ['role', 'check'],
      }),
    }),
  ];
}

export function selfDashboard(): dashboard.DashboardBuilder {
  const d = haloDashboard('halo-self', 'Halo / Halo itself', ['self'])
    .withVariable(tierVariable({ prefix: 'halo_' }))
    .withVariable(hostVariable({ prefix: 'halo_' }))
    .link(dashboardLink('Overview', 'halo-overview'))
    .link(dashboardLink('Queues', 'halo-mq'))
    .link(dashboardLink('Hosts', 'halo-hosts'))
    .link(dashboardLink('Logs', 'halo-logs'))
    .link(dashboardLink('SLOs', 'halo-slos'));
  const sections: Array<[number, string, Array<cog.Builder<dashboard.Panel>>]> = [
    [100, 'Overview', overviewPanels()],
    [110, 'Agents and sources', agentPanels()],
    [120, 'Agent pipeline', agentPipelinePanels()],
    [130, 'Ingest', ingestPanels()],
    [140, 'Alerter', alerterPanels()],
    [150, 'Notifications', notificationPanels()],
    [160, 'Processes', processPanels()],
  ];
  return withSections(d, sections);
}
