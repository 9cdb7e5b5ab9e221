// The web server dashboard (nginx): connections and requests from stub_status, status classes,
// error ratio and latency from the access logs, and a table per host.

import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { TABLES } from '../core/conventions.ts';
import {
  SEEN_IN_RANGE,
  SIZE,
  hostVariable,
  table as qualified,
  tierVariable,
  inSelection,
} from './common.ts';
import {
  RANGE_SECONDS,
  partRangeSql,
  partSql,
  quantileSql,
  rangeQuantileSql,
  seriesSql,
  statSql,
  TOP_NOTE,
  memberOf,
  rangeSql,
  withTopMembers,
  type SeriesQuery,
  type MetricSelector,
  type Scope,
} from './metric-sql.ts';
import { dashboardLink, haloDashboard, stat, table, timeseries, withSections } from './panels.ts';
import {
  HOST_LINK,
  LOGS_LINK,
  SERIES_HOST_LINK,
  columnLinks,
  columnThresholds,
  rangeIncrease,
  recentSamples,
} from './tier-tables.ts';

const SCOPE: readonly Scope[] = ['tier', 'host'];
const BY_HOST = ['tier', 'host'];
const hostLinks = [SERIES_HOST_LINK];

const nginx = (metric: string | readonly string[]): MetricSelector => ({ metric, scope: SCOPE });

/**
 * The access-log request counter of the logs source. Applications export the same name (with
 * `code` rather than `status_class`); the host variable lists nginx hosts only, so they count
 * here only when an application exports it on an nginx host. Filtering every query on the
 * `status_class` label would rule that out, at the price of a join with the series table on the
 * rollups for every panel (three to four times slower over a day): only 5xx queries pay it.
 */
const REQUESTS = 'http_requests_total';
const DURATION = 'http_request_duration_seconds_bucket';
const access = (match?: MetricSelector['match']): MetricSelector => ({
  metric: REQUESTS,
  scope: SCOPE,
  ...(match ? { match } : {}),
});
const durations: MetricSelector = { metric: DURATION, scope: SCOPE };

const ERROR_STEPS = [
  [0.01, 'orange'],
  [0.05, 'red'],
] as const;
/** Latency colours: half a second is slow for a page, two seconds is broken. */
const LATENCY_STEPS = [
  [0.5, 'orange'],
  [2, 'red'],
] as const;

/** 5xx over all access-log requests, from one read (partSql). */
const fiveXxRatio = (by: readonly string[] = [], only?: string) => ({
  of: { ...access(), ...(only ? { only } : {}) },
  part: [{ status_class: '5xx' }],
  by,
});

/**
 * Per-host panels draw the top hosts (withTopMembers): their reads carry `only: ONLY`, and the
 * panel's ranking, one value per host over the range, picks the hosts.
 */
const ONLY = memberOf(['host']);
const top = (sql: string, rank: string, value?: string): string =>
  withTopMembers(sql, rank, ['host'], value ? { value } : {});
const active: SeriesQuery = {
  ...nginx('nginx_connections_active'),
  over: 'avg',
  across: 'sum',
  by: BY_HOST,
};
const stubRequests: SeriesQuery = {
  ...nginx('nginx_http_requests_total'),
  over: 'rate',
  by: BY_HOST,
};
const p99PerHost = { ...durations, quantiles: { p99: 0.99 }, by: BY_HOST };

function overviewPanels() {
  return [
    stat({
      id: 1,
      title: 'Requests',
      description: 'Requests per second nginx served (stub_status), averaged over the range.',
      targets: statSql({ ...nginx('nginx_http_requests_total'), over: 'rate' }),
      unit: 'reqps',
    }),
    stat({
      id: 2,
      title: '5xx ratio',
      description:
        'Requests answered with a 5xx status over all requests in the access logs, over the range.',
      targets: partRangeSql(fiveXxRatio()),
      unit: 'percentunit',
      decimals: 2,
      steps: ERROR_STEPS,
    }),
    stat({
      id: 3,
      title: 'Latency p99',
      description:
        '99th percentile of request duration over the range, from the access-log histogram ' +
        '(interpolated inside its buckets, as Prometheus does).',
      targets: rangeQuantileSql({ ...durations, quantiles: { p99: 0.99 } }),
      unit: 's',
      steps: LATENCY_STEPS,
    }),
    stat({
      id: 4,
      title: 'Active connections',
      description: 'Client connections open on all selected nginx hosts at the end of the range.',
      targets: statSql({ ...nginx('nginx_connections_active'), over: 'last', across: 'sum' }),
      unit: 'short',
    }),
  ];
}

