// The backfill's samples: one a minute per series, generated inside ClickHouse into staging copies
// of the tables with their rollups, attached at the end.

import { randomBytes, randomUUID } from 'node:crypto';
import type { ClickHouseSettings } from '@clickhouse/client';
import { ROLLUP_INSERT_SETTINGS, settingsClause } from '../../core/store/fast-write.ts';
import { ident, param, sql, type BoundQuery } from '../../core/store/sql.ts';
import { type Store } from '../../core/store/store.ts';
import {
  BackfillError,
  MINUTE,
  SERIES_PER_INSERT,
  bytes,
  floats,
  strings,
  type Chunk,
  type Plan,
} from './backfill-plan.ts';
import { KIND, instant, type SeriesPlan } from './backfill-series.ts';

/** Per host and minute, traffic wobbles by up to this much around its shape. */
const TRAFFIC_JITTER = 0.03;
/** Gauges that neither follow traffic nor hold a state wobble by up to this much. */
const GAUGE_NOISE = 0.02;

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
export function sampleSelect(plans: readonly SeriesPlan[], chunk: Chunk, plan: Plan): BoundQuery {
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
 * One insert's SETTINGS clause with a fresh deduplication token: the tables (and their staging
 * copies) drop an insert whose rows equal one in their deduplication window, and two inserts of
 * the backfill may well be equal. The token keeps every insert its own.
 */
export function insertSettings(extra: ClickHouseSettings = {}): BoundQuery {
  const token = `backfill-${randomUUID()}`;
  return {
    text: `SETTINGS ${settingsClause({ insert_deduplication_token: token, ...extra })}`,
    params: {},
  };
}

/**
 * Where the samples go before they are attached: tables shaped as samples and its rollups, without
 * TTL. Attaching their partitions adds the rows without running the rollup views, so the rollups
 * are made here, as the views make them: about three times faster than through the views.
 */
export interface Staging {
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

export async function createStaging(store: Store): Promise<Staging> {
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

export async function dropStaging(store: Store, staging: Staging): Promise<void> {
  for (const { staged } of stagedTables(store, staging))
    await store.command(sql`DROP TABLE IF EXISTS ${ident(staged)}`);
}

/**
 * The rollups of one chunk's staged samples, as the views of migrations 5 and 9 make them: the
 * minutes from the samples, the 5 minutes from the minutes, the hours from the 5 minutes (chunks
 * meet at midnight, so no bucket spans two).
 */
export async function stageRollups(store: Store, staging: Staging, chunk: Chunk): Promise<void> {
  const end = instant(chunk.start + chunk.minutes * MINUTE);
  const since = (unit: number) => instant(Math.floor(chunk.start / unit) * unit);
  // One sample per series and minute: each is its own minute bucket, already in key order.
  await store.command(
    sql`INSERT INTO ${ident(staging.m1)} ${ROLLUP_COLUMNS} ${insertSettings(ROLLUP_INSERT_SETTINGS)}
      SELECT name, tier, host, service, fingerprint, toStartOfMinute(ts), value, 1, value, value,
        initializeAggregation('argMaxState', value, ts)
      FROM ${ident(staging.samples)} WHERE ts >= ${since(MINUTE)} AND ts < ${end}
      ORDER BY name, tier, host, service, fingerprint, ts`,
  );
  const coarser = (table: string, from: string, unit: number, bucket: BoundQuery) =>
    store.command(
      sql`INSERT INTO ${ident(table)} ${ROLLUP_COLUMNS} ${insertSettings(ROLLUP_INSERT_SETTINGS)}
        SELECT any(name), any(tier), any(host), any(service), fingerprint, ${bucket} AS bucket,
          sum(value_sum), sum(value_count), min(value_min), max(value_max), argMaxMergeState(value_last)
        FROM ${ident(from)} WHERE ts >= ${since(unit)} AND ts < ${end}
        GROUP BY fingerprint, bucket`,
    );
  await coarser(staging.m5, staging.m1, MINUTE, sql`toStartOfFiveMinutes(ts)`);
  await coarser(staging.h1, staging.m5, 5 * MINUTE, sql`toStartOfHour(ts)`);
}

/** Moves every staged partition into its table. */
export async function attachStaging(store: Store, staging: Staging): Promise<void> {
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
export async function registerHistory(store: Store, plans: readonly SeriesPlan[], first: number) {
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
