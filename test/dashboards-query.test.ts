// The ClickHouse query builder's JSON, the plugin's macro expansions, and that SQL run on chDB.

import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClickHouseQueryBuilder,
  FORMAT,
  QUERY_TYPE,
  clickhouseQuery,
} from '../dashboards/clickhouse-query.ts';
import { ALL_VALUE, inSelection } from '../dashboards/common.ts';
import {
  MacroError,
  expandMacros,
  type MacroContext,
  type VariableValue,
} from '../dashboards/macros.ts';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { openTestStore } from './helpers/store.ts';

describe('ClickHouseQueryBuilder', () => {
  it('builds the target the plugin stores, without the marker function', () => {
    const built = new ClickHouseQueryBuilder()
      .refId('B')
      .datasource('ch')
      .rawSql('SELECT 1')
      .format(FORMAT.timeSeries)
      .queryType(QUERY_TYPE.timeSeries)
      .pluginVersion('4.0.0')
      .build();
    expect(JSON.parse(JSON.stringify(built))).toEqual({
      refId: 'B',
      datasource: { type: 'grafana-clickhouse-datasource', uid: 'ch' },
      editorType: 'sql',
      rawSql: 'SELECT 1',
      format: 0,
      queryType: 'timeSeries',
      pluginVersion: '4.0.0',
    });
  });

  it.each([
    ['table', 1, 'table'],
    ['timeseries', 0, 'timeSeries'],
    ['logs', 2, 'logs'],
    ['traces', 3, 'traces'],
  ] as const)('a %s query sets format %i and queryType %s', (kind, format, queryType) => {
    const built = clickhouseQuery('SELECT 1', kind).build();
    expect(built).toMatchObject({ format, queryType, editorType: 'sql', rawSql: 'SELECT 1' });
  });

  it('is accepted as a panel target', () => {
    const panel = new TimeseriesPanelBuilder()
      .withTarget(clickhouseQuery('SELECT 1', 'timeseries').refId('A'))
      .build();
    expect(JSON.parse(JSON.stringify(panel.targets))).toEqual([
      expect.objectContaining({ refId: 'A', rawSql: 'SELECT 1', format: 0 }),
    ]);
  });
});

// 2024-03-01T10:00:00.250Z to 2024-03-02T10:05:00.750Z: odd milliseconds to check rounding.
const from = Date.UTC(2024, 2, 1, 10, 0, 0, 250);
const to = Date.UTC(2024, 2, 2, 10, 5, 0, 750);
const ctx: MacroContext = { from, to, intervalMs: 20_500 };
const fromS = Math.floor(from / 1000);
const toS = Math.floor(to / 1000);

