// The cache dashboard (redis): hit ratio, throughput, memory, keys, clients and replication.

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
/**
 * One redis instance: a host may run several, told apart by the agent's source name. A group of
 * an instance (and name or db) is one series, so gauges take `across` equal to `over`.
 */
const INSTANCE = ['tier', 'host', 'source'];
const hostLinks = [SERIES_HOST_LINK];

const redis = (metric: string | readonly string[], match?: MetricSelector['match']) => ({
  metric,
  scope: SCOPE,
  ...(match ? { match } : {}),
});

const HITS = 'redis_keyspace_hits_total';
const MISSES = 'redis_keyspace_misses_total';
const hitRatio = (by?: readonly string[]) => ({
  numerator: redis(HITS),
  denominator: redis([HITS, MISSES]),
  ...(by ? { by } : {}),
});

/** Hit ratio colours: what is healthy depends on the workload; under 80 % is rarely intended. */
const HIT_STEPS = [
  [0.8, 'orange'],
  [0.95, 'green'],
] as const;
const MEMORY_STEPS = [
  [0.8, 'orange'],
  [0.9, 'red'],
] as const;
const LAG_BYTES_STEPS = [
  [1_048_576, 'orange'],
  [104_857_600, 'red'],
] as const;

function overviewPanels() {
  return [
    stat({
      id: 1,
      title: 'Hit ratio',
      description: 'Keyspace hits over hits + misses of every selected instance, over the range.',
      targets: ratioStatSql(hitRatio()),
      unit: 'percentunit',
      decimals: 1,
      base: 'red',
      steps: HIT_STEPS,
    }),
    stat({
      id: 2,
      title: 'Commands',
      description: 'Commands processed per second by the selected instances, over the range.',
      targets: statSql({ ...redis('redis_commands_processed_total'), over: 'rate' }),
      unit: 'ops',
    }),
    stat({
      id: 3,
      title: 'Memory used',
      description: 'Memory used by the selected instances at the end of the range (used_memory).',
      targets: statSql({ ...redis('redis_memory_used_bytes'), over: 'last', across: 'sum' }),
      unit: 'bytes',
    }),
    stat({
      id: 4,
      title: 'Evictions',
      description:
        'Keys evicted per second to stay under maxmemory, over the range: above 0, the cache ' +
        'is too small for its working set (or holds keys without TTL).',
      targets: statSql({ ...redis('redis_evicted_keys_total'), over: 'rate' }),
      unit: 'short',
      decimals: 2,
      steps: [[0.001, 'orange']],
    }),
  ];
}

function throughputPanels() {
  return [
    timeseries({
      id: 5,
      title: 'Hit ratio per instance',
      description:
        'Keyspace hits over lookups (hits + misses) per instance. A drop after a deploy or ' +
        'a restart is a cold or changed key space.',
      targets: ratioSql(hitRatio(INSTANCE)),
      unit: 'percentunit',
      max: 1,
      base: 'red',
      steps: HIT_STEPS,
      links: hostLinks,
    }),
    timeseries({
      id: 6,
      title: 'Commands per instance',
      description: 'Commands processed per second per instance.',
      targets: seriesSql({
        ...redis('redis_commands_processed_total'),
        over: 'rate',
        by: INSTANCE,
      }),
      unit: 'ops',
      links: hostLinks,
    }),
  ];
}

function memoryPanels() {
  return [
    timeseries({
      id: 7,
      title: 'Memory used vs maxmemory',
      description:
        'used_memory and the maxmemory limit per instance (a maxmemory of 0 is no limit: the ' +
        'host’s memory is then the limit).',
      targets: seriesSql({
        ...redis(['redis_memory_used_bytes', 'redis_memory_max_bytes']),
        over: 'avg',
        across: 'avg',
        by: [...INSTANCE, 'name'],
      }),
      unit: 'bytes',
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 8,
      title: 'Memory used % of maxmemory',
      description:
        'used_memory over maxmemory per instance (both read at each collection, so the ratio of ' +
        'their sums is the ratio of their averages). Empty for instances without maxmemory. ' +
        'At 100 % redis evicts or refuses writes, per its maxmemory-policy.',
      targets: ratioSql({
        numerator: redis('redis_memory_used_bytes'),
        denominator: redis('redis_memory_max_bytes'),
        by: INSTANCE,
      }),
      unit: 'percentunit',
      min: 0,
      steps: MEMORY_STEPS,
      drawSteps: true,
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 9,
      title: 'Memory fragmentation',
      description:
        'RSS over used memory per instance. Above 1.5 memory is wasted in fragments (consider ' +
        'activedefrag); below 1 part of redis is swapped out.',
      targets: seriesSql({
        ...redis('redis_memory_fragmentation_ratio'),
        over: 'avg',
        across: 'avg',
        by: INSTANCE,
      }),
      unit: 'short',
      decimals: 2,
      base: 'red',
      steps: [
        [1, 'green'],
        [1.5, 'orange'],
        [2, 'red'],
      ],
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 10,
      title: 'Evictions and expirations',
      description:
        'Keys per second removed for memory (evicted) and for their TTL (expired), all ' +
        'selected instances.',
      targets: seriesSql({
        ...redis(['redis_evicted_keys_total', 'redis_expired_keys_total']),
        over: 'rate',
        by: ['name'],
      }),
      unit: 'short',
    }),
    timeseries({
      id: 11,
      title: 'Keys per database',
      description:
        'Keys per instance and logical database (db0, db1, …), averaged over each interval.',
      targets: seriesSql({
        ...redis('redis_db_keys'),
        over: 'avg',
        across: 'avg',
        by: [...INSTANCE, 'db'],
      }),
      unit: 'short',
      links: hostLinks,
    }),
  ];
}

