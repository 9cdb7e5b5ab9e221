// Measures an SLO's SLI over several windows at once, per SLO instance: good and total events
// (or good and total time slices for probes), read from raw samples, 1-minute and 1-hour rollups
// (see ../query/segments.ts) or the logs table, with exclusion windows cut out.

import { PROMOTED_LABELS, SEVERITIES } from '../../core/conventions.ts';
import { ident, join, param, sql, type BoundQuery } from '../../core/store/sql.ts';
import type { Store } from '../../core/store/store.ts';
import { labelValue, matcherCondition, selectorCondition, seriesOf } from '../query/selector.ts';
import {
  DEFAULT_POLICY,
  segmentsOf,
  type Segment,
  type SegmentPolicy,
  type Source,
} from '../query/segments.ts';
import { excludedIntervals, type Interval } from './exclusions.ts';
import type { LogMatcher, Selector, Slo } from './model.ts';

/** A window to measure: [from, to), and its nominal length (which picks the tables read). */
export interface MeasureWindow {
  from: number;
  to: number;
  lengthMs: number;
}

/** Per window, in the order asked: good and total events (or slices). */
export interface SliCounts {
  good: number[];
  total: number[];
}

const NO_INSTANCE = '';

const SOURCE_ID: Record<Source, number> = { raw: 0, minute: 1, hour: 2 };

function at(ms: number): BoundQuery {
  return sql`${param(new Date(ms).toISOString().replace('T', ' ').replace('Z', ''), "DateTime64(3, 'UTC')")}`;
}

function rangeCondition(column: string, from: number, to: number): BoundQuery {
  const c = { text: column, params: {} };
  return sql`(${c} >= ${at(from)} AND ${c} < ${at(to)})`;
}

function any(conditions: BoundQuery[]): BoundQuery {
  return conditions.length === 0 ? sql`0` : sql`(${join(conditions, ' OR ')})`;
}

/** How the windows are read: each window's segments, and the excluded time to leave out. */
export interface Layout {
  segments: Segment[][];
  /** Excluded intervals (ms) over all the windows; rows in them are left out. */
  holes: Interval[];
}

/**
 * Each window's segments. With exclusions, hour rollups are not used (an excluded stretch may
 * cover part of an hour) and rows inside an exclusion are left out row by row: a minute bucket
 * is left out when any of it is excluded (exact for exclusions on whole minutes, as cron and
 * day-and-time exclusions are).
 */
export function windowSegments(
  slo: Slo,
  windows: readonly MeasureWindow[],
  policy: SegmentPolicy,
): Layout {
  const from = Math.min(...windows.map((w) => w.from));
  const to = Math.max(...windows.map((w) => w.to));
  const holes = excludedIntervals(slo.exclusions, from, to);
  const used = holes.length === 0 ? policy : { ...policy, hourFromMs: Infinity };
  return {
    segments: windows.map((w) => segmentsOf(w.from, w.to, w.lengthMs, used)),
    holes,
  };
}

const BUCKET_MS: Record<Source, number> = { raw: 0, minute: 60_000, hour: 3_600_000 };

/** Rows of a source that lie in no exclusion (true when there are none). */
function outsideHoles(source: Source, holes: readonly Interval[], column = 'ts'): BoundQuery {
  if (holes.length === 0) return sql`1`;
  const starts = param(
    holes.map((h) => h.from),
    'Array(Int64)',
  );
  const ends = param(
    holes.map((h) => h.to),
    'Array(Int64)',
  );
  const c = { text: column, params: {} };
  if (source === 'raw') {
    return sql`NOT arrayExists((a, b) -> toUnixTimestamp64Milli(toDateTime64(${c}, 3, 'UTC')) >= a AND toUnixTimestamp64Milli(toDateTime64(${c}, 3, 'UTC')) < b, ${starts}, ${ends})`;
  }
  const width = param(BUCKET_MS[source], 'Int64');
  return sql`NOT arrayExists((a, b) -> toInt64(toUnixTimestamp(${c})) * 1000 < b AND toInt64(toUnixTimestamp(${c})) * 1000 + ${width} > a, ${starts}, ${ends})`;
}

/** The condition that a row of the union (columns src, ts) falls in a window's segments. */
function inWindow(segments: readonly Segment[]): BoundQuery {
  return any(
    segments.map(
      (s) => sql`(d.src = ${SOURCE_ID[s.source]} AND ${rangeCondition('d.ts', s.from, s.to)})`,
    ),
  );
}

