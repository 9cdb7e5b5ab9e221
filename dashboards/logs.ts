// The logs dashboard: volume by severity and tier, top errors, and log lines by text, label or trace.

import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { ERROR_SEVERITIES, SEVERITIES, TABLES } from '../core/conventions.ts';
import { ALL_VALUE, queryVariable, table as tableName, inSelection } from './common.ts';
import {
  dashboardLink,
  haloDashboard,
  logs,
  row,
  table,
  timeseries,
  type TimeseriesOptions,
} from './panels.ts';

const LOGS = tableName(TABLES.logs);
/** Error and fatal lines only (migration 10): the error panels read a hundredth of the lines. */
const ERROR_LOGS = tableName(TABLES.logsErrors);
/** Lines a logs panel shows at most: the newest ones. */
export const LINE_LIMIT = 1000;
const ERRORS = `(${ERROR_SEVERITIES.map((s) => `'${s}'`).join(', ')})`;

/**
 * A textbox's text as a ClickHouse string. The plugin inserts a single value as it is, unquoted
 * and unescaped, so `'${search}'` would break on a quote and `${search:sqlstring}` (quotes doubled)
 * on a trailing backslash, which ClickHouse reads as an escape. Grafana's `percentencode` leaves
 * only [A-Za-z0-9-_.~%], which no literal can be broken by; ClickHouse decodes it back.
 */
const textbox = (name: string): string => `decodeURLComponent('\${${name}:percentencode}')`;

/** The textboxes, decoded once per query. */
const WITH_TEXT = `WITH
  ${textbox('search')} AS search_text,
  ${textbox('attribute')} AS attribute_key,
  ${textbox('attribute_value')} AS attribute_text`;

/**
 * The dashboard's filters. The time range first: the table is ordered by hour, so it selects
 * granules. Text search is case-insensitive and exact (a substring, not tokens); multiSearchAny
 * on lower(body) lets the token bloom filter on lower(body) skip granules without the words.
 */
function where(severity: 'variable' | 'errors'): string {
  return `$__timeFilter(ts)
  AND ${filters(severity)}
  AND (search_text = '' OR multiSearchAny(lower(body), [lower(search_text)]))
  AND (attribute_key = '' OR (mapContains(attributes, attribute_key)
    AND positionCaseInsensitive(attributes[attribute_key], attribute_text) > 0))`;
}

/** The variables' filters: columns of the volume projection as well as of the lines. */
function filters(severity: 'variable' | 'errors'): string {
  return `${inSelection('tier', 'tier')} AND ${inSelection('host', 'host')} AND ${inSelection('service', 'service')}
  AND ${severity === 'errors' ? `severity IN ${ERRORS}` : inSelection('severity', 'severity')}`;
}

/**
 * Columns for the plugin's logs format: the time first, then `body` (the message) and `level`
 * (coloured by Grafana's level names: error, warn, info, debug, trace; fatal shows as critical);
 * the other string columns become the line's labels.
 */
const LINE_COLUMNS = `ts AS timestamp, body, severity AS level, service, host, tier, trace_id`;
// Newest first. Measured over 24 h of 200 hosts, plain `ts DESC` beat ordering by the sort key's
// hour prefix (ClickHouse keeps a top-N heap either way; the service key sits between).
const NEWEST_FIRST = `ORDER BY ts DESC\nLIMIT ${LINE_LIMIT}`;
/** Error lines the top-messages table groups: the newest ones, so its cost has a bound. */
export const TOP_ERRORS_SCAN = 10_000;

/** No text or label filter: the count needs no line, only the volume projection. */
const NO_TEXT = `search_text = '' AND attribute_key = ''`;

/**
 * Without a text or label filter, the minute from which the newest LINE_LIMIT lines are found,
 * counted on the volume projection (the filters are its columns); with one, none (epoch). The
 * lines then read the last hour or so of the table instead of the whole range: over a day of
 * 11M lines, 376 to 50 ms (median; same rows). The range's last, partial minute is not
 * counted, so the cut is never later than it must be.
 */