function connectionPanels() {
  return [
    timeseries({
      id: 5,
      title: 'Connections by state',
      description:
        'Open connections of all selected hosts, stacked: reading a request header, writing a ' +
        'response, or waiting (idle keep-alive). Their sum is the active connections.',
      targets: seriesSql({
        ...nginx([
          'nginx_connections_reading',
          'nginx_connections_writing',
          'nginx_connections_waiting',
        ]),
        over: 'avg',
        across: 'sum',
        by: ['name'],
      }),
      unit: 'short',
      stacked: true,
    }),
    timeseries({
      id: 6,
      title: 'Active connections per host',
      description: 'Open client connections per host, averaged over each interval.' + TOP_NOTE,
      targets: top(seriesSql({ ...active, only: ONLY }), rangeSql(active)),
      unit: 'short',
      links: hostLinks,
    }),
    timeseries({
      id: 7,
      title: 'Connections accepted vs handled',
      description:
        'New connections per second nginx accepted and handled. The two lines are one unless ' +
        'nginx drops connections (worker_connections or another resource limit reached).',
      targets: seriesSql({
        ...nginx(['nginx_connections_accepted_total', 'nginx_connections_handled_total']),
        over: 'rate',
        by: ['name'],
      }),
      unit: 'cps',
      width: SIZE.third,
    }),
    timeseries({
      id: 8,
      title: 'Dropped connections',
      description:
        'Accepted minus handled connections per second, per host: anything above 0 is clients ' +
        'turned away, usually for lack of worker_connections.' +
        TOP_NOTE,
      targets: top(droppedSql(true), droppedSql(false), 'dropped'),
      unit: 'cps',
      min: 0,
      steps: [[0.001, 'red']],
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 9,
      title: 'Requests per host',
      description:
        'Requests per second each host served (stub_status, every virtual host).' + TOP_NOTE,
      targets: top(seriesSql({ ...stubRequests, only: ONLY }), rangeSql(stubRequests)),
      unit: 'reqps',
      width: SIZE.third,
      links: hostLinks,
    }),
  ];
}

/**
 * accepted − handled per host, from one read of both counters: per interval for the top hosts
 * (`bucketed`), or over the range for every host (their ranking).
 */
export function droppedSql(bucketed: boolean): string {
  const q = {
    ...nginx(['nginx_connections_accepted_total', 'nginx_connections_handled_total']),
    over: 'rate' as const,
    by: [...BY_HOST, 'name'],
  };
  const keys = [...(bucketed ? ['time'] : []), ...BY_HOST].join(', ');
  return `SELECT ${keys},
  sumIf(value, name = 'nginx_connections_accepted_total')
    - sumIf(value, name = 'nginx_connections_handled_total') AS dropped
FROM (
${bucketed ? seriesSql({ ...q, only: ONLY }) : rangeSql(q)}
)
GROUP BY ${keys}${bucketed ? '\nORDER BY time' : ''}`;
}

function accessLogPanels() {
  return [
    timeseries({
      id: 10,
      title: 'Requests by status class',
      description:
        'Requests per second in the access logs by status class, stacked: the top is all requests.',
      targets: seriesSql({ ...access(), over: 'rate', by: ['status_class'] }),
      unit: 'reqps',
      stacked: true,
    }),
    timeseries({
      id: 11,
      title: '5xx ratio per host',
      description:
        '5xx responses over all requests in each host’s access log. Orange from 1 %, red from 5 %.' +
        TOP_NOTE,
      targets: top(partSql(fiveXxRatio(BY_HOST, ONLY)), partRangeSql(fiveXxRatio(BY_HOST))),
      unit: 'percentunit',
      min: 0,
      steps: ERROR_STEPS,
      drawSteps: true,
      links: hostLinks,
    }),
    timeseries({
      id: 12,
      title: 'Latency p50 / p90 / p99',
      description:
        'Request duration percentiles of all selected hosts from the access-log histogram ' +
        '(request_time), interpolated inside the buckets; p99 stops at the highest finite bucket.',
      targets: quantileSql({ ...durations, quantiles: { p50: 0.5, p90: 0.9, p99: 0.99 } }),
      unit: 's',
      min: 0,
      steps: LATENCY_STEPS,
      drawSteps: true,
    }),
    timeseries({
      id: 13,
      title: 'Latency p99 per host',
      description:
        '99th percentile of request duration per host: one slow host stands out here.' + TOP_NOTE,
      targets: top(quantileSql({ ...p99PerHost, only: ONLY }), rangeQuantileSql(p99PerHost), 'p99'),
      unit: 's',
      min: 0,
      steps: LATENCY_STEPS,
      links: hostLinks,
    }),
    timeseries({
      id: 14,
      title: 'Requests by method',
      description: 'Requests per second in the access logs by HTTP method (OTHER: the rest).',
      targets: seriesSql({ ...access(), over: 'rate', by: ['method'] }),
      unit: 'reqps',
    }),
    timeseries({
      id: 15,
      title: 'Requests by route',
      description:
        'Requests per second by route, the configured path prefixes of the logs source ' +
        '(other: no prefix matched). Empty when no routes are configured.',
      targets: seriesSql({
        ...access({ route: { op: '!=', value: '' } }),
        over: 'rate',
        by: ['route'],
      }),
      unit: 'reqps',
    }),
  ];
}

