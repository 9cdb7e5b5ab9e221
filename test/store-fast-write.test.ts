// The fast sample write on real embedded ClickHouse: exact round trips, dedup by token with the
// rollups, and the same stored rows and rollups as writeSamples; both the chDB and portable paths.

import { afterEach, describe, expect, it } from 'vitest';
import { ident, sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import {
  writeSamplesChdbFile,
  writeSamplesFast,
  writeSamplesTsv,
} from '../core/store/fast-write.ts';
import { writeSamples, type SampleRow, type WriteOptions } from '../core/store/write.ts';
import { openTestStore } from './helpers/store.ts';

let open: Store | undefined;
afterEach(async () => {
  await open?.close();
  open = undefined;
});

async function fresh(): Promise<Store> {
  await open?.close();
  open = (await openTestStore()).store;
  return open;
}

type Write = (store: Store, rows: readonly SampleRow[], options?: WriteOptions) => Promise<void>;

const PATHS: Array<{ name: string; write: Write }> = [
  { name: 'writeSamplesFast (embedded: a RowBinary file read by chDB)', write: writeSamplesFast },
  { name: 'writeSamplesTsv (portable: TabSeparated through the client)', write: writeSamplesTsv },
];

// Minutes in the past, on a minute boundary: TTLs drop rows older than their retention.
const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;

const LABEL_SETS: Array<Record<string, string>> = [
  {},
  { quote: 'say "hi"', single: "it's", "k'ey": 'v' },
  { backslash: 'C:\\path\\to\\', escapes: '\\N \\t \\0 \\\\' },
  { ws: 'tab\there\nnewline\r\ncrlf', nul: 'a\u0000b' },
  { unicode: 'ünïcødé ✓ 日本 😀', '': '', empty: '' },
  { braces: "{'k':'v'}", sep: 'a,b:c=d;e|f' },
  { long: 'x'.repeat(300), wide: '日本語'.repeat(70) },
];

const SERIES = [
  { name: 'http_requests', tier: 'web', host: 'web-1.example.com', service: 'shop' },
  { name: 'métric ✓', tier: "it's", host: 'h"1\t\\x', service: '' },
  { name: 'line\nbreak', tier: 'a\\b', host: 'x'.repeat(200), service: 'ß' },
];

/** Doubles that text formats get wrong easily, then reproducible random bit patterns. */
function awkwardValues(): number[] {
  const values = [0, -0, NaN, Infinity, -Infinity, 5e-324, -5e-324, 2.2250738585072014e-308];
  values.push(Number.MAX_VALUE, -Number.MAX_VALUE, 0.1, 1 / 3, -1e-300, 123456789.12345679);
  values.push(2 ** 53, 2 ** 53 + 2, 1e21, 1e-7, Number.MAX_SAFE_INTEGER, 4.35, 0.30000000000000004);
  const view = new DataView(new ArrayBuffer(8));
  let state = 7;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  while (values.length < 64) {
    view.setUint32(0, next());
    view.setUint32(4, next());
    const v = view.getFloat64(0);
    if (Number.isFinite(v)) values.push(v);
  }
  return values;
}

function awkwardRows(values = awkwardValues()): SampleRow[] {
  return values.map((value, i) => ({
    ...SERIES[i % SERIES.length]!,
    labels: LABEL_SETS[i % LABEL_SETS.length]!,
    // Whole seconds, the last millisecond of one and everything between.
    ts: i === 1 ? t0 + 59_999 : t0 + i * 1001,
    value,
  }));
}

function bits(value: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value, true);
  return view.getBigUint64(0, true).toString();
}

interface StoredSample {
  name: string;
  tier: string;
  host: string;
  service: string;
  labels: Record<string, string>;
  fingerprint: string;
  ms: string;
  bits: string;
  tz: string;
}

async function storedSamples(store: Store): Promise<StoredSample[]> {
  return store.query<StoredSample>(
    sql`SELECT name, tier, host, service, labels, toString(fingerprint) AS fingerprint,
          toString(toUnixTimestamp64Milli(ts)) AS ms, toString(reinterpretAsUInt64(value)) AS bits,
          timezoneOf(ts) AS tz
        FROM ${ident(store.table('samples'))} ORDER BY ms, bits`,
  );
}

