// The store on real embedded ClickHouse: migrations, exact round trips, rollups, dedup, retention.

import { afterEach, describe, expect, it } from 'vitest';
import { TABLES } from '../core/conventions.ts';
import { silentLogger } from '../core/logger.ts';
import { ddlContext, describeSchema, migrate } from '../core/store/migrate.ts';
import { MIGRATIONS } from '../core/store/migrations/index.ts';
import { writeSamplesFast } from '../core/store/fast-write.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { writeLogs, writeSamples, type LogRow, type SampleRow } from '../core/store/write.ts';
import { testConfig } from './helpers/config.ts';
import { openTestStore } from './helpers/store.ts';

let open: Store | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function fresh(raw: Record<string, unknown> = {}) {
  const opened = await openTestStore(raw);
  open = opened.store;
  return opened;
}

// Stamped minutes in the past, on a minute boundary: TTLs drop rows older than their retention.
const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;

const awkward: Record<string, string> = {
  quote: 'say "hi"',
  single: "it's",
  backslash: 'C:\\path\\to',
  unicode: 'ünïcødé ✓ 日本',
  newline: 'a\nb\tc',
  braces: "{'k':'v'}",
};

describe('migrations', () => {
  it('applied twice, and their statements run again, leave the same schema', async () => {
    const { store, config } = await fresh();
    const first = await describeSchema(store);
    // Every table of the conventions, the three views that feed the rollups and the error lines'.
    const rollupViews = [TABLES.samples1m, TABLES.samples5m, TABLES.samples1h].map(
      (t) => `${t}_mv`,
    );
    expect(Object.keys(first).sort()).toEqual(
      [...Object.values(TABLES), ...rollupViews, `${TABLES.logsErrors}_mv`].sort(),
    );
    // The rollup views leave labels out: a rollup row finds its labels in series by fingerprint.
    for (const view of rollupViews) {
      expect(first[view], view).not.toMatch(/\blabels\b/);
      expect(first[view], view).toContain('GROUP BY fingerprint, ts');
    }
    // The rollup tables keep their labels column, for the rows written before migration 5.
    for (const rollup of [TABLES.samples1m, TABLES.samples1h]) {
      expect(first[rollup], rollup).toContain(
        '`labels` SimpleAggregateFunction(any, Map(String, String))',
      );
    }
    expect(first[TABLES.series]).toContain('ENGINE = AggregatingMergeTree');
    // The samples' own fingerprint expression.
    const fingerprint = (create: string | undefined) =>
      /`fingerprint` UInt64 DEFAULT (cityHash64\(.*?\)\)),/.exec(create ?? '')?.[1];
    expect(fingerprint(first[TABLES.samples])).toBe(
      'cityHash64(name, tier, host, service, mapSort(labels))',
    );
    expect(fingerprint(first[TABLES.series])).toBe(fingerprint(first[TABLES.samples]));
    const again = await migrate(store, config, silentLogger());
    expect(again).toEqual({ applied: [], ttlUpdated: [] });
    // Migration 1's statements again after 5: its views exist, so they are left as 5 made them.
    const ctx = ddlContext(config);
    for (const statement of MIGRATIONS.find((m) => m.version === 1)!.statements(ctx))
      await store.command(statement);
    expect(await describeSchema(store)).toEqual(first);
    // Forget that they ran: every statement runs a second time and must change nothing.
    await store.command(`TRUNCATE TABLE ${store.table('migrations')}`);
    const rerun = await migrate(store, config, silentLogger());
    expect(rerun.applied).toEqual(MIGRATIONS.map((m) => m.version));
    expect(rerun.applied).toEqual(expect.arrayContaining([1, 5]));
    expect(await describeSchema(store)).toEqual(first);
  });

  it('a retention changed in config changes the TTL of the existing table', async () => {
    const { store, config } = await fresh();
    const changed = testConfig({
      clickhouse: {
        database: config.clickhouse.database,
        retention: { samples: '7d', logs: '3d' },
      },
    });
    const result = await migrate(store, changed, silentLogger());
    // The error lines are kept as long as the logs.
    expect(result.ttlUpdated.sort()).toEqual([TABLES.logs, TABLES.logsErrors, TABLES.samples]);
    const schema = await describeSchema(store);
    expect(schema[TABLES.samples]).toContain('TTL toDateTime(ts) + toIntervalSecond(604800)');
    expect(schema[TABLES.logs]).toContain('TTL toDateTime(ts) + toIntervalSecond(259200)');
    expect(schema[TABLES.logsErrors]).toContain('TTL toDateTime(ts) + toIntervalSecond(259200)');
    expect((await migrate(store, changed, silentLogger())).ttlUpdated).toEqual([]);

    // A series is kept as long as the hourly rollup, and a day more (its last_seen trails its
    // last sample by up to an hour): the default 730 days, then what the config says.
    const day = 86_400;
    expect(schema[TABLES.samples1h]).toContain(`TTL ts + toIntervalSecond(${730 * day})`);
    expect(schema[TABLES.series]).toContain(`TTL last_seen + toIntervalSecond(${731 * day})`);
    const longer = testConfig({
      clickhouse: {
        database: config.clickhouse.database,
        retention: { samples: '7d', logs: '3d', rollups_1h: '1000d' },
      },
    });
    const moved = await migrate(store, longer, silentLogger());
    expect(moved.ttlUpdated.sort()).toEqual([TABLES.samples1h, TABLES.series].sort());
    const after = await describeSchema(store);
    expect(after[TABLES.samples1h]).toContain(`TTL ts + toIntervalSecond(${1000 * day})`);
    expect(after[TABLES.series]).toContain(`TTL last_seen + toIntervalSecond(${1001 * day})`);
    expect((await migrate(store, longer, silentLogger())).ttlUpdated).toEqual([]);
  });
});

