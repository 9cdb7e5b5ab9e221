// Absence rules: a host, tier or agent source heard from within the lookback but silent for silent_for; value = seconds silent.

import { ident, join, sql, type BoundQuery } from '../../core/store/sql.ts';
import type { Store } from '../../core/store/store.ts';
import { labelValue } from '../query/selector.ts';
import { segmentsOf } from '../query/segments.ts';
import {
  BUCKET_MS,
  columnFilter,
  inRanges,
  labelArray,
  labelsOf,
  seriesQuery,
  summaries,
  type Selection,
} from './data.ts';
import type { AbsenceCondition, AbsenceScope, Instance } from './model.ts';

/** The labels that name one instance of each scope; the last one must be set. */
const SCOPE_LABELS: Record<AbsenceScope, string[]> = {
  host: ['tier', 'host'],
  tier: ['tier'],
  source: ['tier', 'host', 'source'],
};

const OLD = 0;
const RECENT = 1;

interface SilentRow {
  group_key: string[];
  last_ms: string;
  last_src: number;
}

function scopeSeries(store: Store, c: AbsenceCondition, since: number): BoundQuery {
  const labels = SCOPE_LABELS[c.scope];
  const main = labelValue(labels[labels.length - 1]!);
  return seriesQuery(
    store,
    { matchers: c.matchers },
    since,
    sql`${labelArray(labels.map(labelValue))} AS group_key`,
    sql`${main} != ''`,
  );
}

/** Instances that went quiet, with the last time each was heard of (exact, or a bucket start). */
export function silentQuery(store: Store, c: AbsenceCondition, at: number): BoundQuery {
  const quietFrom = at - c.silentForMs;
  const from = at - c.lookbackMs;
  const data = summaries(store, { matchers: c.matchers }, [
    { id: OLD, segments: segmentsOf(from, quietFrom, c.lookbackMs), values: false },
    { id: RECENT, segments: segmentsOf(quietFrom, at, c.silentForMs), values: false },
  ])!;
  return sql`SELECT fp.group_key AS group_key,
      toUnixTimestamp64Milli(maxIf(d.ord, d.part = ${OLD})) AS last_ms,
      argMaxIf(d.src, d.ord, d.part = ${OLD}) AS last_src
    FROM (${data}) AS d INNER JOIN (${scopeSeries(store, c, from)}) AS fp
      ON d.fingerprint = fp.fingerprint
    GROUP BY fp.group_key
    HAVING countIf(d.part = ${OLD}) > 0 AND countIf(d.part = ${RECENT}) = 0`;
}

/**
 * For instances last heard of in a rollup bucket: the exact time of their last sample, from the
 * raw samples of that bucket (when raw samples of it are still kept).
 */
async function lastSamples(
  store: Store,
  c: AbsenceCondition,
  at: number,
  buckets: ReadonlyArray<{ key: string[]; from: number; to: number }>,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (buckets.length === 0) return out;
  const selection: Selection = { matchers: c.matchers };
  const each = buckets.map((b) => sql`(fp.group_key = ${b.key} AND ${inRanges('d.ts', [b])})`);
  const rows = await store.query<{ group_key: string[]; last_ms: string }>(
    sql`SELECT fp.group_key AS group_key, toUnixTimestamp64Milli(max(d.ts)) AS last_ms
      FROM (SELECT fingerprint, ts FROM ${ident(store.table('samples'))}
        WHERE ${columnFilter(selection)} AND ${inRanges('ts', buckets)}) AS d
      INNER JOIN (${scopeSeries(store, c, at - c.lookbackMs)}) AS fp
        ON d.fingerprint = fp.fingerprint
      WHERE ${join(each, ' OR ')}
      GROUP BY fp.group_key`,
  );
  for (const row of rows) out.set(JSON.stringify(row.group_key), Number(row.last_ms));
  return out;
}

/** The instances of an absence rule at `at`. */
export async function evaluateAbsence(
  store: Store,
  c: AbsenceCondition,
  at: number,
): Promise<Instance[]> {
  const rows = await store.query<SilentRow>(silentQuery(store, c, at));
  const buckets = rows
    .filter((row) => Number(row.last_src) !== 0)
    .map((row) => {
      const from = Number(row.last_ms);
      return { key: row.group_key, from, to: from + (BUCKET_MS[Number(row.last_src)] ?? 0) };
    });
  const exact = await lastSamples(store, c, at, buckets);
  const labels = SCOPE_LABELS[c.scope];
  return rows.map((row) => {
    const last = exact.get(JSON.stringify(row.group_key)) ?? Number(row.last_ms);
    return { labels: labelsOf(labels, row.group_key), value: (at - last) / 1000 };
  });
}
