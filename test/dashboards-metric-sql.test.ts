// Panel SQL over samples (rates, gauges, ratios, quantiles) on chDB: one answer at every resolution.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import {
  RANGE_STEP_SECONDS,
  ROLLUP_OF_RANGE,
  quantileSql,
  rangeQuantileSql,
  rangeSql,
  ratioSql,
  ratioStatSql,
  seriesSql,
  statSql,
  memberOf,
  partRangeSql,
  partSql,
  withTopMembers,
  type SeriesQuery,
} from '../dashboards/metric-sql.ts';
import { joinRangeSql, joinSql } from '../dashboards/joined-sql.ts';
import { runSql } from './helpers/dashboard-queries.ts';
import { openTestStore } from './helpers/store.ts';

const STEP = 10_000;
const HOUR = 3_600_000;
const now = Math.floor(Date.now() / HOUR) * HOUR;
const start = now - 4 * 24 * HOUR;

/** Every 10 s for four days: counters at 1/s and 0.1/s per host, gauges, a histogram. */
function rows(): SampleRow[] {
  const out: SampleRow[] = [];
  const add = (
    name: string,
    host: string,
    labels: Record<string, string>,
    value: number,
    ts: number,
  ) => out.push({ name, tier: 'web', host, service: 'shop', labels, ts, value });
  for (let ts = start; ts < now; ts += STEP) {
    for (const [host, k] of [
      ['h1', 1],
      ['h2', 2],
    ] as const) {
      add('req_total', host, { code: '200' }, 10 * k, ts);
      add('req_total', host, { code: '500' }, 1 * k, ts);
      add('mem_bytes', host, { kind: 'a' }, host === 'h1' ? 100 : 300, ts);
      add('mem_bytes', host, { kind: 'b' }, host === 'h1' ? 200 : 400, ts);
      add('limit_bytes', host, { kind: 'a' }, 1000, ts);
      add('limit_bytes', host, { kind: 'b' }, host === 'h1' ? 0 : 2000, ts);
      // Cumulative buckets, as the agent sends them: 5 ≤ 0.1 s, 8 ≤ 0.5 s, 9 ≤ 1 s, 10 in all.
      for (const [le, n] of [
        ['0.1', 5],
        ['0.5', 8],
        ['1', 9],
        ['+Inf', 10],
      ] as const) {
        add('lat_seconds_bucket', host, { le }, n * k, ts);
      }
    }
  }
  return out;
}

let store: Store;
let database: string;

beforeAll(async () => {
  const opened = await openTestStore();
  store = opened.store;
  database = opened.config.clickhouse.database;
  const all = rows();
  for (let i = 0; i < all.length; i += 100_000)
    await writeSamples(store, all.slice(i, i + 100_000));
}, 120_000);
afterAll(async () => {
  await store?.close();
});

/** Each range reads another table: raw samples, the minute, 5-minute and hourly rollups. */
const RANGES = [
  ['30 minutes (raw samples)', 30 * 60_000, 20_000],
  ['6 hours (minute rollup)', 6 * HOUR, 20_000],
  ['1 day (5-minute rollup)', 24 * HOUR, 20_000],
  ['1 day in 10-minute buckets (5-minute rollup)', 24 * HOUR, 600_000],
  ['4 days (hourly rollup)', 4 * 24 * HOUR, 600_000],
] as const;

async function run(
  sql: string,
  rangeMs: number,
  intervalMs: number,
): Promise<Array<Record<string, number | string>>> {
  const { data } = await runSql(store, database, sql, {
    from: now - rangeMs,
    to: now - 1000,
    intervalMs,
    variables: { tier: ['web'], host: ['h1', 'h2'] },
  });
  return data as Array<Record<string, number | string>>;
}

/** Values of one group, leaving out the range's first bucket, which starts before the range. */
const valuesOf = (data: Array<Record<string, number | string>>, key: string, group: string) =>
  data
    .filter((r) => r[key] === group)
    .slice(1)
    .map((r) => Number(r['value']));

