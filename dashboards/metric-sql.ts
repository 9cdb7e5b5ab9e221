// Panel SQL over metric samples: rates, gauges, ratios and histogram quantiles, read from raw
// samples or the 1-minute, 5-minute or 1-hour rollups depending on the time range, as Grafana
// panel text.
//
// Counters are stored as per-interval deltas, so a rate is a sum of deltas over a bucket's
// seconds and an error ratio a ratio of sums. Every query has two branches, raw samples and the
// rollups (one Merge table, reading the rollup the range calls for), each guarded by a condition
// on the panel's range that ClickHouse folds to a constant: only one branch reads anything. Rollups hold no labels (the `series` table does, by fingerprint), so a
// rollup branch joins the series of the metric when a query filters or groups by a label.

import { TABLES } from '../core/conventions.ts';
import { inSelection, table } from './common.ts';
import { quoteLiteral } from './macros.ts';

/** Template variables that filter a promoted column when the dashboard defines them. */
export type Scope = 'tier' | 'host' | 'service';

export type MatchOp = '=' | '!=' | '=~' | '!~';
/**
 * A label value, an operator and a value (regular expressions match the whole value), or the
 * values of a multi-value dashboard variable: `{ variable: 'cgroup' }` is `IN (${cgroup})`.
 */
export type LabelMatch = string | { op: MatchOp; value: string } | { variable: string };

export interface MetricSelector {
  /** The metric name (or names, as in `name IN (…)`). */
  metric: string | readonly string[];
  /** Label matchers; tier, host and service are columns, the rest labels of the series. */
  match?: Readonly<Record<string, LabelMatch>>;
  /** Dashboard variables filtering the promoted columns: `host IN (${host})`. */
  scope?: readonly Scope[];
  /** A condition on promoted columns every read applies, e.g. `memberOf(['host'])`. */
  only?: string;
}

/**
 * How a series' samples in a bucket make one value: `rate` (deltas per second), `increase`
 * (sum of deltas), or a gauge's `avg`, `max`, `min` or `last` (latest value).
 */
export type Over = 'rate' | 'increase' | 'avg' | 'max' | 'min' | 'last';
/** How the series of one group combine; rates and increases always add. */
export type Across = 'sum' | 'avg' | 'max' | 'min';

/** A column or label to group by: `tier`, `host`, `service`, `name` or a label name. */
export type GroupBy = string;

/** One resolution a query can read: raw samples, or a rollup with its bucket length. */
interface Resolution {
  /** The table's name, unqualified. */
  name: string;
  /** Seconds of one stored bucket (raw samples: 1, their own interval being unknown). */
  seconds: number;
  /** Inclusive bound on the range (seconds) this resolution serves, or none for the last. */
  upTo?: number;
}

/**
 * Ranges up to 1 h read raw samples, up to 12 h the minute rollup, up to 3 days the 5-minute one
 * (a day in 288 points, as Datadog draws it), longer ones the hourly one.
 */
export const RESOLUTIONS: readonly Resolution[] = [
  { name: TABLES.samples, seconds: 1, upTo: 3600 },
  { name: TABLES.samples1m, seconds: 60, upTo: 12 * 3600 },
  { name: TABLES.samples5m, seconds: 300, upTo: 3 * 86_400 },
  { name: TABLES.samples1h, seconds: 3600 },
];

const PROMOTED = new Set(['tier', 'host', 'service', 'name']);
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RANGE = '($__toTime - $__fromTime)';

function checkLabel(label: string): string {
  if (!LABEL_NAME.test(label)) throw new Error(`metric-sql: "${label}" is not a label name`);
  return label;
}

/**
 * What one branch of a query reads: raw samples, or the rollups through the `samples_rollups`
 * Merge table, which reads the one rollup its `_table` condition names. ClickHouse plans every
 * branch of a query whether it reads or not, so the three rollups in one branch halve the
 * planning of a panel.
 */