describe('expandMacros', () => {
  it.each([
    ['$__timeFilter(ts)', `ts >= toDateTime(${fromS}) AND ts <= toDateTime(${toS})`],
    [
      '$__timeFilter_ms(ts)',
      `ts >= fromUnixTimestamp64Milli(${from}) AND ts <= fromUnixTimestamp64Milli(${to})`,
    ],
    ['$__dateFilter(d)', "d >= toDate('2024-03-01') AND d <= toDate('2024-03-02')"],
    ['$__fromTime', `toDateTime(${fromS})`],
    ['$__toTime', `toDateTime(${toS})`],
    ['$__fromTime_ms', `fromUnixTimestamp64Milli(${from})`],
    ['$__toTime_ms', `fromUnixTimestamp64Milli(${to})`],
    ['$__interval_s', '20'],
    ['$__timeInterval(ts)', 'toStartOfInterval(toDateTime(ts), INTERVAL 20 second)'],
    [
      '$__timeInterval_ms(ts)',
      'toStartOfInterval(toDateTime64(ts, 3), INTERVAL 20500 millisecond)',
    ],
    [
      '$__timeFilter(toDateTime(ts, 3))',
      `toDateTime(ts, 3) >= toDateTime(${fromS}) AND toDateTime(ts, 3) <= toDateTime(${toS})`,
    ],
  ])('%s expands to the documented expression', (sql, expected) => {
    expect(expandMacros(sql, ctx)).toBe(expected);
  });

  it('an interval under a second counts as one second, as the plugin floors it at 1', () => {
    expect(expandMacros('$__interval_s', { ...ctx, intervalMs: 200 })).toBe('1');
    expect(expandMacros('$__timeInterval_ms(ts)', { ...ctx, intervalMs: 0 })).toContain(
      'INTERVAL 1 millisecond',
    );
  });

  it('formats variables as the plugin does: a multi-value as a quoted list, a single value as is', () => {
    const variables = { tier: 'web', host: ['a', 'b'], n: '5' };
    expect(
      expandMacros("tier = '$tier' AND host IN (${host}) AND n > $n", { ...ctx, variables }),
    ).toBe("tier = 'web' AND host IN ('a','b') AND n > 5");
  });

  it.each([
    ['singlequote', ['a', "b'c"], "'a','b\\'c'"],
    ['sqlstring', ["it's"], "'it''s'"],
    ['raw', ['a', 'b'], 'a,b'],
    ['percentencode', "50% o'k (x)*!", '50%25%20o%27k%20%28x%29%2A%21'],
    ['percentencode', ['a', 'b'], '%7Ba%2Cb%7D'],
  ])('formats ${var:%s} as Grafana does', (format, value, expected) => {
    expect(expandMacros(`\${v:${format}}`, { ...ctx, variables: { v: value } })).toBe(expected);
  });

  it.each([
    ['singlequote', "'__all__'"],
    ['sqlstring', "'__all__'"],
    ['raw', "'__all__'"],
    [undefined, "'__all__'"],
    ['percentencode', '%27__all__%27'],
  ])('puts a custom all value into ${var:%s} unformatted, as Grafana does', (format, expected) => {
    const sql = format === undefined ? '${v}' : `\${v:${format}}`;
    expect(expandMacros(sql, { ...ctx, variables: { v: { all: ALL_VALUE } } })).toBe(expected);
  });

  it('refuses a format it does not know for a custom all value, naming it', () => {
    const variables = { v: { all: ALL_VALUE } };
    expect(() => expandMacros('${v:json}', { ...ctx, variables })).toThrow(/format json/);
  });

  it('does not expand macros found inside a variable value', () => {
    const variables = { q: '$__fromTime' };
    expect(expandMacros("'$q'", { ...ctx, variables })).toBe("'$__fromTime'");
  });

  it.each([
    ['an unknown macro', '$__timeFilterz(ts)', /\$__timeFilterz/],
    ['Grafana $__interval, which the plugin does not expand', '$__interval', /\$__interval\b/],
    ['a missing argument', '$__timeFilter()', /timeFilter: expected 1 argument/],
    ['an unknown variable', 'x = $nope', /\$nope/],
    ['an empty multi-value', 'x IN ($h)', /\$h: no value/],
    ['an unknown format', 'x = ${f:json}', /format json/],
  ])('throws on %s, naming it', (_case, sql, message) => {
    const variables = { h: [], f: 'x' };
    expect(() => expandMacros(sql, { ...ctx, variables })).toThrow(MacroError);
    expect(() => expandMacros(sql, { ...ctx, variables })).toThrow(message);
  });
});

