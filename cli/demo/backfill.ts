// `halo up --backfill`: history before the demo's first live data, made inside ClickHouse from the
// live series' own figures (samples, shop log lines; traffic-shaped, with incidents), then the demo
// SLOs replayed over it by the alerter's own code (SLO evaluations, alert history).

import { randomBytes, randomUUID } from 'node:crypto';
import { sloAlerts } from '../../alerter/slo/alerts.ts';
import { evaluateSlos, writeEvaluations, type SloEvaluation } from '../../alerter/slo/evaluate.ts';
import type { Slo } from '../../alerter/slo/model.ts';
import { writeTransitions } from '../../alerter/state/history.ts';
import { AlertBook, type Transition } from '../../alerter/state/machine.ts';
import { HaloError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { sleep } from '../../core/sleep.ts';
import { ident, param, sql, type BoundQuery } from '../../core/store/sql.ts';
import { storeError, type Store } from '../../core/store/store.ts';
import { createRandom } from './random.ts';
import { ROUTES } from './routes.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Share of requests that fail outside incidents: the shop's own fault rate. */
export const BASELINE_ERROR_SHARE = 0.0005;
/** Per host and minute, traffic wobbles by up to this much around its shape. */
const TRAFFIC_JITTER = 0.03;
/** Gauges that neither follow traffic nor hold a state wobble by up to this much. */
const GAUGE_NOISE = 0.02;
/** Nights run at this share of the mid-day peak (13:30 UTC); weekends at WEEKEND of weekdays. */
const NIGHT = 0.18;
const PEAK_HOUR = 13.5;
const WEEKEND = 0.7;
const DAY_DRIFT = 0.08;
/** Series per insert: bounds each insert's memory and, on a server, its URL. */
const SERIES_PER_INSERT = 1000;
/** Replayed SLO evaluations (and transitions) are written in batches of about this many. */
const WRITE_BATCH = 500;
const DEFAULT_LOGS_RETENTION_MS = 14 * DAY;
/** How far behind the live samples the store may be. */
const INGEST_LAG_MS = 5_000;
/** Scrape interval assumed for a source with too few live samples to tell. */
const DEFAULT_INTERVAL_MS = 10_000;

export class BackfillError extends HaloError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKFILL', message, options);
  }
}

export interface BackfillIncident {
  from: number;
  to: number;
  /** Share of requests failing while it lasts (0.08 = 8 %). */
  errorShare: number;
}

export interface BackfillOptions {
  store: Store;
  slos: readonly Slo[];
  /** The demo members whose series to extend back. */
  hosts: readonly string[];
  /** Milliseconds; `to` is the first live sample's time (nothing is written at or after it). */
  from: number;
  to: number;
  logger: Logger;
  /** @default 1 */
  seed?: number;
  onProgress?: (done: number, total: number, what: string) => void;
  /** Stops the backfill between steps; samples are attached only once all are made. */
  signal?: AbortSignal;
  /** @default demoIncidents(from, to) */
  incidents?: readonly BackfillIncident[];
  /** Live data read for the series' rates: [to, to + liveMs), waited for if need be. @default 60 s */
  liveMs?: number;
}

export interface BackfillResult {
  series: number;
  samples: number;
  logLines: number;
  /** SLO evaluations written: one per SLO instance and replay step. */
  evaluations: number;
  transitions: number;
  incidents: BackfillIncident[];
  seconds: number;
  /** Seconds of each phase. */
  phases: { samples: number; logs: number; replay: number };
}

// ------------------------------------------------------------------------------ incidents, traffic

/** The demo's incidents, by days back from `to`'s day (UTC): a page, a blip under every tier, a ticket. */
const DEMO_INCIDENTS = [
  { daysBack: 23, atMs: 14 * HOUR + 10 * MINUTE, minutes: 30, errorShare: 0.08 },
  { daysBack: 12, atMs: 2 * HOUR + 40 * MINUTE, minutes: 20, errorShare: 0.03 },
  // 1.2 % stays under the page tier's 14.4× of a 99.9 % SLO; over 100 minutes the 6 h window passes 3×.
  { daysBack: 4, atMs: 9 * HOUR + 5 * MINUTE, minutes: 100, errorShare: 0.012 },
] as const;

