// Bench: Halo against VictoriaMetrics on this machine, one after the other, on the same payload —
// Prometheus text with timestamps from HOSTS hosts × SERIES series × SCRAPES scrapes (half
// counters, half gauges), POSTed by curl to each one's /api/v1/import/prometheus and timed until
// each store counts every sample (VictoriaMetrics: vm_rows_added_to_storage_total; Halo: rows in
// its samples table). Prints both rates, the ratio (goal: Halo ≥ 1.5× VictoriaMetrics), CPU and
// peak RSS of each, and one JSON line last. VictoriaMetrics is the Debian package's binary.
// Then the store alone: the rows Halo stored, inserted again into a fresh store with nothing
// before it (bench/compare-store), at the ingester's default insert size, at its largest, and
// without the rollup views: how fast Halo could be if parsing and the bus cost nothing.
// Usage: npm run bench:compare [-- HOSTS SERIES SCRAPES] [--only vm|halo] [--no-store]
// (default 200 500 30)

import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HaloResult } from './compare-halo.ts';
import { writePayload } from './compare-payload.ts';
import { round2, runStoreAlone } from './compare-process.ts';
import type { StoreAloneResult } from './compare-store.ts';
import {
  runVictoriaMetrics,
  vmInstalled,
  VM_BINARY,
  VM_INSTALL_HINT,
  type HalfResult,
} from './compare-vm.ts';
import { machine } from './machine.ts';

const GOAL = 1.5;

const args = process.argv.slice(2);
const noStoreAt = args.indexOf('--no-store');
const storeAlone = noStoreAt < 0;
if (!storeAlone) args.splice(noStoreAt, 1);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args.splice(onlyAt, 2)[1] : undefined;
if (only !== undefined && only !== 'vm' && only !== 'halo') {
  throw new Error(`--only ${only}: expected vm or halo`);
}
const [hosts, seriesPerHost, scrapes] = [args[0] ?? 200, args[1] ?? 500, args[2] ?? 30].map(Number);
for (const [name, n] of [
  ['HOSTS', hosts],
  ['SERIES', seriesPerHost],
  ['SCRAPES', scrapes],
] as const) {
  if (!Number.isInteger(n) || n! < 1) throw new Error(`${name} ${n}: expected a whole number ≥ 1`);
}

