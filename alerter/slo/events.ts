// Event-count SLIs (ratio and latency) of many SLOs measured together: the series they select
// are matched in memory from one read of the series table, and the windows of every SLO sharing
// the same windows are summed per series in one query, whatever the number of SLOs.

import { ident, param, sql } from '../../core/store/sql.ts';
import type { Store } from '../../core/store/store.ts';
import { labelOf, selects, type SeriesRow } from '../query/match.ts';
import { DEFAULT_POLICY, type SegmentPolicy } from '../query/segments.ts';
import type { Selector, Slo } from './model.ts';
import {
  windowSegments,
  windowSums,
  type Layout,
  type MeasureWindow,
  type SliCounts,
} from './sli-query.ts';

export interface EventItem {
  slo: Slo;
  windows: readonly MeasureWindow[];
}

/** One series of an event-count SLO and its sums per window, as measureEvents read them. */
export interface MeasuredSeries {
  row: SeriesRow;
  instance: string;
  /** Counted in the total, in the part (good, or bad when `partIsGood` is false). */
  total: boolean;
  part: boolean;
  partIsGood: boolean;
  sums: readonly number[];
}

/** Receives each measured series with the index of its item. */
export type SeriesSink = (item: number, series: MeasuredSeries) => void;

/** Whether an SLO's SLI counts events (and so can be measured with others). */
export function countsEvents(slo: Slo): boolean {
  return slo.sli.kind === 'ratio' || slo.sli.kind === 'latency';
}

interface Roles {
  /** Per series of the SLO: instance, counted in total, counted in the part (good or bad). */
  series: Array<{
    fingerprint: string;
    row: SeriesRow;
    instance: string;
    total: boolean;
    part: boolean;
  }>;
  partIsGood: boolean;
  metrics: string[];
}

function bucketMetric(metric: string): string {
  return metric.endsWith('_bucket') ? metric : `${metric}_bucket`;
}

function metricsOf(slo: Slo): string[] {
  const { sli } = slo;
  if (sli.kind === 'ratio') return [...new Set([sli.total.metric, (sli.good ?? sli.bad)!.metric])];
  if (sli.kind === 'latency') return [bucketMetric(sli.metric)];
  return [];
}

/**
 * The series of each metric, and an index of them by label value, built as selectors ask: a
 * selector with an equality matcher looks at the series with that value only.
 */
class SeriesIndex {
  readonly #byName: Map<string, SeriesRow[]>;
  readonly #byLabel = new Map<string, Map<string, SeriesRow[]>>();

  constructor(byName: Map<string, SeriesRow[]>) {
    this.#byName = byName;
  }

  /** Series that may match the selector (a superset of those that do). */
  candidates(selector: Selector): readonly SeriesRow[] {
    const all = this.#byName.get(selector.metric) ?? [];
    const eq = selector.matchers.find((m) => m.op === '=');
    if (!eq) return all;
    const key = `${selector.metric}\u0000${eq.label}`;
    let index = this.#byLabel.get(key);
    if (!index) {
      index = new Map();
      for (const s of all) {
        const value = labelOf(s, eq.label);
        let list = index.get(value);
        if (!list) index.set(value, (list = []));
        list.push(s);
      }
      this.#byLabel.set(key, index);
    }
    return index.get(eq.value) ?? [];
  }
}

/** Series that may match any of the selectors, each once. */
function candidatesOf(index: SeriesIndex, selectors: readonly Selector[]): SeriesRow[] {
  const seen = new Map<string, SeriesRow>();
  for (const selector of selectors)
    for (const s of index.candidates(selector)) seen.set(s.fingerprint, s);
  return [...seen.values()];
}

function rolesOf(slo: Slo, index: SeriesIndex): Roles {
  const { sli } = slo;
  const metrics = metricsOf(slo);
  const instance = (s: SeriesRow) => (slo.groupBy ? labelOf(s, slo.groupBy) : '');
  const series: Roles['series'] = [];
  if (sli.kind === 'ratio') {
    const candidates = candidatesOf(index, [sli.total, (sli.good ?? sli.bad)!]);
    const part = (sli.good ?? sli.bad)!;
    for (const s of candidates) {
      const total = selects(s, sli.total);
      const inPart = selects(s, part);
      if (total || inPart)
        series.push({
          fingerprint: s.fingerprint,
          row: s,
          instance: instance(s),
          total,
          part: inPart,
        });
    }
    return { series, partIsGood: sli.good !== undefined, metrics };
  }
  if (sli.kind === 'latency') {
    const selector = { metric: bucketMetric(sli.metric), matchers: sli.matchers };
    for (const s of index.candidates(selector)) {
      if (!selects(s, selector)) continue;
      const le = labelOf(s, 'le');
      const total = le === '+Inf';
      const bound = Number(le);
      const part =
        !total &&
        Number.isFinite(bound) &&
        Math.abs(bound - sli.thresholdSeconds) <= 1e-9 * sli.thresholdSeconds;
      if (total || part)
        series.push({ fingerprint: s.fingerprint, row: s, instance: instance(s), total, part });
    }
    // A threshold that is no bucket's bound cannot be measured: nothing, rather than all bad.
    const bounded = new Set(series.filter((x) => x.part).map((x) => x.instance));
    return { series: series.filter((x) => bounded.has(x.instance)), partIsGood: true, metrics };
  }
  throw new Error(`SLO ${slo.name}: a ${sli.kind} SLI does not count events`);
}