it('the bucket of finer data follows the rollup the range reads, or a coarser interval', async () => {
  const step = async (rangeMs: number, intervalMs: number) =>
    Number((await run(`SELECT ${RANGE_STEP_SECONDS} AS s`, rangeMs, intervalMs))[0]?.['s']);
  expect(await step(30 * 60_000, 20_000)).toBe(20);
  expect(await step(6 * HOUR, 20_000)).toBe(60);
  expect(await step(24 * HOUR, 60_000)).toBe(300);
  expect(await step(24 * HOUR, 600_000)).toBe(600);
  expect(await step(4 * 24 * HOUR, 600_000)).toBe(3600);
});

it('a range past the raw hour reads the minute, 5-minute or hourly rollup through one Merge table', async () => {
  const rollup = async (rangeMs: number) =>
    (await run(`SELECT ${ROLLUP_OF_RANGE} AS t`, rangeMs, 60_000))[0]?.['t'];
  expect(await rollup(6 * HOUR)).toBe('samples_1m');
  expect(await rollup(12 * HOUR)).toBe('samples_1m');
  expect(await rollup(24 * HOUR)).toBe('samples_5m');
  expect(await rollup(3 * 24 * HOUR)).toBe('samples_5m');
  expect(await rollup(4 * 24 * HOUR)).toBe('samples_1h');
  // The table the query names holds those rows, and reads only them.
  const [row] = await store.query<{ tables: string[] }>({
    text: `SELECT groupUniqArray(_table) AS tables FROM ${store.table('samplesRollups')} WHERE _table = 'samples_5m'`,
    params: {},
  });
  expect(row?.tables).toEqual(['samples_5m']);
});