/** A rollup table's rows, floats as their bits so NaN and -0 compare exactly. */
async function storedRollup(store: Store, key: 'samples1m' | 'samples1h'): Promise<unknown[]> {
  const b = (expr: string, name: string) => `toString(reinterpretAsUInt64(${expr})) AS ${name}`;
  return store.query({
    text: `SELECT name, tier, host, service, toString(fingerprint) AS fp,
             toString(ts) AS ts, ${b('sum(value_sum)', 'sum')}, toString(sum(value_count)) AS count,
             ${b('min(value_min)', 'min')}, ${b('max(value_max)', 'max')},
             ${b('argMaxMerge(value_last)', 'last')}
           FROM ${store.table(key)}
           GROUP BY name, tier, host, service, fingerprint, ts ORDER BY fp, ts`,
    params: {},
  });
}

interface StoredSeries {
  name: string;
  tier: string;
  host: string;
  service: string;
  labels: Record<string, string>;
  fp: string;
  first_seen: string;
  last_seen: string;
}

/** The series table merged per fingerprint: where a rollup row's labels are found. */
async function storedSeries(store: Store): Promise<StoredSeries[]> {
  return store.query<StoredSeries>(
    sql`SELECT name, tier, host, service, any(labels) AS labels, toString(fingerprint) AS fp,
          toString(min(first_seen)) AS first_seen, toString(max(last_seen)) AS last_seen
        FROM ${ident(store.table('series'))}
        GROUP BY name, tier, host, service, fingerprint ORDER BY fp`,
  );
}

async function totals(store: Store): Promise<{ n: string; m: string; h: string; sum: number }> {
  const [row] = await store.query<{ n: string; m: string; h: string; sum: number }>(
    sql`SELECT (SELECT count() FROM ${ident(store.table('samples'))}) AS n,
          (SELECT sum(value_count) FROM ${ident(store.table('samples1m'))}) AS m,
          (SELECT sum(value_count) FROM ${ident(store.table('samples1h'))}) AS h,
          (SELECT sum(value) FROM ${ident(store.table('samples'))}) AS sum`,
  );
  return row!;
}

describe.each(PATHS)('$name', ({ write }) => {
  it('stores awkward labels, NaN, ±Inf, -0 and exact doubles, with UTC milliseconds', async () => {
    const store = await fresh();
    const rows = awkwardRows();
    await write(store, rows);
    const expected = rows
      .map((row) => ({
        name: row.name,
        tier: row.tier,
        host: row.host,
        service: row.service,
        labels: row.labels,
        ms: String(row.ts),
        bits: bits(row.value),
        tz: 'UTC',
      }))
      .sort((a, b) => Number(a.ms) - Number(b.ms));
    const back = (await storedSamples(store)).map(({ fingerprint: _, ...row }) => row);
    expect(back).toEqual(expected);
    // Map keys keep their order on the way in, as writeSamples' do.
    expect(back.map((row) => Object.keys(row.labels))).toEqual(
      expected.map((row) => Object.keys(row.labels)),
    );
  });

  it('stores runs of one series (one labels object, as a batch gives them) and series that come back', async () => {
    const store = await fresh();
    const a = { code: '200', path: "/it's" };
    const b = { code: '500', path: '/' };
    const row = (name: string, labels: Record<string, string>, i: number): SampleRow => ({
      name,
      tier: 'web',
      host: 'web-1',
      service: 'shop',
      labels,
      ts: t0 + i * 1000,
      value: i + 0.25,
    });
    const rows = [
      ...[0, 1, 2].map((i) => row('requests', a, i)),
      ...[3, 4].map((i) => row('requests', b, i)),
      row('errors', b, 5),
      ...[6, 7].map((i) => row('requests', a, i)),
      { ...row('requests', a, 8), host: 'web-2' },
    ];
    await write(store, rows);
    const back = await storedSamples(store);
    expect(back.map((r) => [r.name, r.host, r.labels, Number(r.ms), r.bits])).toEqual(
      rows.map((r) => [r.name, r.host, r.labels, r.ts, bits(r.value)]),
    );
  });

  it('a batch repeated with its token is stored once, rollups included; without one, twice', async () => {
    const store = await fresh();
    const batch = awkwardRows([1, 2, 3, 4]);
    const other = awkwardRows([10, 20, 30, 40]);
    const token = `HALO_METRICS:1-4 it's a \\ "token"`;
    await write(store, batch, { dedupToken: token });
    await write(store, batch, { dedupToken: token });
    // The token is the batch's identity: other rows under it are a redelivery too.
    await write(store, other, { dedupToken: token });
    expect(await totals(store)).toEqual({ n: '4', m: '4', h: '4', sum: 10 });
    await write(store, other, { dedupToken: 'HALO_METRICS:5-8' });
    expect(await totals(store)).toEqual({ n: '8', m: '8', h: '8', sum: 110 });
    await write(store, batch);
    await write(store, batch);
    expect(await totals(store)).toEqual({ n: '16', m: '16', h: '16', sum: 130 });
  });

  it('leaves no insert setting behind on the embedded session', async () => {
    const store = await fresh();
    await write(store, awkwardRows([1]), { dedupToken: 'left-behind?' });
    const [row] = await store.query<{ token: string }>(
      sql`SELECT getSetting('insert_deduplication_token') AS token`,
    );
    expect(row?.token).toBe('');
  });

  it('refuses a row it cannot store exactly, naming the batch and the row', async () => {
    const store = await fresh();
    const good = awkwardRows([1])[0]!;
    const cases: Array<[string, SampleRow, RegExp]> = [
      ['a value that is not a number', { ...good, value: '1' as unknown as number }, /value/],
      ['fractional milliseconds', { ...good, ts: good.ts + 0.5 }, /ts must be integer/],
      ['a label that is not a string', { ...good, labels: { a: 1 as unknown as string } }, /label/],
    ];
    for (const [, row, message] of cases) {
      await expect(write(store, [good, row])).rejects.toMatchObject({
        name: 'StoreError',
        message: expect.stringMatching(/^write 2 samples: sample 1: /) as unknown,
      });
      await expect(write(store, [good, row])).rejects.toThrow(message);
    }
    expect((await totals(store)).n).toBe('0');
  });

  it('an empty batch writes nothing', async () => {
    const store = await fresh();
    await write(store, []);
    expect((await totals(store)).n).toBe('0');
  });
});

