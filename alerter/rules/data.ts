// SQL shared by the rule evaluators: instants, the series a rule selects, per-series summaries from raw samples or rollups.

import { PROMOTED_LABELS } from '../../core/conventions.ts';
import { formatTimestamp, ident, join, param, sql, type BoundQuery } from '../../core/store/sql.ts';
import type { Store } from '../../core/store/store.ts';
import type { Matcher } from '../slo/model.ts';
import { matcherCondition } from '../query/selector.ts';
import type { Segment, Source } from '../query/segments.ts';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

/**
 * A series is registered again about every hour it is written (core/store/series.ts), so its
 * last_seen may lag its last sample by that much: series are kept this much longer.
 */
const LAST_SEEN_SLACK = 2 * HOUR;

const PROMOTED = new Set<string>(PROMOTED_LABELS);

/** An instant (ms) as a DateTime64(3, 'UTC') parameter. */
export function instant(ms: number): BoundQuery {
  return sql`${param(formatTimestamp(new Date(ms)), "DateTime64(3, 'UTC')")}`;
}

/** Text written by this code, never a value: a column, an operator. */
export function code(text: string): BoundQuery {
  return { text, params: {} };
}

/** `column` in any of the [from, to) ranges. */
export function inRanges(
  column: string,
  ranges: ReadonlyArray<{ from: number; to: number }>,
): BoundQuery {
  if (ranges.length === 0) return sql`0`;
  const c = code(column);
  return sql`(${join(
    ranges.map((r) => sql`(${c} >= ${instant(r.from)} AND ${c} < ${instant(r.to)})`),
    ' OR ',
  )})`;
}

/** What a rule reads: one metric or every metric, and label matchers. */
export interface Selection {
  metric?: string;
  matchers: readonly Matcher[];
}

/**
 * The metric and the matchers on tier, host and service as a condition on any table with those
 * columns (samples, rollups, series; qualified by `table` when given): it narrows the scan
 * before the join with series.
 */
export function columnFilter(selection: Selection, table = ''): BoundQuery {
  const column = (name: string) => code(table === '' ? name : `${table}.${name}`);
  const parts = selection.matchers
    .filter((m) => PROMOTED.has(m.label))
    .map((m) => matcherCondition(m, column(m.label)));
  if (selection.metric !== undefined) {
    parts.unshift(sql`${column('name')} = ${selection.metric}`);
  }
  return parts.length === 0 ? sql`1` : join(parts, ' AND ');
}

/**
 * One row per selected series seen since `since`: its fingerprint and `columns`, which may use
 * name, tier, host, service and labels. `where` adds a condition on the same columns.
 */
export function seriesQuery(
  store: Store,
  selection: Selection,
  since: number,
  columns: BoundQuery,
  where: BoundQuery = sql`1`,
): BoundQuery {
  const matchers = selection.matchers.map((m) => matcherCondition(m));
  return sql`SELECT fingerprint, ${columns} FROM (
      SELECT fingerprint, any(name) AS name, any(tier) AS tier, any(host) AS host,
        any(service) AS service, any(labels) AS labels
      FROM ${ident(store.table('series'))} AS s
      WHERE ${columnFilter(selection, 's')}
      GROUP BY fingerprint
      HAVING max(last_seen) >= ${instant(since - LAST_SEEN_SLACK)})
    WHERE ${join([...matchers, where], ' AND ')}`;
}

/** A part of the time a rule looks at, read as segments; `values` when its numbers matter. */
export interface Part {
  id: number;
  segments: readonly Segment[];
  values: boolean;
}

const SOURCE_ID: Record<Source, number> = { raw: 0, minute: 1, hour: 2 };
const SOURCE_TABLE = { raw: 'samples', minute: 'samples1m', hour: 'samples1h' } as const;
export const BUCKET_MS: Record<number, number> = { 1: MINUTE, 2: HOUR };

const SUMMARY: Record<'raw' | 'rollup', string> = {
  raw:
    'max(ts) AS ord, sum(value) AS s, toFloat64(count()) AS c, min(value) AS mn, ' +
    'max(value) AS mx, argMax(value, ts) AS lv',
  rollup:
    "toDateTime64(max(ts), 3, 'UTC') AS ord, sum(value_sum) AS s, " +
    'toFloat64(sum(value_count)) AS c, min(value_min) AS mn, max(value_max) AS mx, ' +
    'argMaxMerge(value_last) AS lv',
};
const PRESENCE: Record<'raw' | 'rollup', string> = {
  raw: 'max(ts) AS ord, toFloat64(0) AS s, toFloat64(count()) AS c, toFloat64(0) AS mn, toFloat64(0) AS mx, toFloat64(0) AS lv',
  rollup:
    "toDateTime64(max(ts), 3, 'UTC') AS ord, toFloat64(0) AS s, toFloat64(sum(value_count)) AS c, " +
    'toFloat64(0) AS mn, toFloat64(0) AS mx, toFloat64(0) AS lv',
};

/**
 * Per part, source table and series, one row (part, src, fingerprint, ord, s, c, mn, mx, lv):
 * the time of the last sample (ord; a rollup gives the start of its last bucket), the sum,
 * count, min and max of the values, and the last value. Segments are disjoint and ordered, so
 * argMax(lv, ord) over the rows of a series is its last value. Undefined when nothing is read.
 */
export function summaries(
  store: Store,
  selection: Selection,
  parts: readonly Part[],
): BoundQuery | undefined {
  const filter = columnFilter(selection);
  const branches: BoundQuery[] = [];
  for (const part of parts) {
    for (const source of ['raw', 'minute', 'hour'] as const) {
      const ranges = part.segments.filter((s) => s.source === source);
      if (ranges.length === 0) continue;
      const kind = source === 'raw' ? 'raw' : 'rollup';
      const columns = code(part.values ? SUMMARY[kind] : PRESENCE[kind]);
      branches.push(
        sql`SELECT ${part.id} AS part, ${SOURCE_ID[source]} AS src, fingerprint, ${columns}
          FROM ${ident(store.table(SOURCE_TABLE[source]))}
          WHERE ${filter} AND ${inRanges('ts', ranges)}
          GROUP BY fingerprint`,
      );
    }
  }
  return branches.length === 0 ? undefined : join(branches, '\nUNION ALL\n');
}

/** An array of label values, each as a String, for grouping. */
export function labelArray(values: readonly BoundQuery[]): BoundQuery {
  return sql`[${join(
    values.map((v) => sql`toString(${v})`),
    ', ',
  )}]::Array(String)`;
}

/** Label names zipped with their values; empty values are left out, as Prometheus does. */
export function labelsOf(
  names: readonly string[],
  values: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  names.forEach((name, i) => {
    const value = values[i];
    if (value !== undefined && value !== '') out[name] = value;
  });
  return out;
}
