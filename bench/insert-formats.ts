// Bench: insert paths for sample batches into embedded chDB with the rollup views attached.
// Prints rows/s and CPU µs/row per batch size (10k and 50k unless given).
// Usage: node --import tsx bench/insert-formats.ts [ROWS] [NAME_FILTER] [BATCH,BATCH…]

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { configSchema } from '../core/config/schema.ts';
import { silentLogger } from '../core/logger.ts';
import {
  SAMPLE_COLUMNS,
  SAMPLE_STRUCTURE,
  encodeSamplesRowBinary,
  encodeSamplesTsv,
} from '../core/store/encode-samples.ts';
import { writeSamplesChdbFile, writeSamplesTsv } from '../core/store/fast-write.ts';
import { migrate } from '../core/store/migrate.ts';
import { ident, sql } from '../core/store/sql.ts';
import { openStore, type Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { machine } from './machine.ts';

interface Chdb {
  queryAsync(sql: string, opts?: { format?: string }): Promise<unknown>;
  rawInsert(params: {
    table: string;
    values: Buffer;
    format: 'TabSeparated';
    columns: readonly string[];
    settings: Record<string, string | number>;
  }): Promise<unknown>;
}

function chdbOf(store: Store): Chdb {
  return (store.client as unknown as { connection: { chdb: Chdb } }).connection.chdb;
}

const COLUMNS = `(${SAMPLE_COLUMNS.join(', ')})`;
const quote = (s: string) => `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;
const settingsObject = (token: string) =>
  ({
    insert_deduplicate: 1,
    insert_deduplication_token: token,
    deduplicate_blocks_in_dependent_materialized_views: 1,
  }) as const;
const settingsSql = (token: string) =>
  Object.entries(settingsObject(token))
    .map(([k, v]) => `${k} = ${typeof v === 'string' ? quote(v) : v}`)
    .join(', ');

/** Native, columnar: a candidate only, so its encoder lives here rather than in core. */
function encodeSamplesNative(rows: readonly SampleRow[]): Buffer {
  const parts: Buffer[] = [];
  const n = rows.length;
  const varint = (v: number) => {
    const out: number[] = [];
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return Buffer.from(out);
  };
  const str = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    return Buffer.concat([varint(b.length), b]);
  };
  const strings = (values: string[]) => {
    let bytes = 0;
    for (const v of values) bytes += 5 + v.length * 3;
    const buf = Buffer.allocUnsafe(bytes);
    let pos = 0;
    for (const v of values) {
      const len = Buffer.byteLength(v);
      let l = len;
      while (l >= 0x80) {
        buf[pos++] = (l & 0x7f) | 0x80;
        l = Math.floor(l / 128);
      }
      buf[pos++] = l;
      pos += buf.write(v, pos, len, 'utf8');
    }
    return buf.subarray(0, pos);
  };
  parts.push(varint(SAMPLE_COLUMNS.length), varint(n));
  for (const col of ['name', 'tier', 'host', 'service'] as const) {
    parts.push(str(col), str('String'), strings(rows.map((r) => r[col])));
  }
  const offsets = Buffer.allocUnsafe(n * 8);
  const keys: string[] = [];
  const values: string[] = [];
  rows.forEach((r, i) => {
    for (const [k, v] of Object.entries(r.labels)) {
      keys.push(k);
      values.push(v);
    }
    offsets.writeBigUInt64LE(BigInt(keys.length), i * 8);
  });
  parts.push(str('labels'), str('Map(String, String)'), offsets, strings(keys), strings(values));
  const ts = Buffer.allocUnsafe(n * 8);
  const value = Buffer.allocUnsafe(n * 8);
  rows.forEach((r, i) => {
    ts.writeBigInt64LE(BigInt(r.ts), i * 8);
    value.writeDoubleLE(r.value, i * 8);
  });
  parts.push(str('ts'), str("DateTime64(3, 'UTC')"), ts, str('value'), str('Float64'), value);
  return Buffer.concat(parts);
}

async function viaFile(
  store: Store,
  body: Buffer,
  format: string,
  structure: string,
  token: string,
): Promise<void> {
  const path = join(tmpdir(), `halo-bench-${randomUUID()}`);
  try {
    await writeFile(path, body);
    await chdbOf(store).queryAsync(
      `INSERT INTO ${store.table('samples')} ${COLUMNS} SETTINGS ${settingsSql(token)} ` +
        `SELECT * FROM file(${quote(path)}, ${format}, ${quote(structure)})`,
    );
  } finally {
    await rm(path, { force: true });
  }
}

type Write = (store: Store, rows: SampleRow[], token: string) => Promise<void>;

interface Candidate {
  name: string;
  write: Write;
  /** Batches kept in flight at once (1: each awaited, as the ingester does today). */
  inFlight?: number;
}

let worker: Worker | undefined;
const pending: Array<(buf: Buffer) => void> = [];
function encodeInWorker(rows: SampleRow[]): Promise<Buffer> {
  if (worker === undefined) {
    // Node 20 will not load a .ts worker entry through --import hooks; register tsx first.
    const self = JSON.stringify(import.meta.url);
    worker = new Worker(
      `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${self}); })`,
      { eval: true },
    );
    worker.on('message', (data: Uint8Array) =>
      pending.shift()!(Buffer.from(data.buffer, data.byteOffset, data.byteLength)),
    );
  }
  return new Promise((resolve) => {
    pending.push(resolve);
    worker!.postMessage(rows);
  });
}

const LC_STRUCTURE = SAMPLE_STRUCTURE.replace(
  /(name|tier|host|service) String/g,
  '$1 LowCardinality(String)',
).replace('Map(String, String)', 'Map(LowCardinality(String), String)');

const CANDIDATES: Candidate[] = [
  {
    name: 'JSONEachRow insert() [writeSamples today]',
    write: (store, rows, token) => writeSamples(store, rows, { dedupToken: token }),
  },
  {
    name: 'JSONCompactEachRow insert()',
    write: async (store, rows, token) => {
      await store.client.insert({
        table: store.table('samples'),
        columns: [...SAMPLE_COLUMNS],
        format: 'JSONCompactEachRow',
        // JSON has no NaN or infinities; the bench data has none.
        values: rows.map((r) => [r.name, r.tier, r.host, r.service, r.labels, r.ts, r.value]),
        clickhouse_settings: settingsObject(token),
      });
    },
  },
  {
    name: 'TabSeparated insert(), byte stream, clickhouse_settings',
    write: async (store, rows, token) => {
      await store.client.insert({
        table: store.table('samples'),
        columns: [...SAMPLE_COLUMNS],
        format: 'TabSeparated',
        values: Readable.from([encodeSamplesTsv(rows)], { objectMode: false }),
        clickhouse_settings: settingsObject(token),
      });
    },
  },
  {
    name: 'TabSeparated exec(), SETTINGS clause [writeSamplesTsv]',
    write: (store, rows, token) => writeSamplesTsv(store, rows, { dedupToken: token }),
  },
  {
    name: 'chDB rawInsert TabSeparated Buffer',
    write: async (store, rows, token) => {
      await chdbOf(store).rawInsert({
        table: store.table('samples'),
        values: encodeSamplesTsv(rows),
        format: 'TabSeparated',
        columns: SAMPLE_COLUMNS,
        settings: settingsObject(token),
      });
    },
  },
  {
    name: 'chDB INSERT SELECT FROM format(TabSeparated) inline',
    write: async (store, rows, token) => {
      const body = encodeSamplesTsv(rows).toString('utf8');
      let tag = 'x';
      while (body.includes(`$${tag}$`)) tag += 'x';
      await chdbOf(store).queryAsync(
        `INSERT INTO ${store.table('samples')} ${COLUMNS} SETTINGS ${settingsSql(token)} ` +
          `SELECT * FROM format(TabSeparated, ${quote(SAMPLE_STRUCTURE)}, $${tag}$${body}$${tag}$)`,
      );
    },
  },
  {
    name: 'chDB file() TabSeparated',
    write: (store, rows, token) =>
      viaFile(store, encodeSamplesTsv(rows), 'TabSeparated', SAMPLE_STRUCTURE, token),
  },
  {
    name: 'chDB file() Native',
    write: (store, rows, token) =>
      viaFile(store, encodeSamplesNative(rows), 'Native', SAMPLE_STRUCTURE, token),
  },
  {
    name: 'chDB file() RowBinary, LowCardinality structure',
    write: (store, rows, token) =>
      viaFile(store, encodeSamplesRowBinary(rows), 'RowBinary', LC_STRUCTURE, token),
  },
  {
    name: 'chDB file() RowBinary, String structure [writeSamplesChdbFile]',
    write: (store, rows, token) => writeSamplesChdbFile(store, rows, { dedupToken: token }),
  },
  {
    name: 'chDB file() RowBinary, 2 batches in flight',
    write: (store, rows, token) => writeSamplesChdbFile(store, rows, { dedupToken: token }),
    inFlight: 2,
  },
  {
    name: 'chDB file() RowBinary, worker encodes, 2 in flight',
    write: async (store, rows, token) =>
      viaFile(store, await encodeInWorker(rows), 'RowBinary', SAMPLE_STRUCTURE, token),
    inFlight: 2,
  },
];

// 1000 series (100 hosts × 10 metrics) scraped every 10 s, as in bench/store-write.ts.
function makeRows(total: number): SampleRow[] {
  const hosts = Array.from({ length: 100 }, (_, i) => `web-${i}.example.com`);
  const metrics = ['cpu_seconds', 'mem_used_bytes', 'disk_read_bytes', 'disk_write_bytes'];
  metrics.push('net_rx_bytes', 'net_tx_bytes', 'load1', 'fs_used_bytes', 'ctx_switches', 'procs');
  const start = Date.now() - 86_400_000;
  let state = 1;
  const noise = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: total }, (_, i) => {
    const series = i % 1000;
    return {
      name: metrics[series % 10]!,
      tier: 'web',
      host: hosts[Math.floor(series / 10)]!,
      service: 'shop',
      labels: { mode: series % 2 === 0 ? 'user' : 'system' },
      ts: start + Math.floor(i / 1000) * 10_000,
      value: Math.round(1000 + noise() * 50) / 8,
    };
  });
}

async function measure(
  store: Store,
  candidate: Candidate,
  rows: SampleRow[],
  batchSize: number,
): Promise<{ perSecond: number; cpuPerRow: number }> {
  const batches: SampleRow[][] = [];
  for (let i = 0; i < rows.length; i += batchSize) batches.push(rows.slice(i, i + batchSize));
  const inFlight = candidate.inFlight ?? 1;
  const began = performance.now();
  // CPU of every thread of the process (JS, the engine, its merges): steadier than wall time
  // on a shared machine, and 2 cores / (CPU per row) is the ceiling here.
  const cpu = process.cpuUsage();
  let next = 0;
  const lane = async () => {
    while (next < batches.length) {
      const i = next++;
      await candidate.write(store, batches[i]!, `bench-${i}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const seconds = (performance.now() - began) / 1000;
  const used = process.cpuUsage(cpu);
  // Honest figures only: every row stored once, and once in each rollup.
  const [check] = await store.query<{ n: string; m: string; h: string }>(
    sql`SELECT (SELECT count() FROM ${ident(store.table('samples'))}) AS n,
               (SELECT sum(value_count) FROM ${ident(store.table('samples1m'))}) AS m,
               (SELECT sum(value_count) FROM ${ident(store.table('samples1h'))}) AS h`,
  );
  const stored = [check?.n, check?.m, check?.h].map(Number);
  if (stored.some((n) => n !== rows.length)) {
    throw new Error(`${candidate.name}: stored ${stored.join('/')} of ${rows.length} rows`);
  }
  return { perSecond: rows.length / seconds, cpuPerRow: (used.user + used.system) / rows.length };
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 200_000);
  const only = process.argv[3] || undefined;
  const sizes = (process.argv[4] ?? '10000,50000').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'halo-bench-'));
  const rows = makeRows(total);
  console.log(`machine: ${machine()}`);
  console.log(
    `store: embedded chDB, samples with the 1m and 1h rollup views, dedup token per batch`,
  );
  console.log(`rows: ${total} per candidate and batch size, each run in a fresh database\n`);
  console.log(
    `${''.padEnd(64)} ${sizes.map((n) => `batch ${n / 1000}k`.padEnd(14)).join(' ')}\n` +
      `${'candidate'.padEnd(64)} ${sizes.map(() => 'rows/s µs/row'.padEnd(14)).join(' ')}`,
  );
  try {
    for (const candidate of CANDIDATES) {
      if (only !== undefined && !candidate.name.includes(only)) continue;
      const figures: string[] = [];
      for (const batchSize of sizes) {
        const config = configSchema.parse({
          data_dir: dir,
          clickhouse: { database: `bench_${randomUUID().slice(0, 8)}` },
        });
        const store = await openStore({ config, logger: silentLogger() });
        try {
          await migrate(store, config, silentLogger());
          // The inline candidate's statement is the whole batch; this lifts the 256 KiB parser limit.
          await chdbOf(store).queryAsync('SET max_query_size = 1073741824');
          const { perSecond, cpuPerRow } = await measure(store, candidate, rows, batchSize);
          figures.push(`${perSecond.toFixed(0).padStart(8)} ${cpuPerRow.toFixed(1).padStart(5)}`);
          await store.command(`DROP DATABASE ${config.clickhouse.database}`);
        } finally {
          await store.close();
        }
      }
      console.log(`${candidate.name.padEnd(64)} ${figures.join(' ')}`);
    }
    console.log(
      `${'RowBinary exec() (portable binary)'.padEnd(64)} ` +
        `${sizes.map(() => 'n/a'.padStart(8).padEnd(14)).join(' ')}` +
        '  chdb/connection decodes the body as UTF-8: binary arrives corrupt',
    );
  } finally {
    await worker?.terminate();
    rmSync(dir, { recursive: true, force: true });
  }
}

// The same file is the encoding worker of the worker-thread candidate.
if (isMainThread) {
  await main();
} else {
  parentPort!.on('message', (rows: SampleRow[]) => {
    const buf = encodeSamplesRowBinary(rows);
    parentPort!.postMessage(buf, [buf.buffer as ArrayBuffer]);
  });
}
