// The SLO dashboard: per SLO, SLI against objective, error budget, burn rate and alert history.

import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { TABLES } from '../core/conventions.ts';
import {
  SIZE,
  datasource,
  query,
  queryVariable,
  table,
  thresholds,
  inSelection,
} from './common.ts';
import { RANGE_STEP_SECONDS } from './metric-sql.ts';
import { dashboardLink } from './panels.ts';

const EVALUATIONS = table(TABLES.sloEvaluations);
const ALERTS = table(TABLES.alerts);

// The evaluation row over the whole SLO period carries the SLI and budget of record.
const PERIOD_WINDOW = 'period';

/**
 * Burn-rate factors of the multiwindow alerts (Google SRE workbook, ch. 5): 14.4 pages on 1h/5m,
 * 6 on 6h/30m, 3 tickets on 1d/2h, 1 on 3d/6h. Drawn so a reader sees which tier a window crossed.
 */
export const BURN_RATE_THRESHOLDS: ReadonlyArray<readonly [number, string]> = [
  [1, 'yellow'],
  [3, 'orange'],
  [6, 'red'],
  [14.4, 'dark-red'],
];

/**
 * The logs of an SLO's service over the panel's time range (or the range zoomed to): the lines
 * behind a dip of the SLI or a burn-rate spike. Needs the `service` label on the series.
 */
const SERVICE_LOGS_LINK = {
  build: () =>
    ({
      title: 'Logs of ${__field.labels.service}',
      url: '/d/halo-logs?var-service=${__field.labels.service}&${__url_time_range}',
      targetBlank: false,
    }) as dashboard.DashboardLink,
};

/** SLI (1 − error ratio over the period) against the objective, per SLO. */
export function sliPanel(): TimeseriesPanelBuilder {
  const sql = `SELECT
  toStartOfInterval(toDateTime(ts), INTERVAL ${RANGE_STEP_SECONDS} second) AS time,
  slo,
  service,
  1 - avg(error_ratio) AS sli,
  any(objective) / 100 AS objective
FROM ${EVALUATIONS}
WHERE $__timeFilter(ts) AND ${inSelection('slo', 'slo')} AND window = '${PERIOD_WINDOW}'
GROUP BY time, slo, service
ORDER BY time`;
  return new TimeseriesPanelBuilder()
    .id(1)
    .title('SLI vs objective')
    .description(
      '1 − error ratio over the SLO period, against the objective. Click a series for the logs of its service.',
    )
    .datasource(datasource())
    .withTarget(query(sql, 'timeseries'))
    .dataLinks([SERVICE_LOGS_LINK])
    .unit('percentunit')
    .decimals(3)
    .max(1)
    .height(SIZE.graphHeight)
    .span(SIZE.half);
}

/** Error budget left in the period: the lowest among the selected SLOs, latest evaluation. */
export function budgetRemainingPanel(): StatPanelBuilder {
  const sql = `SELECT min(budget) AS budget_remaining
FROM (
  SELECT slo, argMax(budget_remaining, ts) AS budget
  FROM ${EVALUATIONS}
  WHERE $__timeFilter(ts) AND ${inSelection('slo', 'slo')} AND window = '${PERIOD_WINDOW}'
  GROUP BY slo
)`;
  return new StatPanelBuilder()
    .id(2)
    .title('Error budget remaining')
    .description('Latest budget left in the SLO period; the lowest of the selected SLOs.')
    .datasource(datasource())
    .withTarget(query(sql, 'table'))
    .unit('percentunit')
    .decimals(1)
    .thresholds(
      thresholds('red', [
        [0.25, 'orange'],
        [0.5, 'green'],
      ]),
    )
    .colorMode(common.BigValueColorMode.Background)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .height(SIZE.graphHeight)
    .span(SIZE.quarter);
}

/** Budget burn-down: the budget left over time, per SLO. */
export function budgetBurnDownPanel(): TimeseriesPanelBuilder {
  const sql = `SELECT
  toStartOfInterval(toDateTime(ts), INTERVAL ${RANGE_STEP_SECONDS} second) AS time,
  slo,
  min(budget_remaining) AS budget_remaining
FROM ${EVALUATIONS}
WHERE $__timeFilter(ts) AND ${inSelection('slo', 'slo')} AND window = '${PERIOD_WINDOW}'
GROUP BY time, slo
ORDER BY time`;
  return new TimeseriesPanelBuilder()
    .id(3)
    .title('Error budget burn-down')
    .description('Budget left in the SLO period over time.')
    .datasource(datasource())
    .withTarget(query(sql, 'timeseries'))
    .unit('percentunit')
    .thresholds(thresholds('red', [[0, 'green']]))
    .height(SIZE.graphHeight)
    .span(SIZE.quarter);
}

/** Burn rate per SLO and window, with the alert factors drawn as dashed lines. */
export function burnRatePanel(): TimeseriesPanelBuilder {
  const sql = `SELECT
  toStartOfInterval(toDateTime(ts), INTERVAL ${RANGE_STEP_SECONDS} second) AS time,
  slo,
  service,
  window,
  max(burn_rate) AS burn_rate
FROM ${EVALUATIONS}
WHERE $__timeFilter(ts) AND ${inSelection('slo', 'slo')} AND window != '${PERIOD_WINDOW}'
GROUP BY time, slo, service, window
ORDER BY time`;
  return new TimeseriesPanelBuilder()
    .id(4)
    .title('Burn rate per window')
    .description(
      'Budget consumption speed per window; 1 spends the budget exactly over the period. Click a series for the logs of its service.',
    )
    .datasource(datasource())
    .withTarget(query(sql, 'timeseries'))
    .dataLinks([SERVICE_LOGS_LINK])
    .unit('x')
    .min(0)
    .thresholds(thresholds('green', BURN_RATE_THRESHOLDS))
    .thresholdsStyle(
      new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed),
    )
    .height(SIZE.graphHeight)
    .span(SIZE.full);
}

/** Every state change of the alerts of the selected SLOs, newest first. */
export function alertHistoryPanel(): TablePanelBuilder {
  const sql = `SELECT
  ts AS time,
  slo,
  alertname,
  toString(state) AS state,
  severity,
  value
FROM ${ALERTS}
WHERE $__timeFilter(ts) AND ${inSelection('slo', 'slo')}
ORDER BY ts DESC
LIMIT 1000`;
  return new TablePanelBuilder()
    .id(5)
    .title('Alert state history')
    .description('Pending, firing and resolved transitions of the SLO alerts.')
    .datasource(datasource())
    .withTarget(query(sql, 'table'))
    .height(SIZE.tableHeight)
    .span(SIZE.full);
}

/** The `slo` variable: every SLO that has evaluations. */
export function sloVariable(): dashboard.QueryVariableBuilder {
  return queryVariable('slo', 'SLO', `SELECT DISTINCT slo FROM ${EVALUATIONS} ORDER BY slo`);
}

export function sloDashboard(): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder('Halo / SLOs')
    .uid('halo-slos')
    .tags(['halo', 'slo'])
    .readonly()
    .time({ from: 'now-24h', to: 'now' })
    .refresh('1m')
    .timezone('utc')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .link(dashboardLink('Logs', 'halo-logs'))
    .withVariable(sloVariable())
    .withPanel(sliPanel())
    .withPanel(budgetRemainingPanel())
    .withPanel(budgetBurnDownPanel())
    .withPanel(burnRatePanel())
    .withPanel(alertHistoryPanel());
}