interface Branch {
  table: string;
  raw: boolean;
  /** Seconds of one stored bucket, a constant expression of the range. */
  seconds: string;
  /** True for the ranges the branch serves, and the rollup it reads; folded to constants. */
  guard: string;
}

const [RAW, ...ROLLUPS] = RESOLUTIONS;
/** `multiIf` over the rollups by range: the first whose bound takes it, else the last. */
const byRange = (value: (r: Resolution) => string): string =>
  `multiIf(${ROLLUPS.slice(0, -1)
    .map((r) => `${RANGE} <= ${r.upTo}, ${value(r)}`)
    .join(', ')}, ${value(ROLLUPS.at(-1)!)})`;

/** The rollup a panel's range reads (past the raw samples' hour), as `_table` names it. */
export const ROLLUP_OF_RANGE = byRange((r) => quoteLiteral(r.name));

const BRANCHES: readonly Branch[] = [
  {
    table: table(RAW!.name),
    raw: true,
    seconds: String(RAW!.seconds),
    guard: `${RANGE} <= ${RAW!.upTo}`,
  },
  {
    table: table(TABLES.samplesRollups),
    raw: false,
    seconds: byRange((r) => String(r.seconds)),
    guard: `${RANGE} > ${RAW!.upTo} AND _table = ${ROLLUP_OF_RANGE}`,
  },
];

/** A label of a row: a column for the promoted ones, else the series' label map. */
function labelOf(label: string, labels: string): string {
  return PROMOTED.has(label) ? label : `${labels}[${quoteLiteral(checkLabel(label))}]`;
}

function matchCondition(value: string, match: LabelMatch): string {
  if (typeof match !== 'string' && 'variable' in match) {
    return inSelection(value, checkLabel(match.variable));
  }
  const { op, value: v } = typeof match === 'string' ? { op: '=' as const, value: match } : match;
  switch (op) {
    case '=':
      return `${value} = ${quoteLiteral(v)}`;
    case '!=':
      return `${value} != ${quoteLiteral(v)}`;
    case '=~':
      return `match(${value}, ${quoteLiteral(`^(?:${v})$`)})`;
    case '!~':
      return `NOT match(${value}, ${quoteLiteral(`^(?:${v})$`)})`;
  }
}

const names = (s: MetricSelector): readonly string[] =>
  typeof s.metric === 'string' ? [s.metric] : s.metric;

function nameCondition(s: MetricSelector): string {
  const list = names(s);
  if (list.length === 0) throw new Error('metric-sql: a selector names no metric');
  return list.length === 1
    ? `name = ${quoteLiteral(list[0]!)}`
    : `name IN (${list.map(quoteLiteral).join(', ')})`;
}

/** Conditions on the promoted columns: matchers on tier/host/service and the variables. */
function columnConditions(s: MetricSelector): string[] {
  const out = (s.scope ?? []).map((v) => inSelection(v, v));
  for (const [label, m] of Object.entries(s.match ?? {})) {
    if (PROMOTED.has(label)) out.push(matchCondition(label, m));
  }
  if (s.only !== undefined) out.push(s.only);
  return out;
}

/** Conditions on labels kept in the map, read from `labels`. */
function labelConditions(s: MetricSelector, labels: string): string[] {
  return Object.entries(s.match ?? {})
    .filter(([label]) => !PROMOTED.has(label))
    .map(([label, m]) => matchCondition(labelOf(label, labels), m));
}

/** Whether a query needs labels beyond the promoted columns. */
const needsLabels = (s: MetricSelector, extra: readonly string[]): boolean =>
  [...Object.keys(s.match ?? {}), ...extra].some((l) => !PROMOTED.has(l));

/**
 * The FROM and WHERE of one resolution. Raw samples carry their labels. Rollups hold none: a
 * rollup branch that only filters on labels keeps the fingerprints of the matching series (a
 * semi-join, no label carried); one that groups by a label is `joined`, and its `series` query
 * gives each matching fingerprint the labels used as columns (see joinedBranch).
 * `grouped` lists the labels the query groups by.
 */