/** Every series of the metrics, one row each (the table may hold one in several partitions). */
async function readSeries(
  store: Store,
  metrics: readonly string[],
): Promise<Map<string, SeriesRow[]>> {
  const rows = await store.query<SeriesRow>(
    sql`SELECT toString(fingerprint) AS fingerprint, any(name) AS name, any(tier) AS tier,
          any(host) AS host, any(service) AS service, any(labels) AS labels
        FROM ${ident(store.table('series'))} AS s
        WHERE s.name IN ${param([...metrics], 'Array(String)')}
        GROUP BY fingerprint`,
  );
  const byName = new Map<string, SeriesRow[]>();
  for (const row of rows) {
    let list = byName.get(row.name);
    if (!list) byName.set(row.name, (list = []));
    list.push(row);
  }
  return byName;
}

/**
 * Good and total per instance and window for each item (same order). Items sharing their
 * windows (after exclusions) are measured in one query.
 */
export async function measureEvents(
  store: Store,
  items: readonly EventItem[],
  policy: SegmentPolicy = DEFAULT_POLICY,
  onSeries?: SeriesSink,
): Promise<Array<Map<string, SliCounts>>> {
  const out = items.map(() => new Map<string, SliCounts>());
  if (items.length === 0) return out;
  const byName = await readSeries(store, [...new Set(items.flatMap((i) => metricsOf(i.slo)))]);
  const index = new SeriesIndex(byName);
  const roles = items.map((i) => rolesOf(i.slo, index));
  // Items with the same segments share a query.
  const groups = new Map<string, { layout: Layout; members: number[] }>();
  items.forEach((item, k) => {
    if (roles[k]!.series.length === 0) return;
    const layout = windowSegments(item.slo, item.windows, policy);
    const key = JSON.stringify(layout);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { layout, members: [] }));
    group.members.push(k);
  });
  for (const { layout, members } of groups.values()) {
    const keys = {
      tiers: new Set<string>(),
      hosts: new Set<string>(),
      services: new Set<string>(),
      fingerprints: new Set<bigint>(),
    };
    for (const k of members) {
      for (const s of roles[k]!.series) {
        keys.tiers.add(s.row.tier);
        keys.hosts.add(s.row.host);
        keys.services.add(s.row.service);
        keys.fingerprints.add(BigInt(s.fingerprint));
      }
    }
    const metrics = [...new Set(members.flatMap((k) => roles[k]!.metrics))];
    if (layout.segments.every((s) => s.length === 0)) continue;
    const rows = await store.query<{ fp: string; sums: number[] }>(
      windowSums(store, metrics, layout, keys),
    );
    const sums = new Map(rows.map((r) => [r.fp, r.sums.map(Number)]));
    for (const k of members) {
      const { series, partIsGood } = roles[k]!;
      const counts = out[k]!;
      const windows = layout.segments.length;
      const part = new Map<string, number[]>();
      for (const s of series) {
        const values = sums.get(s.fingerprint);
        let c = counts.get(s.instance);
        if (!c)
          counts.set(
            s.instance,
            (c = { good: Array(windows).fill(0), total: Array(windows).fill(0) }),
          );
        let p = part.get(s.instance);
        if (!p) part.set(s.instance, (p = Array(windows).fill(0)));
        if (!values) continue;
        onSeries?.(k, {
          row: s.row,
          instance: s.instance,
          total: s.total,
          part: s.part,
          partIsGood,
          sums: values,
        });
        for (let w = 0; w < windows; w++) {
          if (s.total) c.total[w]! += values[w] ?? 0;
          if (s.part) p[w]! += values[w] ?? 0;
        }
      }
      for (const [instance, p] of part) {
        const c = counts.get(instance)!;
        // No event in any window: nothing to measure (as an SLO without data).
        if (c.total.every((n) => n === 0)) {
          counts.delete(instance);
          continue;
        }
        c.good = partIsGood ? p : p.map((bad, w) => (c.total[w] ?? 0) - bad);
      }
    }
  }
  return out;
}
