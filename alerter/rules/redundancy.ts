// Redundancy rules: groups (a tier, a haproxy backend) with fewer healthy members than min; value = healthy members.

import { sql, type BoundQuery } from '../../core/store/sql.ts';
import type { Store } from '../../core/store/store.ts';
import { labelValue } from '../query/selector.ts';
import { segmentsOf } from '../query/segments.ts';
import { labelArray, labelsOf, seriesQuery, summaries } from './data.ts';
import type { RedundancyCondition, Instance } from './model.ts';

const SEEN = 0;
const NOW = 1;

interface MemberRow {
  group_key: string[];
  member: string;
  reporting: number | boolean;
  last: number | null;
}

/** One row per group and member seen in the lookback: whether it reports now, its last value. */
export function membersQuery(store: Store, c: RedundancyCondition, at: number): BoundQuery {
  const now = at - c.windowMs;
  const from = at - c.lookbackMs;
  const selection = {
    ...(c.metric !== undefined ? { metric: c.metric } : {}),
    matchers: c.matchers,
  };
  const data = summaries(store, selection, [
    { id: SEEN, segments: segmentsOf(from, now, c.lookbackMs), values: false },
    // The window is read from raw samples whatever its length: its last value must be exact.
    { id: NOW, segments: [{ source: 'raw', from: now, to: at }], values: c.metric !== undefined },
  ])!;
  const member = labelValue(c.member);
  const series = seriesQuery(
    store,
    selection,
    from,
    sql`${labelArray(c.by.map(labelValue))} AS group_key, toString(${member}) AS member`,
    sql`${member} != ''`,
  );
  return sql`SELECT fp.group_key AS group_key, fp.member AS member,
      countIf(d.part = ${NOW}) > 0 AS reporting,
      argMaxIf(d.lv, d.ord, d.part = ${NOW}) AS last
    FROM (${data}) AS d INNER JOIN (${series}) AS fp ON d.fingerprint = fp.fingerprint
    GROUP BY fp.group_key, fp.member`;
}

function healthy(c: RedundancyCondition, row: MemberRow): boolean {
  if (!row.reporting || Number(row.reporting) === 0) return false;
  if (c.metric === undefined) return true;
  if (row.last === null) return false;
  const v = Number(row.last);
  const { op, value } = c.healthyWhen;
  switch (op) {
    case '>=':
      return v >= value;
    case '>':
      return v > value;
    case '<=':
      return v <= value;
    case '<':
      return v < value;
    case '==':
      return v === value;
  }
}

/** One group of a redundancy rule (a tier, a backend) at a moment. */
export interface RedundancyGroup {
  /** The group's labels, one per `by` label, e.g. { tier: 'web' }. */
  labels: Record<string, string>;
  /** Members healthy now. */
  healthy: number;
  /** Members seen in the lookback, healthy or not. */
  members: number;
  /** Healthy members the group needs (the rule's min). */
  min: number;
}

/** Every group of a redundancy rule seen in its lookback at `at`, with its healthy members. */
export async function redundancyGroups(
  store: Store,
  c: RedundancyCondition,
  at: number,
): Promise<RedundancyGroup[]> {
  const rows = await store.query<MemberRow>(membersQuery(store, c, at));
  const groups = new Map<string, { key: string[]; healthy: number; members: number }>();
  for (const row of rows) {
    const id = JSON.stringify(row.group_key);
    const group = groups.get(id) ?? { key: row.group_key, healthy: 0, members: 0 };
    group.members++;
    if (healthy(c, row)) group.healthy++;
    groups.set(id, group);
  }
  return [...groups.values()].map((g) => ({
    labels: labelsOf(c.by, g.key),
    healthy: g.healthy,
    members: g.members,
    min: c.min,
  }));
}

/** The instances of a redundancy rule at `at`: groups with fewer healthy members than min. */
export async function evaluateRedundancy(
  store: Store,
  c: RedundancyCondition,
  at: number,
): Promise<Instance[]> {
  const groups = await redundancyGroups(store, c, at);
  return groups
    .filter((g) => g.healthy < g.min)
    .map((g) => ({ labels: g.labels, value: g.healthy }));
}