const NEWEST_MINUTE = `(
    SELECT if(count() = 0, toDateTime(0), min(minute)) FROM (
      SELECT minute, n, sum(n) OVER (ORDER BY minute DESC) AS upto FROM (
        SELECT toStartOfMinute(ts) AS minute, count() AS n
        FROM ${LOGS}
        WHERE ${NO_TEXT}
          AND toStartOfMinute(ts) >= toStartOfMinute($__fromTime) AND toStartOfMinute(ts) < toStartOfMinute($__toTime)
          AND ${filters('variable')}
        GROUP BY minute
      )
    )
    WHERE upto - n < ${LINE_LIMIT}
  )`;

function linesSql(severity: 'variable' | 'errors'): string {
  // The error lines' own table is small: it reads the range as it is.
  if (severity === 'errors') {
    return `${WITH_TEXT}
SELECT ${LINE_COLUMNS}
FROM ${ERROR_LOGS}
WHERE ${where(severity)}
${NEWEST_FIRST}`;
  }
  return `${WITH_TEXT},
  ${NEWEST_MINUTE} AS newest_minute
SELECT ${LINE_COLUMNS}
FROM ${LOGS}
WHERE ${where(severity)}
  AND ts >= newest_minute
${NEWEST_FIRST}`;
}

const traceSql = `WITH ${textbox('trace_id')} AS trace
SELECT ${LINE_COLUMNS}
FROM ${LOGS}
WHERE $__timeFilter(ts) AND trace != '' AND trace_id = trace
ORDER BY ts ASC
LIMIT ${LINE_LIMIT}`;

/** Over an hour, minute buckets suffice (Grafana's interval is a minute or more on most panels). */
const LONG_RANGE = '($__toTime - $__fromTime) > 3600';

/**
 * Lines per interval and `by`. Without text or label filters over more than an hour, the query
 * reads only the columns of the logs table's per-minute projection (migration 8), which
 * ClickHouse then answers from: a day of 11M lines costs thousands of rows. Otherwise it counts
 * the lines. The guards fold to constants, so one branch runs.
 */
const volumeSql = (by: string, severity: 'variable' | 'errors') => `${WITH_TEXT}
SELECT time, ${by}, sum(n) AS lines FROM (
  SELECT toStartOfInterval(toStartOfMinute(ts), INTERVAL greatest($__interval_s, 60) second) AS time, ${by}, count() AS n
  FROM ${LOGS}
  WHERE ${LONG_RANGE} AND ${NO_TEXT}
    AND toStartOfMinute(ts) >= toStartOfMinute($__fromTime) AND toStartOfMinute(ts) <= $__toTime
    AND ${filters(severity)}
  GROUP BY time, ${by}
  UNION ALL
  SELECT $__timeInterval(ts) AS time, ${by}, count() AS n
  FROM ${LOGS}
  WHERE NOT (${LONG_RANGE} AND ${NO_TEXT})
    AND ${where(severity)}
  GROUP BY time, ${by}
)
GROUP BY time, ${by}
ORDER BY time`;

const topErrorsSql = `${WITH_TEXT}
SELECT
  service,
  substring(replaceRegexpAll(body, '[0-9a-fA-F]{8,}|[0-9]+', '#'), 1, 160) AS message,
  count() AS lines,
  max(ts) AS last_seen
FROM (
  SELECT ts, service, body
  FROM ${ERROR_LOGS}
  WHERE ${where('errors')}
  ORDER BY ts DESC
  LIMIT ${TOP_ERRORS_SCAN}
)
GROUP BY service, message
ORDER BY lines DESC
LIMIT 50`;

const SEVERITY_COLORS: ReadonlyArray<readonly [string, string]> = [
  ['fatal', 'dark-red'],
  ['error', 'red'],
  ['warn', 'orange'],
  ['info', 'green'],
  ['debug', 'blue'],
  ['trace', 'purple'],
];

/** Stacked bars of line counts. */
function bars(o: TimeseriesOptions): TimeseriesPanelBuilder {
  return timeseries({ ...o, stacked: true })
    .drawStyle(common.GraphDrawStyle.Bars)
    .fillOpacity(80);
}