/** The demo's incidents that lie inside [from, to). */
export function demoIncidents(from: number, to: number): BackfillIncident[] {
  const day = Math.floor(to / DAY) * DAY;
  return DEMO_INCIDENTS.map((i) => {
    const start = day - i.daysBack * DAY + i.atMs;
    return { from: start, to: start + i.minutes * MINUTE, errorShare: i.errorShare };
  }).filter((i) => i.from >= from && i.to <= to);
}

function dayLevel(day: number, seed: number): number {
  const weekday = new Date(day * DAY).getUTCDay();
  const weekend = weekday === 0 || weekday === 6 ? WEEKEND : 1;
  return weekend * (1 + DAY_DRIFT * (createRandom(seed * 7919 + day).next() - 0.5));
}

/**
 * Relative traffic at `t`: a day curve (quiet nights, the peak mid-day UTC) times a level per day
 * (weekends lower, a little drift), the levels blended from noon to noon so midnight has no step.
 */
export function trafficShape(t: number, seed = 1): number {
  const hour = (((t % DAY) + DAY) % DAY) / HOUR;
  const curve = ((1 - Math.cos((2 * Math.PI * (hour - PEAK_HOUR + 12)) / 24)) / 2) ** 1.6;
  const x = t / DAY - 0.5;
  const d = Math.floor(x);
  const f = x - d;
  const level = dayLevel(d, seed) * (1 - f) + dayLevel(d + 1, seed) * f;
  return (NIGHT + (1 - NIGHT) * curve) * level;
}

/** One run of whole minutes [start, start + minutes·1 min) and what each minute carries. */
interface Chunk {
  start: number;
  minutes: number;
  /** Traffic relative to the live traffic at `to`, per minute (before each host's jitter). */
  traffic: number[];
  /** Share of failing requests, per minute. */
  share: number[];
}

/** The minutes of [from, to) by UTC day: one chunk per day, so one partition per insert. */
function chunks(from: number, to: number, o: Plan): Chunk[] {
  const out: Chunk[] = [];
  const scale = trafficShape(o.to, o.seed);
  for (let start = Math.ceil(from / MINUTE) * MINUTE; start < to;) {
    const end = Math.min(to, (Math.floor(start / DAY) + 1) * DAY);
    const minutes = Math.ceil((end - start) / MINUTE);
    const random = createRandom(o.seed * 131 + Math.floor(start / DAY));
    const traffic: number[] = [];
    const share: number[] = [];
    for (let m = 0; m < minutes; m++) {
      const t = start + m * MINUTE;
      traffic.push(trafficShape(t, o.seed) / scale);
      const incident = o.incidents.find((i) => t >= i.from && t < i.to);
      share.push(
        incident ? incident.errorShare : BASELINE_ERROR_SHARE * (0.4 + 1.2 * random.next()),
      );
    }
    out.push({ start, minutes, traffic, share });
    start += minutes * MINUTE;
  }
  return out;
}

// ------------------------------------------------------------------------------ live series