/**
 * Per host: stub_status requests and active connections now, access-log request rate, 5xx
 * ratio and p99 over the range.
 */
export function hostsSql(): string {
  const now = `SELECT tier, host, toNullable(sum(v)) AS active_connections
FROM (
  SELECT tier, host, argMax(value, ts) AS v
  FROM ${recentSamples(['nginx_connections_active'])}
  GROUP BY tier, host, fingerprint
)
GROUP BY tier, host`;
  const requests = rangeIncrease(access(), [...BY_HOST, 'status_class']);
  const stub = rangeIncrease(nginx('nginx_http_requests_total'), BY_HOST);
  const p99 = rangeQuantileSql({ ...durations, by: BY_HOST, quantiles: { p99: 0.99 } });
  const hosts = `SELECT DISTINCT tier, host FROM ${qualified(TABLES.series)}
WHERE name IN ('nginx_http_requests_total', '${DURATION}')
  AND ${inSelection('tier', 'tier')} AND ${inSelection('host', 'host')} AND ${SEEN_IN_RANGE}`;
  return `SELECT tier, host,
  stub.requests_per_s AS requests_per_s,
  req.access_per_s AS access_per_s,
  req.ratio_5xx AS ratio_5xx,
  q.p99 AS p99,
  n.active_connections AS active_connections
FROM (
${hosts}
) AS h
LEFT JOIN (
  SELECT tier, host, toNullable(v / ${RANGE_SECONDS}) AS requests_per_s FROM (
${stub}
  )
) AS stub USING (tier, host)
LEFT JOIN (
  SELECT tier, host,
    toNullable(sum(v) / ${RANGE_SECONDS}) AS access_per_s,
    sumIf(v, status_class = '5xx') / nullIf(sum(v), 0) AS ratio_5xx
  FROM (
${requests}
  )
  GROUP BY tier, host
) AS req USING (tier, host)
LEFT JOIN (
${p99}
) AS q USING (tier, host)
LEFT JOIN (
${now}
) AS n USING (tier, host)
ORDER BY ratio_5xx DESC NULLS LAST, tier, host
LIMIT 1000`;
}

function hostPanels() {
  const hosts = table({
    id: 16,
    title: 'Web hosts',
    description:
      'Per host over the range: requests per second nginx served (stub_status) and logged ' +
      '(access log), the 5xx ratio and p99 latency from the access log; active connections ' +
      'now. Worst 5xx ratio first. The host links to its dashboard and its logs.',
    targets: hostsSql(),
    unit: 'short',
    columnUnits: { requests_per_s: 'reqps', access_per_s: 'reqps' },
  });
  columnThresholds(hosts, 'ratio_5xx', 'percentunit', 'green', ERROR_STEPS);
  columnThresholds(hosts, 'p99', 's', 'green', LATENCY_STEPS);
  columnLinks(hosts, 'host', [HOST_LINK, LOGS_LINK]);
  return [hosts];
}

export function webDashboard(): dashboard.DashboardBuilder {
  // Hosts running nginx: access-log metric names are shared with applications' own metrics
  // (prom-client's http_request_duration_seconds), which would list application tiers here.
  const scope = { prefix: 'nginx_' };
  const builder = haloDashboard('halo-web', 'Halo / Web servers', ['web', 'nginx'])
    .link(dashboardLink('Overview', 'halo-overview'))
    .link(dashboardLink('Load balancers', 'halo-lb'))
    .link(dashboardLink('Applications', 'halo-app'))
    .link(dashboardLink('Hosts', 'halo-hosts'))
    .link(dashboardLink('Logs', 'halo-logs'))
    .withVariable(tierVariable(scope))
    .withVariable(hostVariable(scope));
  const sections = [
    [200, 'Overview', overviewPanels()],
    [201, 'Connections (stub_status)', connectionPanels()],
    [202, 'Requests (access logs)', accessLogPanels()],
    [203, 'Hosts', hostPanels()],
  ] as const;
  return withSections(builder, sections);
}