function volumePanels(): Array<cog.Builder<dashboard.Panel>> {
  const bySeverity = bars({
    id: 1,
    title: 'Log volume by severity',
    description:
      'Lines per interval by severity, for the selected tiers, hosts, services, severities and search. A red band growing is errors piling up.',
    unit: 'short',
    targets: volumeSql('severity', 'variable'),
  });
  for (const [severity, color] of SEVERITY_COLORS) {
    bySeverity.overrideByRegexp(`.*\\b${severity}\\b.*`, [
      { id: 'color', value: { mode: 'fixed', fixedColor: color } },
    ]);
  }
  return [
    bySeverity,
    bars({
      id: 2,
      title: 'Log volume by tier',
      description: 'Lines per interval by tier, with the same filters.',
      unit: 'short',
      targets: volumeSql('tier', 'variable'),
    }),
    timeseries({
      id: 3,
      title: 'Error lines by service',
      description:
        'Lines of severity error or fatal per interval and service (search and label filters apply, the severity filter does not).',
      unit: 'short',
      steps: [[1, 'red']],
      links: [
        {
          title: 'Logs of ${__field.labels.service}',
          url: '/d/halo-logs?var-service=${__field.labels.service}&${__url_time_range}',
        },
      ],
      targets: volumeSql('service', 'errors'),
    }),
    table({
      id: 4,
      title: 'Top error messages',
      description: `The most frequent messages among the newest ${TOP_ERRORS_SCAN} error and fatal lines, per service, numbers and hex ids replaced by # so that one message with different ids counts once.`,
      unit: 'short',
      columnUnits: { last_seen: 'dateTimeAsIso' },
      sortBy: 'lines',
      width: 12,
      height: 8,
      targets: topErrorsSql,
    }),
  ];
}

function linePanels(): Array<cog.Builder<dashboard.Panel>> {
  return [
    logs({
      id: 11,
      title: 'Error lines',
      description: `The newest ${LINE_LIMIT} error and fatal lines matching the search and label filters.`,
      targets: linesSql('errors'),
    }),
    logs({
      id: 12,
      title: 'Matching lines',
      description: `The newest ${LINE_LIMIT} lines of the selected severities whose text contains the search (case-insensitive; empty matches all) and whose attribute matches the label filter.`,
      targets: linesSql('variable'),
    }),
    logs({
      id: 13,
      title: 'Lines of a trace',
      description:
        'Every line carrying the trace id typed in “Trace id”, oldest first, across all services: one request’s path. Empty until a trace id is given.',
      targets: traceSql,
    }),
  ];
}

const distinct = (column: string, filters: string) =>
  `SELECT DISTINCT ${column} FROM ${LOGS} WHERE $__timeFilter(ts)${filters} ORDER BY ${column}`;

function textboxVariable(name: string, label: string, description: string) {
  return new dashboard.TextBoxVariableBuilder(name)
    .label(label)
    .description(description)
    .defaultValue('')
    .current({ text: '', value: '' });
}

function variables(): Array<cog.Builder<dashboard.VariableModel>> {
  const all = { text: 'All', value: '$__all' };
  return [
    queryVariable('tier', 'Tier', distinct('tier', '')),
    queryVariable('host', 'Host', distinct('host', ` AND ${inSelection('tier', 'tier')}`)),
    queryVariable('service', 'Service', distinct('service', ` AND ${inSelection('tier', 'tier')}`)),
    new dashboard.CustomVariableBuilder('severity')
      .label('Severity')
      .values(SEVERITIES.join(','))
      .multi(true)
      .includeAll(true)
      .allValue(ALL_VALUE)
      .current({ text: [all.text], value: [all.value] }),
    textboxVariable('search', 'Search', 'Text the line must contain, any case; empty: every line.'),
    textboxVariable('attribute', 'Label', 'An attribute key the line must carry, e.g. `path`.'),
    textboxVariable('attribute_value', 'Label value', 'Text the attribute’s value must contain.'),
    textboxVariable('trace_id', 'Trace id', 'A trace id, for the lines of one trace.'),
  ];
}

export function logsDashboard(): dashboard.DashboardBuilder {
  const d = haloDashboard('halo-logs', 'Halo / Logs', ['logs'])
    .time({ from: 'now-1h', to: 'now' })
    .link(dashboardLink('Overview', 'halo-overview'))
    .link(dashboardLink('Applications', 'halo-app'))
    .link(dashboardLink('Hosts', 'halo-hosts'))
    .link(dashboardLink('SLOs', 'halo-slos'))
    .link(dashboardLink('Halo itself', 'halo-self'));
  for (const v of variables()) d.withVariable(v);
  d.withRow(row(100, 'Volume'));
  for (const p of volumePanels()) d.withPanel(p);
  d.withRow(row(110, 'Lines'));
  for (const p of linePanels()) d.withPanel(p);
  return d;
}
