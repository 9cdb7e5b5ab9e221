// The Containers dashboard: CPU, throttling, memory against the limit and IO of cgroup v2 groups.

import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { TABLES } from '../core/conventions.ts';
import {
  SEEN_IN_RANGE,
  hostVariable,
  queryVariable,
  table as tableName,
  tierVariable,
  inSelection,
} from './common.ts';
import { recentWhere } from './tier-tables.ts';
import { joinRangeSql, joinSql, type JoinQuery } from './joined-sql.ts';
import {
  TOP,
  ratioSql,
  seriesSql,
  memberOf,
  rangeSql,
  withTopMembers,
  type MetricSelector,
  type SeriesQuery,
} from './metric-sql.ts';
import {
  dashboardLink,
  haloDashboard,
  table,
  timeseries,
  type DataLink,
  type TimeseriesOptions,
  withSections,
} from './panels.ts';

/**
 * At most this many points per series: a per-host (or per-cgroup) graph of a whole fleet over a
 * day would otherwise return a point a minute for every member (Grafana's interval follows).
 */
const MAX_POINTS = 200;
const perMember = (o: TimeseriesOptions) => timeseries(o).maxDataPoints(MAX_POINTS);

const BY = ['host', 'cgroup'];
const FULL_STEPS: ReadonlyArray<readonly [number, string]> = [
  [0.8, 'orange'],
  [0.9, 'red'],
];

const HOST_LINKS: readonly DataLink[] = [
  {
    title: 'Host ${__field.labels.host}',
    url: '/d/halo-hosts?${tier:queryparam}&var-host=${__field.labels.host}&${__url_time_range}',
  },
];

/**
 * Series of the selected tiers, hosts and cgroups. Per-cgroup panels draw the cgroups of the top
 * hosts (withTopMembers): their reads carry `only`, a ranking per host over the range picks them.
 */
const sel = (metric: string, top = false): MetricSelector => ({
  metric,
  scope: ['tier', 'host'],
  match: { cgroup: { variable: 'cgroup' } },
  ...(top ? { only: memberOf(HOST) } : {}),
});
const HOST = ['host'];
const TOP_HOSTS = ` With more than ${TOP} hosts selected, the cgroups of the ${TOP} highest over the range.`;
const top = (sql: string, rank: string, value?: string): string =>
  withTopMembers(sql, rank, HOST, value ? { value } : {});

const rate = (metric: string, as: string, topHosts = false): string =>
  seriesSql({ ...sel(metric, topHosts), over: 'rate', by: BY, as });
const gauge = (metric: string, as: string, topHosts: boolean): SeriesQuery => ({
  ...sel(metric, topHosts),
  over: 'avg',
  across: 'max',
  by: BY,
  as,
});
/** A gauge's highest cgroup per host over the range: a ranking. */
const gaugeRank = (metric: string): string =>
  rangeSql({ ...sel(metric), over: 'avg', across: 'max', by: HOST });

/** `$cgroup`: cgroups with container_* series on the selected hosts in the range. */
export function cgroupVariable(): dashboard.QueryVariableBuilder {
  return queryVariable(
    'cgroup',
    'Cgroup',
    `SELECT DISTINCT labels['cgroup'] AS cgroup FROM ${tableName(TABLES.series)} WHERE startsWith(name, 'container_') AND ${inSelection('tier', 'tier')} AND ${inSelection('host', 'host')} AND ${SEEN_IN_RANGE} ORDER BY cgroup`,
  );
}

function cpuPanels() {
  return [
    perMember({
      id: 11,
      title: 'CPU usage per cgroup',
      description:
        'CPU cores used by each cgroup (rate of container_cpu_usage_seconds_total).' + TOP_HOSTS,
      unit: 'short',
      min: 0,
      links: HOST_LINKS,
      targets: top(
        rate('container_cpu_usage_seconds_total', 'cores', true),
        rangeSql({ ...sel('container_cpu_usage_seconds_total'), over: 'rate', by: HOST }),
      ),
    }),
    perMember({
      id: 12,
      title: 'CPU throttled periods',
      description:
        'Share of CFS periods in which the cgroup ran out of its CPU quota and was throttled (throttled periods over periods). Only cgroups with a cpu.max quota have periods. Sustained throttling adds latency.',
      unit: 'percentunit',
      min: 0,
      max: 1,
      steps: [
        [0.05, 'orange'],
        [0.25, 'red'],
      ],
      drawSteps: true,
      links: HOST_LINKS,
      targets: ratioSql({
        numerator: sel('container_cpu_cfs_throttled_periods_total'),
        denominator: sel('container_cpu_cfs_periods_total'),
        by: BY,
        as: 'throttled',
      }),
    }),
  ];
}

/** Working set over the limit per cgroup (of the top hosts, or of all for the ranking). */
const limitShare = (topHosts: boolean): JoinQuery => ({
  a: gauge('container_memory_working_set_bytes', 'a', topHosts),
  b: gauge('container_memory_limit_bytes', 'b', topHosts),
  on: BY,
  expr: 'a / b',
  where: 'b > 0',
  across: 'max',
  as: 'used',
});

