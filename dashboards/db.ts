// The database dashboard (postgres): connections, transactions, cache, tuples, temp files, size
// and replication, and a table of instances.

import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { SIZE, hostVariable, tierVariable } from './common.ts';
import {
  RANGE_SECONDS,
  ratioSql,
  ratioStatSql,
  seriesSql,
  statSql,
  type MetricSelector,
  type Scope,
} from './metric-sql.ts';
import { dashboardLink, haloDashboard, stat, table, timeseries, withSections } from './panels.ts';
import {
  HOST_LINK,
  SERIES_HOST_LINK,
  UP_DOWN,
  columnLinks,
  columnThresholds,
  rangeIncrease,
  recentSamples,
  regexMappings,
  statusColumn,
} from './tier-tables.ts';

const SCOPE: readonly Scope[] = ['tier', 'host'];
/** One postgres server: a host may run several, told apart by the agent's source name. */
const INSTANCE = ['tier', 'host', 'source'];
const hostLinks = [SERIES_HOST_LINK];

const pg = (metric: string | readonly string[]): MetricSelector => ({ metric, scope: SCOPE });

const COMMITS = 'pg_commits_total';
const ROLLBACKS = 'pg_rollbacks_total';
const HIT = 'pg_blocks_hit_total';
const READ = 'pg_blocks_read_total';

/**
 * Connections over max_connections. Every collection reports each state of each database and
 * max_connections once, so the ratio of their sums is the average share in use.
 */
const connectionsUsed = (by?: readonly string[]) => ({
  numerator: pg('pg_connections'),
  denominator: pg('pg_max_connections'),
  ...(by ? { by } : {}),
});
const cacheHit = (by?: readonly string[]) => ({
  numerator: pg(HIT),
  denominator: pg([HIT, READ]),
  ...(by ? { by } : {}),
});

const CONNECTION_STEPS = [
  [0.7, 'orange'],
  [0.9, 'red'],
] as const;
/** Cache hit colours: an OLTP database reads nearly everything from shared buffers. */
const CACHE_STEPS = [
  [0.9, 'orange'],
  [0.99, 'green'],
] as const;
const LAG_SECONDS_STEPS = [
  [10, 'orange'],
  [60, 'red'],
] as const;

function overviewPanels() {
  return [
    stat({
      id: 1,
      title: 'Connections used',
      description:
        'Client connections over max_connections, all selected servers together, averaged ' +
        'over the range. New connections fail at 100 % (less the superuser reserve).',
      targets: ratioStatSql(connectionsUsed()),
      unit: 'percentunit',
      decimals: 1,
      steps: CONNECTION_STEPS,
    }),
    stat({
      id: 2,
      title: 'Transactions',
      description: 'Commits and rollbacks per second of the selected servers, over the range.',
      targets: statSql({ ...pg([COMMITS, ROLLBACKS]), over: 'rate' }),
      unit: 'ops',
    }),
    stat({
      id: 3,
      title: 'Cache hit ratio',
      description:
        'Blocks found in shared buffers over blocks needed (hit + read), over the range. Reads ' +
        'may still come from the OS page cache.',
      targets: ratioStatSql(cacheHit()),
      unit: 'percentunit',
      decimals: 2,
      base: 'red',
      steps: CACHE_STEPS,
    }),
    stat({
      id: 4,
      title: 'Max replica lag',
      description:
        'The largest replay lag a replica reported over the range (now − last replayed ' +
        'transaction; 0 when caught up).',
      targets: statSql({ ...pg('pg_replica_lag_seconds'), over: 'max', across: 'max' }),
      unit: 's',
      steps: LAG_SECONDS_STEPS,
    }),
  ];
}

