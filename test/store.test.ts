// The store on real embedded ClickHouse: migrations, exact round trips, rollups, dedup, retention.

import { afterEach, describe, expect, it } from 'vitest';
import { TABLES } from '../core/conventions.ts';
import { silentLogger } from '../core/logger.ts';
import { describeSchema, migrate } from '../core/store/migrate.ts';
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
    expect(Object.keys(first).sort()).toEqual(
      [
        TABLES.alerts,
        TABLES.logs,
        TABLES.migrations,
        TABLES.notifications,
        TABLES.samples,
        TABLES.samples1h,
        `${TABLES.samples1h}_mv`,
        TABLES.samples1m,
        `${TABLES.samples1m}_mv`,
        TABLES.sloEvaluations,
      ].sort(),
    );
    const again = await migrate(store, config, silentLogger());
    expect(again).toEqual({ applied: [], ttlUpdated: [] });
    // Forget that they ran: every statement runs a second time and must change nothing.
    await store.command(`TRUNCATE TABLE ${store.table('migrations')}`);
    const rerun = await migrate(store, config, silentLogger());
    expect(rerun.applied).toEqual([1, 2, 3, 4]);
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
    expect(result.ttlUpdated.sort()).toEqual([TABLES.logs, TABLES.samples]);
    const schema = await describeSchema(store);
    expect(schema[TABLES.samples]).toContain('TTL toDateTime(ts) + toIntervalSecond(604800)');
    expect(schema[TABLES.logs]).toContain('TTL toDateTime(ts) + toIntervalSecond(259200)');
    expect((await migrate(store, changed, silentLogger())).ttlUpdated).toEqual([]);
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
      message: expect.stringMatching(/^write 1 samples: sample 0: /) as unknown,
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
    expect(
      await store.query(sql`SELECT count() AS n FROM ${ident(store.table('samples'))}`),
    ).toEqual([{ n: '0' }]);
  });
});
