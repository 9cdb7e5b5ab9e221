// Panel SQL from two metric-sql series joined on time and labels; label filters bound to variables.
//
// metric-sql.ts divides counters (ratioSql) but not gauges: memory used over its limit must be
// divided per host (or per cgroup) before hosts combine, or a host without a limit would add
// its usage to the numerator only. Both sides still come from seriesSql, so the resolution
// (raw, minute or hourly rollup) follows the range as everywhere else.

import { quoteLiteral } from './macros.ts';
import { rangeSql, seriesSql, type Across, type SeriesQuery } from './metric-sql.ts';

export interface JoinQuery {
  /** The two sides; their `by` must hold every `on` column (a may add a label, e.g. `mode`). */
  a: SeriesQuery;
  b: SeriesQuery;
  /** Columns the sides are joined on, after `time`. */
  on: readonly string[];
  /** The value over the columns `a` and `b`: `a / b`, `1 - a / b`, `a - b`. */
  expr: string;
  /** Rows kept, e.g. `b > 0` (a limit of 0 is no limit). */
  where?: string;
  /** Output groups (a subset of a's `by`): a's `by` unless told. */
  group?: readonly string[];
  /** How the rows of one group combine: `max` (the worst member) unless told. */
  across?: Across;
  /** The value column's name: `value` unless told. */
  as?: string;
}

/** A time series of `expr` over two joined series: `time`, the groups, the value. */
export function joinSql(q: JoinQuery): string {
  return join(q, true);
}

/** `expr` over the whole range, one row per group (e.g. to rank members, see withTopMembers). */
export function joinRangeSql(q: JoinQuery): string {
  return join(q, false);
}

/**
 * The metric names of the two sides when they differ in nothing else and are joined on all they
 * group by: then one read of both, grouped by name too, gives what the join would. Taken for a
 * time series that carries a member ranking (`only`: the ranking's scalar subquery is planned half
 * as often) and for a value over the range (a ranking itself, planned into every read of the panel
 * that uses it). A plain time series reads twice: that was faster (the overview's fullest host,
 * 125 ms joined, 350 ms at once).
 */
function sameButName(q: JoinQuery, bucketed: boolean): [string, string] | undefined {
  const { metric: ma, ...a } = q.a;
  const { metric: mb, ...b } = q.b;
  if (typeof ma !== 'string' || typeof mb !== 'string' || ma === mb) return undefined;
  if (a.only === undefined && bucketed) return undefined;
  const by = a.by ?? [];
  const same =
    JSON.stringify({ ...a, as: undefined }) === JSON.stringify({ ...b, as: undefined }) &&
    by.length === q.on.length &&
    by.every((l) => q.on.includes(l)) &&
    !by.includes('name');
  return same ? [ma, mb] : undefined;
}

function join(q: JoinQuery, bucketed: boolean): string {
  const group = q.group ?? q.a.by ?? [];
  const keys = [...(bucketed ? ['time'] : []), ...group].join(', ');
  const side = bucketed ? seriesSql : rangeSql;
  const names = sameButName(q, bucketed);
  if (names) {
    // One read instead of two: each branch, its series subquery and the ranking in it are
    // planned once (a day of memory-of-limit ratios per host and cgroup: 370 to 290 ms).
    const on = [...(bucketed ? ['time'] : []), ...q.on].join(', ');
    const both = side({ ...q.a, metric: [...names], by: [...q.on, 'name'], as: 'v', scale: 1 });
    const [a, b] = names.map(quoteLiteral);
    return (
      `SELECT ${keys}, ${q.across ?? 'max'}(${q.expr}) AS ${q.as ?? 'value'}
FROM (
` +
      `  SELECT ${on}, anyIf(v, name = ${a}) AS a, anyIf(v, name = ${b}) AS b
` +
      `  FROM (
${both}
  )
  GROUP BY ${on}
` +
      `  HAVING countIf(name = ${a}) > 0 AND countIf(name = ${b}) > 0
)` +
      (q.where ? `\nWHERE ${q.where}` : '') +
      (keys ? `\nGROUP BY ${keys}` : '') +
      (bucketed ? '\nORDER BY time' : '')
    );
  }
  const a = side({ ...q.a, as: 'a', scale: 1 });
  const b = side({ ...q.b, as: 'b', scale: 1 });
  const on = [...(bucketed ? ['time'] : []), ...q.on].join(', ');
  return (
    `SELECT ${keys}, ${q.across ?? 'max'}(${q.expr}) AS ${q.as ?? 'value'}\n` +
    `FROM (\n${a}\n) AS l\nINNER JOIN (\n${b}\n) AS r USING (${on})` +
    (q.where ? `\nWHERE ${q.where}` : '') +
    (keys ? `\nGROUP BY ${keys}` : '') +
    (bucketed ? '\nORDER BY time' : '')
  );
}

export interface ShareQuery {
  /** A counter read once, grouped by `group` and `label` (`by` is set from them). */
  series: Omit<SeriesQuery, 'by' | 'over' | 'as' | 'scale'>;
  /** Output groups after `time`. */
  group: readonly string[];
  /** The label that splits the counter into the part and the rest. */
  label: string;
  /** The part, as a condition on the label's column, e.g. `mode NOT IN ('idle', 'iowait')`. */
  part: string;
  as?: string;
}

/**
 * The part of counters over all of them per bucket and group, the part told by a condition on
 * a grouped column (e.g. misses over hits + misses by `name`). For a part told by labels,
 * metric-sql's partSql reads once without joining the labels.
 */
export function shareSql(q: ShareQuery): string {
  const keys = ['time', ...q.group].join(', ');
  const inner = seriesSql({ ...q.series, over: 'increase', by: [...q.group, q.label], as: 'v' });
  return (
    `SELECT ${keys}, sumIf(v, ${q.part}) / nullIf(sum(v), 0) AS ${q.as ?? 'value'}\n` +
    `FROM (\n${inner}\n)\nGROUP BY ${keys}\nHAVING sum(v) > 0\nORDER BY time`
  );
}

/**
 * Each value of a label as a share of the counter's total per bucket (e.g. CPU time by mode), the
 * values matching `hide` left out (e.g. idle): one read of the counter.
 */
export function splitSql(q: Omit<ShareQuery, 'part' | 'group'> & { hide: string }): string {
  const inner = seriesSql({ ...q.series, over: 'increase', by: [q.label], as: 'v' });
  return (
    `SELECT time, ${q.label}, share AS ${q.as ?? 'value'} FROM (\n` +
    `  SELECT time, ${q.label}, v / nullIf(sum(v) OVER (PARTITION BY time), 0) AS share\n` +
    `  FROM (\n${inner}\n  )\n)\nWHERE NOT (${q.hide})\nORDER BY time`
  );
}