function source(
  s: MetricSelector,
  index: number,
  time: string,
  grouped: readonly string[],
): { from: string; where: string; label: (l: string) => string; series?: string } {
  const res = BRANCHES[index]!;
  const joined = !res.raw && !grouped.every((l) => PROMOTED.has(l));
  const viaSeries = !res.raw && needsLabels(s, grouped);
  // With a series subquery, `only` (the top members, a scalar subquery) is applied there alone:
  // ClickHouse plans a scalar again at every mention, and the join or the semi-join drops the
  // other members' rows anyway (filesystem used per mountpoint over a day, 510 to 270 ms).
  const conditions = [
    nameCondition(s),
    `$__timeFilter(${time})`,
    ...columnConditions(viaSeries ? { ...s, only: undefined } : s),
  ];
  if (res.raw || !needsLabels(s, grouped)) {
    conditions.push(...labelConditions(s, 'labels'));
  } else if (!joined) {
    const matching = [nameCondition(s), ...columnConditions(s), ...labelConditions(s, 'labels')];
    conditions.push(
      `fingerprint IN (\n      SELECT fingerprint FROM ${table(TABLES.series)}\n      WHERE ${matching.join(' AND ')}\n    )`,
    );
  }
  const where = [res.guard, ...conditions].join('\n    AND ');
  if (!joined) return { from: res.table, where, label: (l) => labelOf(l, 'labels') };
  // Only the labels used, as columns: carrying the whole map through the join costs 2-3x.
  const used = [...new Set([...Object.keys(s.match ?? {}), ...grouped])].filter(
    (l) => !PROMOTED.has(l),
  );
  // The group's promoted columns come with the labels: the rollup side then groups by bucket and
  // fingerprint alone (a LowCardinality key there doubles its cost).
  const columns = [
    ...grouped.filter((l) => PROMOTED.has(l)).map((l) => `any(${l}) AS ${labelColumn(l)}`),
    ...used.map((l) => `any(labels)[${quoteLiteral(l)}] AS ${labelColumn(l)}`),
  ];
  const series =
    `SELECT fingerprint, ${columns.join(', ')}\n` +
    `    FROM ${table(TABLES.series)}\n` +
    `    WHERE ${[nameCondition(s), ...columnConditions(s)].join(' AND ')}\n` +
    `    GROUP BY fingerprint`;
  const labelFilter = Object.entries(s.match ?? {})
    .filter(([l]) => !PROMOTED.has(l))
    .map(([l, m]) => matchCondition(labelColumn(l), m));
  return {
    from: res.table,
    where,
    label: (l) => `s.${labelColumn(l)}`,
    series:
      labelFilter.length > 0
        ? `SELECT * FROM (${series}) WHERE ${labelFilter.join(' AND ')}`
        : series,
  };
}

/** A label (or promoted column) as the series subquery of a joined branch names it. */
const labelColumn = (l: string): string => `label_${checkLabel(l)}`;

/** The bucket of a resolution: Grafana's interval, never finer than what the table stores. */
const step = (index: number): string => `greatest($__interval_s, ${BRANCHES[index]!.seconds})`;
const bucket = (index: number): string =>
  `toStartOfInterval(${BRANCHES[index]!.raw ? 'toDateTime(ts)' : 'ts'}, INTERVAL ${step(index)} second)`;
/**
 * The bucket of a time series over data stored more finely than the metric rollups (SLO
 * evaluations every interval): Grafana's interval, never finer than the rollup the range would
 * read, so that a day is 288 points here too.
 */
export const RANGE_STEP_SECONDS = `greatest($__interval_s, multiIf(${RANGE} <= ${RAW!.upTo}, ${RAW!.seconds}, ${byRange((r) => String(r.seconds))}))`;