interface LiveSeries {
  fingerprint: bigint;
  name: string;
  tier: string;
  host: string;
  service: string;
  labels: Record<string, string>;
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
const KIND = {
  counter: 0,
  errors: 1,
  sibling: 2,
  steady: 3,
  traffic: 4,
  noisy: 5,
  uptime: 6,
} as const;
type Kind = (typeof KIND)[keyof typeof KIND];

interface SeriesPlan {
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
function planSeries(live: readonly LiveSeries[]): SeriesPlan[] {
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

const instant = (ms: number) => new Date(ms);

/** The hosts' series and a summary of their samples in [to, until). */
async function readLive(
  store: Store,
  hosts: readonly string[],
  to: number,
  until: number,
): Promise<LiveSeries[]> {
  const rows = await store.query<{
    fingerprint: string;
    name: string;
    tier: string;
    host: string;
    service: string;
    labels: Record<string, string>;
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
  }>(
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

// ------------------------------------------------------------------------------ samples

const strings = (values: readonly string[]) => param([...values], 'Array(String)');
const floats = (values: readonly number[]) => param([...values], 'Array(Float64)');
const bytes = (values: readonly number[]) => param([...values], 'Array(UInt8)');

/** The series' identities as bound parallel arrays (ARRAY JOIN zips them). */
function seriesParams(plans: readonly SeriesPlan[]) {
  return {
    names: strings(plans.map((p) => p.live.name)),
    tiers: strings(plans.map((p) => p.live.tier)),
    hosts: strings(plans.map((p) => p.live.host)),
    services: strings(plans.map((p) => p.live.service)),
    labels: param(
      plans.map((p) => p.live.labels),
      'Array(Map(String, String))',
    ),
  };
}

/**
 * One sample per series and minute of the chunk, series by series (the samples' key order). All
 * series of a host share each minute's traffic multiplier, so histogram buckets stay cumulative
 * and totals stay the sum of their parts.
 */
function sampleSelect(plans: readonly SeriesPlan[], chunk: Chunk, plan: Plan): BoundQuery {
  const p = seriesParams(plans);
  const minute0 = Math.round(chunk.start / MINUTE);
  const unit = (salt: BoundQuery) =>
    sql`((cityHash64(${plan.seed}, ${salt}, ${minute0} + m) % 1000000) / 500000 - 1)`;
  return sql`SELECT name, tier, host, service, labels,
      fromUnixTimestamp64Milli(toInt64(${chunk.start} + m * 60000), 'UTC') AS ts,
      ${floats(chunk.traffic)}[m + 1] * (1 + ${TRAFFIC_JITTER} * ${unit(sql`host`)}) AS tr,
      ${floats(chunk.share)}[m + 1] AS sh,
      multiIf(kind = ${KIND.counter}, base * tr, kind = ${KIND.errors}, base * tr * sh,
        kind = ${KIND.sibling}, base * tr * (1 - sh), kind = ${KIND.steady}, base,
        kind = ${KIND.traffic}, base * tr, kind = ${KIND.noisy}, base * (1 + ${GAUGE_NOISE} * ${unit(sql`series_id`)}),
        base + (${chunk.start} + m * 60000 - ${plan.from}) / 1000) AS v,
      if(whole, round(v), v) AS value
    FROM (SELECT name, tier, host, service, labels, kind, base, whole, series_id FROM (SELECT 1)
      ARRAY JOIN ${p.names} AS name, ${p.tiers} AS tier, ${p.hosts} AS host, ${p.services} AS service,
        ${p.labels} AS labels, ${bytes(plans.map((x) => x.kind))} AS kind,
        ${floats(plans.map((x) => x.base))} AS base, ${bytes(plans.map((x) => (x.whole ? 1 : 0)))} AS whole,
        ${strings(plans.map((x) => x.live.fingerprint.toString()))} AS series_id)
    ARRAY JOIN range(${chunk.minutes}) AS m`;
}

const ROLLUP_COLUMNS = sql`(name, tier, host, service, fingerprint, ts, value_sum, value_count, value_min, value_max, value_last)`;
/**
 * Settings of one insert, in its own SETTINGS clause: embedded chDB applies a call's settings to
 * its whole session, where another writer's deduplication token would otherwise make these rows
 * look like that writer's batch and drop them. A fresh token keeps every insert its own.
 */
function insertSettings(extra = ''): BoundQuery {
  return {
    text: `SETTINGS insert_deduplication_token = 'backfill-${randomUUID()}'${extra}`,
    params: {},
  };
}

/**
 * Where the samples go before they are attached: tables shaped as samples and its rollups, without
 * TTL. Attaching their partitions adds the rows without running the rollup views, so the rollups
 * are made here, as the views make them: about three times faster than through the views.
 */
interface Staging {
  samples: string;
  m1: string;
  m5: string;
  h1: string;
}

/** Each staging table and the table its partitions go to: the rollups first, the samples last. */
function stagedTables(store: Store, s: Staging): Array<{ staged: string; into: string }> {
  return [
    { staged: s.h1, into: store.table('samples1h') },
    { staged: s.m5, into: store.table('samples5m') },
    { staged: s.m1, into: store.table('samples1m') },
    { staged: s.samples, into: store.table('samples') },
  ];
}

async function createStaging(store: Store): Promise<Staging> {
  const prefix = `${store.database}.halo_backfill_${randomBytes(4).toString('hex')}`;
  const staging = {
    samples: `${prefix}_samples`,
    m1: `${prefix}_1m`,
    m5: `${prefix}_5m`,
    h1: `${prefix}_1h`,
  };
  for (const { staged, into } of stagedTables(store, staging)) {
    await store.command(sql`CREATE TABLE ${ident(staged)} AS ${ident(into)}`);
    await store.command(sql`ALTER TABLE ${ident(staged)} REMOVE TTL`);
    // Its parts are attached as they are: merging them here would only compete with the inserts.
    // Best effort: a server may not grant SYSTEM to Halo's user.
    await store.command(sql`SYSTEM STOP MERGES ${ident(staged)}`).catch(() => undefined);
  }
  return staging;
}

async function dropStaging(store: Store, staging: Staging): Promise<void> {
  for (const { staged } of stagedTables(store, staging))
    await store.command(sql`DROP TABLE IF EXISTS ${ident(staged)}`);
}

/**
 * The rollups of one chunk's staged samples, as the views of migrations 5 and 9 make them: the
 * minutes from the samples, the 5 minutes from the minutes, the hours from the 5 minutes (chunks
 * meet at midnight, so no bucket spans two).
 */
async function stageRollups(store: Store, staging: Staging, chunk: Chunk): Promise<void> {
  const end = instant(chunk.start + chunk.minutes * MINUTE);
  const since = (unit: number) => instant(Math.floor(chunk.start / unit) * unit);
  // One sample per series and minute: each is its own minute bucket, already in key order.
  await store.command(
    sql`INSERT INTO ${ident(staging.m1)} ${ROLLUP_COLUMNS} ${insertSettings(', optimize_on_insert = 0')}
      SELECT name, tier, host, service, fingerprint, toStartOfMinute(ts), value, 1, value, value,
        initializeAggregation('argMaxState', value, ts)
      FROM ${ident(staging.samples)} WHERE ts >= ${since(MINUTE)} AND ts < ${end}
      ORDER BY name, tier, host, service, fingerprint, ts`,
  );
  const coarser = (table: string, from: string, unit: number, bucket: BoundQuery) =>
    store.command(
      sql`INSERT INTO ${ident(table)} ${ROLLUP_COLUMNS} ${insertSettings(', optimize_on_insert = 0')}
        SELECT any(name), any(tier), any(host), any(service), fingerprint, ${bucket} AS bucket,
          sum(value_sum), sum(value_count), min(value_min), max(value_max), argMaxMergeState(value_last)
        FROM ${ident(from)} WHERE ts >= ${since(unit)} AND ts < ${end}
        GROUP BY fingerprint, bucket`,
    );
  await coarser(staging.m5, staging.m1, MINUTE, sql`toStartOfFiveMinutes(ts)`);
  await coarser(staging.h1, staging.m5, 5 * MINUTE, sql`toStartOfHour(ts)`);
}

/** Moves every staged partition into its table. */
async function attachStaging(store: Store, staging: Staging): Promise<void> {
  for (const { staged, into } of stagedTables(store, staging)) {
    const parts = await store.query<{ partition_id: string }>(
      sql`SELECT DISTINCT partition_id FROM system.parts
        WHERE database = ${store.database} AND table = ${staged.slice(store.database.length + 1)}
          AND active ORDER BY partition_id`,
    );
    for (const { partition_id: id } of parts) {
      // ClickHouse's own name of a partition (digits here); ALTER takes no parameter in its place.
      if (!/^[0-9A-Za-z_-]+$/.test(id)) throw new BackfillError(`unexpected partition id ${id}`);
      const partition = { text: `'${id}'`, params: {} };
      await store.command(
        sql`ALTER TABLE ${ident(into)} ATTACH PARTITION ID ${partition} FROM ${ident(staged)}`,
      );
    }
  }
}

/** Series rows that show the series seen since the history's start (dashboards look there). */
async function registerHistory(store: Store, plans: readonly SeriesPlan[], first: number) {
  for (let i = 0; i < plans.length; i += SERIES_PER_INSERT) {
    const part = plans.slice(i, i + SERIES_PER_INSERT);
    const p = seriesParams(part);
    await store.command(
      sql`INSERT INTO ${ident(store.table('series'))}
          (name, tier, host, service, labels, first_seen, last_seen) ${insertSettings()}
        SELECT name, tier, host, service, labels, toDateTime(intDiv(${first}, 1000), 'UTC'),
          toDateTime(intDiv(last, 1000), 'UTC')
        FROM (SELECT 1) ARRAY JOIN ${p.names} AS name, ${p.tiers} AS tier, ${p.hosts} AS host,
          ${p.services} AS service, ${p.labels} AS labels,
          ${param(
            part.map((x) => x.live.lastMs),
            'Array(Int64)',
          )} AS last`,
    );
  }
}

// ------------------------------------------------------------------------------ logs

interface LogTarget {
  tier: string;
  host: string;
  service: string;
  file: string;
}

/** Where the shop's lines go: as its live lines do, or app-1 when there are none yet. */
async function logTarget(
  store: Store,
  hosts: readonly string[],
  to: number,
): Promise<LogTarget | undefined> {
  const [row] = await store.query<{ tier: string; host: string; file: string; n: string }>(
    sql`SELECT any(l.tier) AS tier, any(l.host) AS host, count() AS n,
          anyIf(l.attributes['log_file_path'], l.attributes['log_file_path'] != '') AS file
        FROM ${ident(store.table('logs'))} AS l
        WHERE l.service = 'shop' AND l.host IN ${strings(hosts)} AND l.ts >= ${instant(to)}`,
  );
  if (row && Number(row.n) > 0)
    return { tier: row.tier, host: row.host, service: 'shop', file: row.file };
  return hosts.includes('app-1')
    ? { tier: 'app', host: 'app-1', service: 'shop', file: '' }
    : undefined;
}

/** The logs table's TTL (clickhouse.retention.logs as migrated), or 14 days if it cannot be read. */
async function logsRetentionMs(store: Store): Promise<number> {
  const rows = await store.query<{ engine_full: string }>(
    sql`SELECT engine_full FROM system.tables
      WHERE database = ${store.database} AND name IN ('logs', 'logs_local')`,
  );
  for (const row of rows) {
    const ttl = /\bTTL\b.*?toIntervalSecond\((\d+)\)/.exec(row.engine_full);
    if (ttl) return Number(ttl[1]) * 1000;
  }
  return DEFAULT_LOGS_RETENTION_MS;
}

/** The shop's failures, as its log lines word them. */
const FAILURES = [
  { status: 500, text: 'upstream request timeout: payments' },
  { status: 503, text: 'database unavailable: connect ECONNREFUSED db-1:5432' },
  { status: 500, text: 'database error: could not extend file: No space left on device' },
  { status: 500, text: 'publish order: nats: insufficient resources' },
];

function routeParams(seed: number) {
  const random = createRandom(seed);
  const weight = ROUTES.reduce((sum, r) => sum + r.weight, 0);
  let cumulative = 0;
  return {
    routes: ROUTES.map((r) => r.route),
    methods: ROUTES.map((r) => r.method),
    ok: ROUTES.map((r) => r.okStatus),
    client: ROUTES.map((r) => r.clientError.status),
    clientRate: ROUTES.map((r) => r.clientError.rate),
    cached: ROUTES.map((r) => (r.cached ? 1 : 0)),
    upTo: ROUTES.map((r, i) => (i === ROUTES.length - 1 ? 1 : (cumulative += r.weight) / weight)),
    paths: ROUTES.map((r) => Array.from({ length: 32 }, () => r.path(random))),
  };
}

/**
 * Shop log lines per minute of a chunk: following the traffic, one a second on average over the
 * logged range (`mean` is the range's mean traffic), a reduced rate of the demo's live lines. A
 * minute cut short by `to` gets its share.
 */
function logCounts(chunk: Chunk, to: number, mean: number, seed: number): number[] {
  const random = createRandom(seed * 17 + Math.floor(chunk.start / DAY));
  return chunk.traffic.map((t, m) => {
    const span = Math.min(MINUTE, to - (chunk.start + m * MINUTE)) / MINUTE;
    return Math.max(0, Math.round(((60 * span * t) / mean) * (0.9 + 0.2 * random.next())));
  });
}

const shorts = (values: readonly number[]) => param([...values], 'Array(UInt16)');

/**
 * `counts` lines per minute of the chunk, spread over the minute (never reaching `to`): `error`
 * lines (5xx) at each minute's failure share, `warn` lines at the routes' 4xx rates, fields as the
 * agent reads the shop's JSON lines (collector/agent/log-parsers.ts): body, severity, trace id,
 * the other fields as attributes.
 */
function logSelect(
  target: LogTarget,
  chunk: Chunk,
  counts: number[],
  o: { seed: number; to: number },
): BoundQuery {
  const r = routeParams(o.seed);
  const minute0 = Math.round(chunk.start / MINUTE);
  const u = (salt: number) =>
    sql`((cityHash64(${o.seed}, ${salt}, minute, k) % 1000000) / 1000000)`;
  const hex = (salt: number) =>
    sql`leftPad(lower(hex(cityHash64(${o.seed}, ${salt}, minute, k))), 16, '0')`;
  // A right-skewed duration (log-normal) with this median and 99th percentile, as the demo's.
  const skewed = (median: number, p99: number) =>
    sql`${median} * exp(${Math.log(p99 / median) / 2.3263} * sqrt(-2 * log(1 - ${u(6)})) * cos(2 * pi() * ${u(7)}))`;
  return sql`SELECT
      fromUnixTimestamp64Milli(toInt64(start + floor((k + ${u(1)}) * span / c)), 'UTC') AS ts,
      arrayFirstIndex(x -> x > ${u(2)}, ${floats(r.upTo)}) AS route_i,
      ${u(3)} < ${floats(chunk.share)}[m + 1] AS failed,
      1 + cityHash64(${o.seed}, 5, minute, k) % ${FAILURES.length} AS failure_i,
      ${strings(r.methods)}[route_i] AS method,
      ${param(r.paths, 'Array(Array(String))')}[route_i] AS paths,
      paths[1 + cityHash64(${o.seed}, 8, minute, k) % length(paths)] AS path,
      multiIf(failed, ${shorts(FAILURES.map((f) => f.status))}[failure_i],
        ${u(4)} < ${floats(r.clientRate)}[route_i], ${shorts(r.client)}[route_i],
        ${shorts(r.ok)}[route_i]) AS status,
      multiIf(failed, ${skewed(0.003, 0.02)}, status >= 400, ${skewed(0.004, 0.03)},
        ${skewed(0.04, 0.3)}) AS seconds,
      if(${bytes(r.cached)}[route_i] = 1 AND status < 400, if(${u(9)} < 0.9, 'hit', 'miss'), '') AS cache,
      multiIf(status >= 500, 'error', status >= 400, 'warn', 'info') AS severity,
      concat(method, ' ', path, ' ', toString(status),
        if(failed, concat(': ', ${strings(FAILURES.map((f) => f.text))}[failure_i]), '')) AS body,
      mapFilter((key, value) -> value != '', map('method', method, 'path', path,
        'route', ${strings(r.routes)}[route_i], 'status', toString(status),
        'duration_ms', toString(round(seconds * 10000) / 10), 'cache', cache,
        'log_file_path', ${target.file})) AS attributes,
      concat(${hex(10)}, ${hex(11)}) AS trace_id
    FROM (SELECT number AS m, ${minute0} + number AS minute, ${chunk.start} + number * 60000 AS start,
            least(60000, ${o.to} - start) AS span, ${param(counts, 'Array(UInt32)')}[number + 1] AS c
          FROM numbers(${chunk.minutes}) WHERE c > 0)
    ARRAY JOIN range(c) AS k`;
}

// ------------------------------------------------------------------------------ replay

/**
 * Each hour over (from, to), and each minute from 10 minutes before to 30 after an incident; all
 * after the first sample (at the first minute from `from`), so that every step has data.
 */
function replaySteps(from: number, to: number, incidents: readonly BackfillIncident[]): number[] {
  const first = Math.ceil(from / MINUTE) * MINUTE;
  const steps = new Set<number>();
  for (let t = (Math.floor(first / HOUR) + 1) * HOUR; t < to; t += HOUR) steps.add(t);
  for (const i of incidents) {
    const end = Math.min(to, i.to + 30 * MINUTE);
    for (let t = Math.ceil((i.from - 10 * MINUTE) / MINUTE) * MINUTE; t < end; t += MINUTE)
      if (t > first) steps.add(t);
  }
  return [...steps].sort((a, b) => a - b);
}

interface Plan {
  from: number;
  to: number;
  seed: number;
  incidents: BackfillIncident[];
}

/**
 * The demo SLOs evaluated at each step as the alerter would (alerter/slo/backtest.ts), the
 * evaluations and the book's transitions written. Alerts still open after the last step are
 * followed minute by minute up to `to`, then resolved there: the live alerter starts with its
 * own state and would never close them.
 */
async function replay(
  o: BackfillOptions,
  plan: Plan,
  progress: (what: string) => void,
): Promise<{ evaluations: number; transitions: number }> {
  const { store, slos } = o;
  const book = new AlertBook();
  let evaluations: SloEvaluation[] = [];
  let transitions: Transition[] = [];
  let written = { evaluations: 0, transitions: 0 };
  const flush = async () => {
    await writeEvaluations(store, evaluations);
    await writeTransitions(store, transitions);
    written = {
      evaluations: written.evaluations + evaluations.length,
      transitions: written.transitions + transitions.length,
    };
    evaluations = [];
    transitions = [];
  };
  const step = async (at: number, active = true) => {
    const measured = active ? await evaluateSlos(store, slos, at) : [];
    evaluations.push(...measured);
    for (const rule of sloAlerts(slos, measured, at)) transitions.push(...book.apply(rule, at));
    book.prune(at);
    if (evaluations.length >= WRITE_BATCH) await flush();
  };
  const open = () => book.alerts().some((a) => a.state !== 'resolved');
  const steps = replaySteps(plan.from, plan.to, plan.incidents);
  let day = steps.length > 0 ? Math.floor(steps[0]! / DAY) : 0;
  let last = plan.from;
  for (const at of steps) {
    o.signal?.throwIfAborted();
    if (Math.floor(at / DAY) !== day) {
      progress(`SLO replay ${new Date(day * DAY).toISOString().slice(0, 10)}`);
      day = Math.floor(at / DAY);
    }
    await step(at);
    last = at;
  }
  for (let at = last + MINUTE; open() && at < plan.to; at += MINUTE) {
    o.signal?.throwIfAborted();
    await step(at);
    last = at;
  }
  if (open()) {
    o.logger.warn(
      { at: new Date(last).toISOString() },
      'demo backfill: alerts still open at the end: resolved',
    );
    await step(last, false);
  }
  await flush();
  if (steps.length > 0) progress(`SLO replay ${new Date(day * DAY).toISOString().slice(0, 10)}`);
  return written;
}

// ------------------------------------------------------------------------------ the backfill

function validate(o: BackfillOptions): Plan {
  const { from, to } = o;
  if (!Number.isFinite(from) || !Number.isFinite(to) || !(from < to)) {
    throw new BackfillError(
      `backfill: from ${from} and to ${to}: expected times in ms with from before to`,
    );
  }
  if (o.hosts.length === 0 || o.hosts.some((h) => typeof h !== 'string' || h === '')) {
    throw new BackfillError('backfill: hosts is empty: expected the demo members to extend back');
  }
  const seed = o.seed ?? 1;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new BackfillError(`backfill: seed ${seed}: expected a whole number from 0`);
  }
  for (const i of o.incidents ?? []) {
    if (!(i.from < i.to) || !(i.errorShare >= 0 && i.errorShare < 1)) {
      throw new BackfillError(
        `backfill: incident ${JSON.stringify(i)}: expected from before to and an error share from 0 to below 1`,
      );
    }
  }
  const incidents = (o.incidents ?? demoIncidents(from, to))
    .filter((i) => i.to > from && i.from < to)
    .map((i) => ({ ...i }));
  return { from, to, seed, incidents };
}

/** Waits (at most liveMs and a little) until the live data of [to, to + liveMs) should be stored. */
async function awaitLive(o: BackfillOptions, liveMs: number, log: Logger): Promise<void> {
  const wait = Math.min(o.to + liveMs + INGEST_LAG_MS - Date.now(), liveMs + INGEST_LAG_MS);
  if (wait <= 0) return;
  log.info({ wait_s: Math.round(wait / 1000) }, 'demo backfill: waiting for live rates');
  await sleep(wait, o.signal);
  o.signal?.throwIfAborted();
}

export async function backfillDemo(o: BackfillOptions): Promise<BackfillResult> {
  const began = performance.now();
  const plan = validate(o);
  const { store } = o;
  const log = o.logger.child({ module: 'demo-backfill' });
  const liveMs = o.liveMs ?? 60_000;
  await awaitLive(o, liveMs, log);

  const [existing] = await store.query<{ n: string }>(
    sql`SELECT count() AS n FROM ${ident(store.table('samples'))}
      WHERE host IN ${strings(o.hosts)} AND ts >= ${instant(plan.from)} AND ts < ${instant(plan.to)}`,
  );
  if (Number(existing?.n ?? 0) > 0) {
    throw new BackfillError(
      `backfill: ${o.hosts.join(', ')} already have ${existing?.n} samples between ` +
        `${instant(plan.from).toISOString()} and ${instant(plan.to).toISOString()}: history is written into an empty range only`,
    );
  }
  const plans = planSeries(await readLive(store, o.hosts, plan.to, plan.to + liveMs));
  if (plans.length === 0) {
    throw new BackfillError(
      `backfill: no series with live samples for ${o.hosts.join(', ')} from ` +
        `${instant(plan.to).toISOString()}: nothing to extend back (is the demo's data in ${store.database}?)`,
    );
  }
  const days = chunks(plan.from, plan.to, plan);
  const target = await logTarget(store, o.hosts, plan.to);
  const logsFrom = Math.max(plan.from, plan.to - (await logsRetentionMs(store)) + HOUR);
  const logDays = target && logsFrom < plan.to ? chunks(logsFrom, plan.to, plan) : [];
  const replayDays = new Set(
    replaySteps(plan.from, plan.to, plan.incidents).map((t) => Math.floor(t / DAY)),
  );
  const total = days.length + logDays.length + replayDays.size;
  let done = 0;
  const progress = (what: string) => o.onProgress?.(++done, total, what);
  const dayName = (c: Chunk) => new Date(c.start).toISOString().slice(0, 10);
  log.info(
    { series: plans.length, days: days.length, incidents: plan.incidents.length },
    'demo backfill: writing samples',
  );

  // Samples: staged and attached on one node; through the rollup views on a cluster.
  let phase = performance.now();
  const staging = store.cluster === undefined ? await createStaging(store) : undefined;
  let samples = 0;
  try {
    for (const chunk of days) {
      o.signal?.throwIfAborted();
      for (let i = 0; i < plans.length; i += SERIES_PER_INSERT) {
        const part = plans.slice(i, i + SERIES_PER_INSERT);
        const into = staging?.samples ?? store.table('samples');
        await store.command(
          sql`INSERT INTO ${ident(into)} (name, tier, host, service, labels, ts, value) ${insertSettings()}
            SELECT name, tier, host, service, labels, ts, value FROM (${sampleSelect(part, chunk, plan)})`,
        );
        samples += part.length * chunk.minutes;
      }
      if (staging) await stageRollups(store, staging, chunk);
      progress(`samples ${dayName(chunk)}`);
    }
    await registerHistory(store, plans, days[0]?.start ?? plan.from);
    if (staging) await attachStaging(store, staging);
  } catch (err) {
    throw o.signal?.aborted || err instanceof HaloError ? err : storeError('backfill samples', err);
  } finally {
    if (staging) await dropStaging(store, staging).catch(() => undefined);
  }
  const samplesSeconds = (performance.now() - phase) / 1000;

  phase = performance.now();
  let logLines = 0;
  const logMinutes = logDays.flatMap((c) => c.traffic);
  const meanTraffic = logMinutes.reduce((sum, x) => sum + x, 0) / Math.max(1, logMinutes.length);
  for (const chunk of logDays) {
    o.signal?.throwIfAborted();
    const counts = logCounts(chunk, plan.to, meanTraffic, plan.seed);
    try {
      await store.command(
        sql`INSERT INTO ${ident(store.table('logs'))}
            (ts, tier, host, service, severity, body, attributes, trace_id) ${insertSettings()}
          SELECT ts, ${target!.tier}, ${target!.host}, ${target!.service}, severity, body, attributes, trace_id
          FROM (${logSelect(target!, chunk, counts, plan)})`,
      );
    } catch (err) {
      throw storeError(`backfill log lines of ${dayName(chunk)}`, err);
    }
    logLines += counts.reduce((sum, n) => sum + n, 0);
    progress(`logs ${dayName(chunk)}`);
  }
  const logsSeconds = (performance.now() - phase) / 1000;

  phase = performance.now();
  const replayed = await replay(o, plan, progress);
  const replaySeconds = (performance.now() - phase) / 1000;
  const result: BackfillResult = {
    series: plans.length,
    samples,
    logLines,
    evaluations: replayed.evaluations,
    transitions: replayed.transitions,
    incidents: plan.incidents,
    seconds: (performance.now() - began) / 1000,
    phases: { samples: samplesSeconds, logs: logsSeconds, replay: replaySeconds },
  };
  log.info({ ...result, incidents: result.incidents.length }, 'demo backfill: written');
  return result;
}