describe('expanded SQL on the embedded store', () => {
  let open: Store | undefined;
  afterEach(async () => {
    await open?.close();
    open = undefined;
  });

  // Recent, on a minute boundary: the samples' TTL drops old rows.
  const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
  const sample = (host: string, offsetS: number, value: number): SampleRow => ({
    name: 'cpu',
    tier: 'web',
    host,
    service: 'node',
    labels: {},
    ts: t0 + offsetS * 1000,
    value,
  });
  // Samples at 0 s, 10 s, … 110 s, and one at 59.5 s to test the millisecond filter.
  const rows = [
    ...Array.from({ length: 12 }, (_, i) => sample('h1', i * 10, i)),
    sample("o'brien", 59.5, 100),
  ];

  async function seeded() {
    const { store } = await openTestStore();
    open = store;
    await writeSamples(store, rows);
    return { store, table: store.table('samples') };
  }

  const run = <T>(store: Store, text: string) => store.query<T>({ text, params: {} });

  it('time filters keep both boundaries, to the second or to the millisecond', async () => {
    const { store, table } = await seeded();
    // 20 s .. 59.5 s: $__timeFilter truncates to whole seconds, so 59.5 s is outside it.
    const range = { from: t0 + 20_000, to: t0 + 59_500, intervalMs: 10_000 };
    const sec = await run<{ n: string }>(
      store,
      expandMacros(`SELECT count() AS n FROM ${table} WHERE $__timeFilter(ts)`, range),
    );
    expect(Number(sec[0]?.n)).toBe(4); // 20, 30, 40, 50
    const ms = await run<{ n: string }>(
      store,
      expandMacros(`SELECT count() AS n FROM ${table} WHERE $__timeFilter_ms(ts)`, range),
    );
    expect(Number(ms[0]?.n)).toBe(5); // and 59.5
    const between = await run<{ n: string }>(
      store,
      expandMacros(
        `SELECT count() AS n FROM ${table} WHERE ts >= $__fromTime_ms AND ts <= $__toTime_ms ` +
          `AND toDateTime(ts) BETWEEN $__fromTime AND $__toTime AND $__dateFilter(toDate(ts))`,
        range,
      ),
    );
    // $__dateFilter compares with toDate(to), midnight, so it is for Date columns: hence toDate(ts).
    // toDateTime(ts) truncates 59.5 s to 59 s, inside $__toTime: all five rows.
    expect(Number(between[0]?.n)).toBe(5);
  });

  it('interval bucketing groups the samples per $__interval_s', async () => {
    const { store, table } = await seeded();
    const sql =
      `SELECT $__timeInterval(ts) AS t, count() AS n, $__interval_s AS step, ` +
      `toUnixTimestamp64Milli(min($__timeInterval_ms(ts))) AS t_ms FROM ${table} ` +
      `WHERE $__timeFilter(ts) AND host IN ($host) GROUP BY t ORDER BY t`;
    const buckets = await run<{ t: string; n: string; step: string; t_ms: string }>(
      store,
      expandMacros(sql, {
        from: t0,
        to: t0 + 120_000,
        intervalMs: 30_000,
        variables: { host: ['h1'] },
      }),
    );
    expect(buckets.map((b) => Number(b.n))).toEqual([3, 3, 3, 3]);
    expect(buckets.map((b) => Number(b.t_ms))).toEqual([0, 30, 60, 90].map((s) => t0 + s * 1000));
    expect(Number(buckets[0]?.step)).toBe(30);
  });

  it('a variable with a quote, formatted singlequote, stays a literal and selects its own rows', async () => {
    const { store, table } = await seeded();
    const range = { from: t0, to: t0 + 120_000, intervalMs: 10_000 };
    const one = await run<{ host: string; n: string }>(
      store,
      expandMacros(
        `SELECT host, count() AS n FROM ${table} WHERE host = \${h:singlequote} GROUP BY host`,
        {
          ...range,
          variables: { h: "o'brien" },
        },
      ),
    );
    expect(one).toEqual([{ host: "o'brien", n: expect.anything() }]);
    const many = await run<{ n: string }>(
      store,
      expandMacros(`SELECT count() AS n FROM ${table} WHERE host IN (\${h:singlequote})`, {
        ...range,
        variables: { h: ["o'brien", 'h1', "x') OR 1=1 --"] },
      }),
    );
    expect(Number(many[0]?.n)).toBe(13);
  });

  it('inSelection keeps every row at "All" and only the selected ones otherwise', async () => {
    const { store, table } = await seeded();
    const range = { from: t0, to: t0 + 120_000, intervalMs: 10_000 };
    const sql = `SELECT host, count() AS n FROM ${table} WHERE ${inSelection('host', 'h')} GROUP BY host ORDER BY host`;
    const count = (h: VariableValue) =>
      run<{ host: string; n: string }>(store, expandMacros(sql, { ...range, variables: { h } }));
    expect(await count({ all: ALL_VALUE })).toEqual([
      { host: 'h1', n: '12' },
      { host: "o'brien", n: '1' },
    ]);
    expect(await count(["o'brien"])).toEqual([{ host: "o'brien", n: '1' }]);
    expect(await count(['h1', 'nobody'])).toEqual([{ host: 'h1', n: '12' }]);
    expect(await count(['nobody'])).toEqual([]);
  });
});