interface Columns {
  value: string;
  count: string;
}

const SOURCES: Record<Source, { key: 'samples' | 'samples1m' | 'samples1h'; columns: Columns }> = {
  raw: { key: 'samples', columns: { value: 'value', count: '1' } },
  minute: { key: 'samples1m', columns: { value: 'value_sum', count: 'value_count' } },
  hour: { key: 'samples1h', columns: { value: 'value_sum', count: 'value_count' } },
};

/** Rows (src, fingerprint, ts, v, c) of the metrics over every window's segments. */
function dataUnion(store: Store, metrics: readonly string[], layout: Layout): BoundQuery {
  const branches: BoundQuery[] = [];
  for (const source of ['raw', 'minute', 'hour'] as const) {
    const ranges = layout.segments.flat().filter((s) => s.source === source);
    if (ranges.length === 0) continue;
    const { key, columns } = SOURCES[source];
    const v = { text: columns.value, params: {} };
    const c = { text: columns.count, params: {} };
    branches.push(
      sql`SELECT ${SOURCE_ID[source]} AS src, fingerprint, toDateTime64(ts, 3, 'UTC') AS ts, ${v} AS v, toFloat64(${c}) AS c
        FROM ${ident(store.table(key))}
        WHERE name IN ${[...metrics]} AND ${any(ranges.map((r) => rangeCondition('ts', r.from, r.to)))}
          AND ${outsideHoles(source, layout.holes)}`,
    );
  }
  return join(branches, ' UNION ALL ');
}

/**
 * Per fingerprint, the sum of the values in each window: each table sums only its own segments
 * of each window, grouped by fingerprint where it is read, and the tables' sums are added.
 */
export interface SeriesKeys {
  tiers: ReadonlySet<string>;
  hosts: ReadonlySet<string>;
  services: ReadonlySet<string>;
  fingerprints: ReadonlySet<bigint>;
}

export function windowSums(
  store: Store,
  metrics: readonly string[],
  layout: Layout,
  keys: SeriesKeys,
): BoundQuery {
  const branches: BoundQuery[] = [];
  for (const source of ['raw', 'minute', 'hour'] as const) {
    const perWindow = layout.segments.map((segments) =>
      segments.filter((s) => s.source === source),
    );
    const ranges = perWindow.flat();
    if (ranges.length === 0) continue;
    const { key, columns } = SOURCES[source];
    const v = { text: columns.value, params: {} };
    const sums = perWindow.map((segments) =>
      segments.length === 0
        ? sql`toFloat64(0)`
        : sql`sumIf(${v}, ${any(segments.map((r) => rangeCondition('ts', r.from, r.to)))})`,
    );
    branches.push(
      // Every column of the sort key, so the primary index finds the series rather than a scan.
      sql`SELECT fingerprint, ${arrayOf(sums)} AS sums FROM ${ident(store.table(key))}
        WHERE name IN ${[...metrics]} AND tier IN ${[...keys.tiers]} AND host IN ${[...keys.hosts]}
          AND service IN ${[...keys.services]}
          AND fingerprint IN ${param([...keys.fingerprints], 'Array(UInt64)')}
          AND ${any(ranges.map((r) => rangeCondition('ts', r.from, r.to)))}
          AND ${outsideHoles(source, layout.holes)}
        GROUP BY fingerprint`,
    );
  }
  return sql`SELECT toString(fingerprint) AS fp, sumForEach(sums) AS sums
    FROM (${join(branches, ' UNION ALL ')}) GROUP BY fingerprint`;
}

/** Series of the SLI with their instance and role (total, and good or bad). */
function seriesRoles(
  store: Store,
  slo: Slo,
  total: BoundQuery,
  part: BoundQuery,
  metrics: readonly string[],
): BoundQuery {
  const instance = slo.groupBy ? labelValue(slo.groupBy) : sql`${NO_INSTANCE}`;
  return sql`SELECT fingerprint, ${instance} AS instance, ${total} AS is_total, ${part} AS is_part
    FROM (${seriesOf(store.table('series'), metrics)}) WHERE is_total OR is_part`;
}

export function arrayOf(items: BoundQuery[]): BoundQuery {
  return sql`[${join(items, ', ')}]`;
}