function connectionPanels() {
  return [
    timeseries({
      id: 5,
      title: 'Connections by state',
      description:
        'Client backends of the selected servers by state, stacked. Many "idle in transaction" ' +
        'hold locks and snapshots: look for the application that opens and forgets them.',
      targets: seriesSql({ ...pg('pg_connections'), over: 'avg', by: ['state'] }),
      unit: 'short',
      stacked: true,
    }),
    timeseries({
      id: 6,
      title: 'Connections used % of max_connections',
      description: 'Client connections over max_connections per server. Orange 70 %, red 90 %.',
      targets: ratioSql(connectionsUsed(INSTANCE)),
      unit: 'percentunit',
      min: 0,
      steps: CONNECTION_STEPS,
      drawSteps: true,
      links: hostLinks,
    }),
  ];
}

function transactionPanels() {
  return [
    timeseries({
      id: 7,
      title: 'Transactions per server',
      description: 'Commits plus rollbacks per second per server (TPS).',
      targets: seriesSql({ ...pg([COMMITS, ROLLBACKS]), over: 'rate', by: INSTANCE }),
      unit: 'ops',
      links: hostLinks,
    }),
    timeseries({
      id: 8,
      title: 'Rollbacks per database',
      description:
        'Rollbacks per second per server and database: application errors, serialization ' +
        'failures and cancelled statements.',
      targets: seriesSql({ ...pg(ROLLBACKS), over: 'rate', by: [...INSTANCE, 'database'] }),
      unit: 'ops',
      links: hostLinks,
    }),
    timeseries({
      id: 9,
      title: 'Deadlocks',
      description: 'Deadlocks detected per interval, per server and database. Any is a bug.',
      targets: seriesSql({
        ...pg('pg_deadlocks_total'),
        over: 'increase',
        by: [...INSTANCE, 'database'],
      }),
      unit: 'short',
      min: 0,
      steps: [[1, 'red']],
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 10,
      title: 'Recovery conflicts',
      description:
        'Queries cancelled on replicas per interval because replay needed what they held ' +
        '(conflicts with recovery), per server and database.',
      targets: seriesSql({
        ...pg('pg_conflicts_total'),
        over: 'increase',
        by: [...INSTANCE, 'database'],
      }),
      unit: 'short',
      min: 0,
      steps: [[1, 'orange']],
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 11,
      title: 'Rollback ratio',
      description: 'Rollbacks over all transactions per server.',
      targets: ratioSql({
        numerator: pg(ROLLBACKS),
        denominator: pg([COMMITS, ROLLBACKS]),
        by: INSTANCE,
      }),
      unit: 'percentunit',
      min: 0,
      steps: [
        [0.05, 'orange'],
        [0.2, 'red'],
      ],
      width: SIZE.third,
      links: hostLinks,
    }),
  ];
}

function ioPanels() {
  return [
    timeseries({
      id: 12,
      title: 'Cache hit ratio per database',
      description: 'Shared-buffer hits over blocks needed per server and database.',
      targets: ratioSql(cacheHit([...INSTANCE, 'database'])),
      unit: 'percentunit',
      max: 1,
      base: 'red',
      steps: CACHE_STEPS,
      links: hostLinks,
    }),
    timeseries({
      id: 13,
      title: 'Tuples',
      description:
        'Rows per second of the selected servers: returned (scanned) and fetched (by index) by ' +
        'reads, inserted, updated and deleted by writes. Returned far above fetched is ' +
        'sequential scans.',
      targets: seriesSql({
        ...pg([
          'pg_tuples_returned_total',
          'pg_tuples_fetched_total',
          'pg_tuples_inserted_total',
          'pg_tuples_updated_total',
          'pg_tuples_deleted_total',
        ]),
        over: 'rate',
        by: ['name'],
      }),
      unit: 'short',
    }),
    timeseries({
      id: 14,
      title: 'Temp files',
      description:
        'Temporary files per second written by queries whose sorts or hashes exceed work_mem.',
      targets: seriesSql({ ...pg('pg_temp_files_total'), over: 'rate', by: INSTANCE }),
      unit: 'short',
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 15,
      title: 'Temp bytes',
      description: 'Bytes per second written to temporary files, per server.',
      targets: seriesSql({ ...pg('pg_temp_bytes_total'), over: 'rate', by: INSTANCE }),
      unit: 'Bps',
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 16,
      title: 'Database size',
      description: 'Size on disk per server and database.',
      targets: seriesSql({
        ...pg('pg_database_size_bytes'),
        over: 'max',
        across: 'max',
        by: [...INSTANCE, 'database'],
      }),
      unit: 'bytes',
      width: SIZE.third,
      links: hostLinks,
    }),
  ];
}

