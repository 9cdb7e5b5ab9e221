// The live series a backfill extends back: what each is (counter, error share, gauge kind) and its
// rate or value, read from the demo's first live minute.

import { ident, sql } from '../../core/store/sql.ts';
import { type Store } from '../../core/store/store.ts';
import { DEFAULT_INTERVAL_MS, MINUTE, strings } from './backfill-plan.ts';
import type { SeriesRow } from '../../alerter/query/match.ts';

export interface LiveSeries extends Omit<SeriesRow, 'fingerprint'> {
  fingerprint: bigint;
  count: number;
  sum: number;
  mean: number;
  last: number;
  min: number;
  max: number;
  integers: boolean;
  zeroOne: boolean;
  firstMs: number;
  lastMs: number;
}

/** How a series' minutes are made (see the value expression of sampleSelect). */
export const KIND = {
  counter: 0,
  errors: 1,
  sibling: 2,
  steady: 3,
  traffic: 4,
  noisy: 5,
  uptime: 6,
} as const;
export type Kind = (typeof KIND)[keyof typeof KIND];

export interface SeriesPlan {
  live: LiveSeries;
  kind: Kind;
  /** Per minute for counters, the value for gauges. */
  base: number;
  whole: boolean;
}

const COUNTER_NAME = /_(total|count|sum|bucket)$/;
const UPTIME_NAME = /uptime/;
const STATE_NAME =
  /(^up$|_up$|_status$|_state$|_info$|_enabled$|_role$|_mode$|_ok$|_online$|_supervised$|_version$|_id$|_dirty$|_timestamp(_seconds)?$|_time_seconds$|(^|_)max(_|$)|_limit$|_weight$)/;
const STATE_LABELS = ['state', 'status', 'role', 'version'];
const TRAFFIC_NAME =
  /(connections?|sessions?|clients|pending|queue|in_?flight|waiting|reading|writing|subscriptions|_rate$|ops_per|per_second|cpu)/;

/** The label that tells a request counter's outcome, and whether this series counts failures. */
function outcome(labels: Record<string, string>): { key: string; error: boolean } | undefined {
  const code = labels['code'];
  if (code !== undefined) return { key: 'code', error: code === '5xx' || /^5\d\d$/.test(code) };
  const statusClass = labels['status_class'];
  if (statusClass !== undefined) return { key: 'status_class', error: statusClass === '5xx' };
  return undefined;
}

/**
 * Milliseconds between a source's scrapes: the median over the series of its host and service
 * (`host\0service`), and of its host (`host`).
 */
function scrapeIntervals(live: readonly LiveSeries[]): Map<string, number> {
  const spans = new Map<string, number[]>();
  const add = (key: string, span: number) => {
    let list = spans.get(key);
    if (!list) spans.set(key, (list = []));
    list.push(span);
  };
  for (const s of live) {
    if (s.count < 2 || !(s.lastMs > s.firstMs)) continue;
    const span = (s.lastMs - s.firstMs) / (s.count - 1);
    add(`${s.host}\u0000${s.service}`, span);
    add(s.host, span);
  }
  const out = new Map<string, number>();
  for (const [key, list] of spans) {
    list.sort((a, b) => a - b);
    out.set(key, list[Math.floor(list.length / 2)]!);
  }
  return out;
}

function gaugePlan(s: LiveSeries): Pick<SeriesPlan, 'kind' | 'base'> {
  if (UPTIME_NAME.test(s.name)) return { kind: KIND.uptime, base: 3600 };
  const stateLabel = STATE_LABELS.some((key) => Object.hasOwn(s.labels, key));
  if (STATE_NAME.test(s.name) || stateLabel) return { kind: KIND.steady, base: s.last };
  if (TRAFFIC_NAME.test(s.name)) return { kind: KIND.traffic, base: s.mean };
  // A 0/1 gauge, or one that did not move while live, stays where it is.
  if (s.zeroOne || (s.count >= 3 && s.min === s.max)) return { kind: KIND.steady, base: s.last };
  return { kind: KIND.noisy, base: s.mean };
}

/**
 * What to write for each live series. Counters keep their live rate per minute; request counters
 * by outcome (a `code` or `status_class` label) are split again among their siblings, so that
 * failures are a chosen share of the group's total whatever their live rate was.
 */
