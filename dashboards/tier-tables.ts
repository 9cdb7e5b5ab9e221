// Table SQL and table columns shared by the tier dashboards (lb, web, cache, db): current state
// from the last minutes of raw samples, totals and quantiles over the range, links and mappings.

import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { MappingType } from '@grafana/grafana-foundation-sdk/dashboard';
import type { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { TABLES } from '../core/conventions.ts';
import { RECENT, table, inSelection } from './common.ts';
import { rangeSql, type MetricSelector } from './metric-sql.ts';
import { quoteLiteral } from './macros.ts';

/** Raw samples of the given metrics on the selected hosts, recent ones only (see RECENT). */
export function recentWhere(names: readonly string[]): string {
  const name =
    names.length === 1
      ? `name = ${quoteLiteral(names[0]!)}`
      : `name IN (${names.map(quoteLiteral).join(', ')})`;
  return `${name} AND ${inSelection('tier', 'tier')} AND ${inSelection('host', 'host')}\n      AND ${RECENT}`;
}

/** The samples table and recentWhere, as a FROM … WHERE of current-state queries. */
export function recentSamples(names: readonly string[]): string {
  return `${table(TABLES.samples)}\nWHERE ${recentWhere(names)}`;
}

/** Per group, the increase of counters over the range, one row a group: `by` and `v`. */
export function rangeIncrease(selector: MetricSelector, by: readonly string[]): string {
  return rangeSql({ ...selector, over: 'increase', by, as: 'v' });
}

/** A host's dashboard, from a table row with `tier` and `host` columns. */
export const HOST_LINK = {
  title: 'Host dashboard',
  url: '/d/halo-hosts?var-tier=${__data.fields.tier}&var-host=${__data.fields.host}&${__url_time_range}',
};

/** A host's logs, from a table row with `tier` and `host` columns. */
export const LOGS_LINK = {
  title: 'Host logs',
  url: '/d/halo-logs?var-tier=${__data.fields.tier}&var-host=${__data.fields.host}&${__url_time_range}',
};

/** A host's dashboard, from a series grouped by tier and host (or host alone, in its tier). */
export const SERIES_HOST_LINK = {
  title: 'Host dashboard',
  url: '/d/halo-hosts?var-tier=${__field.labels.tier}&var-host=${__field.labels.host}&${__url_time_range}',
};

type Links = ReadonlyArray<{ title: string; url: string }>;

/** Links on one column only (the host's), not on every cell of the row. */
export function columnLinks(panel: TablePanelBuilder, column: string, links: Links): void {
  panel.overrideByName(column, [
    { id: 'links', value: links.map((l) => ({ ...l, targetBlank: false })) },
  ]);
}

/** A column coloured by value: text and colour per value, shown as the cell's background. */
export function statusColumn(
  panel: TablePanelBuilder,
  column: string,
  mappings: dashboard.ValueMapping[],
): void {
  panel.overrideByName(column, [
    { id: 'mappings', value: mappings },
    { id: 'custom.cellOptions', value: { type: 'color-background', mode: 'basic' } },
  ]);
}

/** 1 up, 0 down, as coloured text. */
export const UP_DOWN: dashboard.ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      '1': { text: 'UP', color: 'green', index: 0 },
      '0': { text: 'DOWN', color: 'red', index: 1 },
    },
  },
];

/** Text values by regular expression, first match wins: `[pattern, colour, text?]`. */
export function regexMappings(
  rules: ReadonlyArray<readonly [string, string, string?]>,
): dashboard.ValueMapping[] {
  return rules.map(([pattern, color, text], index) => ({
    type: MappingType.RegexToText,
    options: { pattern, result: { color, index, ...(text !== undefined ? { text } : {}) } },
  }));
}

/** A column with its own unit and colour steps (e.g. a ratio among counts). */
export function columnThresholds(
  panel: TablePanelBuilder,
  column: string,
  unit: string,
  base: string,
  steps: ReadonlyArray<readonly [number, string]>,
): void {
  panel.overrideByName(column, [
    { id: 'unit', value: unit },
    {
      id: 'thresholds',
      value: {
        mode: 'absolute',
        steps: [{ value: null, color: base }, ...steps.map(([value, color]) => ({ value, color }))],
      },
    },
    { id: 'custom.cellOptions', value: { type: 'color-text' } },
  ]);
}