console.log(`machine: ${machine()}`);
const dir = mkdtempSync(join(tmpdir(), 'halo-bench-payload-'));
const file = join(dir, 'payload.prom');
try {
  const payload = await writePayload(file, {
    hosts: hosts!,
    seriesPerHost: seriesPerHost!,
    scrapes: scrapes!,
  });
  const expectedHalo = payload.samples - payload.counterSeries;
  console.log(
    `payload: ${hosts} hosts × ${seriesPerHost} series × ${scrapes} scrapes = ${payload.samples} samples, ` +
      `${(payload.bytes / 2 ** 20).toFixed(1)} MiB (${(payload.bytes / payload.samples).toFixed(1)} bytes/sample)`,
  );

  const rate = (r: HalfResult | undefined) =>
    r ? Math.round(payload.samples / r.seconds) : undefined;
  const describe = (r: HalfResult) =>
    `${r.seconds.toFixed(2)} s, ${rate(r)} samples/s; the import answered HTTP ${r.status} ` +
    `after ${r.answeredSeconds.toFixed(2)} s; CPU ${r.cpuSeconds.toFixed(2)} s; peak RSS ${r.peakRssMiB.toFixed(0)} MiB`;

  let vm: HalfResult | undefined;
  if (only !== 'halo') {
    if (vmInstalled()) {
      vm = await runVictoriaMetrics(file, payload.samples);
      console.log(`VictoriaMetrics: ${describe(vm)} (counted ${vm.counted} rows added)`);
    } else {
      console.log(`VictoriaMetrics: skipped, ${VM_BINARY} is missing; ${VM_INSTALL_HINT}`);
    }
  }

  let halo: HaloResult | undefined;
  const rowsFile = storeAlone ? join(dir, 'rows.rowbinary') : undefined;
  if (only !== 'vm') {
    // Loaded here: `--only vm` needs none of Halo's modules.
    const { runHalo } = await import('./compare-halo.ts');
    halo = await runHalo(file, expectedHalo, rowsFile);
    console.log(
      `Halo: ${describe(halo)}, plus ${halo.natsCpuSeconds.toFixed(2)} s in nats-server ` +
        `(counted ${halo.counted} rows; expected ${expectedHalo}: ${payload.samples} samples less ` +
        `${payload.counterSeries} counter baselines, which store nothing)`,
    );
    if (process.env['BENCH_DEBUG']) console.log(halo.metrics);
  }

  const ratio = vm && halo ? vm.seconds / halo.seconds : undefined;

  if (ratio !== undefined) {
    console.log(
      `ratio Halo / VictoriaMetrics: ${ratio.toFixed(2)}× — goal ≥ ${GOAL}× ${ratio >= GOAL ? 'met' : 'NOT met'}`,
    );
  }

  // At the goal's rate the whole path has this long, on this many cores, for everything.
  const goalSeconds = vm ? vm.seconds / GOAL : undefined;
  const cores = availableParallelism();
  const alone: Array<StoreAloneResult & { label: string; perInsert: number; rollups: boolean }> =
    [];
  if (halo && rowsFile) {
    const { haloConfigSchema } = await import('../cli/config-schema.ts');
    const { MAX_INSERT_ROWS } = await import('../collector/ingest/config.ts');
    const defaultRows = haloConfigSchema.parse({}).ingest.insert.max_rows;
    const runs = [
      { label: 'ingest.insert.max_rows default', perInsert: defaultRows, rollups: true },
      { label: 'the largest ingest.insert.max_rows', perInsert: MAX_INSERT_ROWS, rollups: true },
      { label: 'default size, rollup views dropped', perInsert: defaultRows, rollups: false },
    ];
    console.log(
      `store alone: the ${halo.counted} rows Halo stored, already in memory inside ClickHouse, ` +
        `inserted into a fresh store with the ingester's settings (parsing, the bus and the ingester cost nothing):`,
    );
    for (const run of runs) {
      const result = { ...run, ...(await runStoreAlone(rowsFile, run.perInsert, run.rollups)) };
      alone.push(result);
      const speed = payload.samples / result.seconds;
      console.log(
        `  ${result.inserts} inserts of ${run.perInsert} rows (${run.label}): ${result.seconds.toFixed(2)} s, ` +
          `${Math.round(speed)} samples/s${vm ? `, ${(vm.seconds / result.seconds).toFixed(2)}× VictoriaMetrics` : ''}; ` +
          `CPU ${result.cpuSeconds.toFixed(2)} s`,
      );
    }
    if (goalSeconds !== undefined && vm) {
      const budget = goalSeconds * cores;
      const leanest = Math.min(...alone.filter((a) => a.rollups).map((a) => a.cpuSeconds));
      const left = budget - leanest - halo.natsCpuSeconds;
      console.log(
        `  the goal (${GOAL}× VictoriaMetrics, ${Math.round((GOAL * payload.samples) / vm.seconds)} samples/s) ` +
          `leaves the whole path ${goalSeconds.toFixed(2)} s on ${cores} cores, ${budget.toFixed(2)} CPU seconds. ` +
          `Less the store alone with its rollups (at least ${leanest.toFixed(2)}) and nats-server ` +
          `(${halo.natsCpuSeconds.toFixed(2)}), ` +
          (left > 0
            ? `that leaves ${left.toFixed(2)} s, ${((left / payload.samples) * 1e6).toFixed(2)} µs a sample, ` +
              `to read, parse and convert the text and to publish, consume and encode the batches`
            : `nothing is left for reading, parsing and converting the text, nor for the batches ` +
              `(${(-left).toFixed(2)} s short)`),
      );
    }
  }
  const half = (r: HalfResult | undefined) =>
    r && {
      seconds: round2(r.seconds),
      samples_per_second: rate(r),
      answered_seconds: round2(r.answeredSeconds),
      cpu_seconds: round2(r.cpuSeconds),
      peak_rss_mib: Math.round(r.peakRssMiB),
      counted: r.counted,
    };
  console.log(
    JSON.stringify({
      bench: 'compare',
      hosts,
      series_per_host: seriesPerHost,
      scrapes,
      samples: payload.samples,
      counter_series: payload.counterSeries,
      payload_bytes: payload.bytes,
      victoriametrics: half(vm),
      halo: halo && { ...half(halo), cpu_seconds_nats: round2(halo.natsCpuSeconds) },
      ratio: ratio === undefined ? undefined : round2(ratio),
      goal_cpu_seconds: goalSeconds === undefined ? undefined : round2(goalSeconds * cores),
      store_alone: alone.length
        ? alone.map((a) => ({
            rows_per_insert: a.perInsert,
            rollups: a.rollups,
            inserts: a.inserts,
            seconds: round2(a.seconds),
            samples_per_second: Math.round(payload.samples / a.seconds),
            cpu_seconds: round2(a.cpuSeconds),
            ratio: vm ? round2(vm.seconds / a.seconds) : undefined,
          }))
        : undefined,
      goal_met: ratio === undefined ? undefined : ratio >= GOAL,
      machine: machine(),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