describe('the same rows as writeSamples', () => {
  it('store the same samples, fingerprints and rollups on every path; writeSamples registers the series', async () => {
    // -0 is left out: writeSamples sends JSON, where -0 becomes 0 (the fast paths keep it).
    const rows = awkwardRows(awkwardValues().filter((v) => !Object.is(v, -0)));
    const stored = [];
    const series = [];
    for (const write of [writeSamples, writeSamplesFast, writeSamplesTsv]) {
      const store = await fresh();
      // Two batches, so that rollups of one series meet across inserts.
      await write(store, rows.slice(0, 30), { dedupToken: 'a' });
      await write(store, rows.slice(30), { dedupToken: 'b' });
      stored.push({
        samples: await storedSamples(store),
        minute: await storedRollup(store, 'samples1m'),
        hour: await storedRollup(store, 'samples1h'),
      });
      series.push(await storedSeries(store));
    }
    const first = stored[0]!;
    expect(first.samples).toHaveLength(rows.length);
    expect(first.minute.length).toBeGreaterThan(1);
    expect(stored[1]).toEqual(first);
    expect(stored[2]).toEqual(first);
    // One series per fingerprint, holding the labels its samples carry, awkward ones included.
    const labelsOf = new Map(first.samples.map((s) => [s.fingerprint, s.labels]));
    expect(labelsOf.size).toBe(LABEL_SETS.length * SERIES.length);
    expect(series[0]!.map((s) => s.fp)).toEqual([...labelsOf.keys()].sort());
    for (const one of series[0]!) expect(one.labels, one.fp).toEqual(labelsOf.get(one.fp));
    // The fast paths write the samples alone: registering series is writeSamples' part.
    expect(series[1]).toEqual([]);
    expect(series[2]).toEqual([]);
  });
});

/** A server store that records what the client is asked; `insert` may be made to fail. */
function recordingServer(insertFails = false) {
  const calls: Array<{ query: string; body: string }> = [];
  const inserts: unknown[] = [];
  const server = {
    mode: 'server',
    engine: undefined,
    table: (key: string) => `halo.${key}`,
    client: {
      async exec(params: { query: string; values: AsyncIterable<Buffer> }) {
        let body = '';
        for await (const chunk of params.values) body += chunk.toString('utf8');
        calls.push({ query: params.query, body });
        return { stream: { destroy: () => undefined } };
      },
      insert(params: unknown) {
        inserts.push(params);
        return insertFails
          ? Promise.reject(new Error('server down'))
          : Promise.resolve({ executed: true });
      },
    },
  } as unknown as Store;
  return { server, calls, inserts };
}

