// Bench: sample batches through the typed write API into embedded ClickHouse (chDB):
// rows per second, and bytes per sample on disk after merges. Usage: npm run bench:store [-- ROWS BATCH]

import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../core/config/schema.ts';
import { silentLogger } from '../core/logger.ts';
import { migrate } from '../core/store/migrate.ts';
import { ident, sql } from '../core/store/sql.ts';
import { openStore } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { machine } from './machine.ts';

const total = Number(process.argv[2] ?? 1_000_000);
const batchSize = Number(process.argv[3] ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), 'halo-bench-'));
const config = configSchema.parse({ data_dir: dir });
const store = await openStore({ config, logger: silentLogger() });
await migrate(store, config, silentLogger());

// 1000 series (100 hosts × 10 metrics) scraped every 10 s, like a fleet of host agents.
const hosts = Array.from({ length: 100 }, (_, i) => `web-${i}.example.com`);
const metrics = [
  'cpu_seconds',
  'mem_used_bytes',
  'disk_read_bytes',
  'disk_write_bytes',
  'net_rx_bytes',
  'net_tx_bytes',
  'load1',
  'fs_used_bytes',
  'ctx_switches',
  'procs_running',
];
const start = Date.now() - 86_400_000;
let state = 1;
const noise = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

function batch(offset: number): SampleRow[] {
  const rows: SampleRow[] = [];
  for (let i = offset; i < offset + batchSize && i < total; i++) {
    const series = i % 1000;
    const step = Math.floor(i / 1000);
    rows.push({
      name: metrics[series % 10]!,
      tier: 'web',
      host: hosts[Math.floor(series / 10)]!,
      service: 'shop',
      labels: { mode: series % 2 === 0 ? 'user' : 'system' },
      ts: start + step * 10_000,
      value: Math.round(1000 + noise() * 50),
    });
  }
  return rows;
}

const batches: SampleRow[][] = [];
for (let offset = 0; offset < total; offset += batchSize) batches.push(batch(offset));
const began = performance.now();
for (const [i, rows] of batches.entries())
  await writeSamples(store, rows, { dedupToken: `bench-${i}` });
const seconds = (performance.now() - began) / 1000;

await store.command(`OPTIMIZE TABLE ${store.table('samples')} FINAL`);
const [disk] = await store.query<{ bytes: string; rows: string }>(
  sql`SELECT sum(bytes_on_disk) AS bytes, sum(rows) AS rows FROM system.parts
      WHERE database = ${store.database} AND table = ${'samples'} AND active`,
);
const [check] = await store.query<{ n: string }>(
  sql`SELECT count() AS n FROM ${ident(store.table('samples'))}`,
);
await store.close();
rmSync(dir, { recursive: true, force: true });

console.log(`machine: ${machine()}`);
console.log(
  `store: embedded chDB, JSONEachRow inserts through @clickhouse/client, rollup views attached`,
);
console.log(`rows: ${total} in batches of ${batchSize}; stored ${check?.n}`);
console.log(`write: ${(total / seconds).toFixed(0)} samples/s (${seconds.toFixed(2)} s)`);
console.log(
  `disk: ${(Number(disk?.bytes) / Number(disk?.rows)).toFixed(2)} bytes/sample after OPTIMIZE FINAL (synthetic host gauges)`,
);
