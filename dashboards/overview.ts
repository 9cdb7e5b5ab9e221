// The HA stack overview: firing alerts, SLOs, and per tier kind members, redundancy and golden signals.

import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { TABLES } from '../core/conventions.ts';
import { table as tableName, tierVariable, inSelection } from './common.ts';
import { membersSql, REDUNDANCY, redundancySql } from './overview-members.ts';
import { TIER_KINDS, type KindPanel, type TierKind } from './overview-tiers.ts';
import { dashboardLink, haloDashboard, row, stat, table, timeseries } from './panels.ts';

const ALERTS = tableName(TABLES.alerts);
const EVALUATIONS = tableName(TABLES.sloEvaluations);

/**
 * Alerts whose latest transition at the end of the range is `firing`, from the whole history
 * (an alert may have fired long before the range). Alerts with a tier label outside `$tier` are
 * left out; alerts without one always show.
 */
const FIRING = `SELECT fingerprint, argMax(state, ts) AS last_state,
    maxIf(ts, state = 'firing') AS fired_at, argMax(alertname, ts) AS last_alertname,
    argMax(severity, ts) AS last_severity, argMax(slo, ts) AS last_slo,
    argMax(labels, ts) AS last_labels, argMax(annotations, ts) AS last_annotations,
    argMax(value, ts) AS last_value
  FROM ${ALERTS}
  WHERE ts <= $__toTime
  GROUP BY fingerprint
  HAVING last_state = 'firing' AND (last_labels['tier'] = '' OR ${inSelection("last_labels['tier']", 'tier')})`;

function firingCount(): ReturnType<typeof stat> {
  return stat({
    id: 2,
    title: 'Firing alerts',
    description:
      'Alerts firing at the end of the range (latest state per alert in the alert history). Anything above 0 needs a look.',
    unit: 'short',
    width: 4,
    height: 8,
    background: true,
    steps: [[1, 'red']],
    targets: `SELECT toUInt32(count()) AS firing FROM (\n  ${FIRING}\n)`,
  });
}

function firingTable(): ReturnType<typeof table> {
  const sql = `SELECT
  fired_at AS firing_since,
  last_alertname AS alertname,
  last_severity AS severity,
  last_slo AS slo,
  arrayStringConcat(arrayMap((k, v) -> concat(k, '=', v),
    mapKeys(mapFilter((k, v) -> k NOT IN ('alertname', 'severity', '__rule__'), last_labels)),
    mapValues(mapFilter((k, v) -> k NOT IN ('alertname', 'severity', '__rule__'), last_labels))), ', ') AS labels,
  last_annotations['summary'] AS summary,
  last_value AS value
FROM (
  ${FIRING}
)
ORDER BY severity, firing_since DESC
LIMIT 500`;
  return table({
    id: 3,
    title: 'Firing alerts',
    description:
      'Every alert firing at the end of the range: since when, its labels, summary and the value that fired it.',
    unit: 'short',
    width: 20,
    height: 8,
    targets: sql,
    columnUnits: { firing_since: 'dateTimeAsIso' },
  });
}

function sloSummary(): ReturnType<typeof table> {
  // The 'period' window carries the SLI and budget of record (see slos.ts). Objectives are stored
  // in percent (alerter/slo/model.ts), error ratios and budgets as ratios: all shown as ratios.
  const sql = `SELECT slo, instance, last_objective AS objective, last_sli AS sli,
  last_budget AS budget_remaining, last_burn AS burn_rate, last_ts AS evaluated_at
FROM (
  SELECT slo, instance,
    argMax(objective, ts) / 100 AS last_objective,
    1 - argMax(error_ratio, ts) AS last_sli,
    argMax(budget_remaining, ts) AS last_budget,
    argMax(burn_rate, ts) AS last_burn,
    max(ts) AS last_ts
  FROM ${EVALUATIONS}
  WHERE $__timeFilter(ts) AND window = 'period'
  GROUP BY slo, instance
)
ORDER BY budget_remaining, slo, instance`;
  return table({
    id: 4,
    title: 'SLO summary',
    description:
      'Per SLO (and instance), the latest evaluation over the SLO period: objective, SLI (1 − error ratio), error budget left and burn rate. A budget near 0 is spent; click through to the SLO dashboard.',
    unit: 'percentunit',
    decimals: 3,
    width: 24,
    height: 8,
    base: 'red',
    steps: [
      [0.25, 'orange'],
      [0.5, 'green'],
    ],
    targets: sql,
    columnUnits: { burn_rate: 'x', evaluated_at: 'dateTimeAsIso' },
    sortBy: 'budget_remaining',
    links: [
      {
        title: 'SLO dashboard',
        url: '/d/halo-slos?var-slo=${__data.fields.slo}&${__url_time_range}',
      },
    ],
  });
}

/** A tier row's graph, linked to the kind's dashboard for the series' tier. */
function graph(kind: TierKind, p: KindPanel, id: number, width: number) {
  return timeseries({
    ...p,
    id,
    width,
    height: 8,
    links: [
      {
        title: `${kind.title} of \${__field.labels.tier}`,
        url: `/d/${kind.uid}?var-tier=\${__field.labels.tier}&\${__url_time_range}`,
      },
    ],
  });
}

function addTierRow(d: dashboard.DashboardBuilder, kind: TierKind, base: number): void {
  const link = [
    { title: kind.title, url: `/d/${kind.uid}?\${tier:queryparam}&\${__url_time_range}` },
  ];
  d.withRow(row(base, kind.title))
    .withPanel(
      stat({
        id: base + 1,
        title: 'Members up',
        description: `Members are ${kind.membersRule}, seen in the range. up: those whose latest collection in the last 5 minutes of the range succeeded (halo_source_up = 1 for at least one of their sources of the kind); total: all members seen.`,
        unit: 'short',
        width: 4,
        height: 8,
        targets: membersSql(kind.members),
        links: link,
      }),
    )
    .withPanel(
      stat({
        id: base + 2,
        title: 'Redundancy',
        description:
          'From the members up and seen: redundant (2+ up, all up), redundant, degraded (2+ up, some down), single point of failure (1 up of several), no redundancy (1 member only), down (none up), no members.',
        unit: 'short',
        width: 4,
        height: 8,
        background: true,
        valueText: REDUNDANCY,
        targets: redundancySql(kind.members),
        links: link,
      }),
    )
    .withPanel(graph(kind, kind.throughput, base + 3, 8))
    .withPanel(graph(kind, kind.errors, base + 4, 8))
    .withPanel(graph(kind, kind.latency, base + 5, 12))
    .withPanel(graph(kind, kind.saturation, base + 6, 12));
}

export function overviewDashboard(): dashboard.DashboardBuilder {
  const d = haloDashboard('halo-overview', 'Halo / HA stack overview', ['overview'])
    .withVariable(tierVariable())
    .link(dashboardLink('Hosts', 'halo-hosts'))
    .link(dashboardLink('Containers', 'halo-containers'))
    .link(dashboardLink('Logs', 'halo-logs'))
    .link(dashboardLink('SLOs', 'halo-slos'))
    .withRow(row(1, 'Alerts and SLOs'))
    .withPanel(firingCount())
    .withPanel(firingTable())
    .withPanel(sloSummary());
  TIER_KINDS.forEach((kind, i) => addTierRow(d, kind, (i + 1) * 100));
  return d;
}
