// Bench: the whole pipeline on this machine — generated Prometheus text from K hosts is parsed,
// turned into deltas, batched, spooled and published to a real nats-server, then consumed by the
// ingester into embedded ClickHouse. Prints sustained samples/s end to end (counted in ClickHouse),
// CPU, peak RSS and bytes per sample after a final merge; then the ingester alone, draining the
// whole stream again into a second database from a new consumer; and one JSON line last.
// Usage: npm run bench:ingest [-- HOSTS SERIES_PER_HOST ROUNDS]

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Batcher } from '../collector/agent/batcher.ts';
import { DeltaTracker } from '../collector/agent/deltas.ts';
import { scanPromText } from '../collector/agent/prom-text.ts';
import { Publisher } from '../collector/agent/publisher.ts';
import { Spool } from '../collector/agent/spool.ts';
import type { RawSample } from '../collector/agent/types.ts';
import { ingestConfigSchema } from '../collector/ingest/config.ts';
import { Ingester } from '../collector/ingest/ingester.ts';
import { connectBus } from '../core/bus/connect.ts';
import { startLocalNats } from '../core/bus/local-server.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import { configSchema } from '../core/config/schema.ts';
import { silentLogger } from '../core/logger.ts';
import { migrate } from '../core/store/migrate.ts';
import { ident, sql } from '../core/store/sql.ts';
import { openStore } from '../core/store/store.ts';
import { machine } from './machine.ts';

const hosts = Number(process.argv[2] ?? 100);
const seriesPerHost = Number(process.argv[3] ?? 1000);
const rounds = Number(process.argv[4] ?? 20);
const logger = silentLogger();
const dir = mkdtempSync(join(tmpdir(), 'halo-bench-ingest-'));

const nats = await startLocalNats({
  dir: join(dir, 'nats'),
  binary: 'nats-server',
  address: '127.0.0.1',
  port: 0,
  logger,
});
const rawConfig = {
  data_dir: join(dir, 'data'),
  nats: { url: nats.url, streams: { metrics: { max_bytes: '8GiB' } } },
};
const config = configSchema.parse(rawConfig);
const nc = await connectBus({ config, logger });
await ensureStreams(nc, config, logger);
const store = await openStore({ config, logger });
await migrate(store, config, logger);