/** Event counts of ratio and latency SLIs. */
function eventsQuery(
  store: Store,
  slo: Slo,
  windows: readonly MeasureWindow[],
  total: BoundQuery,
  part: BoundQuery,
  metrics: readonly string[],
  policy: SegmentPolicy,
  requirePart = false,
): BoundQuery | undefined {
  const layout = windowSegments(slo, windows, policy);
  if (layout.segments.every((s) => s.length === 0)) return undefined;
  const conds = layout.segments.map(inWindow);
  return sql`SELECT fp.instance AS instance,
      ${arrayOf(conds.map((w) => sql`sumIf(d.v, fp.is_part AND ${w})`))} AS part,
      ${arrayOf(conds.map((w) => sql`sumIf(d.v, fp.is_total AND ${w})`))} AS total
    FROM (${dataUnion(store, metrics, layout)}) AS d
    INNER JOIN (${seriesRoles(store, slo, total, part, metrics)}) AS fp ON d.fingerprint = fp.fingerprint
    GROUP BY instance
    HAVING arrayExists((n) -> n > 0, total)${requirePart ? sql` AND max(fp.is_part) = 1` : sql``}`;
}

/** Good and total slices of a probe SLI: a slice is good when its mean value passes. */
function slicesQuery(
  store: Store,
  slo: Slo & { sli: { kind: 'probe' } },
  windows: readonly MeasureWindow[],
): BoundQuery | undefined {
  const { sli } = slo;
  // Slices are built from minutes only when they are whole minutes; never from hours.
  const policy: SegmentPolicy = {
    minuteFromMs: sli.sliceMs % 60_000 === 0 ? DEFAULT_POLICY.minuteFromMs : Infinity,
    hourFromMs: Infinity,
  };
  const layout = windowSegments(slo, windows, policy);
  if (layout.segments.every((s) => s.length === 0)) return undefined;
  const conds = layout.segments.map(inWindow);
  const selector: Selector = { metric: sli.metric, matchers: sli.matchers };
  const cond = selectorCondition(selector);
  const op = { text: sli.goodWhen.op === '==' ? '=' : sli.goodWhen.op, params: {} };
  const seconds = Math.max(1, Math.round(sli.sliceMs / 1000));
  const perWindow = conds.map((w, i) => ({
    sum: sql`sumIf(d.v, ${w}) AS s${{ text: String(i), params: {} }}`,
    count: sql`sumIf(d.c, ${w}) AS n${{ text: String(i), params: {} }}`,
  }));
  const good = conds.map((_, i) => {
    const n = { text: `n${i}`, params: {} };
    const s = { text: `s${i}`, params: {} };
    return sql`countIf(${n} > 0 AND ${s} / ${n} ${op} ${sli.goodWhen.value})`;
  });
  const total = conds.map((_, i) => sql`countIf(${{ text: `n${i}`, params: {} }} > 0)`);
  return sql`SELECT instance, ${arrayOf(good)} AS part, ${arrayOf(total)} AS total FROM (
      SELECT fp.instance AS instance,
        toStartOfInterval(d.ts, toIntervalSecond(${param(seconds, 'UInt32')})) AS slice,
        ${join(
          perWindow.flatMap((w) => [w.sum, w.count]),
          ', ',
        )}
      FROM (${dataUnion(store, [sli.metric], layout)}) AS d
      INNER JOIN (${seriesRoles(store, slo, cond, cond, [sli.metric])}) AS fp ON d.fingerprint = fp.fingerprint
      GROUP BY instance, slice)
    GROUP BY instance
    HAVING arrayExists((n) -> n > 0, total)`;
}

/** A field of a logs row: tier, host and service are columns, the rest attributes. */
function logField(label: string): BoundQuery {
  return (PROMOTED_LABELS as readonly string[]).includes(label)
    ? { text: label, params: {} }
    : sql`attributes[${label}]`;
}

/** A log matcher as a condition on a logs row. Severity means that severity or above. */
function logCondition(m: LogMatcher): BoundQuery {
  const parts: BoundQuery[] = [];
  if (m.service !== undefined) parts.push(sql`service = ${m.service}`);
  if (m.severity !== undefined) {
    parts.push(sql`severity IN ${[...SEVERITIES.slice(SEVERITIES.indexOf(m.severity))]}`);
  }
  for (const a of m.attributes) parts.push(matcherCondition(a, logField(a.label)));
  if (m.bodyContains !== undefined)
    parts.push(sql`positionCaseInsensitive(body, ${m.bodyContains}) > 0`);
  return parts.length === 0 ? sql`1` : sql`(${join(parts, ' AND ')})`;
}

