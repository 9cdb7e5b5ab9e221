// The load balancer dashboard (haproxy): frontends, backends, servers, health checks and probes.

import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { SIZE, hostVariable, tierVariable } from './common.ts';
import {
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
const BY_HOST = ['tier', 'host'];
const sel = (metric: string | readonly string[], match?: MetricSelector['match']) => ({
  metric,
  scope: SCOPE,
  ...(match ? { match } : {}),
});

/** Error ratio colours: 1 % of responses failing is worth a look, 5 % is an incident. */
const ERROR_STEPS = [
  [0.01, 'orange'],
  [0.05, 'red'],
] as const;

const hostLinks = [SERIES_HOST_LINK];

/** 5xx over all responses of one kind of proxy (frontend, backend). */
function fiveXx(kind: 'frontend' | 'backend', by?: readonly string[]) {
  const metric = `haproxy_${kind}_http_responses_total`;
  return {
    numerator: sel(metric, { code: '5xx' }),
    denominator: sel(metric),
    ...(by ? { by } : {}),
  };
}

function overviewPanels() {
  return [
    stat({
      id: 1,
      title: 'Servers up',
      description:
        'Share of haproxy servers taking traffic (UP, or no check) at the end of the range, over ' +
        'every backend of the selected hosts. Below 100 %: see the Servers table.',
      targets: statSql({ ...sel('haproxy_server_up'), over: 'last', across: 'avg' }),
      unit: 'percentunit',
      decimals: 1,
      background: true,
      base: 'red',
      steps: [
        [0.75, 'orange'],
        [1, 'green'],
      ],
    }),
    stat({
      id: 2,
      title: 'Frontend requests',
      description: 'HTTP requests per second received by the frontends, averaged over the range.',
      targets: statSql({ ...sel('haproxy_frontend_http_requests_total'), over: 'rate' }),
      unit: 'reqps',
    }),
    stat({
      id: 3,
      title: 'Frontend 5xx ratio',
      description:
        'Responses with a 5xx status over all HTTP responses of the frontends, over the range.',
      targets: ratioStatSql(fiveXx('frontend')),
      unit: 'percentunit',
      decimals: 2,
      steps: ERROR_STEPS,
    }),
    stat({
      id: 4,
      title: 'Current sessions',
      description: 'Sessions open on the frontends at the end of the range, summed over proxies.',
      targets: statSql({
        ...sel('haproxy_frontend_current_sessions'),
        over: 'last',
        across: 'sum',
      }),
      unit: 'short',
    }),
  ];
}

function frontendPanels() {
  return [
    timeseries({
      id: 5,
      title: 'Frontend request rate',
      description: 'HTTP requests per second per frontend and load balancer host.',
      targets: seriesSql({
        ...sel('haproxy_frontend_http_requests_total'),
        over: 'rate',
        by: [...BY_HOST, 'proxy'],
      }),
      unit: 'reqps',
      links: hostLinks,
    }),
    timeseries({
      id: 6,
      title: 'Frontend session rate',
      description:
        'New sessions (client connections) per second per frontend and host. A jump without ' +
        'more requests points at connection churn (no keep-alive, health checkers).',
      targets: seriesSql({
        ...sel('haproxy_frontend_sessions_total'),
        over: 'rate',
        by: [...BY_HOST, 'proxy'],
      }),
      unit: 'cps',
      links: hostLinks,
    }),
    timeseries({
      id: 7,
      title: 'Frontend current sessions',
      description:
        'Sessions open per frontend and host (average over each interval). The session limit ' +
        '(slim) is not collected: compare with the maxconn of the haproxy configuration.',
      targets: seriesSql({
        ...sel('haproxy_frontend_current_sessions'),
        over: 'avg',
        across: 'sum',
        by: [...BY_HOST, 'proxy'],
      }),
      unit: 'short',
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 8,
      title: 'Frontend bytes in / out',
      description:
        'Bytes per second received from clients (bytes_in) and sent to them (bytes_out), per frontend.',
      targets: seriesSql({
        ...sel(['haproxy_frontend_bytes_in_total', 'haproxy_frontend_bytes_out_total']),
        over: 'rate',
        by: ['proxy', 'name'],
      }),
      unit: 'Bps',
      width: SIZE.third,
    }),
    timeseries({
      id: 9,
      title: 'Frontend responses by class',
      description:
        'HTTP responses per second by status class (1xx … 5xx, other), stacked: the top is all ' +
        'responses. A growing 5xx band is errors from backends or haproxy itself (503 no server).',
      targets: seriesSql({
        ...sel('haproxy_frontend_http_responses_total'),
        over: 'rate',
        by: ['code'],
      }),
      unit: 'reqps',
      stacked: true,
      width: SIZE.third,
    }),
    timeseries({
      id: 10,
      title: 'Frontend 5xx ratio',
      description:
        '5xx responses over all responses per frontend and host. Orange from 1 %, red from 5 %.',
      targets: ratioSql(fiveXx('frontend', [...BY_HOST, 'proxy'])),
      unit: 'percentunit',
      min: 0,
      steps: ERROR_STEPS,
      drawSteps: true,
      links: hostLinks,
    }),
    timeseries({
      id: 11,
      title: 'Frontend request errors',
      description:
        'Requests per second haproxy rejected before any backend: malformed requests, client ' +
        'timeouts and aborts, denied by rules (ereq).',
      targets: seriesSql({
        ...sel('haproxy_frontend_request_errors_total'),
        over: 'rate',
        by: [...BY_HOST, 'proxy'],
      }),
      unit: 'reqps',
      links: hostLinks,
    }),
  ];
}

function backendPanels() {
  return [
    timeseries({
      id: 12,
      title: 'Backend servers: active, backup, up',
      description:
        'Per backend: active and backup servers as haproxy counts them, and the servers taking ' +
        'traffic (servers_up). The lowest value among the load balancer hosts, so one host ' +
        'seeing its servers down shows.',
      targets: seriesSql({
        ...sel([
          'haproxy_backend_active_servers',
          'haproxy_backend_backup_servers',
          'haproxy_backend_servers_up',
        ]),
        over: 'min',
        across: 'min',
        by: ['proxy', 'name'],
      }),
      unit: 'short',
      min: 0,
      decimals: 0,
    }),
    timeseries({
      id: 13,
      title: 'Backend request rate',
      description: 'HTTP requests per second sent to each backend, per load balancer host.',
      targets: seriesSql({
        ...sel('haproxy_backend_http_requests_total'),
        over: 'rate',
        by: [...BY_HOST, 'proxy'],
      }),
      unit: 'reqps',
      links: hostLinks,
    }),
    timeseries({
      id: 14,
      title: 'Backend connection and response errors',
      description:
        'Per second and backend: failed connections to a server (connection_errors, econ) and ' +
        'responses aborted or invalid (response_errors, eresp). The backends response time ' +
        '(rtime) is not collected.',
      targets: seriesSql({
        ...sel([
          'haproxy_backend_connection_errors_total',
          'haproxy_backend_response_errors_total',
        ]),
        over: 'rate',
        by: ['proxy', 'name'],
      }),
      unit: 'short',
      width: SIZE.third,
    }),
    timeseries({
      id: 15,
      title: 'Backend queue',
      description:
        'Requests waiting for a free server slot (qcur), highest in each interval. Any queue ' +
        'means every server is at its maxconn: requests wait and time out.',
      targets: seriesSql({
        ...sel('haproxy_backend_current_queue'),
        over: 'max',
        across: 'max',
        by: [...BY_HOST, 'proxy'],
      }),
      unit: 'short',
      min: 0,
      steps: [
        [1, 'orange'],
        [10, 'red'],
      ],
      width: SIZE.third,
      links: hostLinks,
    }),
    timeseries({
      id: 16,
      title: 'Backend 5xx ratio',
      description:
        '5xx responses over all responses per backend and host. Orange from 1 %, red from 5 %.',
      targets: ratioSql(fiveXx('backend', [...BY_HOST, 'proxy'])),
      unit: 'percentunit',
      min: 0,
      steps: ERROR_STEPS,
      drawSteps: true,
      width: SIZE.third,
      links: hostLinks,
    }),
  ];
}

const SERVER_STATE = regexMappings([
  ['^(UP|OPEN|no check).*', 'green'],
  ['^(MAINT|DRAIN|NOLB).*', 'blue'],
  ['^DOWN.*', 'red'],
  ['.+', 'orange'],
]);
const CHECK_STATUS = regexMappings([
  ['^L[4-7]OK$', 'green'],
  ['^(UNK|INI|SOCKERR)$', 'orange'],
  ['.+', 'red'],
]);

/** Current state from the last raw minutes, 5xx and downtime over the range, per server. */
export function serversSql(): string {
  const state = `SELECT tier, host, labels['proxy'] AS proxy, labels['server'] AS server,
  argMaxIf(value, ts, name = 'haproxy_server_up') AS up,
  argMaxIf(labels['state'], ts, name = 'haproxy_server_status') AS state,
  argMaxIf(labels['status'], ts, name = 'haproxy_server_check_status') AS check,
  argMaxIf(value, ts, name = 'haproxy_server_weight') AS weight,
  argMaxIf(value, ts, name = 'haproxy_server_current_sessions') AS sessions,
  argMaxIf(value, ts, name = 'haproxy_server_current_queue') AS queue
FROM ${recentSamples([
    'haproxy_server_up',
    'haproxy_server_status',
    'haproxy_server_check_status',
    'haproxy_server_weight',
    'haproxy_server_current_sessions',
    'haproxy_server_current_queue',
  ])}
GROUP BY tier, host, proxy, server`;
  const totals = rangeIncrease(
    sel(['haproxy_server_http_responses_total', 'haproxy_server_downtime_seconds_total']),
    ['host', 'proxy', 'server', 'name', 'code'],
  );
  return `SELECT s.tier AS tier, s.host AS host, s.proxy AS proxy, s.server AS server,
  s.up AS up, s.state AS state, s.check AS check, s.weight AS weight,
  s.sessions AS sessions, s.queue AS queue,
  r.responses_5xx AS responses_5xx, r.ratio_5xx AS ratio_5xx, r.downtime AS downtime
FROM (
${state}
) AS s
LEFT JOIN (
  SELECT host, proxy, server,
    toNullable(sumIf(v, name = 'haproxy_server_http_responses_total' AND code = '5xx')) AS responses_5xx,
    sumIf(v, name = 'haproxy_server_http_responses_total' AND code = '5xx')
      / nullIf(sumIf(v, name = 'haproxy_server_http_responses_total'), 0) AS ratio_5xx,
    toNullable(sumIf(v, name = 'haproxy_server_downtime_seconds_total')) AS downtime
  FROM (
${totals}
  )
  GROUP BY host, proxy, server
) AS r ON s.host = r.host AND s.proxy = r.proxy AND s.server = r.server
ORDER BY up ASC, tier, host, proxy, server
LIMIT 2000`;
}

function serverPanels() {
  const servers = table({
    id: 17,
    title: 'Servers',
    description:
      'Every haproxy server per load balancer host: up (takes traffic) or down, its state and ' +
      'last health check (at most 5 minutes before the end of the range), weight, sessions and ' +
      'queue now; 5xx responses, their share of responses and seconds down over the range. Down ' +
      'servers first; the host links to its dashboard.',
    targets: serversSql(),
    unit: 'short',
    columnUnits: { downtime: 's', responses_5xx: 'short', sessions: 'short', queue: 'short' },
  });
  statusColumn(servers, 'up', UP_DOWN);
  statusColumn(servers, 'state', SERVER_STATE);
  statusColumn(servers, 'check', CHECK_STATUS);
  columnThresholds(servers, 'ratio_5xx', 'percentunit', 'green', ERROR_STEPS);
  columnLinks(servers, 'host', [HOST_LINK]);
  return [
    servers,
    timeseries({
      id: 18,
      title: 'Server check duration',
      description:
        'How long the last health check of each server took, highest in each interval. ' +
        'Checks nearing their timeout (inter/timeout check) flap servers down.',
      targets: seriesSql({
        ...sel('haproxy_server_check_duration_seconds'),
        over: 'max',
        across: 'max',
        by: ['proxy', 'server'],
      }),
      unit: 's',
      min: 0,
    }),
    timeseries({
      id: 19,
      title: 'Server downtime',
      description:
        'Share of each interval a server was down, per load balancer host (its downtime ' +
        'counter in seconds per second): 100 % is down all along.',
      targets: seriesSql({
        ...sel('haproxy_server_downtime_seconds_total'),
        over: 'rate',
        by: [...BY_HOST, 'proxy', 'server'],
      }),
      unit: 'percentunit',
      min: 0,
      steps: [[0.001, 'red']],
      links: hostLinks,
    }),
    timeseries({
      id: 20,
      title: 'Server current sessions',
      description:
        'Sessions open on each server, summed over load balancer hosts: a server far above its ' +
        'peers has a heavier weight, sticky clients or slower responses.',
      targets: seriesSql({
        ...sel('haproxy_server_current_sessions'),
        over: 'avg',
        across: 'sum',
        by: ['proxy', 'server'],
      }),
      unit: 'short',
      min: 0,
    }),
    timeseries({
      id: 21,
      title: 'Server 5xx responses',
      description:
        '5xx responses per second from each server, summed over load balancer hosts: which ' +
        'server of a backend produces the errors.',
      targets: seriesSql({
        ...sel('haproxy_server_http_responses_total', { code: '5xx' }),
        over: 'rate',
        by: ['proxy', 'server'],
      }),
      unit: 'reqps',
      min: 0,
    }),
  ];
}

function probePanels() {
  // Probes of the tier may run on hosts without haproxy: filtered by tier, not by $host.
  const probe = (metric: string) => ({ metric, scope: ['tier'] as const });
  return [
    timeseries({
      id: 22,
      title: 'Probe success',
      description:
        'Share of successful probes (probe_success) per probe source and host of the selected ' +
        'tiers, e.g. HTTP checks of the public endpoints. Empty when the tier runs no probe.',
      targets: seriesSql({
        ...probe('probe_success'),
        over: 'avg',
        across: 'avg',
        by: [...BY_HOST, 'source'],
      }),
      unit: 'percentunit',
      min: 0,
      max: 1,
      base: 'red',
      steps: [
        [0.99, 'orange'],
        [1, 'green'],
      ],
      links: hostLinks,
    }),
    timeseries({
      id: 23,
      title: 'Probe duration',
      description: 'Longest probe duration per probe source and host in each interval.',
      targets: seriesSql({
        ...probe('probe_duration_seconds'),
        over: 'max',
        across: 'max',
        by: [...BY_HOST, 'source'],
      }),
      unit: 's',
      min: 0,
      links: hostLinks,
    }),
  ];
}

export function lbDashboard(): dashboard.DashboardBuilder {
  const builder = haloDashboard('halo-lb', 'Halo / Load balancers', ['lb', 'haproxy'])
    .link(dashboardLink('Overview', 'halo-overview'))
    .link(dashboardLink('Web servers', 'halo-web'))
    .link(dashboardLink('Hosts', 'halo-hosts'))
    .link(dashboardLink('Logs', 'halo-logs'))
    .withVariable(tierVariable({ prefix: 'haproxy_' }))
    .withVariable(hostVariable({ prefix: 'haproxy_' }));
  const sections = [
    [100, 'Overview', overviewPanels()],
    [101, 'Frontends', frontendPanels()],
    [102, 'Backends', backendPanels()],
    [103, 'Servers', serverPanels()],
    [104, 'Probes', probePanels()],
  ] as const;
  return withSections(builder, sections);
}
