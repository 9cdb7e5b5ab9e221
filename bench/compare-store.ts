// The store alone, for bench/compare: the rows Halo stored, already in memory inside ClickHouse,
// inserted into a fresh embedded store with Halo's schema, in inserts of a given size and with the
// ingester's settings. What storing costs when everything before the store is free. A process of
// its own, as chDB takes one data directory per process; prints one JSON line.
// Usage: node --import tsx bench/compare-store.ts ROWS_FILE ROWS_PER_INSERT [--no-rollups]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../core/config/schema.ts';
import { TABLES } from '../core/conventions.ts';
import { silentLogger } from '../core/logger.ts';
import { SAMPLE_COLUMNS, SAMPLE_STRUCTURE } from '../core/store/encode-samples.ts';
import { literal, sampleInsertSettings, settingsClause } from '../core/store/fast-write.ts';
import { migrate } from '../core/store/migrate.ts';
import { ident, sql } from '../core/store/sql.ts';
import { openStore } from '../core/store/store.ts';

export interface StoreAloneResult {
  rows: number;
  inserts: number;
  seconds: number;
  /** This process's CPU over the inserts: the engine's threads, its merges included. */
  cpuSeconds: number;
}

/** The views that feed the rollups, in the order a drop must take them (sources last). */
const ROLLUP_VIEWS = [TABLES.samples1h, TABLES.samples5m, TABLES.samples1m].map((t) => `${t}_mv`);

const args = process.argv.slice(2);
const [file, perInsertText] = args;
const perInsert = Number(perInsertText);
if (!file || !Number.isInteger(perInsert) || perInsert < 1) {
  throw new Error('usage: compare-store.ts ROWS_FILE ROWS_PER_INSERT [--no-rollups]');
}
const dir = mkdtempSync(join(tmpdir(), 'halo-bench-store-'));
try {
  const config = configSchema.parse({ data_dir: dir });
  const store = await openStore({ config, logger: silentLogger() });
  await migrate(store, config, silentLogger());
  const engine = store.engine;
  if (!engine) throw new Error('expected the embedded store');
  if (args.includes('--no-rollups')) {
    for (const view of ROLLUP_VIEWS) await engine.queryAsync(`DROP VIEW ${store.database}.${view}`);
  }
  // The rows, numbered in the order they were stored, in a Memory table: reading them is no part
  // of the figure.
  const staging = `${store.database}.bench_rows`;
  await engine.queryAsync(
    `CREATE TABLE ${staging} (n UInt64, ${SAMPLE_STRUCTURE}) ENGINE = Memory`,
  );
  await engine.queryAsync(
    `INSERT INTO ${staging} SELECT rowNumberInAllBlocks(), * ` +
      `FROM file(${literal(file)}, RowBinary, ${literal(SAMPLE_STRUCTURE)}) SETTINGS max_threads = 1`,
  );
  const count = async (table: string) =>
    Number((await store.query<{ n: string }>(sql`SELECT count() AS n FROM ${ident(table)}`))[0]?.n);
  const counted = await count(staging);
  const columns = SAMPLE_COLUMNS.join(', ');
  const cpuBefore = process.cpuUsage();
  const began = performance.now();
  let inserts = 0;
  for (let from = 0; from < counted; from += perInsert) {
    // A token per insert, as the ingester gives each of its inserts.
    const settings = settingsClause(sampleInsertSettings({ dedupToken: `bench-${inserts}` }));
    await engine.queryAsync(
      `INSERT INTO ${store.table('samples')} (${columns}) SETTINGS ${settings} ` +
        `SELECT ${columns} FROM ${staging} WHERE n >= ${from} AND n < ${from + perInsert}`,
    );
    inserts++;
  }
  const seconds = (performance.now() - began) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const stored = await count(store.table('samples'));
  if (stored !== counted) throw new Error(`stored ${stored} rows of ${counted}`);
  await store.close();
  const result: StoreAloneResult = {
    rows: counted,
    inserts,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