function memoryPanels() {
  return [
    perMember({
      id: 21,
      title: 'Memory usage and limit',
      description:
        'Per cgroup: working set (usage − inactive file cache, what the OOM killer weighs), rss (anonymous memory), cache (file pages) and the limit (memory.max; absent when it is "max", no limit).' +
        TOP_HOSTS,
      unit: 'bytes',
      links: HOST_LINKS,
      targets: [
        seriesSql(gauge('container_memory_working_set_bytes', 'working_set', true)),
        seriesSql(gauge('container_memory_rss', 'rss', true)),
        seriesSql(gauge('container_memory_cache', 'cache', true)),
        seriesSql(gauge('container_memory_limit_bytes', 'mem_limit', true)),
      ].map((sql) => top(sql, gaugeRank('container_memory_working_set_bytes'))),
    }),
    perMember({
      id: 22,
      title: 'Memory working set of limit',
      description:
        'Working set over memory.max per cgroup, for cgroups with a limit. Near 1 the kernel reclaims hard and then kills.' +
        TOP_HOSTS,
      unit: 'percentunit',
      min: 0,
      max: 1,
      steps: FULL_STEPS,
      drawSteps: true,
      links: HOST_LINKS,
      targets: top(
        joinSql(limitShare(true)),
        joinRangeSql({ ...limitShare(false), group: HOST }),
        'used',
      ),
    }),
  ];
}

function ioPanels() {
  return [
    perMember({
      id: 31,
      title: 'IO read and write bytes',
      description: 'Bytes per second read and written by each cgroup, all devices together.',
      unit: 'Bps',
      links: HOST_LINKS,
      targets: [
        rate('container_fs_reads_bytes_total', 'read'),
        rate('container_fs_writes_bytes_total', 'written'),
      ],
    }),
    perMember({
      id: 32,
      title: 'IO operations',
      description: 'Read and write operations per second by each cgroup, all devices together.',
      unit: 'iops',
      links: HOST_LINKS,
      targets: [
        rate('container_fs_reads_total', 'reads'),
        rate('container_fs_writes_total', 'writes'),
      ],
    }),
  ];
}

/** The cgroups holding the most memory at the end of the range, from five minutes of samples. */
function topTable() {
  // NULL, not 0, when the cgroup has no such file (the root cgroup has no memory.current).
  const latest = (name: string) => `argMaxIfOrNull(value, ts, name = '${name}')`;
  const names = [
    'container_memory_working_set_bytes',
    'container_memory_rss',
    'container_memory_cache',
    'container_memory_limit_bytes',
    'container_cpu_usage_seconds_total',
  ];
  const sql = `SELECT tier, host, cgroup, working_set, rss, cache,
  limit_bytes AS mem_limit,
  if(limit_bytes > 0, working_set / limit_bytes, NULL) AS used_of_limit,
  cpu_cores
FROM (
  SELECT tier, host, labels['cgroup'] AS cgroup,
    ${latest('container_memory_working_set_bytes')} AS working_set,
    ${latest('container_memory_rss')} AS rss,
    ${latest('container_memory_cache')} AS cache,
    ${latest('container_memory_limit_bytes')} AS limit_bytes,
    sumIf(value, name = 'container_cpu_usage_seconds_total') / 300 AS cpu_cores
  FROM ${tableName(TABLES.samples)}
  WHERE ${recentWhere(names)}
    AND ${inSelection("labels['cgroup']", 'cgroup')}
  GROUP BY tier, host, cgroup
)
ORDER BY working_set DESC
LIMIT 20`;
  return table({
    id: 41,
    title: 'Top cgroups by memory',
    description:
      'The 20 cgroups with the largest working set at the end of the range: latest working set, rss, cache, limit (empty: none) and its used share, and CPU cores used over the last 5 minutes. Click a row for its host.',
    unit: 'bytes',
    targets: sql,
    columnUnits: { used_of_limit: 'percentunit', cpu_cores: 'short' },
    sortBy: 'working_set',
    links: [
      {
        title: 'Host ${__data.fields.host}',
        url: '/d/halo-hosts?var-tier=${__data.fields.tier}&var-host=${__data.fields.host}&${__url_time_range}',
      },
    ],
  });
}

export function containersDashboard(): dashboard.DashboardBuilder {
  const d = haloDashboard('halo-containers', 'Halo / Containers', ['containers'])
    .withVariable(tierVariable({ prefix: 'container_' }))
    .withVariable(hostVariable({ prefix: 'container_' }))
    .withVariable(cgroupVariable())
    .link(dashboardLink('Overview', 'halo-overview'))
    .link(dashboardLink('Hosts', 'halo-hosts'));
  const sections: Array<[number, string, Array<cog.Builder<dashboard.Panel>>]> = [
    [10, 'CPU', cpuPanels()],
    [20, 'Memory', memoryPanels()],
    [30, 'IO', ioPanels()],
    [40, 'Top cgroups', [topTable()]],
  ];
  return withSections(d, sections);
}
