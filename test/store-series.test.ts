// Series registration on real embedded ClickHouse: writeSamples registers each series once in
// the series table, under the samples' own fingerprint, and again when its window has passed.
// Each case runs on both paths: embedded (RowBinary files) and as a server (the real chDB client
// without its engine: series by client.insert as JSONEachRow, samples as TabSeparated by exec).

import { afterEach, describe, expect, it } from 'vitest';
import { registerSeries, seriesKey } from '../core/store/series.ts';
import { ident, sql } from '../core/store/sql.ts';
import type { ChdbEngine, Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { openTestStore } from './helpers/store.ts';

let open: Store | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

/** A migrated store whose series table keeps every inserted row apart (no background merge). */
async function fresh(): Promise<Store> {
  await open?.close();
  open = (await openTestStore()).store;
  await open.command(sql`SYSTEM STOP MERGES ${ident(open.table('series'))}`);
  return open;
}

/**
 * The store as a server would be: no embedded engine, so series go as JSONEachRow through
 * client.insert and samples as TabSeparated bytes through client.exec, both run for real by chDB.
 */
function server(store: Store): Store {
  return { ...store, engine: undefined };
}

type Client = Store['client'];

/** The store with some of its client's methods replaced; the others are the real client's. */
function withClient(store: Store, methods: Partial<Client>): Store {
  const real = store.client;
  const client = new Proxy(real, {
    get(target, prop) {
      if (Object.hasOwn(methods, prop)) return methods[prop as keyof Client];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
  return { ...store, client };
}

/** Which insert of a sample write is refused: its series registration or its samples. */
type Refused = (what: 'series' | 'samples') => boolean;

const MINUTE = 60_000;
// On a minute boundary, three hours back: room for samples written an hour and more later.
const base = Math.floor(Date.now() / MINUTE) * MINUTE - 180 * MINUTE;

/** `YYYY-MM-DD hh:mm:ss` (UTC) of the second a timestamp falls in, as toString(DateTime) gives it. */
function second(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

const WEB = { name: 'http_requests', tier: 'web', host: 'web-1', service: 'shop' };

const AWKWARD: Record<string, string> = {
  quote: 'say "hi"',
  single: "it's",
  backslash: 'C:\\path\\to\\',
  escapes: '\\N \\t \\0',
  unicode: 'ünïcødé ✓ 日本 😀',
  ws: 'tab\there\nnewline',
  braces: "{'k':'v'}",
};

/** The same labels with their keys in reverse order. */
function reversed(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).reverse());
}

interface MergedSeries {
  fp: string;
  name: string;
  tier: string;
  host: string;
  service: string;
  labels: Record<string, string>;
  first_seen: string;
  last_seen: string;
}

/** The series table merged per fingerprint, as a reader sees it. */
async function mergedSeries(store: Store): Promise<MergedSeries[]> {
  return store.query<MergedSeries>(
    sql`SELECT toString(fingerprint) AS fp, any(name) AS name, any(tier) AS tier, any(host) AS host,
          any(service) AS service, any(labels) AS labels, toString(min(first_seen)) AS first_seen,
          toString(max(last_seen)) AS last_seen
        FROM ${ident(store.table('series'))} GROUP BY fingerprint ORDER BY fp`,
  );
}

/** Rows inserted into series, merged or not: how many registrations there were. */
async function seriesRowCount(store: Store): Promise<number> {
  const [row] = await store.query<{ n: string }>(
    sql`SELECT count() AS n FROM ${ident(store.table('series'))}`,
  );
  return Number(row?.n);
}

/** Each fingerprint of the samples with its labels. */
async function sampleSeries(
  store: Store,
): Promise<Array<{ fp: string; labels: Record<string, string> }>> {
  return store.query(
    sql`SELECT toString(fingerprint) AS fp, any(labels) AS labels
        FROM ${ident(store.table('samples'))} GROUP BY fingerprint ORDER BY fp`,
  );
}

interface Path {
  name: string;
  via: (store: Store) => Store;
  /** `via`, with the inserts `refused` names failing as they would with the server down. */
  failing: (store: Store, refused: Refused) => Store;
  /** The error of a failed registration of `n` series on this path. */
  seriesError: (n: number) => RegExp;
}

const serverDown = () => Promise.reject(new Error('server down'));

const PATHS: Path[] = [
  {
    name: 'embedded (RowBinary file)',
    via: (store) => store,
    failing: (store, refused) => {
      const engine = store.engine!;
      const into = (key: 'series' | 'samples') =>
        refused(key) ? `INSERT INTO ${store.table(key)} ` : undefined;
      return {
        ...store,
        engine: {
          queryAsync: (query, opts) => {
            const fails = [into('series'), into('samples')].some(
              (prefix) => prefix !== undefined && query.startsWith(prefix),
            );
            return fails ? serverDown() : engine.queryAsync(query, opts);
          },
        } satisfies ChdbEngine,
      };
    },
    seriesError: (n) => new RegExp(`^write ${n} series: server down`),
  },
  {
    name: 'server (JSONEachRow series, TabSeparated samples, through the client)',
    via: server,
    failing: (store, refused) => {
      const real = store.client;
      const insert: Client['insert'] = (params) =>
        refused('series') && params.table === store.table('series')
          ? serverDown()
          : real.insert(params);
      const exec: Client['exec'] = (params) =>
        refused('samples') && params.query.startsWith(`INSERT INTO ${store.table('samples')} `)
          ? serverDown()
          : real.exec(params);
      return withClient(server(store), { insert, exec });
    },
    seriesError: (n) => new RegExp(`^register ${n} series: server down`),
  },
];

async function sampleCount(store: Store): Promise<number> {
  const [row] = await store.query<{ n: string }>(
    sql`SELECT count() AS n FROM ${ident(store.table('samples'))}`,
  );
  return Number(row?.n);
}

describe.each(PATHS)('registration, $name', ({ via, failing, seriesError }) => {
  it("gives each series the samples' own fingerprint, whatever its label order and text", async () => {
    const store = via(await fresh());
    const series: Array<Omit<SampleRow, 'ts' | 'value'>> = [
      { ...WEB, labels: AWKWARD },
      { ...WEB, labels: { code: '200' } },
      { ...WEB, labels: {} },
      { name: 'métric ✓', tier: "it's", host: 'h"1\t\\x', service: '', labels: { '': '' } },
    ];
    const rows: SampleRow[] = [];
    for (let i = 0; i < 12; i++) {
      const one = series[i % series.length]!;
      // The second point of each series carries its labels with the keys the other way round.
      const labels = i % 8 < 4 ? one.labels : reversed(one.labels);
      rows.push({ ...one, labels, ts: base + i * 1000, value: i });
    }
    await writeSamples(store, rows.slice(0, 5));
    await writeSamples(store, rows.slice(5));

    const samples = await sampleSeries(store);
    // Key order does not make another series, in the samples or in series.
    expect(samples).toHaveLength(series.length);
    const merged = await mergedSeries(store);
    expect(merged.map((s) => s.fp)).toEqual(samples.map((s) => s.fp));
    for (const s of merged) {
      expect(s.labels, s.fp).toEqual(samples.find((x) => x.fp === s.fp)?.labels);
    }
    expect(merged.map((s) => s.labels)).toEqual(
      expect.arrayContaining(series.map((s) => s.labels)),
    );
    // One registration per series: the second batch's series were registered by the first.
    expect(await seriesRowCount(store)).toBe(series.length);

    // A label matcher on series, bound, finds the awkward series and its samples by fingerprint.
    const [found] = await store.query<{ n: string; sum: number }>(
      sql`SELECT toString(count()) AS n, sum(value) AS sum FROM ${ident(store.table('samples'))}
          WHERE fingerprint IN (SELECT fingerprint FROM ${ident(store.table('series'))}
                                WHERE labels['quote'] = ${AWKWARD['quote']!}
                                  AND labels['ws'] = ${AWKWARD['ws']!})`,
    );
    const awkward = rows.filter((r) => r.labels['quote'] !== undefined);
    expect(found).toEqual({
      n: String(awkward.length),
      sum: awkward.reduce((a, r) => a + r.value, 0),
    });
  });

  it('registers a series once however often it is written, with the span of its first insert', async () => {
    const store = via(await fresh());
    const a = { ...WEB, labels: { code: '200' } };
    const b = { ...WEB, labels: { code: '500' } };
    const c = { ...WEB, host: 'web-2', labels: { code: '200' } };
    for (let batch = 0; batch < 20; batch++) {
      const ts = base + batch * 5000;
      await writeSamples(store, [
        { ...a, ts, value: 1 },
        { ...b, ts: ts + 1000, value: 2 },
        { ...c, ts: ts + 2000, value: 3 },
        { ...a, ts: ts + 3000, value: 4 },
      ]);
    }
    expect(await seriesRowCount(store)).toBe(3);
    const merged = await mergedSeries(store);
    expect(merged).toHaveLength(3);
    // Registered by the first batch: first and last seen are that insert's points of the series.
    expect(
      merged
        .map(({ host, labels, first_seen, last_seen }) => ({ host, labels, first_seen, last_seen }))
        .sort((x, y) => (x.first_seen < y.first_seen ? -1 : 1)),
    ).toEqual([
      { host: 'web-1', labels: a.labels, first_seen: second(base), last_seen: second(base + 3000) },
      {
        host: 'web-1',
        labels: b.labels,
        first_seen: second(base + 1000),
        last_seen: second(base + 1000),
      },
      {
        host: 'web-2',
        labels: c.labels,
        first_seen: second(base + 2000),
        last_seen: second(base + 2000),
      },
    ]);
    expect(await registerSeries(store, [{ ...a, ts: base + 100_000, value: 1 }])).toBe(0);
  });

  it('another writer (its own memory) registers again, and the merged series is the same', async () => {
    const store = via(await fresh());
    const rows: SampleRow[] = [
      { ...WEB, labels: { code: '200' }, ts: base, value: 1 },
      { ...WEB, labels: { code: '500' }, ts: base + 1000, value: 2 },
    ];
    await writeSamples(store, rows);
    const once = await mergedSeries(store);
    // A copy of the store is another key for the cache: a restarted process, a second ingester.
    await writeSamples({ ...store }, rows);
    expect(await seriesRowCount(store)).toBe(4);
    expect(await mergedSeries(store)).toEqual(once);
    const [final] = await store.query<{ n: string }>(
      sql`SELECT count() AS n FROM ${ident(store.table('series'))} FINAL`,
    );
    expect(final?.n).toBe('2');
  });

  it('registers a series again once its window has passed, moving last_seen forward', async () => {
    const store = via(await fresh());
    const s = { ...WEB, labels: { code: '200', path: '/cart' } };
    const at = (ms: number, value = 1): SampleRow => ({ ...s, ts: base + ms, value });
    await writeSamples(store, [at(0), at(10_000)]);
    // A registration stands at least half an hour past the last point it covered.
    await writeSamples(store, [at(29 * MINUTE)]);
    expect(await seriesRowCount(store)).toBe(1);
    expect(await mergedSeries(store)).toMatchObject([
      { first_seen: second(base), last_seen: second(base + 10_000) },
    ]);
    // And at most an hour: a point 61 minutes on registers the series again.
    await writeSamples(store, [at(61 * MINUTE), at(62 * MINUTE)]);
    expect(await seriesRowCount(store)).toBe(2);
    const merged = await mergedSeries(store);
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({
      labels: s.labels,
      first_seen: second(base),
      last_seen: second(base + 62 * MINUTE),
    });
    // The new registration counts from its own last point.
    expect(await registerSeries(store, [at(62 * MINUTE + 29 * MINUTE)])).toBe(0);
    expect(await registerSeries(store, [at(62 * MINUTE + 61 * MINUTE)])).toBe(1);
  });

  it('keeps apart two series when the text of one label looks like two labels', async () => {
    const store = via(await fresh());
    // Joined with \u0001 between key and value and \u0002 between labels, these were one key.
    const glued = { ...WEB, labels: { a: 'x\u0002b\u0001y' } };
    const split = { ...WEB, labels: { a: 'x', b: 'y' } };
    const key = (s: typeof WEB & { labels: Record<string, string> }) =>
      seriesKey(s.name, s.tier, s.host, s.service, s.labels);
    expect(key(glued)).not.toBe(key(split));
    // In one batch, then each again in a batch of its own: the second never passes for the first.
    await writeSamples(store, [
      { ...glued, ts: base, value: 1 },
      { ...split, ts: base + 1000, value: 20 },
    ]);
    await writeSamples(store, [{ ...glued, ts: base + 2000, value: 300 }]);
    await writeSamples(store, [{ ...split, ts: base + 3000, value: 4000 }]);
    expect(await seriesRowCount(store)).toBe(2);
    const merged = await mergedSeries(store);
    expect(merged.map((s) => s.labels)).toEqual(
      expect.arrayContaining([glued.labels, split.labels]),
    );
    expect(merged.map((s) => s.fp)).toEqual((await sampleSeries(store)).map((s) => s.fp));

    // A rollup query by label, through series, finds each series' own values and no other's.
    const minuteWhere = async (label: string, value: string) =>
      (
        await store.query<{ sum: number; count: string }>(
          sql`SELECT sum(value_sum) AS sum, toString(sum(value_count)) AS count
              FROM ${ident(store.table('samples1m'))}
              WHERE fingerprint IN (SELECT fingerprint FROM ${ident(store.table('series'))}
                                    WHERE labels[${label}] = ${value})`,
        )
      )[0];
    expect(await minuteWhere('b', 'y')).toEqual({ sum: 4020, count: '2' });
    expect(await minuteWhere('a', glued.labels.a)).toEqual({ sum: 301, count: '2' });
    expect(await minuteWhere('a', 'x')).toEqual({ sum: 4020, count: '2' });
  });

  it('stores nothing and remembers nothing when the series insert fails', async () => {
    const store = via(await fresh());
    let down = true;
    const flaky = failing(store, (what) => down && what === 'series');
    const rows: SampleRow[] = [
      { ...WEB, labels: { code: '200' }, ts: base, value: 1 },
      { ...WEB, labels: { code: '500' }, ts: base, value: 1 },
      { ...WEB, labels: { code: '200' }, ts: base + 1000, value: 1 },
    ];
    await expect(writeSamples(flaky, rows)).rejects.toMatchObject({
      name: 'StoreError',
      message: expect.stringMatching(seriesError(2)) as unknown,
    });
    // Registration comes first: its failure stops the write before any sample is stored.
    expect(await seriesRowCount(store)).toBe(0);
    expect(await sampleCount(store)).toBe(0);
    down = false;
    // The failed registration left nothing in memory: both series are registered now.
    await writeSamples(flaky, rows);
    expect(await seriesRowCount(store)).toBe(2);
    expect(await sampleCount(store)).toBe(3);
    expect((await mergedSeries(store)).map((s) => s.fp)).toEqual(
      (await sampleSeries(store)).map((s) => s.fp),
    );
  });

  it('registers before the samples: a refused samples insert leaves a harmless series row', async () => {
    const store = via(await fresh());
    let down = true;
    const flaky = failing(store, (what) => down && what === 'samples');
    const s = { ...WEB, labels: { code: '200' } };
    await expect(writeSamples(flaky, [{ ...s, ts: base, value: 1 }])).rejects.toMatchObject({
      name: 'StoreError',
      message: expect.stringMatching(/^write 1 samples: server down/) as unknown,
    });
    expect(await sampleCount(store)).toBe(0);
    expect(await mergedSeries(store)).toMatchObject([
      { labels: s.labels, first_seen: second(base), last_seen: second(base) },
    ]);
    // The batch again (a redelivery): the samples are stored, the series is not registered twice.
    down = false;
    await writeSamples(flaky, [{ ...s, ts: base, value: 1 }]);
    expect(await sampleCount(store)).toBe(1);
    expect(await seriesRowCount(store)).toBe(1);
    expect((await mergedSeries(store)).map((x) => x.fp)).toEqual(
      (await sampleSeries(store)).map((x) => x.fp),
    );
  });

  it('refuses a malformed row before registering anything, naming the batch and the row', async () => {
    const store = via(await fresh());
    const good: SampleRow = { ...WEB, labels: { code: '200' }, ts: base, value: 1 };
    const cases: Array<[SampleRow, RegExp]> = [
      [{ ...good, value: 'one' as unknown as number }, /sample 1: value must be a number/],
      [{ ...good, ts: base + 0.5 }, /sample 1: ts must be integer milliseconds/],
      [{ ...good, labels: null as unknown as Record<string, string> }, /sample 1: labels must/],
    ];
    for (const [bad, message] of cases) {
      const write = writeSamples(store, [good, bad]);
      await expect(write).rejects.toMatchObject({
        name: 'StoreError',
        message: expect.stringMatching(/^write 2 samples: sample 1: /) as unknown,
      });
      await expect(write).rejects.toThrow(message);
    }
    expect(await seriesRowCount(store)).toBe(0);
    expect(await sampleCount(store)).toBe(0);
    // Nothing was remembered either: the good row's series is registered by its next write.
    expect(await registerSeries(store, [good])).toBe(1);
  });
});

describe('registerSeries', () => {
  it('uses the key of a row when it has one: same key, one registration', async () => {
    const store = await fresh();
    const first = { ...WEB, labels: { code: '200' }, ts: base, value: 1 };
    const other = { ...WEB, labels: { code: '500' }, ts: base + 1000, value: 2 };
    expect(await registerSeries(store, [first, other])).toBe(2);
    const keyed = await fresh();
    expect(
      await registerSeries(keyed, [
        { ...first, key: 'one series' },
        { ...other, key: 'one series' },
      ]),
    ).toBe(1);
    // The first row of the key is the one registered.
    expect((await mergedSeries(keyed)).map((s) => s.labels)).toEqual([first.labels]);
    // A key the caller made with seriesKey() is the one registerSeries makes itself.
    const made = seriesKey(first.name, first.tier, first.host, first.service, first.labels);
    expect(await registerSeries(keyed, [{ ...first, key: made }])).toBe(1);
    expect(await registerSeries(keyed, [{ ...first, labels: reversed(first.labels) }])).toBe(0);
  });

  it('tells apart rows that share one labels object but not their name, tier, host or service', async () => {
    const store = await fresh();
    const labels = { code: '200' };
    const rows: SampleRow[] = [
      { ...WEB, labels, ts: base, value: 1 },
      { ...WEB, labels, ts: base + 1, value: 1 },
      { ...WEB, name: 'other', labels, ts: base + 2, value: 1 },
      { ...WEB, tier: 'lb', labels, ts: base + 3, value: 1 },
      { ...WEB, host: 'web-2', labels, ts: base + 4, value: 1 },
      { ...WEB, service: 'cart', labels, ts: base + 5, value: 1 },
    ];
    expect(await registerSeries(store, rows)).toBe(5);
    await writeSamples(store, rows);
    expect((await mergedSeries(store)).map((s) => s.fp)).toEqual(
      (await sampleSeries(store)).map((s) => s.fp),
    );
  });

  it('seriesKey ignores label order and tells apart series that differ in one field', () => {
    const key = seriesKey('m', 't', 'h', 's', { a: '1', b: '2' });
    expect(seriesKey('m', 't', 'h', 's', { b: '2', a: '1' })).toBe(key);
    expect(
      new Set([
        key,
        seriesKey('m', 't', 'h', 's', { a: '1' }),
        seriesKey('m', 't', 'h', 's', { a: '1', b: '' }),
        seriesKey('m', 't', 'h', 's', { a: '2', b: '1' }),
        seriesKey('m', 't', 'h', 's', { a: '12' }),
        seriesKey('m', 't', 'h', '', { a: '1', b: '2' }),
        seriesKey('m', 't', '', 's', { a: '1', b: '2' }),
        seriesKey('m', '', 'h', 's', { a: '1', b: '2' }),
        seriesKey('', 't', 'h', 's', { a: '1', b: '2' }),
      ]).size,
    ).toBe(9);
  });

  it('seriesKey cannot be fooled by separators or lengths inside the text', () => {
    // Pairs that a key joined with separators, or prefixed with lengths naively, could confuse.
    const pairs: Array<[Parameters<typeof seriesKey>, Parameters<typeof seriesKey>]> = [
      [
        ['m', 't', 'h', 's', { a: 'x\u0002b\u0001y' }],
        ['m', 't', 'h', 's', { a: 'x', b: 'y' }],
      ],
      [
        ['ab', 'c', 'h', 's', {}],
        ['a', 'bc', 'h', 's', {}],
      ],
      [
        ['m', 't', 'h', 's', { a: '1:b1:2' }],
        ['m', 't', 'h', 's', { a: '1', b: '2' }],
      ],
      [
        ['m', 't', 'h', 's1:a1:1', {}],
        ['m', 't', 'h', 's', { a: '1' }],
      ],
      [
        ['m', 't', 'h', 's', { 'a1:x': '' }],
        ['m', 't', 'h', 's', { a: 'x' }],
      ],
      [
        ['m', 't', 'h', 's', { '': '0:' }],
        ['m', 't', 'h', 's', { '': '', '0': '' }],
      ],
    ];
    for (const [one, other] of pairs) {
      expect(seriesKey(...one), JSON.stringify([one, other])).not.toBe(seriesKey(...other));
    }
  });
});
