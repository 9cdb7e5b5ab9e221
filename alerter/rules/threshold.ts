// Threshold rules: a metric aggregated over a window (per series or label group), or a rule's own query, against a value.

import { formatTimestamp, param, sql, type BoundQuery } from '../../core/store/sql.ts';
import type { Store } from '../../core/store/store.ts';
import { labelValue } from '../query/selector.ts';
import { segmentsOf } from '../query/segments.ts';
import { code, labelArray, labelsOf, seriesQuery, summaries } from './data.ts';
import type { Aggregation, Comparison, Instance, ThresholdCondition } from './model.ts';

const OPERATOR: Record<Comparison, string> = {
  '>': '>',
  '>=': '>=',
  '<': '<',
  '<=': '<=',
  '==': '=',
  '!=': '!=',
};

/** The aggregation over the summary rows `d` of a group (see data.ts summaries). */
function aggregate(aggregation: Aggregation, overMs: number): BoundQuery {
  switch (aggregation) {
    case 'avg':
      return sql`sum(d.s) / sum(d.c)`;
    case 'sum':
    case 'increase':
      return sql`sum(d.s)`;
    case 'rate':
      return sql`sum(d.s) / ${param(overMs / 1000, 'Float64')}`;
    case 'count':
      return sql`sum(d.c)`;
    case 'min':
      return sql`min(d.mn)`;
    case 'max':
      return sql`max(d.mx)`;
    case 'last':
      return sql`argMax(d.lv, d.ord)`;
  }
}

function passes(c: ThresholdCondition): BoundQuery {
  return sql`${code(OPERATOR[c.op])} ${param(c.value, 'Float64')}`;
}

/** The query of a metric threshold, or undefined when there is nothing to read. */
export function metricThresholdQuery(
  store: Store,
  c: ThresholdCondition,
  at: number,
): BoundQuery | undefined {
  const q = c.query;
  if (q.kind !== 'metric') throw new Error('not a metric threshold');
  const from = at - c.overMs;
  const selection = { metric: q.metric, matchers: q.matchers };
  const data = summaries(store, selection, [
    { id: 0, segments: segmentsOf(from, at, c.overMs), values: true },
  ]);
  if (!data) return undefined;
  const value = aggregate(q.aggregation, c.overMs);
  if (q.by) {
    const series = seriesQuery(
      store,
      selection,
      from,
      sql`${labelArray(q.by.map(labelValue))} AS group_key`,
    );
    return sql`SELECT fp.group_key AS group_key, ${value} AS value
      FROM (${data}) AS d INNER JOIN (${series}) AS fp ON d.fingerprint = fp.fingerprint
      GROUP BY fp.group_key
      HAVING value ${passes(c)}`;
  }
  const series = seriesQuery(store, selection, from, sql`tier, host, service, labels`);
  return sql`SELECT any(fp.tier) AS s_tier, any(fp.host) AS s_host, any(fp.service) AS s_service,
      any(fp.labels) AS s_labels, ${value} AS value
    FROM (${data}) AS d INNER JOIN (${series}) AS fp ON d.fingerprint = fp.fingerprint
    GROUP BY d.fingerprint
    HAVING value ${passes(c)}`;
}

interface GroupRow {
  group_key: string[];
  value: number | null;
}
interface SeriesRow {
  s_tier: string;
  s_host: string;
  s_service: string;
  s_labels: Record<string, string>;
  value: number | null;
}

async function metricThreshold(
  store: Store,
  c: ThresholdCondition,
  at: number,
): Promise<Instance[]> {
  const q = c.query;
  const query = metricThresholdQuery(store, c, at);
  if (!query || q.kind !== 'metric') return [];
  // A NaN or infinite value comes back as null: it is no measurement to alert on.
  if (q.by) {
    const rows = await store.query<GroupRow>(query);
    return rows
      .filter((row) => row.value !== null)
      .map((row) => ({ labels: labelsOf(q.by!, row.group_key), value: Number(row.value) }));
  }
  const rows = await store.query<SeriesRow>(query);
  return rows
    .filter((row) => row.value !== null)
    .map((row) => ({
      labels: labelsOf(
        ['tier', 'host', 'service', ...Object.keys(row.s_labels)],
        [row.s_tier, row.s_host, row.s_service, ...Object.values(row.s_labels)],
      ),
      value: Number(row.value),
    }));
}

/**
 * The query of an SQL threshold: the rule's own SELECT, filtered on its `value` column. Its
 * {at:DateTime64(3)} and {from:DateTime64(3)} are bound here; it runs with the UTC time zone.
 */
export function sqlThresholdQuery(c: ThresholdCondition, at: number): BoundQuery {
  const q = c.query;
  if (q.kind !== 'sql') throw new Error('not an SQL threshold');
  const bound = sql`SELECT * FROM (${code(q.sql)}) AS rule_query WHERE rule_query.value ${passes(c)}`;
  const time = (ms: number) => formatTimestamp(new Date(ms));
  return { text: bound.text, params: { ...bound.params, at: time(at), from: time(at - c.overMs) } };
}

function labelText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

async function sqlThreshold(store: Store, c: ThresholdCondition, at: number): Promise<Instance[]> {
  // Read only: a rule's query may read anything but change nothing.
  const rows = await store.query<Record<string, unknown>>(sqlThresholdQuery(c, at), {
    session_timezone: 'UTC',
    readonly: '2',
  });
  const out: Instance[] = [];
  for (const row of rows) {
    if (row['value'] === null || row['value'] === undefined) continue;
    const names = Object.keys(row).filter((key) => key !== 'value');
    out.push({
      labels: labelsOf(
        names,
        names.map((name) => labelText(row[name])),
      ),
      value: Number(row['value']),
    });
  }
  return out;
}

/** The instances of a threshold rule at `at`: every group whose value passes the comparison. */
export function evaluateThreshold(
  store: Store,
  c: ThresholdCondition,
  at: number,
): Promise<Instance[]> {
  return c.query.kind === 'metric' ? metricThreshold(store, c, at) : sqlThreshold(store, c, at);
}