// node_exporter-like text: counters (cpu, disk, network) and gauges (memory, filesystems).
function hostText(host: number, round: number): string {
  const lines: string[] = ['# TYPE node_cpu_seconds_total counter'];
  for (let s = 0; s < seriesPerHost; s++) {
    const kind = s % 4;
    if (kind === 0)
      lines.push(
        `node_cpu_seconds_total{cpu="${s % 64}",mode="m${s}"} ${round * ((s % 7) + 1) * 10 + host}`,
      );
    else if (kind === 1)
      lines.push(`node_network_receive_bytes_total{device="eth${s}"} ${round * 1_000_000 + s}`);
    else if (kind === 2)
      lines.push(`node_memory_bytes{field="f${s}"} ${8_000_000_000 - (round % 5) * 1_000_000}`);
    else
      lines.push(
        `node_filesystem_avail_bytes{mountpoint="/m${s}"} ${50_000_000_000 + (round % 3)}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

const spool = await Spool.open({
  dir: join(dir, 'spool'),
  maxBytes: 8 * 2 ** 30,
  fsync: false,
  logger,
});
const publisher = new Publisher({ spool, connection: () => nc, logger, window: 64 });
publisher.start();
const batchers = new Map<number, Batcher>();
const trackers = new Map<number, DeltaTracker>();
const ingester = new Ingester({
  nc,
  store,
  config: ingestConfigSchema.parse({}),
  logger,
  registry: new Registry(),
});
await ingester.start();

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
const natsTicks = () => {
  const stat = readFileSync(`/proc/${nats.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
};
const cpuStart = process.cpuUsage();
const natsStart = natsTicks();
const began = performance.now();
const t0 = Date.now() - rounds * 10_000;
let produced = 0;
for (let round = 0; round < rounds; round++) {
  for (let host = 0; host < hosts; host++) {
    const samples: RawSample[] = [];
    scanPromText(hostText(host, round), (name, labels, value, _ts, type) => {
      samples.push({ name, labels, value, type: type === 'counter' ? 'counter' : 'gauge' });
    });
    let tracker = trackers.get(host);
    if (!tracker) trackers.set(host, (tracker = new DeltaTracker()));
    let batcher = batchers.get(host);
    if (!batcher) {
      batcher = new Batcher({
        tier: 'host',
        host: `host-${host}`,
        spool,
        maxSamples: 50_000,
        maxBytes: 900 * 1024,
        maxAgeMs: 1000,
      });
      batchers.set(host, batcher);
    }
    const ts = t0 + round * 10_000;
    const out = tracker
      .apply(samples)
      .map((s) => ({ name: s.name, service: '', labels: s.labels, ts, value: s.value }));
    produced += out.length;
    batcher.add(out);
  }
  await Promise.all([...batchers.values()].map((b) => b.flush()));
}
await publisher.drain(600_000);
const count = async () =>
  Number(
    (
      await store.query<{ n: string }>(
        sql`SELECT count() AS n FROM ${ident(store.table('samples'))}`,
      )
    )[0]?.n,
  );
while ((await count()) < produced) await new Promise((resolve) => setTimeout(resolve, 100));
const seconds = (performance.now() - began) / 1000;
const cpu = process.cpuUsage(cpuStart);
const natsCpu = (natsTicks() - natsStart) / 100;
clearInterval(rssTimer);
await ingester.stop();
await publisher.stop();

await store.command(`OPTIMIZE TABLE ${store.table('samples')} FINAL`);
const disk = await store.query<{ table: string; bytes: string; rows: string }>(
  sql`SELECT table, sum(bytes_on_disk) AS bytes, sum(rows) AS rows FROM system.parts
      WHERE database = ${store.database} AND active GROUP BY table`,
);
const diskOf = (table: string) => Number(disk.find((row) => row.table === table)?.bytes ?? 0);
const stored = await count();
await store.close();

// The ingester alone: a new consumer drains the whole stream into a fresh database.
const replayConfig = configSchema.parse({ ...rawConfig, clickhouse: { database: 'replay' } });
const replayStore = await openStore({ config: replayConfig, logger });
await migrate(replayStore, replayConfig, logger);
// For profiling only: BENCH_NO_ROLLUPS=1 measures the same drain without the rollup views.
if (process.env['BENCH_NO_ROLLUPS']) {
  for (const view of ['samples_1h_mv', 'samples_1m_mv'])
    await replayStore.command(`DROP VIEW replay.${view}`);
}
const replayRegistry = new Registry();
const replay = new Ingester({
  nc,
  store: replayStore,
  config: ingestConfigSchema.parse({ consumer: 'bench-replay' }),
  logger,
  registry: replayRegistry,
});
const replayCpu = process.cpuUsage();
const replayBegan = performance.now();
await replay.start();
const replayCount = async () =>
  Number(
    (
      await replayStore.query<{ n: string }>(
        sql`SELECT count() AS n FROM ${ident(replayStore.table('samples'))}`,
      )
    )[0]?.n,
  );
while ((await replayCount()) < stored) await new Promise((resolve) => setTimeout(resolve, 100));
const replaySeconds = (performance.now() - replayBegan) / 1000;
const replayCpuUsed = process.cpuUsage(replayCpu);
if (process.env['BENCH_DEBUG']) console.log(await replayRegistry.metrics());
await replay.stop();
await replayStore.close();
await nc.close();
await nats.stop();
rmSync(dir, { recursive: true, force: true });

const result = {
  bench: 'ingest',
  hosts,
  series_per_host: seriesPerHost,
  rounds,
  samples: stored,
  seconds: Number(seconds.toFixed(2)),
  samples_per_second: Math.round(stored / seconds),
  cpu_seconds_halo: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
  cpu_seconds_nats: Number(natsCpu.toFixed(2)),
  peak_rss_mib: Number((peakRss / 2 ** 20).toFixed(1)),
  bytes_per_sample: Number((diskOf('samples') / stored).toFixed(3)),
  bytes_per_sample_with_rollups: Number(
    (
      (diskOf('samples') + diskOf('samples_1m') + diskOf('samples_1h') + diskOf('series')) /
      stored
    ).toFixed(3),
  ),
  ingester_only_samples_per_second: Math.round(stored / replaySeconds),
  ingester_only_cpu_seconds: Number(((replayCpuUsed.user + replayCpuUsed.system) / 1e6).toFixed(2)),
  machine: machine(),
};
console.log(`machine: ${result.machine}`);
console.log(
  `pipeline: ${hosts} hosts × ${seriesPerHost} series × ${rounds} rounds = ${produced} samples (first round of counters sends nothing)`,
);
console.log(
  `end to end: ${result.samples_per_second} samples/s over ${result.seconds} s, counted in ClickHouse`,
);
console.log(
  `cpu: ${result.cpu_seconds_halo} s in Halo's process, ${result.cpu_seconds_nats} s in nats-server; peak RSS ${result.peak_rss_mib} MiB`,
);
console.log(
  `disk: ${result.bytes_per_sample} bytes/sample in samples after OPTIMIZE FINAL, ${result.bytes_per_sample_with_rollups} with rollups and series`,
);
console.log(
  `ingester alone (a new consumer drains the stream into a fresh database): ${result.ingester_only_samples_per_second} samples/s, ${result.ingester_only_cpu_seconds} s CPU`,
);
console.log(JSON.stringify(result));