/** Seconds of the panel's range, never 0: a rate over the whole range is a total over this. */
export const RANGE_SECONDS = `greatest(toUInt32(${RANGE}), 1)`;

/** A series' value from its samples or rollup rows: rate, increase, or a gauge's avg/max/min. */
function overExpr(over: Over, raw: boolean, seconds: string): string {
  switch (over) {
    case 'rate':
      return `sum(${raw ? 'value' : 'value_sum'}) / ${seconds}`;
    case 'increase':
      return `sum(${raw ? 'value' : 'value_sum'})`;
    case 'avg':
      return raw ? 'avg(value)' : 'sum(value_sum) / nullIf(sum(value_count), 0)';
    case 'max':
      return `max(${raw ? 'value' : 'value_max'})`;
    case 'min':
      return `min(${raw ? 'value' : 'value_min'})`;
    case 'last':
      return raw ? 'argMax(value, ts)' : 'argMaxMerge(value_last)';
  }
}

/** Whether the groups' value is one aggregate of every row, or needs a value per series first. */
function oneLevel(over: Over, across: Across): boolean {
  if (over === 'rate' || over === 'increase') return true;
  // `last` never is: the latest value of each series first, then across them.
  return over !== 'last' && across === over;
}

interface Shape {
  over: Over;
  across: Across;
  by: readonly GroupBy[];
  /** Bucketed by the panel's interval (a time series), or one value over the range. */
  bucketed: boolean;
}

/** One resolution's rows: `time` (when bucketed), the group columns and `v`. */
function branch(s: MetricSelector, shape: Shape, index: number): string {
  const src = source(s, index, 'ts', shape.by);
  if (src.series === undefined)
    return plainBranch(shape, index, { ...src, fingerprint: 'fingerprint' });
  // Over the whole range a series' rows fold into one before its labels join (a day of minutes:
  // 1440 to 1); in buckets the join goes row by row, which measured as fast or faster.
  if (!shape.bucketed) return joinedBranch(shape, { ...src, series: src.series });
  // Every group column comes from the series side, promoted ones too: grouping the join's output
  // by the rollup's LowCardinality columns cost 2.5x (web p99 per host, 160 to 60 ms a branch).
  // The rollup's filters sit in its own subquery, where the group aliases cannot shadow them.
  return plainBranch(shape, index, {
    from:
      `(\n    SELECT * FROM ${src.from}\n    WHERE ${src.where}\n  ) AS r INNER JOIN (\n    ${src.series}\n  )` +
      ` AS s ON r.fingerprint = s.fingerprint`,
    where: '',
    label: src.label,
    fingerprint: 'r.fingerprint',
    joined: true,
  });
}

/** A branch whose rows carry what it groups by: raw samples, or a rollup joined row by row. */
function plainBranch(
  shape: Shape,
  index: number,
  src: {
    from: string;
    /** Empty when the filters are in `from`. */
    where: string;
    label: (l: string) => string;
    fingerprint: string;
    /** Every group column comes from the series side of a join (`label`), promoted ones too. */
    joined?: boolean;
  },
): string {
  const res = BRANCHES[index]!;
  const where = src.where === '' ? '' : `\n  WHERE ${src.where}`;
  const onRow = (l: string) => PROMOTED.has(l) && src.joined !== true;
  const seconds = shape.bucketed ? step(index) : RANGE_SECONDS;
  const keys = [...(shape.bucketed ? ['time'] : []), ...shape.by];
  // Without keys an aggregate returns a row even from no rows: the idle branches must not.
  const groupBy = keys.length > 0 ? `\n  GROUP BY ${keys.join(', ')}` : '\n  HAVING count() > 0';
  const time = shape.bucketed ? [`${bucket(index)} AS time`] : [];
  if (oneLevel(shape.over, shape.across)) {
    const cols = [
      ...time,
      ...shape.by.map((l) => `${src.label(l)} AS ${checkLabel(l)}`),
      `${overExpr(shape.over, res.raw, seconds)} AS v`,
    ];
    return `  SELECT ${cols.join(', ')}\n  FROM ${src.from}${where}${groupBy}`;
  }
  const inner = [
    ...time,
    // Promoted columns are the same on every row of a series: grouped by, not any() (an
    // `any(tier) AS tier` would shadow the column the WHERE filters on).
    ...shape.by.map((l) => (onRow(l) ? l : `any(${src.label(l)}) AS ${checkLabel(l)}`)),
    `${overExpr(shape.over, res.raw, seconds)} AS v1`,
  ];
  const innerKeys = [
    ...(shape.bucketed ? ['time'] : []),
    src.fingerprint,
    ...shape.by.filter(onRow),
  ];
  return (
    `  SELECT ${[...keys, `${shape.across}(v1) AS v`].join(', ')} FROM (\n` +
    `    SELECT ${inner.join(', ')}\n    FROM ${src.from}${where.replace('\n', '\n  ')}\n` +
    `    GROUP BY ${innerKeys.join(', ')}\n  )${groupBy}`
  );
}