describe('routing', () => {
  it('writeSamplesFast sends TabSeparated bytes through client.exec on a server, settings in the statement', async () => {
    const { server, calls, inserts } = recordingServer();
    await writeSamplesFast(server, awkwardRows([1.5]), { dedupToken: "t'1" });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.query).toBe(
      'INSERT INTO halo.samples (name, tier, host, service, labels, ts, value) SETTINGS ' +
        "insert_deduplicate = 1, insert_deduplication_token = 't\\'1', " +
        'deduplicate_blocks_in_dependent_materialized_views = 1, precise_float_parsing = 1, optimize_on_insert = 0 ' +
        'FORMAT TabSeparated',
    );
    const ms = new Date(t0).toISOString().replace('T', ' ').replace('Z', '');
    expect(calls[0]!.body).toBe(`http_requests\tweb\tweb-1.example.com\tshop\t{}\t${ms}\t1.5\n`);
    await expect(writeSamplesChdbFile(server, awkwardRows([1]))).rejects.toThrow(
      /^write 1 samples: not an embedded chDB store/,
    );
    // The samples alone: registering series is writeSamples' part.
    expect(inserts).toEqual([]);
  });

  it('writeSamples on a server registers the series as JSONEachRow first, under a fresh token (never dropped as a repeat), then sends the samples', async () => {
    const { server, calls, inserts } = recordingServer();
    const rows = awkwardRows([1, 2, 3, 4]);
    const [first, second] = [rows[0]!, rows[1]!];
    // The first series again, later in the batch: its span grows, it is not registered twice.
    rows.push({ ...first, ts: first.ts + 61_000, value: 5 });
    await writeSamples(server, rows, { dedupToken: 'batch-1' });
    const at = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString();
    const seen = (ms: number) => at(ms).slice(0, 19).replace('T', ' ');
    expect(inserts).toHaveLength(1);
    expect(inserts[0]).toMatchObject({
      table: 'halo.series',
      columns: ['name', 'tier', 'host', 'service', 'labels', 'first_seen', 'last_seen'],
      format: 'JSONEachRow',
    });
    // A repeat of identical series rows must reach the table too: a token of its own each time.
    const token = (inserts[0] as { clickhouse_settings: { insert_deduplication_token: string } })
      .clickhouse_settings.insert_deduplication_token;
    expect(token).toMatch(/^once-[0-9a-f-]{36}$/);
    const values = (inserts[0] as { values: unknown[] }).values;
    expect(values).toHaveLength(4);
    expect(values[0]).toEqual({
      name: first.name,
      tier: first.tier,
      host: first.host,
      service: first.service,
      labels: first.labels,
      first_seen: seen(first.ts),
      last_seen: seen(first.ts + 61_000),
    });
    expect(values[1]).toMatchObject({ labels: second.labels, first_seen: seen(second.ts) });
    // Then the samples, every row, under the batch's token.
    expect(calls).toHaveLength(1);
    expect(calls[0]!.query).toContain("insert_deduplication_token = 'batch-1'");
    expect(calls[0]!.body.split('\n')).toHaveLength(rows.length + 1);
    // Registered: the same rows again send the samples only.
    await writeSamples(server, rows, { dedupToken: 'batch-1' });
    expect(inserts).toHaveLength(1);
    expect(calls).toHaveLength(2);
  });

  it('writeSamples on a server: a failed registration sends no samples; a malformed row sends nothing', async () => {
    const down = recordingServer(true);
    await expect(writeSamples(down.server, awkwardRows([1, 2]))).rejects.toMatchObject({
      name: 'StoreError',
      message: expect.stringMatching(/^register 2 series: server down$/) as unknown,
    });
    expect(down.inserts).toHaveLength(1);
    expect(down.calls).toEqual([]);

    const up = recordingServer();
    const rows = awkwardRows([1, 2, 3]);
    rows[2] = { ...rows[2]!, value: '3' as unknown as number };
    await expect(writeSamples(up.server, rows)).rejects.toMatchObject({
      name: 'StoreError',
      message: expect.stringMatching(
        /^write 3 samples: sample 2: value must be a number \(got string\)$/,
      ) as unknown,
    });
    expect(up.inserts).toEqual([]);
    expect(up.calls).toEqual([]);
  });
});