export function planSeries(live: readonly LiveSeries[]): SeriesPlan[] {
  const intervals = scrapeIntervals(live);
  // A counter's deltas each cover one scrape interval.
  const perMinute = (s: LiveSeries) => {
    const interval =
      intervals.get(`${s.host}\u0000${s.service}`) ?? intervals.get(s.host) ?? DEFAULT_INTERVAL_MS;
    return (Math.max(0, s.sum) / (s.count * interval)) * MINUTE;
  };
  const plans = new Map<LiveSeries, SeriesPlan>();
  const groups = new Map<string, LiveSeries[]>();
  for (const s of live) {
    if (!COUNTER_NAME.test(s.name)) {
      plans.set(s, { live: s, ...gaugePlan(s), whole: s.integers });
      continue;
    }
    plans.set(s, { live: s, kind: KIND.counter, base: perMinute(s), whole: false });
    const o = outcome(s.labels);
    if (!o) continue;
    const rest = Object.entries(s.labels)
      .filter(([key]) => key !== o.key)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    const key = JSON.stringify([s.name, s.tier, s.host, s.service, o.key, rest]);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(s);
  }
  for (const group of groups.values()) {
    const errors = group.filter((s) => outcome(s.labels)!.error);
    const total = group.reduce((sum, s) => sum + perMinute(s), 0);
    const good = total - errors.reduce((sum, s) => sum + perMinute(s), 0);
    if (errors.length === 0 || !(good > 0)) continue;
    const bad = total - good;
    for (const s of group) {
      const plan = plans.get(s)!;
      if (errors.includes(s)) {
        plan.kind = KIND.errors;
        plan.base = total * (bad > 0 ? perMinute(s) / bad : 1 / errors.length);
      } else {
        plan.kind = KIND.sibling;
        plan.base = (perMinute(s) * total) / good;
      }
    }
  }
  // In the samples' key order, so that inserts arrive sorted.
  const key = (s: LiveSeries) => [s.name, s.tier, s.host, s.service];
  return [...plans.values()].sort((a, b) => {
    const [x, y] = [key(a.live), key(b.live)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    return a.live.fingerprint < b.live.fingerprint
      ? -1
      : a.live.fingerprint > b.live.fingerprint
        ? 1
        : 0;
  });
}

export const instant = (ms: number) => new Date(ms);

/** The hosts' series and a summary of their samples in [to, until). */
export async function readLive(
  store: Store,
  hosts: readonly string[],
  to: number,
  until: number,
): Promise<LiveSeries[]> {
  const rows = await store.query<
    SeriesRow & {
      n: string;
      total: number;
      mean: number;
      last: number;
      lo: number;
      hi: number;
      fractional: string;
      off01: string;
      first_ms: string;
      last_ms: string;
    }
  >(
    sql`SELECT toString(s.fingerprint) AS fingerprint, s.name AS name, s.tier AS tier, s.host AS host,
          s.service AS service, s.labels AS labels, l.n AS n, l.total AS total, l.mean AS mean,
          l.last AS last, l.lo AS lo, l.hi AS hi, l.fractional AS fractional, l.off01 AS off01,
          l.first_ms AS first_ms, l.last_ms AS last_ms
        FROM (SELECT fingerprint, any(name) AS name, any(tier) AS tier, any(host) AS host,
                any(service) AS service, any(labels) AS labels
              FROM ${ident(store.table('series'))} AS x
              WHERE x.host IN ${strings(hosts)} GROUP BY fingerprint) AS s
        INNER JOIN (SELECT fingerprint, count() AS n, sum(value) AS total, avg(value) AS mean,
                      argMax(value, ts) AS last, min(value) AS lo, max(value) AS hi,
                      countIf(value != floor(value)) AS fractional, countIf(value NOT IN (0, 1)) AS off01,
                      toUnixTimestamp64Milli(min(ts)) AS first_ms, toUnixTimestamp64Milli(max(ts)) AS last_ms
                    FROM ${ident(store.table('samples'))}
                    WHERE host IN ${strings(hosts)} AND ts >= ${instant(to)} AND ts < ${instant(until)}
                      AND isFinite(value)
                    GROUP BY fingerprint) AS l ON s.fingerprint = l.fingerprint`,
  );
  return rows.map((r) => ({
    fingerprint: BigInt(r.fingerprint),
    name: r.name,
    tier: r.tier,
    host: r.host,
    service: r.service,
    labels: r.labels,
    count: Number(r.n),
    sum: Number(r.total),
    mean: Number(r.mean),
    last: Number(r.last),
    min: Number(r.lo),
    max: Number(r.hi),
    integers: Number(r.fractional) === 0,
    zeroOne: Number(r.off01) === 0,
    firstMs: Number(r.first_ms),
    lastMs: Number(r.last_ms),
  }));
}