/**
 * A rollup branch grouped by labels over the whole range: each series' rows are aggregated first
 * (per fingerprint, in partial form), then joined with the series' labels and combined per
 * group, so the join probes one row per series instead of one per stored minute.
 */
function joinedBranch(
  shape: Shape,
  src: { from: string; where: string; label: (l: string) => string; series: string },
): string {
  // Partial aggregates per series and how the groups combine them: exact for every shape.
  let partial = `${overExpr(shape.over, false, RANGE_SECONDS)} AS p`;
  let combined = `${shape.across}(p)`;
  if (shape.over === 'rate' || shape.over === 'increase') {
    partial = 'sum(value_sum) AS p';
    combined = shape.over === 'rate' ? `sum(p) / ${RANGE_SECONDS}` : 'sum(p)';
  } else if (oneLevel(shape.over, shape.across) && shape.over === 'avg') {
    partial = 'sum(value_sum) AS p, sum(value_count) AS c';
    combined = 'sum(p) / nullIf(sum(c), 0)';
  }
  const groupBy = shape.by.length > 0 ? `GROUP BY ${shape.by.join(', ')}` : 'HAVING count() > 0';
  const cols = [...shape.by.map((l) => `${src.label(l)} AS ${checkLabel(l)}`), `${combined} AS v`];
  return (
    `  SELECT ${cols.join(', ')}\n  FROM (\n` +
    `    SELECT fingerprint, ${partial}\n` +
    `    FROM ${src.from}\n    WHERE ${src.where}\n    GROUP BY fingerprint\n` +
    `  ) AS r INNER JOIN (\n    ${src.series}\n  ) AS s ON r.fingerprint = s.fingerprint\n  ${groupBy}`
  );
}

function union(s: MetricSelector, shape: Shape): string {
  return BRANCHES.map((_, i) => branch(s, shape, i)).join('\n  UNION ALL\n');
}

export interface SeriesQuery extends MetricSelector {
  over: Over;
  /** Group columns; each group is a series in the panel. */
  by?: readonly GroupBy[];
  /** How the series of one group combine, for gauges: `sum` unless told. Rates always add. */
  across?: Across;
  /** The value column's name (shown as the field name): `value` unless told. */
  as?: string;
  /** Multiplies the value (e.g. 100 for a percentage, 8 for bits). */
  scale?: number;
}

const scaled = (expr: string, scale: number | undefined): string =>
  scale === undefined || scale === 1 ? expr : `${expr} * ${scale}`;

function shapeOf(q: SeriesQuery, bucketed: boolean): Shape {
  const across = q.across ?? 'sum';
  if ((q.over === 'rate' || q.over === 'increase') && across !== 'sum') {
    throw new Error(
      `metric-sql: a ${q.over} adds across series; across ${across} is not supported`,
    );
  }
  return { over: q.over, across, by: q.by ?? [], bucketed };
}