describe('writing and reading back', () => {
  it('a sample batch reads back exactly: UTC milliseconds, awkward labels, NaN and infinities', async () => {
    const { store } = await fresh();
    const rows: SampleRow[] = [
      {
        name: 'http_requests',
        tier: 'web',
        host: 'web-1.example.com',
        service: 'shop',
        labels: awkward,
        ts: t0 + 123,
        value: 42.5,
      },
      {
        name: 'http_requests',
        tier: 'web',
        host: 'web-1.example.com',
        service: 'shop',
        labels: awkward,
        ts: t0 + 10_456,
        value: -0.001,
      },
      {
        name: 'temperature',
        tier: 'host',
        host: 'h"1',
        service: '',
        labels: {},
        ts: t0 + 999,
        value: NaN,
      },
      {
        name: 'temperature',
        tier: 'host',
        host: 'h"1',
        service: '',
        labels: { le: '+Inf' },
        ts: t0 + 1999,
        value: Infinity,
      },
      {
        name: 'temperature',
        tier: 'host',
        host: 'h"1',
        service: '',
        labels: { le: '-Inf' },
        ts: t0 + 2999,
        value: -Infinity,
      },
    ];
    await writeSamples(store, rows);
    const back = await store.query<{
      name: string;
      tier: string;
      host: string;
      service: string;
      labels: Record<string, string>;
      ms: string;
      value: string;
      tz: string;
    }>(
      sql`SELECT name, tier, host, service, labels, toUnixTimestamp64Milli(ts) AS ms, toString(value) AS value,
            timezoneOf(ts) AS tz
          FROM ${ident(store.table('samples'))} ORDER BY ms`,
    );
    expect(back.map((row) => ({ ...row, ms: Number(row.ms) }))).toEqual(
      [...rows]
        .sort((a, b) => a.ts - b.ts)
        .map((row) => ({
          name: row.name,
          tier: row.tier,
          host: row.host,
          service: row.service,
          labels: row.labels,
          ms: row.ts,
          value: Number.isNaN(row.value)
            ? 'nan'
            : row.value === Infinity
              ? 'inf'
              : row.value === -Infinity
                ? '-inf'
                : String(row.value),
          tz: 'UTC',
        })),
    );
  });

  it('a label value is bound, never spliced: SQL in it is just text', async () => {
    const { store } = await fresh();
    const evil = "x' OR 1=1; DROP TABLE samples; --";
    await writeSamples(store, [
      { name: 'm', tier: 'web', host: 'a', service: 's', labels: { path: evil }, ts: t0, value: 1 },
      {
        name: 'm',
        tier: 'web',
        host: 'b',
        service: 's',
        labels: { path: '/ok' },
        ts: t0,
        value: 2,
      },
    ]);
    const rows = await store.query<{ host: string }>(
      sql`SELECT host FROM ${ident(store.table('samples'))} WHERE labels['path'] = ${evil}`,
    );
    expect(rows).toEqual([{ host: 'a' }]);
  });

  it('a log batch reads back exactly and the body is searchable by token', async () => {
    const { store } = await fresh();
    const rows: LogRow[] = [
      {
        ts: t0 + 1,
        tier: 'web',
        host: 'web-1',
        service: 'shop',
        severity: 'error',
        body: 'GET /cart 500 "upstream timed out" \\ ✓',
        attributes: awkward,
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      },
      {
        ts: t0 + 2,
        tier: 'web',
        host: 'web-2',
        service: 'shop',
        severity: 'info',
        body: 'GET /health 200',
        attributes: {},
      },
    ];
    await writeLogs(store, rows);
    const back = await store.query<Record<string, unknown>>(
      sql`SELECT toUnixTimestamp64Milli(ts) AS ms, tier, host, service, severity, body, attributes, trace_id
          FROM ${ident(store.table('logs'))} ORDER BY ts`,
    );
    expect(back).toEqual(
      rows.map((row) => ({
        ms: String(row.ts),
        tier: row.tier,
        host: row.host,
        service: row.service,
        severity: row.severity,
        body: row.body,
        attributes: row.attributes,
        trace_id: row.traceId ?? '',
      })),
    );
    const found = await store.query<{ host: string }>(
      sql`SELECT host FROM ${ident(store.table('logs'))} WHERE hasToken(lower(body), ${'timed'})`,
    );
    expect(found).toEqual([{ host: 'web-1' }]);
  });

  it('the rollups hold the exact sum, count, min, max and last value of each series', async () => {
    const { store } = await fresh();
    const rows: SampleRow[] = [];
    for (let i = 0; i < 180; i++) {
      // Three minutes of one counter (deltas) at 1 s, plus one gauge, inserted in three batches.
      rows.push({
        name: 'requests',
        tier: 'lb',
        host: 'lb-1',
        service: 'front',
        labels: { code: '200' },
        ts: t0 + i * 1000,
        value: i % 7,
      });
      rows.push({
        name: 'queue',
        tier: 'lb',
        host: 'lb-1',
        service: 'front',
        labels: {},
        ts: t0 + i * 1000,
        value: 100 - i,
      });
    }
    for (let i = 0; i < 3; i++) await writeSamples(store, rows.slice(i * 120, (i + 1) * 120));
    const minute = await store.query<{
      name: string;
      ts: string;
      sum: number;
      count: string;
      min: number;
      max: number;
      last: number;
    }>(
      sql`SELECT name, toString(ts) AS ts, sum(value_sum) AS sum, sum(value_count) AS count, min(value_min) AS min,
            max(value_max) AS max, argMaxMerge(value_last) AS last
          FROM ${ident(store.table('samples1m'))} GROUP BY name, ts ORDER BY name, ts`,
    );
    const expected = ['queue', 'requests'].flatMap((name) =>
      [0, 1, 2].map((m) => {
        const values = rows
          .filter((r) => r.name === name && Math.floor((r.ts - t0) / 60_000) === m)
          .map((r) => r.value);
        return {
          name,
          ts: new Date(t0 + m * 60_000).toISOString().slice(0, 19).replace('T', ' '),
          sum: values.reduce((a, b) => a + b, 0),
          count: String(values.length),
          min: Math.min(...values),
          max: Math.max(...values),
          last: values[values.length - 1],
        };
      }),
    );
    expect(minute).toEqual(expected);
    const hour = await store.query<{ name: string; sum: number; count: string; last: number }>(
      sql`SELECT name, sum(value_sum) AS sum, sum(value_count) AS count, argMaxMerge(value_last) AS last
          FROM ${ident(store.table('samples1h'))} GROUP BY name ORDER BY name`,
    );
    expect(hour).toEqual(
      ['queue', 'requests'].map((name) => {
        const values = rows.filter((r) => r.name === name).map((r) => r.value);
        return {
          name,
          sum: values.reduce((a, b) => a + b, 0),
          count: String(values.length),
          last: values[values.length - 1],
        };
      }),
    );
  });

  it('a batch written twice with the same token is stored once, rollups included; without a token, twice', async () => {
    const { store } = await fresh();
    const batch: SampleRow[] = [0, 1, 2].map((i) => ({
      name: 'm',
      tier: 'web',
      host: 'h',
      service: 's',
      labels: {},
      ts: t0 + i * 1000,
      value: 1,
    }));
    await writeSamples(store, batch, { dedupToken: 'HALO_METRICS:1-3' });
    await writeSamples(store, batch, { dedupToken: 'HALO_METRICS:1-3' });
    await writeSamples(store, batch, { dedupToken: 'HALO_METRICS:4-6' });
    const count = async (key: 'samples' | 'samples1m') =>
      (
        await store.query<{ n: number }>(
          key === 'samples'
            ? sql`SELECT sum(value) AS n FROM ${ident(store.table(key))}`
            : sql`SELECT sum(value_sum) AS n FROM ${ident(store.table(key))}`,
        )
      )[0]?.n;
    expect(await count('samples')).toBe(6);
    expect(await count('samples1m')).toBe(6);
    // Two different batches with equal content and no token are both kept.
    await writeSamples(store, batch);
    await writeSamples(store, batch);
    expect(await count('samples')).toBe(12);
    expect(await count('samples1m')).toBe(12);
  });

  it("a batch's deduplication token does not outlive its insert: later inserts without one are kept", async () => {
    const { store } = await fresh();
    const line = (body: string): LogRow => ({
      ts: t0,
      tier: 'app',
      host: 'app-1',
      service: 'shop',
      severity: 'info',
      body,
      attributes: {},
    });
    await writeLogs(store, [line('one')], { dedupToken: 'HALO_LOGS:1-1' });
    // chDB keeps a call's settings on its session; the token must not stay there.
    const [setting] = await store.query<{ token: string }>(
      sql`SELECT getSetting('insert_deduplication_token') AS token`,
    );
    expect(setting?.token).toBe('');
    const logs = ident(store.table('logs'));
    for (const body of ['two', 'three']) {
      await store.command(
        sql`INSERT INTO ${logs} (ts, tier, host, service, severity, body) VALUES (${new Date(t0)}, 'app', 'app-1', 'shop', 'info', ${body})`,
      );
    }
    // The batch again, redelivered with its token: still dropped.
    await writeLogs(store, [line('one')], { dedupToken: 'HALO_LOGS:1-1' });
    const rows = await store.query<{ body: string }>(sql`SELECT body FROM ${logs} ORDER BY body`);
    expect(rows.map((r) => r.body)).toEqual(['one', 'three', 'two']);
  });

  it('a batch that cannot be written names the batch; a server refusal keeps its error code', async () => {
    const { store } = await fresh();
    const bad = [
      {
        name: 'm',
        tier: 'web',
        host: 'h',
        service: 's',
        labels: {},
        ts: t0,
        value: 'not a number' as unknown as number,
      },
    ];
    await expect(writeSamples(store, bad)).rejects.toMatchObject({
      name: 'StoreError',
      message: expect.stringMatching(
        /^write 1 samples: sample 0: value must be a number \(got string\)$/,
      ) as unknown,
    });
    const badLog = [
      {
        ts: 'yesterday' as unknown as number,
        tier: 'web',
        host: 'h',
        service: 's',
        severity: 'info' as const,
        body: 'x',
        attributes: {},
      },
    ];
    await expect(writeLogs(store, badLog)).rejects.toMatchObject({
      name: 'StoreError',
      message: expect.stringMatching(/^write 1 log lines: /) as unknown,
      serverCode: expect.any(String) as unknown,
    });
    // Refused before anything was sent: no sample, no series, no log line.
    for (const table of ['samples', 'series', 'logs'] as const) {
      expect(
        await store.query(sql`SELECT count() AS n FROM ${ident(store.table(table))}`),
        table,
      ).toEqual([{ n: '0' }]);
    }
  });
});