function replicationPanels() {
  return [
    timeseries({
      id: 17,
      title: 'In recovery (replica)',
      description:
        'Per server, 1 while it is a replica (in recovery), 0 while primary. A change is a ' +
        'failover or a promotion.',
      targets: seriesSql({
        ...pg('pg_in_recovery'),
        over: 'max',
        across: 'max',
        by: INSTANCE,
      }),
      unit: 'short',
      min: 0,
      max: 1,
      decimals: 0,
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 18,
      title: 'Replica lag (seconds)',
      description:
        'Per replica, seconds since the last replayed transaction (0 when it has replayed ' +
        'everything it received). On an idle primary this grows without any delay.',
      targets: seriesSql({
        ...pg('pg_replica_lag_seconds'),
        over: 'max',
        across: 'max',
        by: INSTANCE,
      }),
      unit: 's',
      min: 0,
      steps: LAG_SECONDS_STEPS,
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 19,
      title: 'WAL receiver up',
      description:
        'Per replica, 1 while its WAL receiver streams from the primary, 0 while it does not ' +
        '(lowest in each interval).',
      targets: seriesSql({
        ...pg('pg_wal_receiver_up'),
        over: 'min',
        across: 'min',
        by: INSTANCE,
      }),
      unit: 'short',
      min: 0,
      max: 1,
      decimals: 0,
      base: 'red',
      steps: [[1, 'green']],
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 20,
      title: 'Replication lag (bytes, primary view)',
      description:
        'Per primary and replica (application_name, client address): WAL bytes sent but not ' +
        'yet replayed by the replica (pg_stat_replication).',
      targets: seriesSql({
        ...pg('pg_replication_lag_bytes'),
        over: 'max',
        across: 'max',
        by: ['host', 'application_name', 'client_addr'],
      }),
      unit: 'bytes',
      min: 0,
      width: SIZE.third,
    }),
    timeseries({
      id: 21,
      title: 'Replication lag (seconds, primary view)',
      description:
        'Per primary and replica: replay lag as the primary measures it (pg_stat_replication ' +
        'replay_lag).',
      targets: seriesSql({
        ...pg('pg_replication_lag_seconds'),
        over: 'max',
        across: 'max',
        by: ['host', 'application_name', 'client_addr'],
      }),
      unit: 's',
      min: 0,
      steps: LAG_SECONDS_STEPS,
      width: SIZE.third,
    }),
    timeseries({
      id: 22,
      title: 'Connected replicas',
      description:
        'Replicas streaming from each primary, lowest in each interval: a drop is a replica gone.',
      targets: seriesSql({
        ...pg('pg_replication_connected_replicas'),
        over: 'min',
        across: 'min',
        by: INSTANCE,
      }),
      unit: 'short',
      min: 0,
      decimals: 0,
      width: SIZE.third,
      links: hostLinks,
    }),
  ];
}