/**
 * A time series per group: `time`, the group columns, the value. Long format: the plugin makes
 * one series of each distinct group.
 */
export function seriesSql(q: SeriesQuery): string {
  const shape = shapeOf(q, true);
  const keys = ['time', ...shape.by].join(', ');
  return (
    `SELECT ${keys}, ${scaled('v', q.scale)} AS ${checkLabel(q.as ?? 'value')}\nFROM (\n` +
    `${union(q, shape)}\n)\nORDER BY time`
  );
}

/** How many members a per-member panel draws when more are selected (see withTopMembers). */
export const TOP = 10;
/** Said in the description of a panel whose members go through withTopMembers. */
export const TOP_NOTE = ` With more than ${TOP} selected, the ${TOP} highest over the range.`;
/** The same, for a panel that shows the lowest (`lowest: true`). */
export const BOTTOM_NOTE = ` With more than ${TOP} selected, the ${TOP} lowest over the range.`;

const TOP_MEMBERS = 'top_members';
const memberKey = (by: readonly string[]): string =>
  by.length === 1 ? checkLabel(by[0]!) : `(${by.map(checkLabel).join(', ')})`;

/** The condition a selector's `only` takes to read the members withTopMembers picked. */
export function memberOf(by: readonly string[]): string {
  return `has(${TOP_MEMBERS}, ${memberKey(by)})`;
}

/**
 * A per-member panel's query for the `k` members (groups of `by`, e.g. hosts) whose value over
 * the whole range (`rank`: one row per member, e.g. from rangeSql) is highest, or lowest. Members
 * are best one column (`host`, even where rows are per tier and host): a tuple costs a third
 * more on bench/dashboards. Its
 * selectors read only them (`only: memberOf(by)`), so a fleet of 200 hosts costs its 10 busiest:
 * 10 lines rather than 200 tangled ones, and 20 times less work. The members are picked once
 * per query, and the same `rank` picks the same members for every target of a panel.
 */
export function withTopMembers(
  sql: string,
  rank: string,
  by: readonly string[],
  options: { k?: number; value?: string; lowest?: boolean } = {},
): string {
  const order = `${checkLabel(options.value ?? 'value')} ${options.lowest ? 'ASC' : 'DESC'}`;
  const keys = by.map(checkLabel).join(', ');
  return (
    `WITH (\n  SELECT groupArray(${memberKey(by)}) FROM (\n` +
    `    SELECT ${keys} FROM (\n${rank}\n    )\n    ORDER BY ${order}, ${keys}\n    LIMIT ${options.k ?? TOP}\n  )\n) AS ${TOP_MEMBERS}\n` +
    sql
  );
}

/**
 * One row per group over the whole range (a table's totals): the rate over it, the increase, or
 * a gauge's; columns `by` then the value. No time buckets: the range is read in one pass.
 */
export function rangeSql(q: SeriesQuery): string {
  const shape = shapeOf(q, false);
  const cols = [...shape.by, `${scaled('v', q.scale)} AS ${checkLabel(q.as ?? 'value')}`];
  return `SELECT ${cols.join(', ')}\nFROM (\n${union(q, shape)}\n)`;
}

/** One value over the whole range (a stat): the rate over it, the increase, or a gauge's. */
export function statSql(q: Omit<SeriesQuery, 'by'>): string {
  const shape = shapeOf(q, false);
  return `SELECT ${scaled('v', q.scale)} AS ${checkLabel(q.as ?? 'value')}\nFROM (\n${union(q, shape)}\n)`;
}

/** A part of a ratio: counters, added over the bucket. */
export type RatioPart = MetricSelector;

export interface RatioQuery {
  numerator: RatioPart;
  denominator: RatioPart;
  by?: readonly GroupBy[];
  as?: string;
  scale?: number;
}