function logsQuery(
  store: Store,
  slo: Slo & { sli: { kind: 'log_ratio' } },
  windows: readonly MeasureWindow[],
): BoundQuery | undefined {
  const { sli } = slo;
  const { segments, holes } = windowSegments(slo, windows, {
    minuteFromMs: Infinity,
    hourFromMs: Infinity,
  });
  if (segments.every((s) => s.length === 0)) return undefined;
  const inRanges = (s: readonly Segment[]) =>
    any(s.map((seg) => rangeCondition('ts', seg.from, seg.to)));
  const total = logCondition(sli.total);
  const part = sli.good ? logCondition(sli.good) : logCondition(sli.bad!);
  const group = slo.groupBy ? logField(slo.groupBy) : sql`${NO_INSTANCE}`;
  return sql`SELECT ${group} AS instance,
      ${arrayOf(segments.map((s) => sql`countIf(${total} AND ${part} AND ${inRanges(s)})`))} AS part,
      ${arrayOf(segments.map((s) => sql`countIf(${total} AND ${inRanges(s)})`))} AS total
    FROM ${ident(store.table('logs'))}
    WHERE ${inRanges(segments.flat())} AND ${outsideHoles('raw', holes)}
    GROUP BY instance
    HAVING arrayExists((n) -> n > 0, total)`;
}

/** The query that measures the SLO over the windows, or undefined when nothing is to be read. */
export function sliQuery(
  store: Store,
  slo: Slo,
  windows: readonly MeasureWindow[],
  policy: SegmentPolicy = DEFAULT_POLICY,
): { query: BoundQuery; partIsGood: boolean } | undefined {
  const { sli } = slo;
  switch (sli.kind) {
    case 'ratio': {
      const part = sli.good ?? sli.bad!;
      const metrics = [...new Set([sli.total.metric, part.metric])];
      const query = eventsQuery(
        store,
        slo,
        windows,
        selectorCondition(sli.total),
        selectorCondition(part),
        metrics,
        policy,
      );
      return query && { query, partIsGood: sli.good !== undefined };
    }
    case 'latency': {
      const bucket = sli.metric.endsWith('_bucket') ? sli.metric : `${sli.metric}_bucket`;
      const base = selectorCondition({ metric: bucket, matchers: sli.matchers });
      const le = labelValue('le');
      // Buckets are matched by value: "0.5", "5e-01" and "0.50" are the same bound.
      const query = eventsQuery(
        store,
        slo,
        windows,
        sql`${base} AND ${le} = '+Inf'`,
        sql`${base} AND abs(toFloat64OrNull(${le}) - ${sli.thresholdSeconds}) <= 1e-9 * ${sli.thresholdSeconds}`,
        [bucket],
        policy,
        // A threshold that is no bucket's bound cannot be measured: nothing, rather than all bad.
        true,
      );
      return query && { query, partIsGood: true };
    }
    case 'probe': {
      const query = slicesQuery(store, slo as Slo & { sli: { kind: 'probe' } }, windows);
      return query && { query, partIsGood: true };
    }
    case 'log_ratio': {
      const query = logsQuery(store, slo as Slo & { sli: { kind: 'log_ratio' } }, windows);
      return query && { query, partIsGood: sli.good !== undefined };
    }
  }
}

/** Good and total per instance and window. An SLO with no data has no instance. */
export async function measureSli(
  store: Store,
  slo: Slo,
  windows: readonly MeasureWindow[],
  policy: SegmentPolicy = DEFAULT_POLICY,
): Promise<Map<string, SliCounts>> {
  const out = new Map<string, SliCounts>();
  const built = sliQuery(store, slo, windows, policy);
  if (!built) return out;
  const rows = await store.query<{ instance: string; part: number[]; total: number[] }>(
    built.query,
  );
  for (const row of rows) {
    const total = row.total.map(Number);
    const part = row.part.map(Number);
    const good = built.partIsGood ? part : part.map((bad, i) => (total[i] ?? 0) - bad);
    out.set(row.instance, { good, total });
  }
  return out;
}