function clientPanels() {
  return [
    timeseries({
      id: 12,
      title: 'Connected and blocked clients',
      description:
        'Client connections per instance, and clients blocked in BLPOP, XREAD and the like.',
      targets: seriesSql({
        ...redis(['redis_connected_clients', 'redis_blocked_clients']),
        over: 'avg',
        across: 'avg',
        by: [...INSTANCE, 'name'],
      }),
      unit: 'short',
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 13,
      title: 'Network in / out',
      description: 'Bytes per second read from and written to clients and replicas, per host.',
      targets: seriesSql({
        ...redis(['redis_net_input_bytes_total', 'redis_net_output_bytes_total']),
        over: 'rate',
        by: ['tier', 'host', 'name'],
      }),
      unit: 'Bps',
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 14,
      title: 'Rejected connections',
      description: 'Connections per second refused because maxclients was reached.',
      targets: seriesSql({
        ...redis('redis_rejected_connections_total'),
        over: 'rate',
        by: INSTANCE,
      }),
      unit: 'cps',
      min: 0,
      steps: [[0.001, 'red']],
      width: SIZE.third,
      links: hostLinks,
    }),
  ];
}

function replicationPanels() {
  return [
    stat({
      id: 15,
      title: 'Masters',
      description: 'Instances in the master role at the end of the range.',
      targets: statSql({ ...redis('redis_role', { role: 'master' }), over: 'last', across: 'sum' }),
      unit: 'short',
      decimals: 0,
    }),
    stat({
      id: 16,
      title: 'Replicas',
      description: 'Instances in the replica role at the end of the range.',
      targets: statSql({
        ...redis('redis_role', { role: 'replica' }),
        over: 'last',
        across: 'sum',
      }),
      unit: 'short',
      decimals: 0,
    }),
    stat({
      id: 17,
      title: 'Master links',
      description:
        'Whether every replica’s link to its master is up at the end of the range (the lowest ' +
        'of master_link_status): DOWN when any replica lost its master.',
      targets: statSql({ ...redis('redis_master_link_up'), over: 'last', across: 'min' }),
      unit: 'short',
      background: true,
      base: 'red',
      steps: [[1, 'green']],
      valueText: [
        [1, 'UP', 'green'],
        [0, 'DOWN', 'red'],
      ],
    }),
    stat({
      id: 18,
      title: 'Max replication lag',
      description:
        'The largest replication lag in bytes over the range, as replicas report it ' +
        '(master_repl_offset − slave_repl_offset).',
      targets: statSql({ ...redis('redis_replication_lag_bytes'), over: 'max', across: 'max' }),
      unit: 'bytes',
      steps: LAG_BYTES_STEPS,
    }),
    timeseries({
      id: 19,
      title: 'Replica lag behind master (bytes)',
      description:
        'Per master and replica (ip:port as the master lists it): the master’s replication ' +
        'offset minus the replica’s acknowledged one. Growing lag is a replica that cannot ' +
        'keep up or a saturated link.',
      targets: seriesSql({
        ...redis('redis_replica_lag_bytes'),
        over: 'max',
        across: 'max',
        by: [...INSTANCE, 'replica'],
      }),
      unit: 'bytes',
      min: 0,
      steps: LAG_BYTES_STEPS,
      links: hostLinks,
    }),
    timeseries({
      id: 20,
      title: 'Replication lag on replicas (bytes)',
      description:
        'Per replica: bytes of the replication stream received from the master but not yet ' +
        'applied (master_repl_offset − slave_repl_offset as the replica reports them).',
      targets: seriesSql({
        ...redis('redis_replication_lag_bytes'),
        over: 'max',
        across: 'max',
        by: INSTANCE,
      }),
      unit: 'bytes',
      min: 0,
      steps: LAG_BYTES_STEPS,
      links: hostLinks,
    }),
    timeseries({
      id: 21,
      title: 'Master link up',
      description:
        'Per replica, 1 while its link to the master is up, 0 while down (lowest in each ' +
        'interval, so a short outage shows).',
      targets: seriesSql({
        ...redis('redis_master_link_up'),
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
      id: 22,
      title: 'Seconds since master I/O',
      description:
        'Per replica, seconds since it last heard from its master (master_last_io_seconds_ago); ' +
        'masters ping every 10 s by default, so much more is a stalled link. Absent while the ' +
        'link is down.',
      targets: seriesSql({
        ...redis('redis_master_last_io_seconds'),
        over: 'max',
        across: 'max',
        by: INSTANCE,
      }),
      unit: 's',
      min: 0,
      steps: [
        [15, 'orange'],
        [60, 'red'],
      ],
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 23,
      title: 'Connected replicas',
      description:
        'Replicas connected to each master (connected_slaves), lowest in each interval: a ' +
        'drop is a replica gone.',
      targets: seriesSql({
        ...redis('redis_connected_replicas'),
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

/** Per instance: role, link, memory and replicas now; hit ratio and commands over the range. */
export function instancesSql(): string {
  const names = [
    'redis_role',
    'redis_master_link_up',
    'redis_connected_replicas',
    'redis_memory_used_bytes',
    'redis_memory_max_bytes',
    'redis_memory_fragmentation_ratio',
    'redis_connected_clients',
    'redis_replication_lag_bytes',
  ];
  const latest = `SELECT tier, host, labels['source'] AS source, name, labels['role'] AS role_label,
    argMax(value, ts) AS v
  FROM ${recentSamples(names)}
  GROUP BY tier, host, source, name, role_label, fingerprint`;
  const totals = rangeIncrease(
    redis([
      'redis_keyspace_hits_total',
      'redis_keyspace_misses_total',
      'redis_commands_processed_total',
    ]),
    [...INSTANCE, 'name'],
  );
  return `SELECT tier, host, source,
  if(sumIf(v, name = 'redis_role' AND role_label = 'master') > 0, 'master',
    if(sumIf(v, name = 'redis_role' AND role_label = 'replica') > 0, 'replica', '')) AS role,
  if(countIf(name = 'redis_master_link_up') > 0, minIf(v, name = 'redis_master_link_up'), NULL) AS master_link,
  if(countIf(name = 'redis_connected_replicas') > 0, maxIf(v, name = 'redis_connected_replicas'), NULL) AS replicas,
  sumIf(v, name = 'redis_memory_used_bytes') AS memory_used,
  sumIf(v, name = 'redis_memory_used_bytes') / nullIf(sumIf(v, name = 'redis_memory_max_bytes'), 0) AS memory_pct,
  maxIf(v, name = 'redis_memory_fragmentation_ratio') AS fragmentation,
  sumIf(v, name = 'redis_connected_clients') AS clients,
  if(countIf(name = 'redis_replication_lag_bytes') > 0, maxIf(v, name = 'redis_replication_lag_bytes'), NULL) AS lag_bytes,
  any(r.hit_ratio) AS hit_ratio,
  any(r.ops_per_s) AS ops_per_s
FROM (
  ${latest}
) AS s
LEFT JOIN (
  SELECT tier, host, source,
    sumIf(v, name = 'redis_keyspace_hits_total')
      / nullIf(sumIf(v, name IN ('redis_keyspace_hits_total', 'redis_keyspace_misses_total')), 0) AS hit_ratio,
    toNullable(sumIf(v, name = 'redis_commands_processed_total') / ${RANGE_SECONDS}) AS ops_per_s
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
    id: 24,
    title: 'Instances',
    description:
      'Every redis instance (host and agent source): role, master link (replicas), connected ' +
      'replicas (masters), memory used and its share of maxmemory, fragmentation, clients and ' +
      'replication lag now (last 5 minutes of the range); hit ratio and commands per second ' +
      'over the range. The host links to its dashboard.',
    targets: instancesSql(),
    unit: 'short',
    columnUnits: { memory_used: 'bytes', lag_bytes: 'bytes', ops_per_s: 'ops' },
  });
  statusColumn(instances, 'master_link', UP_DOWN);
  statusColumn(
    instances,
    'role',
    regexMappings([
      ['^master$', 'blue'],
      ['^replica$', 'purple'],
    ]),
  );
  columnThresholds(instances, 'memory_pct', 'percentunit', 'green', MEMORY_STEPS);
  columnThresholds(instances, 'hit_ratio', 'percentunit', 'red', HIT_STEPS);
  columnLinks(instances, 'host', [HOST_LINK]);
  return [instances];
}

export function cacheDashboard(): dashboard.DashboardBuilder {
  const builder = haloDashboard('halo-cache', 'Halo / Caches', ['cache', 'redis'])
    .link(dashboardLink('Overview', 'halo-overview'))
    .link(dashboardLink('Applications', 'halo-app'))
    .link(dashboardLink('Databases', 'halo-db'))
    .link(dashboardLink('Hosts', 'halo-hosts'))
    .withVariable(tierVariable({ prefix: 'redis_' }))
    .withVariable(hostVariable({ prefix: 'redis_' }));
  const sections = [
    [300, 'Overview', overviewPanels()],
    [301, 'Throughput', throughputPanels()],
    [302, 'Memory and keys', memoryPanels()],
    [303, 'Clients and network', clientPanels()],
    [304, 'Replication', replicationPanels()],
    [305, 'Instances', instancePanels()],
  ] as const;
  return withSections(builder, sections);
}