describe.each(RANGES)('over %s', (_, rangeMs, intervalMs) => {
  it('two gauges divided per host and label: one read of both (with a ranking) is the join of two', async () => {
    // With an `only`, as top-member panels have: the case read at once.
    const side = (metric: string | string[], only = "host != ''"): SeriesQuery => ({
      metric,
      over: 'avg',
      across: 'max',
      by: ['host', 'kind'],
      scope: ['tier', 'host'],
      only,
    });
    for (const [sql, range] of [
      [joinSql, false],
      [joinRangeSql, true],
    ] as const) {
      const query = (b: string | string[]) => ({
        a: side('mem_bytes'),
        b: side(b),
        on: ['host', 'kind'],
        expr: 'a / b',
        where: 'b > 0',
        group: ['host'],
      });
      // A list of one name is not a plain name: the two sides are read and joined.
      const joined = sql(query(['limit_bytes']));
      const once = sql(query('limit_bytes'));
      expect(joined).toContain(') AS r USING (');
      expect(once).not.toContain(') AS r USING (');
      // Without a ranking, a time series reads twice and joins (it measured faster); a range,
      // itself a ranking planned into other queries, reads once.
      const plain = { ...query('limit_bytes'), a: { ...side('mem_bytes'), only: undefined } };
      const plainSql = sql({ ...plain, b: { ...side('limit_bytes'), only: undefined } });
      if (range) expect(plainSql).not.toContain(') AS r USING (');
      else expect(plainSql).toContain(') AS r USING (');
      expect(once).toContain("anyIf(v, name = 'limit_bytes')");
      const a = await run(joined, rangeMs, intervalMs);
      const b = await run(once, rangeMs, intervalMs);
      expect(b).toEqual(a);
      // h1's kind b has no limit (0): only kind a counts, 100 / 1000; h2: max(0.3, 0.2).
      const byHost = (host: string) =>
        new Set(b.filter((r) => r['host'] === host).map((r) => r['value']));
      expect(byHost('h1'), range ? 'range' : 'series').toEqual(new Set([0.1]));
      expect(byHost('h2')).toEqual(new Set([0.3]));
    }
  });

  it('a rate per host, only the matching label', async () => {
    const data = await run(
      seriesSql({
        metric: 'req_total',
        match: { code: '200' },
        over: 'rate',
        by: ['host'],
        scope: ['tier', 'host'],
      }),
      rangeMs,
      intervalMs,
    );
    const h1 = valuesOf(data, 'host', 'h1');
    const h2 = valuesOf(data, 'host', 'h2');
    expect(h1.length).toBeGreaterThan(3);
    for (const v of h1.slice(0, -1)) expect(v).toBeCloseTo(1, 6);
    for (const v of h2.slice(0, -1)) expect(v).toBeCloseTo(2, 6);
  });

  it('a rate per label, read from the series table on the rollups', async () => {
    const data = await run(
      seriesSql({ metric: 'req_total', over: 'rate', by: ['code'] }),
      rangeMs,
      intervalMs,
    );
    for (const v of valuesOf(data, 'code', '500').slice(0, -1)) expect(v).toBeCloseTo(0.3, 6);
    for (const v of valuesOf(data, 'code', '200').slice(0, -1)) expect(v).toBeCloseTo(3, 6);
  });

  it('a gauge summed across series per host, and its max', async () => {
    const summed = await run(
      seriesSql({ metric: 'mem_bytes', over: 'avg', across: 'sum', by: ['host'] }),
      rangeMs,
      intervalMs,
    );
    expect(new Set(valuesOf(summed, 'host', 'h1'))).toEqual(new Set([300]));
    expect(new Set(valuesOf(summed, 'host', 'h2'))).toEqual(new Set([700]));
    const max = await run(
      seriesSql({ metric: 'mem_bytes', over: 'max', across: 'max', by: ['host'] }),
      rangeMs,
      intervalMs,
    );
    expect(new Set(valuesOf(max, 'host', 'h2'))).toEqual(new Set([400]));
  });

  it('an error ratio per host, and over the range', async () => {
    const selector = { metric: 'req_total', scope: ['tier', 'host'] as const };
    const data = await run(
      ratioSql({
        numerator: { ...selector, match: { code: { op: '=~', value: '5..' } } },
        denominator: selector,
        by: ['host'],
      }),
      rangeMs,
      intervalMs,
    );
    for (const v of valuesOf(data, 'host', 'h2')) expect(v).toBeCloseTo(1 / 11, 6);
    const stat = await run(
      ratioStatSql({
        numerator: { ...selector, match: { code: '500' } },
        denominator: selector,
        scale: 100,
      }),
      rangeMs,
      intervalMs,
    );
    expect(stat).toHaveLength(1);
    expect(Number(stat[0]?.['value'])).toBeCloseTo(100 / 11, 6);
  });

  it('histogram quantiles interpolate inside the bucket, and stop at the highest finite bound', async () => {
    const data = await run(
      quantileSql({ metric: 'lat_seconds_bucket', quantiles: { p50: 0.5, p85: 0.85, p99: 0.99 } }),
      rangeMs,
      intervalMs,
    );
    expect(data.length).toBeGreaterThan(3);
    for (const row of data) {
      expect(Number(row['p50'])).toBeCloseTo(0.1, 9);
      // rank 8.5 of 10: half-way through (0.5, 1].
      expect(Number(row['p85'])).toBeCloseTo(0.75, 9);
      expect(Number(row['p99'])).toBeCloseTo(1, 9);
    }
  });

  it('a stat is one row: the latest value summed across series, and the mean rate', async () => {
    const last = await run(
      statSql({ metric: 'mem_bytes', over: 'last', across: 'sum', scope: ['host'] }),
      rangeMs,
      intervalMs,
    );
    expect(last).toEqual([{ value: 1000 }]);
    const rate = await run(statSql({ metric: 'req_total', over: 'rate' }), rangeMs, intervalMs);
    expect(rate).toHaveLength(1);
    // The range ends a second before the data does; its first minute or hour may be cut.
    expect(Number(rate[0]?.['value'])).toBeGreaterThan(3.3 * 0.95);
    expect(Number(rate[0]?.['value'])).toBeLessThan(3.3 * 1.05);
  });

  it('a part of a counter from one read: matcher sets ORed, a series counted once', async () => {
    // code 500 matches both sets: counted once, 1 of 11 requests on each host.
    const part = [{ code: '500' }, { code: { op: '=~' as const, value: '5..' } }];
    const series = await run(
      partSql({ of: { metric: 'req_total' }, part, by: ['host'], as: 'share' }),
      rangeMs,
      intervalMs,
    );
    expect(series.length).toBeGreaterThan(3);
    for (const r of series) expect(Number(r['share'])).toBeCloseTo(1 / 11, 9);
    const range = await run(
      partRangeSql({ of: { metric: 'req_total' }, part, as: 'share', rateAs: 'rate' }),
      rangeMs,
      intervalMs,
    );
    expect(range).toHaveLength(1);
    expect(Number(range[0]?.['share'])).toBeCloseTo(1 / 11, 9);
    expect(Number(range[0]?.['rate'])).toBeGreaterThan(3.3 * 0.95);
    expect(Number(range[0]?.['rate'])).toBeLessThan(3.3 * 1.05);
    const none = await run(
      partRangeSql({ of: { metric: 'no_such_metric' }, part }),
      rangeMs,
      intervalMs,
    );
    expect(none).toEqual([]);
  });

  it('totals and quantiles over the whole range, one row per group', async () => {
    const totals = await run(
      rangeSql({ metric: 'req_total', match: { code: '500' }, over: 'rate', by: ['host'] }),
      rangeMs,
      intervalMs,
    );
    expect(totals.map((r) => r['host']).sort()).toEqual(['h1', 'h2']);
    for (const r of totals) {
      const k = r['host'] === 'h1' ? 1 : 2;
      expect(Number(r['value'])).toBeGreaterThan(0.1 * k * 0.95);
      expect(Number(r['value'])).toBeLessThan(0.1 * k * 1.05);
    }
    const p50 = await run(
      rangeQuantileSql({ metric: 'lat_seconds_bucket', quantiles: { p50: 0.5 }, by: ['host'] }),
      rangeMs,
      intervalMs,
    );
    expect(p50).toHaveLength(2);
    for (const r of p50) expect(Number(r['p50'])).toBeCloseTo(0.1, 9);
  });

  it('draws the top members over the range, or the lowest, each with all its series', async () => {
    const perKind: SeriesQuery = { metric: 'mem_bytes', over: 'avg', by: ['host', 'kind'] };
    const rank = rangeSql({ metric: 'mem_bytes', over: 'avg', by: ['host'] });
    const only = memberOf(['host']);
    const hostsOf = (data: Array<Record<string, number | string>>) =>
      [...new Set(data.map((r) => `${r['host']}/${r['kind']}`))].sort();
    const top = (options: { k?: number; lowest?: boolean }) =>
      run(
        withTopMembers(seriesSql({ ...perKind, only }), rank, ['host'], options),
        rangeMs,
        intervalMs,
      );
    expect(hostsOf(await top({ k: 1 }))).toEqual(['h2/a', 'h2/b']);
    expect(hostsOf(await top({ k: 1, lowest: true }))).toEqual(['h1/a', 'h1/b']);
    const enough = await top({});
    expect(hostsOf(enough)).toEqual(['h1/a', 'h1/b', 'h2/a', 'h2/b']);
    expect(enough).toEqual(await run(seriesSql(perKind), rangeMs, intervalMs));
  });

  it('a stat of no data is no row, not a zero', async () => {
    const data = await run(statSql({ metric: 'no_such_metric', over: 'avg' }), rangeMs, intervalMs);
    expect(data).toEqual([]);
  });
});

describe('label names', () => {
  it('refuses a label that is not a name', () => {
    expect(() => seriesSql({ metric: 'x', over: 'rate', by: ["a']"] })).toThrow(/not a label name/);
  });
  it('quotes label values', async () => {
    const data = await run(
      seriesSql({ metric: 'req_total', match: { code: "it's" }, over: 'rate' }),
      30 * 60_000,
      60_000,
    );
    expect(data).toEqual([]);
  });
});