function ratio(q: RatioQuery, bucketed: boolean): string {
  const by = q.by ?? [];
  const shape: Shape = { over: 'increase', across: 'sum', by, bucketed };
  const keys = [...(bucketed ? ['time'] : []), ...by];
  const value = scaled('sumIf(v, part = 1) / nullIf(sumIf(v, part = 0), 0)', q.scale);
  return (
    `SELECT ${[...keys, `${value} AS ${checkLabel(q.as ?? 'value')}`].join(', ')}\nFROM (\n` +
    `  SELECT 1 AS part, * FROM (\n${union(q.numerator, shape)}\n  )\n  UNION ALL\n` +
    `  SELECT 0 AS part, * FROM (\n${union(q.denominator, shape)}\n  )\n)` +
    (keys.length > 0 ? `\nGROUP BY ${keys.join(', ')}` : '\nHAVING sumIf(v, part = 0) > 0') +
    (bucketed ? '\nORDER BY time' : '')
  );
}

/** A time series of numerator/denominator (both counters) per group, e.g. 5xx over all requests. */
export function ratioSql(q: RatioQuery): string {
  return ratio(q, true);
}

/** The ratio over the whole range, one row. */
export function ratioStatSql(q: Omit<RatioQuery, 'by'>): string {
  return ratio(q, false);
}

export interface PartQuery {
  /** The counter, all of it: the denominator. */
  of: MetricSelector;
  /** The part: series matching any of these matcher sets (each set ANDed), e.g. two naming
   * conventions of one status class. */
  part: ReadonlyArray<Readonly<Record<string, LabelMatch>>>;
  /** Group columns: promoted ones only (tier, host, service, name). */
  by?: readonly GroupBy[];
  as?: string;
  scale?: number;
  /** Over the whole range only: also the counter's rate over it, as this column. */
  rateAs?: string;
}

/**
 * One resolution's part and total of a counter, from one read: raw samples test the part's
 * labels row by row, rollups test the fingerprint against the matching series (a semi-join).
 */
function partBranch(q: PartQuery, index: number, bucketed: boolean): string {
  const res = BRANCHES[index]!;
  const by = q.by ?? [];
  const src = source(q.of, index, 'ts', by);
  const value = res.raw ? 'value' : 'value_sum';
  const sets = q.part.map((m) => {
    const conditions = Object.entries(m).map(([l, match]) =>
      matchCondition(labelOf(l, 'labels'), match),
    );
    return conditions.length > 0 ? `(${conditions.join(' AND ')})` : 'true';
  });
  const matching = `(${sets.join(' OR ')})`;
  const part = res.raw
    ? matching
    : `fingerprint IN (SELECT fingerprint FROM ${table(TABLES.series)} WHERE ${[nameCondition(q.of), ...columnConditions(q.of), matching].join(' AND ')})`;
  const keys = [...(bucketed ? ['time'] : []), ...by];
  const cols = [
    ...(bucketed ? [`${bucket(index)} AS time`] : []),
    ...by.map((l) => `${l} AS ${checkLabel(l)}`),
    `sumIf(${value}, ${part}) AS p`,
    `sum(${value}) AS t`,
  ];
  const groupBy = keys.length > 0 ? `\n  GROUP BY ${keys.join(', ')}` : '\n  HAVING count() > 0';
  return `  SELECT ${cols.join(', ')}\n  FROM ${src.from}\n  WHERE ${src.where}${groupBy}`;
}

