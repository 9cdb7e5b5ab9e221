// The Hosts dashboard: CPU, load, memory, swap, disks, filesystems and network of node_* hosts.

import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { hostVariable, tierVariable } from './common.ts';
import { filesystemTableSql, hostTableSql } from './hosts-tables.ts';
import { joinRangeSql, joinSql, splitSql } from './joined-sql.ts';
import {
  TOP_NOTE,
  memberOf,
  partRangeSql,
  partSql,
  rangeSql,
  seriesSql,
  withTopMembers,
  type Scope,
  type SeriesQuery,
} from './metric-sql.ts';
import {
  dashboardLink,
  haloDashboard,
  row,
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

const SCOPE: readonly Scope[] = ['tier', 'host'];
const FULL_STEPS: ReadonlyArray<readonly [number, string]> = [
  [0.8, 'orange'],
  [0.9, 'red'],
];

/** From a series of one host to this dashboard on that host alone. */
const HOST_LINKS: readonly DataLink[] = [
  {
    title: 'Only ${__field.labels.host}',
    url: '/d/halo-hosts?${tier:queryparam}&var-host=${__field.labels.host}&${__url_time_range}',
  },
  {
    title: 'Containers of ${__field.labels.host}',
    url: '/d/halo-containers?${tier:queryparam}&var-host=${__field.labels.host}&${__url_time_range}',
  },
];

/**
 * Per-member panels draw the top hosts (withTopMembers): their reads carry `only: ONLY`, and the
 * panel's ranking, one value per host over the range, picks the hosts.
 */
const HOST = ['host'];
const ONLY = memberOf(HOST);
const top = (sql: string, rank: string, value?: string): string =>
  withTopMembers(sql, rank, HOST, value ? { value } : {});

const gauge = (metric: string | readonly string[], by: string[], as: string): SeriesQuery => ({
  metric,
  scope: SCOPE,
  only: ONLY,
  over: 'avg',
  // A host may report the same figure twice (host source and node_exporter): never add them.
  across: 'max',
  by,
  as,
});

const rate = (metric: string | readonly string[], by: string[], as: string): string =>
  seriesSql({ metric, scope: SCOPE, only: ONLY, over: 'rate', by, as });

/** A counter's rate over the range per host: a ranking. */
const rateRank = (metric: string | readonly string[]): string =>
  rangeSql({ metric, scope: SCOPE, over: 'rate', by: HOST });

/** Per host, gauge a combined with gauge b (`expr` over a and b). */
const perHost = (a: string, b: string, expr: string, as: string, by = HOST): string =>
  joinSql({ a: gauge(a, by, 'a'), b: gauge(b, by, 'b'), on: by, expr, across: 'max', as });

/** The same over the range, the highest per host: a ranking. */
const perHostRank = (a: string, b: string, expr: string, by = HOST): string =>
  joinRangeSql({
    a: { ...gauge(a, by, 'a'), only: undefined },
    b: { ...gauge(b, by, 'b'), only: undefined },
    on: by,
    expr,
    group: HOST,
    across: 'max',
  });

/** Colours a ratio column of a table by the panel's thresholds. */
function colourColumns(panel: TablePanelBuilder, columns: readonly string[]): TablePanelBuilder {
  for (const column of columns) {
    panel.overrideByName(column, [
      { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
    ]);
  }
  return panel;
}

function hostTable(): TablePanelBuilder {
  const panel = table({
    id: 2,
    title: 'Hosts',
    description:
      'Every host of the selection with node_* series or a host source: CPU busy over the last 5 minutes of the range (not idle nor iowait), latest memory used (1 − MemAvailable/MemTotal), fullest filesystem, load1, and whether the host source’s latest collection succeeded (1) or failed (0). Empty cells: nothing recent. Click a row to see that host alone.',
    unit: 'percentunit',
    decimals: 1,
    height: 8,
    steps: FULL_STEPS,
    targets: hostTableSql(),
    columnUnits: { load1: 'short', up: 'short' },
    sortBy: 'cpu_busy',
    links: [
      {
        title: 'Only ${__data.fields.host}',
        url: '/d/halo-hosts?var-tier=${__data.fields.tier}&var-host=${__data.fields.host}&${__url_time_range}',
      },
    ],
  });
  return colourColumns(panel, ['cpu_busy', 'mem_used', 'fs_max_used']);
}

function cpuPanels() {
  const cpu = { metric: 'node_cpu_seconds_total', scope: SCOPE };
  // Not idle nor waiting for IO: one read of the counter for the part and the whole.
  const busy = {
    part: [{ mode: { op: '!~', value: 'idle|iowait' } as const }],
    by: HOST,
    as: 'busy',
  };
  return [
    timeseries({
      id: 11,
      title: 'CPU busy by mode',
      description:
        'Share of all CPU time of the selected hosts spent in each mode other than idle, stacked: the top of the stack is the busy share (iowait included, as its own band).',
      unit: 'percentunit',
      min: 0,
      max: 1,
      stacked: true,
      targets: splitSql({ series: cpu, label: 'mode', hide: "mode = 'idle'" }),
    }),
    perMember({
      id: 12,
      title: 'CPU busy per host',
      description:
        'Share of CPU time not idle nor waiting for IO, per host, over all its CPUs.' + TOP_NOTE,
      unit: 'percentunit',
      min: 0,
      max: 1,
      steps: FULL_STEPS,
      drawSteps: true,
      links: HOST_LINKS,
      targets: top(
        partSql({ ...busy, of: { ...cpu, only: ONLY } }),
        partRangeSql({ ...busy, of: cpu }),
        'busy',
      ),
    }),
  ];
}

function memoryPanels() {
  const mem = (field: string) => `node_memory_${field}_bytes`;
  return [
    perMember({
      id: 21,
      title: 'Load average',
      description:
        'node_load1, node_load5 and node_load15 per host: runnable and uninterruptible tasks; compare with the host’s CPU count.' +
        TOP_NOTE,
      unit: 'short',
      links: HOST_LINKS,
      targets: top(
        seriesSql(gauge(['node_load1', 'node_load5', 'node_load15'], ['host', 'name'], 'load')),
        rangeSql({ ...gauge('node_load1', HOST, 'load'), only: undefined }),
        'load',
      ),
    }),
    perMember({
      id: 22,
      title: 'Memory used share',
      description:
        '1 − MemAvailable / MemTotal per host: memory the kernel could not hand out without swapping (page cache counts as available).' +
        TOP_NOTE,
      unit: 'percentunit',
      min: 0,
      max: 1,
      steps: FULL_STEPS,
      drawSteps: true,
      links: HOST_LINKS,
      targets: top(
        perHost(mem('MemAvailable'), mem('MemTotal'), '1 - a / b', 'used'),
        perHostRank(mem('MemAvailable'), mem('MemTotal'), '1 - a / b'),
      ),
    }),
    perMember({
      id: 23,
      title: 'Memory used, available, cached',
      description:
        'Per host: used (MemTotal − MemAvailable), available (MemAvailable) and page cache (Cached).' +
        TOP_NOTE.replace('highest', 'highest used'),
      unit: 'bytes',
      links: HOST_LINKS,
      targets: [
        perHost(mem('MemTotal'), mem('MemAvailable'), 'a - b', 'used'),
        seriesSql(gauge(mem('MemAvailable'), HOST, 'available')),
        seriesSql(gauge(mem('Cached'), HOST, 'cached')),
      ].map((sql) => top(sql, perHostRank(mem('MemTotal'), mem('MemAvailable'), 'a - b'))),
    }),
    perMember({
      id: 24,
      title: 'Swap used',
      description:
        'Per host: swap in use (SwapTotal − SwapFree) and its size. Swap that keeps growing means memory pressure.' +
        TOP_NOTE.replace('highest', 'highest swap used'),
      unit: 'bytes',
      links: HOST_LINKS,
      targets: [
        perHost(mem('SwapTotal'), mem('SwapFree'), 'a - b', 'swap_used'),
        seriesSql(gauge(mem('SwapTotal'), HOST, 'swap_size')),
      ].map((sql) => top(sql, perHostRank(mem('SwapTotal'), mem('SwapFree'), 'a - b'))),
    }),
  ];
}

function diskPanels() {
  return [
    perMember({
      id: 31,
      title: 'Disk read and write',
      description:
        'Bytes per second read from and written to each whole disk, per host.' +
        TOP_NOTE.replace('highest', 'busiest'),
      unit: 'Bps',
      links: HOST_LINKS,
      targets: [
        rate('node_disk_read_bytes_total', ['host', 'device'], 'read'),
        rate('node_disk_written_bytes_total', ['host', 'device'], 'written'),
      ].map((sql) =>
        top(sql, rateRank(['node_disk_read_bytes_total', 'node_disk_written_bytes_total'])),
      ),
    }),
    perMember({
      id: 32,
      title: 'Disk IO utilisation',
      description:
        'Share of time each disk had IO in flight (rate of node_disk_io_time_seconds_total). Near 1 a spinning disk is saturated; SSDs and arrays serve several IOs at once and may have more in them.' +
        TOP_NOTE,
      unit: 'percentunit',
      min: 0,
      steps: FULL_STEPS,
      drawSteps: true,
      links: HOST_LINKS,
      targets: top(
        rate('node_disk_io_time_seconds_total', ['host', 'device'], 'busy'),
        rateRank('node_disk_io_time_seconds_total'),
      ),
    }),
  ];
}

function filesystemPanels() {
  const fs = (field: string) => `node_filesystem_${field}_bytes`;
  const filesystems = table({
    id: 42,
    title: 'Filesystems',
    description:
      'Each mounted filesystem’s latest size, used and available bytes (available to unprivileged users), and the used share 1 − avail/size, fullest first. Orange from 80 %, red from 90 %.',
    unit: 'bytes',
    width: 12,
    height: 8,
    decimals: 1,
    steps: FULL_STEPS,
    targets: filesystemTableSql(),
    columnUnits: { used_ratio: 'percentunit' },
    sortBy: 'used_ratio',
  });
  return [
    perMember({
      id: 41,
      title: 'Filesystem used per mountpoint',
      description:
        '1 − avail / size per host and mountpoint: the share unprivileged users can no longer write.' +
        TOP_NOTE,
      unit: 'percentunit',
      min: 0,
      max: 1,
      steps: FULL_STEPS,
      drawSteps: true,
      links: HOST_LINKS,
      targets: top(
        perHost(fs('avail'), fs('size'), '1 - a / b', 'used', ['host', 'mountpoint']),
        perHostRank(fs('avail'), fs('size'), '1 - a / b', ['host', 'mountpoint']),
      ),
    }),
    colourColumns(filesystems, ['used_ratio']),
  ];
}

function networkPanels() {
  const errors = [
    'node_network_receive_errs_total',
    'node_network_receive_drop_total',
    'node_network_transmit_errs_total',
    'node_network_transmit_drop_total',
  ];
  return [
    perMember({
      id: 51,
      title: 'Network receive and transmit',
      description:
        'Bytes per second received (rx) and sent (tx) per host and interface.' +
        TOP_NOTE.replace('highest', 'busiest'),
      unit: 'Bps',
      links: HOST_LINKS,
      targets: [
        rate('node_network_receive_bytes_total', ['host', 'device'], 'rx'),
        rate('node_network_transmit_bytes_total', ['host', 'device'], 'tx'),
      ].map((sql) =>
        top(
          sql,
          rateRank(['node_network_receive_bytes_total', 'node_network_transmit_bytes_total']),
        ),
      ),
    }),
    perMember({
      id: 52,
      title: 'Network errors and drops',
      description:
        'Packets per second received or sent with an error, or dropped, per host, interface and counter. Any sustained value is worth a look.' +
        TOP_NOTE,
      unit: 'pps',
      min: 0,
      steps: [
        [1, 'orange'],
        [10, 'red'],
      ],
      links: HOST_LINKS,
      targets: top(rate(errors, ['host', 'device', 'name'], 'packets'), rateRank(errors)),
    }),
  ];
}

export function hostsDashboard(): dashboard.DashboardBuilder {
  const d = haloDashboard('halo-hosts', 'Halo / Hosts', ['hosts'])
    .withVariable(tierVariable({ prefix: 'node_' }))
    .withVariable(hostVariable({ prefix: 'node_' }))
    .link(dashboardLink('Overview', 'halo-overview'))
    .link(dashboardLink('Containers', 'halo-containers'))
    .withRow(row(1, 'Hosts'))
    .withPanel(hostTable());
  const sections: Array<[number, string, Array<cog.Builder<dashboard.Panel>>]> = [
    [10, 'CPU', cpuPanels()],
    [20, 'Load and memory', memoryPanels()],
    [30, 'Disks', diskPanels()],
    [40, 'Filesystems', filesystemPanels()],
    [50, 'Network', networkPanels()],
  ];
  return withSections(d, sections);
}