/** `YYYY-MM-DD hh:mm:ss` (UTC) of the second a timestamp falls in, as toString(DateTime) gives it. */
function second(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

interface SeriesRow {
  name: string;
  tier: string;
  host: string;
  service: string;
  labels: Record<string, string>;
  first_seen: string;
  last_seen: string;
}

/** A label set in key order, so that the same set written in another order compares equal. */
function sortedLabels(labels: Record<string, string>): Array<[string, string]> {
  return Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function seriesKey(row: SeriesRow): string {
  return JSON.stringify([row.name, row.tier, row.host, row.service, sortedLabels(row.labels)]);
}

/** The series table as a reader sees it: its rows merged per fingerprint, fingerprints apart. */
async function storedSeries(store: Store): Promise<{ rows: SeriesRow[]; fingerprints: string[] }> {
  const rows = await store.query<SeriesRow & { fingerprint: string }>(
    sql`SELECT name, tier, host, service, any(labels) AS labels, toString(fingerprint) AS fingerprint,
          toString(min(first_seen)) AS first_seen, toString(max(last_seen)) AS last_seen
        FROM ${ident(store.table('series'))}
        GROUP BY name, tier, host, service, fingerprint`,
  );
  return {
    rows: rows
      .map(({ fingerprint: _, ...row }) => row)
      .sort((a, b) => (seriesKey(a) < seriesKey(b) ? -1 : 1)),
    fingerprints: rows.map((row) => row.fingerprint).sort(),
  };
}

/** What series should hold for these samples: one row per series, first and last second seen. */
function expectedSeries(rows: readonly SampleRow[]): SeriesRow[] {
  const byKey = new Map<string, SeriesRow & { first: number; last: number }>();
  for (const row of rows) {
    const entry = {
      name: row.name,
      tier: row.tier,
      host: row.host,
      service: row.service,
      labels: row.labels,
      first_seen: '',
      last_seen: '',
    };
    const seen = byKey.get(seriesKey(entry));
    if (seen) {
      seen.first = Math.min(seen.first, row.ts);
      seen.last = Math.max(seen.last, row.ts);
    } else {
      byKey.set(seriesKey(entry), { ...entry, first: row.ts, last: row.ts });
    }
  }
  return [...byKey.values()]
    .map(({ first, last, ...row }) => ({
      ...row,
      first_seen: second(first),
      last_seen: second(last),
    }))
    .sort((a, b) => (seriesKey(a) < seriesKey(b) ? -1 : 1));
}

async function sampleFingerprints(store: Store): Promise<string[]> {
  const rows = await store.query<{ fp: string }>(
    sql`SELECT DISTINCT toString(fingerprint) AS fp FROM ${ident(store.table('samples'))}`,
  );
  return rows.map((row) => row.fp).sort();
}

async function seriesCountFinal(store: Store): Promise<string | undefined> {
  const [row] = await store.query<{ n: string }>(
    sql`SELECT count() AS n FROM ${ident(store.table('series'))} FINAL`,
  );
  return row?.n;
}

/** Sum and count in a rollup of the series of `name` whose label `key` is `value`, via series. */
async function rollupWhere(
  store: Store,
  rollup: 'samples1m' | 'samples1h',
  name: string,
  key: string,
  value: string,
): Promise<{ sum: number; count: string } | undefined> {
  const [row] = await store.query<{ sum: number; count: string }>(
    sql`SELECT sum(value_sum) AS sum, toString(sum(value_count)) AS count
        FROM ${ident(store.table(rollup))}
        WHERE name = ${name} AND fingerprint IN (
          SELECT fingerprint FROM ${ident(store.table('series'))}
          WHERE name = ${name} AND labels[${key}] = ${value})`,
  );
  return row;
}

/** Sum and count in the 1h rollup of `name` per value of label `key`, joined through series. */
async function hourlyByLabel(
  store: Store,
  name: string,
  key: string,
): Promise<Array<{ value: string; sum: number; count: string }>> {
  return store.query(
    sql`SELECT s.value AS value, sum(r.value_sum) AS sum, toString(sum(r.value_count)) AS count
        FROM ${ident(store.table('samples1h'))} AS r
        INNER JOIN (
          SELECT fingerprint, any(labels)[${key}] AS value FROM ${ident(store.table('series'))}
          WHERE name = ${name} GROUP BY fingerprint
        ) AS s ON r.fingerprint = s.fingerprint
        WHERE r.name = ${name}
        GROUP BY value ORDER BY value`,
  );
}

/** Sum and count of the rows of `name` per value of label `key`, computed here. */
function expectedByLabel(
  rows: readonly SampleRow[],
  name: string,
  key: string,
): Array<{ value: string; sum: number; count: string }> {
  const by = new Map<string, { sum: number; count: number }>();
  for (const row of rows.filter((r) => r.name === name)) {
    const value = row.labels[key] ?? '';
    const seen = by.get(value) ?? { sum: 0, count: 0 };
    by.set(value, { sum: seen.sum + row.value, count: seen.count + 1 });
  }
  return [...by.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([value, { sum, count }]) => ({ value, sum, count: String(count) }));
}

function totalOf(rows: readonly SampleRow[]): { sum: number; count: string } {
  return { sum: rows.reduce((a, r) => a + r.value, 0), count: String(rows.length) };
}

/** Every rollup row's values per fingerprint and bucket: what a migration must leave alone. */
async function rollupRows(
  store: Store,
  rollup: 'samples1m' | 'samples5m' | 'samples1h',
): Promise<unknown[]> {
  return store.query(
    sql`SELECT toString(fingerprint) AS fp, toString(ts) AS ts, any(name) AS name, any(host) AS host,
          sum(value_sum) AS sum, toString(sum(value_count)) AS count, min(value_min) AS min,
          max(value_max) AS max, argMaxMerge(value_last) AS last
        FROM ${ident(store.table(rollup))} GROUP BY fingerprint, ts ORDER BY fp, ts`,
  );
}

const LB = { name: 'requests', tier: 'lb', host: 'lb-1', service: 'front' };
const QUOTED = '/say "hi"';

/** Three minutes at 1 s of three request series (two with code 200) and one unlabelled gauge. */
function trafficRows(from: number): SampleRow[] {
  const rows: SampleRow[] = [];
  for (let i = 0; i < 180; i++) {
    const ts = from + i * 1000;
    rows.push({ ...LB, labels: { code: '200', path: QUOTED }, ts, value: i % 7 });
    rows.push({ ...LB, host: 'lb-2', labels: { code: '200', path: "/it's" }, ts, value: 2 });
    rows.push({ ...LB, labels: { code: '500', path: QUOTED }, ts, value: i % 3 });
    rows.push({ ...LB, name: 'queue', labels: {}, ts, value: 100 - i });
  }
  return rows;
}

describe('series', () => {
  it('holds one row per series with its labels, fingerprint and the span of the insert that registered it', async () => {
    const { store } = await fresh();
    const rows: SampleRow[] = [
      { ...LB, labels: { code: '200', path: QUOTED }, ts: t0 + 500, value: 1 },
      // The same series with its label keys in another order: same fingerprint, same row.
      { ...LB, labels: { path: QUOTED, code: '200' }, ts: t0 + 61_250, value: 2 },
      { ...LB, labels: { code: '500', path: QUOTED }, ts: t0 + 2_000, value: 3 },
      { ...LB, host: 'lb-2', labels: { code: '200', path: "/it's" }, ts: t0 + 30_999, value: 4 },
      { ...LB, name: 'queue', labels: {}, ts: t0 + 5_000, value: 5 },
      { ...LB, labels: { code: '200', path: QUOTED }, ts: t0 + 150_750, value: 6 },
      { ...LB, labels: { code: '200', path: QUOTED }, ts: t0 + 90_000, value: 7 },
    ];
    await writeSamples(store, rows);

    const series = await storedSeries(store);
    expect(series.rows).toEqual(expectedSeries(rows));
    expect(series.rows).toHaveLength(4);
    expect(series.fingerprints).toEqual(await sampleFingerprints(store));
    expect(await seriesCountFinal(store)).toBe('4');

    // The same series five minutes on, well within the half hour a registration stands at least:
    // the samples are stored, the series are not registered again.
    await writeSamples(
      store,
      rows.map((row) => ({ ...row, ts: row.ts + 5 * 60_000 })),
    );
    expect(
      await store.query(sql`SELECT count() AS n FROM ${ident(store.table('samples'))}`),
    ).toEqual([{ n: String(2 * rows.length) }]);
    expect((await storedSeries(store)).rows).toEqual(expectedSeries(rows));
    const [raw] = await store.query<{ n: string }>(
      sql`SELECT count() AS n FROM ${ident(store.table('series'))}`,
    );
    expect(raw?.n).toBe('4');

    // A label value with quotes in it, bound as a parameter, finds its series.
    const quoted = await store.query<{ host: string; code: string }>(
      sql`SELECT host, labels['code'] AS code FROM ${ident(store.table('series'))} FINAL
          WHERE labels['path'] = ${QUOTED} ORDER BY code`,
    );
    expect(quoted).toEqual([
      { host: 'lb-1', code: '200' },
      { host: 'lb-1', code: '500' },
    ]);
  });

  it('a rollup query matches labels through series and gets the exact sums', async () => {
    const { store } = await fresh();
    const rows = trafficRows(t0);
    for (let i = 0; i < 4; i++) await writeSamples(store, rows.slice(i * 180, (i + 1) * 180));
    const requests = rows.filter((r) => r.name === 'requests');
    const ok = requests.filter((r) => r.labels['code'] === '200');

    for (const rollup of ['samples1m', 'samples1h'] as const) {
      expect(await rollupWhere(store, rollup, 'requests', 'code', '200'), rollup).toEqual(
        totalOf(ok),
      );
      expect(await rollupWhere(store, rollup, 'requests', 'path', QUOTED), rollup).toEqual(
        totalOf(requests.filter((r) => r.labels['path'] === QUOTED)),
      );
      // A matcher no series has matches no rollup row.
      expect(await rollupWhere(store, rollup, 'requests', 'code', '404'), rollup).toEqual({
        sum: 0,
        count: '0',
      });
    }

    // Per minute, code 200 over both hosts.
    const minutes = await store.query<{ ts: string; sum: number; count: string }>(
      sql`SELECT toString(ts) AS ts, sum(value_sum) AS sum, toString(sum(value_count)) AS count
          FROM ${ident(store.table('samples1m'))}
          WHERE fingerprint IN (SELECT fingerprint FROM ${ident(store.table('series'))}
                                WHERE name = ${'requests'} AND labels['code'] = ${'200'})
          GROUP BY ts ORDER BY ts`,
    );
    expect(minutes).toEqual(
      [0, 1, 2].map((m) => ({
        ts: second(t0 + m * 60_000),
        ...totalOf(ok.filter((r) => Math.floor((r.ts - t0) / 60_000) === m)),
      })),
    );

    // Grouped by a label, joined through series.
    expect(await hourlyByLabel(store, 'requests', 'code')).toEqual(
      expectedByLabel(rows, 'requests', 'code'),
    );
  });

  it('a store from before migration 5 gets its series backfilled, from the rollups too, and keeps its rollups; migrating again changes nothing', async () => {
    const { store, config } = await fresh();
    // Start this database again from nothing, migrated up to version 4 only.
    await store.command(sql`DROP DATABASE ${ident(store.database)} SYNC`);
    const v4 = await migrate(
      store,
      config,
      silentLogger(),
      MIGRATIONS.filter((m) => m.version <= 4),
    );
    expect(v4.applied).toEqual([1, 2, 3, 4]);
    const old = await describeSchema(store);
    expect(old[TABLES.series]).toBeUndefined();
    expect(old[`${TABLES.samples1m}_mv`]).toContain('any(labels) AS labels');

    // This writer registers series: before migration 5 it refuses, and stores no sample.
    await expect(writeSamples(store, trafficRows(t0).slice(0, 4))).rejects.toMatchObject({
      name: 'StoreError',
      message: expect.stringMatching(/^write 4 series: .*UNKNOWN_TABLE/s) as unknown,
    });
    const sampleCount = async () =>
      (
        await store.query<{ n: string }>(
          sql`SELECT count() AS n FROM ${ident(store.table('samples'))}`,
        )
      )[0]?.n;
    expect(await sampleCount()).toBe('0');

    // Written as version 4 wrote them: the samples alone, the rollups with their labels. Two of
    // the series are past the samples' retention: one is left in both rollups, one in the
    // hourly rollup only.
    const before = trafficRows(t0);
    const retired = { ...LB, host: 'lb-old', labels: { code: '200', path: '/gone "q" \\ ü' } };
    const ancient = { ...LB, host: 'lb-ancient', labels: { code: '500', path: '/older' } };
    const gone: SampleRow[] = [0, 1, 2].flatMap((i) => [
      { ...retired, ts: t0 + i * 1000, value: 10 + i },
      { ...ancient, ts: t0 + i * 1000, value: 100 + i },
    ]);
    await writeSamplesFast(store, before.slice(0, 360));
    await writeSamplesFast(store, [...before.slice(360), ...gone]);
    const synchronous = { mutations_sync: '1' };
    await store.command(
      sql`ALTER TABLE ${ident(store.table('samples'))} DELETE WHERE host IN (${['lb-old', 'lb-ancient']})`,
      synchronous,
    );
    await store.command(
      sql`ALTER TABLE ${ident(store.table('samples1m'))} DELETE WHERE host = ${'lb-ancient'}`,
      synchronous,
    );
    expect(await sampleCount()).toBe(String(before.length));
    const everything = [...before, ...gone];
    // Version 4 still has labels in the rollups: the answer by label that must survive.
    const byCodeV4 = await store.query(
      sql`SELECT labels['code'] AS value, sum(value_sum) AS sum, toString(sum(value_count)) AS count
          FROM ${ident(store.table('samples1h'))} WHERE name = ${'requests'}
          GROUP BY value ORDER BY value`,
    );
    expect(byCodeV4).toEqual(expectedByLabel(everything, 'requests', 'code'));
    const minuteV4 = await rollupRows(store, 'samples1m');
    const hourV4 = await rollupRows(store, 'samples1h');
    // Four series over three minutes, and the retired series' one minute.
    expect(minuteV4).toHaveLength(4 * 3 + 1);

    // Migration 5 and any later one.
    const result = await migrate(store, config, silentLogger());
    expect(result).toEqual({
      applied: MIGRATIONS.filter((m) => m.version > 4).map((m) => m.version),
      ttlUpdated: [],
    });
    expect(result.applied[0]).toBe(5);

    // Backfilled from the samples, then the retired series from the rollups, labels and all;
    // their first and last seen are the rollup buckets they were found in.
    const hour = Math.floor(t0 / 3_600_000) * 3_600_000;
    const backfilled = expectedSeries([
      ...before,
      { ...retired, ts: t0, value: 0 },
      { ...ancient, ts: hour, value: 0 },
    ]);
    expect((await storedSeries(store)).rows).toEqual(backfilled);
    const [hourly] = await store.query<{ fps: string[] }>(
      sql`SELECT arraySort(groupUniqArray(toString(fingerprint))) AS fps
          FROM ${ident(store.table('samples1h'))}`,
    );
    expect((await storedSeries(store)).fingerprints).toEqual(hourly?.fps);
    expect(await rollupRows(store, 'samples1m')).toEqual(minuteV4);
    expect(await rollupRows(store, 'samples1h')).toEqual(hourV4);
    // Migration 9 folded the minutes into 5-minute buckets: the same sums, counts and extremes.
    const fiveOfMinutes = await store.query(
      sql`SELECT toString(fingerprint) AS fp, toString(toStartOfFiveMinutes(ts)) AS ts,
            any(name) AS name, any(host) AS host, sum(value_sum) AS sum,
            toString(sum(value_count)) AS count, min(value_min) AS min, max(value_max) AS max,
            argMaxMerge(value_last) AS last
          FROM ${ident(store.table('samples1m'))} GROUP BY fingerprint, ts ORDER BY fp, ts`,
    );
    expect(fiveOfMinutes.length).toBeGreaterThan(0);
    expect(await rollupRows(store, 'samples5m')).toEqual(fiveOfMinutes);
    // A label matcher through series finds the retired series in the hourly rollup.
    expect(await hourlyByLabel(store, 'requests', 'code')).toEqual(byCodeV4);
    for (const series of [retired, ancient]) {
      expect(await rollupWhere(store, 'samples1h', 'requests', 'path', series.labels.path)).toEqual(
        totalOf(gone.filter((r) => r.host === series.host)),
      );
    }
    expect(await rollupWhere(store, 'samples1m', 'requests', 'path', retired.labels.path)).toEqual(
      totalOf(gone.filter((r) => r.host === retired.host)),
    );
    // The rollup tables keep their labels column; the views no longer fill it.
    const schema = await describeSchema(store);
    for (const rollup of [TABLES.samples1m, TABLES.samples1h]) {
      expect(schema[rollup], rollup).toBe(old[rollup]);
      expect(schema[`${rollup}_mv`], rollup).not.toMatch(/\blabels\b/);
    }

    // Written after the migration: series registered by the writer, rollups through the new views.
    const after: SampleRow[] = [
      { ...LB, labels: { code: '200', path: QUOTED }, ts: t0 + 240_000, value: 1000 },
      { ...LB, labels: { code: '503', path: '/new' }, ts: t0 + 241_000, value: 50 },
    ];
    await writeSamples(store, after);
    const all = [...everything, ...after];
    expect((await storedSeries(store)).rows).toEqual(
      expectedSeries([
        ...before,
        ...after,
        { ...retired, ts: t0, value: 0 },
        { ...ancient, ts: hour, value: 0 },
      ]),
    );
    for (const rollup of ['samples1m', 'samples1h'] as const) {
      for (const code of ['200', '500', '503']) {
        const stored = rollup === 'samples1m' ? all.filter((r) => r.host !== ancient.host) : all;
        expect(
          await rollupWhere(store, rollup, 'requests', 'code', code),
          `${rollup} ${code}`,
        ).toEqual(
          totalOf(stored.filter((r) => r.name === 'requests' && r.labels['code'] === code)),
        );
      }
    }
    // The new series' rollup rows have an empty label map; the old rows keep theirs.
    const labelsIn = (rollup: 'samples1m' | 'samples1h', host: string, path: string) =>
      store.query(
        sql`SELECT DISTINCT labels FROM ${ident(store.table(rollup))}
            WHERE host = ${host} AND fingerprint IN (SELECT fingerprint FROM ${ident(store.table('series'))}
                                                     WHERE labels['path'] = ${path})`,
      );
    expect(await labelsIn('samples1m', 'lb-1', '/new')).toEqual([{ labels: {} }]);
    expect(await labelsIn('samples1h', 'lb-1', '/new')).toEqual([{ labels: {} }]);
    expect(await labelsIn('samples1h', ancient.host, ancient.labels.path)).toEqual([
      { labels: ancient.labels },
    ]);

    // Migrating again, and migration 5 repeated whole (as after a crash before it was recorded),
    // change nothing: its backfill adds rows that merge into the same series.
    const snapshot = {
      schema: await describeSchema(store),
      series: await storedSeries(store),
      minute: await rollupRows(store, 'samples1m'),
      five: await rollupRows(store, 'samples5m'),
      hour: await rollupRows(store, 'samples1h'),
      byCode: await hourlyByLabel(store, 'requests', 'code'),
    };
    expect(await migrate(store, config, silentLogger())).toEqual({ applied: [], ttlUpdated: [] });
    const series = MIGRATIONS.find((m) => m.version === 5);
    expect(series?.name).toBe('series table; rollups keyed by fingerprint');
    for (const statement of series!.statements(ddlContext(config))) await store.command(statement);
    // And the backfills of 9 and 10 again: they fill empty tables only.
    for (const version of [9, 10])
      for (const statement of MIGRATIONS.find((m) => m.version === version)!.statements(
        ddlContext(config),
      ))
        await store.command(statement);
    expect({
      schema: await describeSchema(store),
      series: await storedSeries(store),
      minute: await rollupRows(store, 'samples1m'),
      five: await rollupRows(store, 'samples5m'),
      hour: await rollupRows(store, 'samples1h'),
      byCode: await hourlyByLabel(store, 'requests', 'code'),
    }).toEqual(snapshot);
    expect(await seriesCountFinal(store)).toBe(String(snapshot.series.rows.length));
    expect(snapshot.series.rows).toHaveLength(7);
  });
});