function partOf(q: PartQuery, bucketed: boolean): string {
  const by = q.by ?? [];
  for (const l of by) {
    if (!PROMOTED.has(l))
      throw new Error(
        `metric-sql: a part query groups only by tier, host, service or name, not "${l}"`,
      );
  }
  if (bucketed && q.rateAs !== undefined) throw new Error('metric-sql: rateAs is for ranges');
  const keys = [...(bucketed ? ['time'] : []), ...by];
  const value = scaled('sum(p) / nullIf(sum(t), 0)', q.scale);
  const rate =
    q.rateAs === undefined ? [] : [`sum(t) / ${RANGE_SECONDS} AS ${checkLabel(q.rateAs)}`];
  const branches = BRANCHES.map((_, i) => partBranch(q, i, bucketed)).join('\n  UNION ALL\n');
  return (
    `SELECT ${[...keys, ...rate, `${value} AS ${checkLabel(q.as ?? 'value')}`].join(', ')}\nFROM (\n${branches}\n)` +
    (keys.length > 0 ? `\nGROUP BY ${keys.join(', ')}` : '') +
    '\nHAVING sum(t) > 0' +
    (bucketed ? '\nORDER BY time' : '')
  );
}

/**
 * The part of a counter over all of it per bucket and group (e.g. 5xx under either status
 * convention over all requests), read once: where ratioSql reads the counter once per selector.
 */
export function partSql(q: PartQuery): string {
  return partOf(q, true);
}

/** The same over the whole range: one row per group (one row without groups, a stat). */
export function partRangeSql(q: PartQuery): string {
  return partOf(q, false);
}

export interface QuantileQuery extends MetricSelector {
  /** Quantiles with their column names, e.g. `{ p50: 0.5, p99: 0.99 }`. */
  quantiles: Readonly<Record<string, number>>;
  by?: readonly GroupBy[];
  scale?: number;
}

/**
 * Quantiles from a histogram's `_bucket` deltas, as Prometheus's histogram_quantile: the first
 * bucket whose cumulative count reaches the rank, linear interpolation inside it, the lower
 * bound of the first bucket 0, and the highest finite bound when the rank falls in +Inf.
 */
function quantile(q: QuantileQuery, bucketed: boolean): string {
  const by = q.by ?? [];
  const shape: Shape = { over: 'increase', across: 'sum', by: [...by, 'le'], bucketed };
  const keys = [...(bucketed ? ['time'] : []), ...by];
  const quantiles = Object.entries(q.quantiles).map(([name, value]) => {
    if (!(value > 0 && value < 1))
      throw new Error(`metric-sql: quantile ${value} is not in (0, 1)`);
    const i = `arrayFirstIndex(c -> c >= ${value} * total, counts)`;
    const lower = `if(${i} = 1, 0, bounds[${i} - 1])`;
    const below = `if(${i} = 1, 0, counts[${i} - 1])`;
    const expr =
      `if(total <= 0, NULL, if(isInfinite(bounds[${i}]), if(${i} = 1, NULL, bounds[${i} - 1]), ` +
      `${lower} + (bounds[${i}] - ${lower}) * (${value} * total - ${below}) / (counts[${i}] - ${below})))`;
    return `${scaled(expr, q.scale)} AS ${checkLabel(name)}`;
  });
  const lead = keys.map((k) => `${k}, `).join('');
  const groupBy = keys.length > 0 ? `GROUP BY ${keys.join(', ')}` : 'HAVING count() > 0';
  return (
    `SELECT ${[...keys, ...quantiles].join(',\n  ')}\nFROM (\n` +
    `  SELECT ${lead}arrayMap(x -> x.1, b) AS bounds, arrayMap(x -> x.2, b) AS counts, counts[-1] AS total\n` +
    `  FROM (\n    SELECT ${lead}arraySort(x -> x.1, groupArray((if(le = '+Inf', inf, toFloat64OrNull(le)), v))) AS b\n` +
    `    FROM (\n${union(q, shape)}\n    )\n    WHERE le != ''\n    ${groupBy}\n  )\n)` +
    (bucketed ? '\nORDER BY time' : '')
  );
}

/** Quantiles per interval and group, a time series (see `quantile`). */
export function quantileSql(q: QuantileQuery): string {
  return quantile(q, true);
}

/** Quantiles over the whole range, one row per group (a table's or a stat's). */
export function rangeQuantileSql(q: QuantileQuery): string {
  return quantile(q, false);
}
