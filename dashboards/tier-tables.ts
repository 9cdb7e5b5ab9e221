// Table SQL and table columns shared by the tier dashboards (lb, web, cache, db): current state
// from the last minutes of raw samples, totals and quantiles over the range, links and mappings.

import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { MappingType } from '@grafana/grafana-foundation-sdk/dashboard';
import type { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { TABLES } from '../core/conventions.ts';
import { table } from './common.ts';
import { seriesSql, type MetricSelector } from './metric-sql.ts';
import { quoteLiteral } from './macros.ts';

/** Seconds of the panel's range, never 0: a rate over the range is a total over this. */
export const RANGE_SECONDS = 'greatest(toUInt32($__toTime - $__fromTime), 1)';

/**
 * Raw samples of the last five minutes before the range's end: "current state" reads only these,
 * so a 24-hour range costs the same as a 30-minute one.
 */
export function recentSamples(names: readonly string[]): string {
  return (
    `${table(TABLES.samples)}\n` +
    `WHERE name IN (${names.map(quoteLiteral).join(', ')})\n` +
    `  AND tier IN (\${tier:singlequote}) AND host IN (\${host:singlequote})\n` +
    `  AND ts >= $__toTime - INTERVAL 5 MINUTE AND ts <= $__toTime`
  );
}

/**
 * Per group, the sum over the range of the buckets of `seriesSql` increases, one row a group:
 * the columns of `by` and `v`. Reads raw samples or a rollup as `seriesSql` does.
 */
export function rangeIncrease(selector: MetricSelector, by: readonly string[]): string {
  const keys = by.join(', ');
  return (
    `SELECT ${keys}, sum(value) AS v FROM (\n` +
    `${seriesSql({ ...selector, over: 'increase', by })}\n) GROUP BY ${keys}`
  );
}

/**
 * Histogram quantiles over the whole range, as Prometheus's histogram_quantile (see quantileSql
 * in metric-sql.ts): the `_bucket` increases of the range added per `le`, then the first bucket
 * whose cumulative count reaches the rank, linear interpolation inside it.
 */
export function rangeQuantileSql(
  selector: MetricSelector,
  by: readonly string[],
  quantiles: Readonly<Record<string, number>>,
): string {
  const lead = by.map((k) => `${k}, `).join('');
  const groupBy = by.length > 0 ? `\n    GROUP BY ${by.join(', ')}` : '';
  const columns = Object.entries(quantiles).map(([name, q]) => `${quantileExpr(q)} AS ${name}`);
  return (
    `SELECT ${[...by, ...columns].join(',\n  ')}\nFROM (\n` +
    `  SELECT ${lead}arrayMap(x -> x.1, b) AS bounds, arrayMap(x -> x.2, b) AS counts, counts[-1] AS total\n` +
    `  FROM (\n    SELECT ${lead}arraySort(x -> x.1, groupArray((if(le = '+Inf', inf, toFloat64OrNull(le)), v))) AS b\n` +
    `    FROM (\n${rangeIncrease(selector, [...by, 'le'])}\n    )\n    WHERE le != ''${groupBy}\n  )\n)`
  );
}

function quantileExpr(q: number): string {
  if (!(q > 0 && q < 1)) throw new Error(`tier-tables: quantile ${q} is not in (0, 1)`);
  const i = `arrayFirstIndex(c -> c >= ${q} * total, counts)`;
  const lower = `if(${i} = 1, 0, bounds[${i} - 1])`;
  const below = `if(${i} = 1, 0, counts[${i} - 1])`;
  return (
    `if(total <= 0, NULL, if(isInfinite(bounds[${i}]), if(${i} = 1, NULL, bounds[${i} - 1]), ` +
    `${lower} + (bounds[${i}] - ${lower}) * (${q} * total - ${below}) / (counts[${i}] - ${below})))`
  );
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