/** Per server: role, connections, lag and replicas now; TPS and cache hits over the range. */
export function instancesSql(): string {
  const names = [
    'pg_in_recovery',
    'pg_max_connections',
    'pg_connections',
    'pg_replica_lag_seconds',
    'pg_wal_receiver_up',
    'pg_replication_connected_replicas',
  ];
  const latest = `SELECT tier, host, labels['source'] AS source, name, argMax(value, ts) AS v
  FROM ${recentSamples(names)}
  GROUP BY tier, host, source, name, fingerprint`;
  const totals = rangeIncrease(pg([COMMITS, ROLLBACKS, HIT, READ]), [...INSTANCE, 'name']);
  const has = (name: string, agg: string) =>
    `if(countIf(name = '${name}') > 0, ${agg}If(v, name = '${name}'), NULL)`;
  return `SELECT tier, host, source,
  if(countIf(name = 'pg_in_recovery') = 0, '',
    if(maxIf(v, name = 'pg_in_recovery') > 0, 'replica', 'primary')) AS role,
  sumIf(v, name = 'pg_connections') AS connections,
  ${has('pg_max_connections', 'max')} AS max_connections,
  sumIf(v, name = 'pg_connections') / nullIf(maxIf(v, name = 'pg_max_connections'), 0) AS connections_pct,
  any(r.tps) AS tps,
  any(r.cache_hit) AS cache_hit,
  ${has('pg_replica_lag_seconds', 'max')} AS lag_seconds,
  ${has('pg_wal_receiver_up', 'min')} AS wal_receiver,
  ${has('pg_replication_connected_replicas', 'max')} AS replicas
FROM (
  ${latest}
) AS s
LEFT JOIN (
  SELECT tier, host, source,
    toNullable(sumIf(v, name IN ('${COMMITS}', '${ROLLBACKS}')) / ${RANGE_SECONDS}) AS tps,
    sumIf(v, name = '${HIT}') / nullIf(sumIf(v, name IN ('${HIT}', '${READ}')), 0) AS cache_hit
  FROM (
${totals}
  )
  GROUP BY tier, host, source
) AS r USING (tier, host, source)
GROUP BY tier, host, source
ORDER BY role, tier, host, source
LIMIT 1000`;
}

function instancePanels() {
  const instances = table({
    id: 23,
    title: 'Instances',
    description:
      'Every postgres server (host and agent source): role, client connections and their share ' +
      'of max_connections, replica lag, WAL receiver and connected replicas now (last 5 ' +
      'minutes of the range); TPS and cache hit ratio over the range. The host links to its ' +
      'dashboard.',
    targets: instancesSql(),
    unit: 'short',
    columnUnits: { tps: 'ops', lag_seconds: 's' },
  });
  statusColumn(
    instances,
    'role',
    regexMappings([
      ['^primary$', 'blue'],
      ['^replica$', 'purple'],
    ]),
  );
  statusColumn(instances, 'wal_receiver', UP_DOWN);
  columnThresholds(instances, 'connections_pct', 'percentunit', 'green', CONNECTION_STEPS);
  columnThresholds(instances, 'cache_hit', 'percentunit', 'red', CACHE_STEPS);
  columnThresholds(instances, 'lag_seconds', 's', 'green', LAG_SECONDS_STEPS);
  columnLinks(instances, 'host', [HOST_LINK]);
  return [instances];
}

export function dbDashboard(): dashboard.DashboardBuilder {
  const builder = haloDashboard('halo-db', 'Halo / Databases', ['db', 'postgres'])
    .link(dashboardLink('Overview', 'halo-overview'))
    .link(dashboardLink('Applications', 'halo-app'))
    .link(dashboardLink('Caches', 'halo-cache'))
    .link(dashboardLink('Hosts', 'halo-hosts'))
    .withVariable(tierVariable({ prefix: 'pg_' }))
    .withVariable(hostVariable({ prefix: 'pg_' }));
  const sections = [
    [400, 'Overview', overviewPanels()],
    [401, 'Connections', connectionPanels()],
    [402, 'Transactions', transactionPanels()],
    [403, 'I/O and tuples', ioPanels()],
    [404, 'Replication', replicationPanels()],
    [405, 'Instances', instancePanels()],
  ] as const;
  return withSections(builder, sections);
}
