// Defaults shared by every Halo dashboard: the datasource, the database name and panel sizes.

import type * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  CLICKHOUSE_DATASOURCE_TYPE,
  DEFAULT_DATASOURCE_UID,
  clickhouseQuery,
  type ClickHouseQueryBuilder,
  type ClickHouseQueryKind,
} from './clickhouse-query.ts';

/**
 * The database every panel query names, as in `halo.slo_evaluations`. Queries spell it out
 * rather than rely on the datasource's default database, because the read-only user's default
 * is not ours to choose; tests replace `halo.` with their own database.
 */
export const DATABASE = 'halo';

/** `halo.<table>`: a table of the Halo database, qualified the way panel SQL names it. */
export const table = (name: string): string => `${DATABASE}.${name}`;

/** The provisioned ClickHouse datasource, the same uid as the datasource YAML. */
export const datasource = (): common.DataSourceRef => ({
  type: CLICKHOUSE_DATASOURCE_TYPE,
  uid: DEFAULT_DATASOURCE_UID,
});

/** A target on the Halo datasource; refId A unless a panel has several. */
export const query = (
  sql: string,
  kind: ClickHouseQueryKind,
  refId = 'A',
): ClickHouseQueryBuilder =>
  clickhouseQuery(sql, kind).refId(refId).datasource(DEFAULT_DATASOURCE_UID);

/** Panel sizes on Grafana's 24-column grid. */
export const SIZE = {
  statHeight: 6,
  graphHeight: 8,
  tableHeight: 10,
  full: 24,
  half: 12,
  third: 8,
  quarter: 6,
} as const;

/** Absolute threshold steps from a base colour and ascending `[value, colour]` pairs. */
export function thresholds(
  base: string,
  steps: ReadonlyArray<readonly [number, string]>,
): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps([{ value: null, color: base }, ...steps.map(([value, color]) => ({ value, color }))]);
}

/**
 * What a variable stands for at "All" (Grafana's custom all value, put into the SQL as is): a
 * literal no selection holds, so `inSelection` reads it as "no filter" rather than a list of every
 * value, which the engine would have to plan at each mention.
 */
export const ALL_VALUE = "'__all__'";

/**
 * `column` is among the selected values of a multi-value variable that has `ALL_VALUE`; at
 * "All", true, which ClickHouse folds away before it reads.
 */
export function inSelection(column: string, variable: string): string {
  const values = `\${${variable}:singlequote}`;
  return `(${ALL_VALUE} IN (${values}) OR ${column} IN (${values}))`;
}

/** Multi-value variable filled by a ClickHouse query, with "All", refreshed with the time range. */
export function queryVariable(
  name: string,
  label: string,
  sql: string,
): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(datasource())
    .query(sql)
    .definition(sql)
    .multi(true)
    .includeAll(true)
    .allValue(ALL_VALUE)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
}

/**
 * Series seen in the panel's range: the series table's `last_seen` is refreshed about hourly,
 * so a series reporting now may show a last_seen up to two hours old.
 */
export const SEEN_IN_RANGE = `last_seen >= $__fromTime - INTERVAL 2 HOUR AND first_seen <= $__toTime`;

/**
 * "Now": raw samples of the last five minutes before the end of the range, so a current-state
 * query over a day costs what it costs over half an hour.
 */
export const RECENT = 'ts >= $__toTime - INTERVAL 5 MINUTE AND ts <= $__toTime';

/** Which series a dashboard's variables list: metric names, or a name prefix such as `redis_`. */
export interface VariableScope {
  names?: readonly string[];
  prefix?: string;
}

function scopeCondition(scope: VariableScope): string {
  const parts: string[] = [];
  if (scope.names && scope.names.length > 0) {
    parts.push(`name IN (${scope.names.map((n) => `'${n.replace(/[^\w:]/g, '')}'`).join(', ')})`);
  }
  if (scope.prefix !== undefined) {
    parts.push(`startsWith(name, '${scope.prefix.replace(/[^\w:]/g, '')}')`);
  }
  return parts.length > 0 ? `(${parts.join(' OR ')})` : '1';
}

/** `$tier`: tiers with series of the scope in the range. */
export function tierVariable(scope: VariableScope = {}): dashboard.QueryVariableBuilder {
  return queryVariable(
    'tier',
    'Tier',
    `SELECT DISTINCT tier FROM ${table('series')} WHERE ${scopeCondition(scope)} AND ${SEEN_IN_RANGE} ORDER BY tier`,
  );
}

/** `$host`: hosts of the selected tiers with series of the scope in the range. */
export function hostVariable(scope: VariableScope = {}): dashboard.QueryVariableBuilder {
  return queryVariable(
    'host',
    'Host',
    `SELECT DISTINCT host FROM ${table('series')} WHERE ${scopeCondition(scope)} AND ${inSelection('tier', 'tier')} AND ${SEEN_IN_RANGE} ORDER BY host`,
  );
}

/** `$service`: services of the selected tiers with series of the scope in the range. */
export function serviceVariable(scope: VariableScope = {}): dashboard.QueryVariableBuilder {
  return queryVariable(
    'service',
    'Service',
    `SELECT DISTINCT service FROM ${table('series')} WHERE ${scopeCondition(scope)} AND ${inSelection('tier', 'tier')} AND ${SEEN_IN_RANGE} ORDER BY service`,
  );
}
