// The applications dashboard: request rate, errors and duration (RED) per service, route and host.

import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { hostVariable, serviceVariable, tierVariable } from './common.ts';
import {
  partRangeSql,
  partSql,
  quantileSql,
  rangeQuantileSql,
  rangeSql,
  seriesSql,
  statSql,
  TOP_NOTE,
  memberOf,
  withTopMembers,
  type SeriesQuery,
  type LabelMatch,
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

const REQUESTS = 'http_requests_total';
const DURATION = 'http_request_duration_seconds_bucket';
const SCOPE: readonly Scope[] = ['tier', 'service', 'host'];

const all: MetricSelector = { metric: REQUESTS, scope: SCOPE };
/** Request rate per tier and host: the top hosts drawn, ranked over the range (withTopMembers). */
const BY_HOST = ['tier', 'host'];
const perHost: SeriesQuery = { ...all, over: 'rate', by: BY_HOST };

/**
 * Requests of a status class under either convention: Prometheus clients label the status
 * `code` ("503"), Halo's access-log metrics `status_class` ("5xx"). A series carries one or the
 * other, so the class is the sum of two selectors; metric-sql matches labels with AND only.
 */
const statusClass = (digit: 4 | 5): [MetricSelector, MetricSelector] => [
  { ...all, match: { code: { op: '=~', value: `${digit}..` } } },
  { ...all, match: { status_class: `${digit}xx` } },
];

/** A status class's share of all requests, under either convention, from one read. */
const classPart = (digit: 4 | 5, by: readonly string[]) => ({
  of: all,
  part: statusClass(digit).map((s) => s.match ?? {}),
  by,
  as: 'ratio',
});

function classRatioSql(digit: 4 | 5, by: readonly string[]): string {
  return partSql(classPart(digit, by));
}

function classRatioStatSql(digit: 4 | 5): string {
  return partRangeSql(classPart(digit, []));
}

/** Duration quantiles over the whole range per group. */
const rangeQuantiles = (by: readonly string[], quantiles: Record<string, number>): string =>
  rangeQuantileSql({ metric: DURATION, scope: SCOPE, by, quantiles });

/** Per tier and service over the range: req/s, 5xx share and p99, for the services table. */
function servicesTableSql(): string {
  const by = ['tier', 'service'];
  return `SELECT tier, service, req_per_s, error_ratio, p99
FROM (
${partRangeSql({ ...classPart(5, by), as: 'error_ratio', rateAs: 'req_per_s' })}
) AS r
LEFT JOIN (
${rangeQuantiles(by, { p99: 0.99 })}
) AS q USING (tier, service)
ORDER BY req_per_s DESC`;
}

const HOST_LINK: DataLink = {
  title: 'Host ${__field.labels.host}',
  url: '/d/halo-hosts?var-tier=${__field.labels.tier}&var-host=${__field.labels.host}&${__url_time_range}',
};
const SERVICE_LOGS_LINK: DataLink = {
  title: 'Logs of ${__field.labels.service}',
  url: '/d/halo-logs?var-service=${__field.labels.service}&${__url_time_range}',
};

const ERROR_STEPS: ReadonlyArray<readonly [number, string]> = [
  [0.01, 'orange'],
  [0.05, 'red'],
];
const LATENCY_STEPS: ReadonlyArray<readonly [number, string]> = [
  [0.5, 'orange'],
  [1, 'red'],
];
const labelled = (label: string): Record<string, LabelMatch> => ({
  [label]: { op: '=~', value: '.+' },
});

function overviewPanels(): Array<cog.Builder<dashboard.Panel>> {
  return [
    stat({
      id: 1,
      title: 'Requests per second',
      description: 'Requests served by the selected services, per second over the range.',
      unit: 'reqps',
      targets: statSql({ ...all, over: 'rate' }),
    }),
    stat({
      id: 2,
      title: '5xx error ratio',
      description:
        'Share of requests answered with a 5xx status over the range, whether the app labels the status as `code` or `status_class`.',
      unit: 'percentunit',
      decimals: 2,
      steps: ERROR_STEPS,
      background: true,
      targets: classRatioStatSql(5),
    }),
    stat({
      id: 3,
      title: '4xx ratio',
      description:
        'Share of requests answered with a 4xx status: clients asking for what is not there or not allowed. A jump often follows a deploy or a broken link.',
      unit: 'percentunit',
      decimals: 2,
      steps: [
        [0.1, 'orange'],
        [0.25, 'red'],
      ],
      targets: classRatioStatSql(4),
    }),
    stat({
      id: 4,
      title: 'p99 duration',
      description:
        'The 99th percentile of request durations over the range, all selected services together.',
      unit: 's',
      steps: LATENCY_STEPS,
      targets: rangeQuantiles([], { p99: 0.99 }),
    }),
  ];
}

function redPanels(): Array<cog.Builder<dashboard.Panel>> {
  return [
    timeseries({
      id: 11,
      title: 'Requests per second by service',
      description: 'Request rate of each service (all its hosts).',
      unit: 'reqps',
      links: [SERVICE_LOGS_LINK],
      targets: seriesSql({ ...all, over: 'rate', by: ['service'] }),
    }),
    timeseries({
      id: 12,
      title: '5xx error ratio by service',
      description:
        'Share of each service’s requests answered with 5xx (`code` 5.. or `status_class` 5xx). Above 1% (orange) users see errors; click a series for the service’s logs.',
      unit: 'percentunit',
      min: 0,
      steps: ERROR_STEPS,
      drawSteps: true,
      links: [SERVICE_LOGS_LINK],
      targets: classRatioSql(5, ['service']),
    }),
    timeseries({
      id: 13,
      title: 'Duration p50 / p90 / p99 by service',
      description:
        'Request duration quantiles per service from the http_request_duration_seconds histogram (interpolated inside buckets, as Prometheus does).',
      unit: 's',
      steps: LATENCY_STEPS,
      links: [SERVICE_LOGS_LINK],
      targets: quantileSql({
        metric: DURATION,
        scope: SCOPE,
        by: ['service'],
        quantiles: { p50: 0.5, p90: 0.9, p99: 0.99 },
      }),
    }),
    timeseries({
      id: 14,
      title: 'Responses by status',
      description:
        'Responses per second by status class (access logs, A) or status code (Prometheus clients, B), stacked.',
      unit: 'reqps',
      stacked: true,
      targets: [
        seriesSql({ ...all, match: labelled('status_class'), over: 'rate', by: ['status_class'] }),
        seriesSql({ ...all, match: labelled('code'), over: 'rate', by: ['code'] }),
      ],
    }),
  ];
}

function breakdownPanels(): Array<cog.Builder<dashboard.Panel>> {
  return [
    timeseries({
      id: 21,
      title: 'Requests by route',
      description:
        'Request rate per service and route, for apps whose metrics carry a `route` label (access logs with routes configured).',
      unit: 'reqps',
      targets: seriesSql({
        ...all,
        match: labelled('route'),
        over: 'rate',
        by: ['service', 'route'],
      }),
    }),
    timeseries({
      id: 22,
      title: 'Requests by method',
      description: 'Request rate per HTTP method, where the metrics carry a `method` label.',
      unit: 'reqps',
      stacked: true,
      targets: seriesSql({ ...all, match: labelled('method'), over: 'rate', by: ['method'] }),
    }),
    timeseries({
      id: 23,
      title: 'Duration p99 by route',
      description: 'The 99th percentile of request duration per route, where routes are labelled.',
      unit: 's',
      steps: LATENCY_STEPS,
      targets: quantileSql({
        metric: DURATION,
        scope: SCOPE,
        match: labelled('route'),
        by: ['route'],
        quantiles: { p99: 0.99 },
      }),
    }),
    timeseries({
      id: 24,
      title: 'Requests per second by host',
      description:
        'Request rate per host: an uneven spread points at the load balancer or one slow host. Click for the host.' +
        TOP_NOTE,
      unit: 'reqps',
      links: [HOST_LINK],
      targets: withTopMembers(
        seriesSql({ ...perHost, only: memberOf(['host']) }),
        rangeSql(perHost),
        ['host'],
      ),
    }),
  ];
}

function servicePanels(): Array<cog.Builder<dashboard.Panel>> {
  return [
    table({
      id: 31,
      title: 'Services',
      description:
        'Per service over the range: requests per second, share of 5xx and p99 duration. Links open the service’s logs or its tier’s hosts.',
      unit: 'reqps',
      columnUnits: { error_ratio: 'percentunit', p99: 's' },
      sortBy: 'req_per_s',
      links: [
        {
          title: 'Logs of ${__data.fields.service}',
          url: '/d/halo-logs?var-service=${__data.fields.service}&${__url_time_range}',
        },
        {
          title: 'Hosts of ${__data.fields.tier}',
          url: '/d/halo-hosts?var-tier=${__data.fields.tier}&${__url_time_range}',
        },
      ],
      targets: servicesTableSql(),
    }),
  ];
}

export function appDashboard(): dashboard.DashboardBuilder {
  const scope = { names: [REQUESTS, DURATION] };
  const d = haloDashboard('halo-app', 'Halo / Applications', ['app', 'http'])
    .withVariable(tierVariable(scope))
    .withVariable(serviceVariable(scope))
    .withVariable(hostVariable(scope))
    .link(dashboardLink('Overview', 'halo-overview'))
    .link(dashboardLink('Web', 'halo-web'))
    .link(dashboardLink('Hosts', 'halo-hosts'))
    .link(dashboardLink('Logs', 'halo-logs'))
    .link(dashboardLink('SLOs', 'halo-slos'));
  const sections: Array<[number, string, Array<cog.Builder<dashboard.Panel>>]> = [
    [100, 'Overview', overviewPanels()],
    [110, 'Rate, errors, duration', redPanels()],
    [120, 'Breakdown', breakdownPanels()],
    [130, 'Services', servicePanels()],
  ];
  return withSections(d, sections);
}
