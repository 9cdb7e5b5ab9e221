// Bench: every panel query of every Halo dashboard over the last 24 h of a 200-host fleet (about
// 170M samples, generated inside ClickHouse by bench/dashboards-data.ts) on the embedded store.
// Variables are set to all their values, the interval is Grafana's for the panel's width. Prints
// rows, p50, p95 and max per panel, flags p95 ≥ 300 ms, then the machine and one JSON line last.
// Usage: npm run bench:dashboards [-- HOSTS RUNS [FILE…]]; FILEs (e.g. lb.json) limit it to those
// dashboards. With BENCH_DIR=path the store is kept there and reused by the next run with the same
// HOSTS (generating 200 hosts takes minutes); ENGINE=1 also times the engine alone.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../core/config/schema.ts';
import { errorMessage } from '../core/errors.ts';
import { silentLogger } from '../core/logger.ts';
import { migrate } from '../core/store/migrate.ts';
import { openStore, type Store } from '../core/store/store.ts';
import { DASHBOARDS, dashboardJson } from '../dashboards/index.ts';
import { expandMacros } from '../dashboards/macros.ts';
import { dayEnding, generate, type Generated } from './dashboards-data.ts';
import { fleet } from './dashboards-fleet.ts';
import {
  allPanels,
  panelInterval,
  variableValues,
  type Panel,
  type Variable,
} from './dashboards-grafana.ts';
import { machine } from './machine.ts';

const hosts = Number(process.argv[2] ?? 200);
const runs = Number(process.argv[3] ?? 10);
const only = new Set(process.argv.slice(4));
const engineToo = process.env['ENGINE'] === '1';
const BUDGET_MS = 300;
const logger = silentLogger();
const kept = process.env['BENCH_DIR'] || undefined;
const dir = kept ?? mkdtempSync(join(tmpdir(), 'halo-bench-dashboards-'));
const marker = join(dir, 'generated.json');
const previous = existsSync(marker)
  ? (JSON.parse(readFileSync(marker, 'utf8')) as { now: number; hosts: number })
  : undefined;
if (previous && previous.hosts !== hosts) {
  throw new Error(`BENCH_DIR ${dir} holds ${previous.hosts} hosts, not ${hosts}: use another dir`);
}
// Panel SQL names its tables `halo.<table>`: the store's database must be `halo`.
const config = configSchema.parse({ data_dir: dir, clickhouse: { database: 'halo' } });
const store = await openStore({ config, logger });
await migrate(store, config, logger);

const MINUTE = 60_000;
const now = previous?.now ?? Math.floor(Date.now() / MINUTE) * MINUTE;
const window = dayEnding(now);
let generated: Generated | undefined;
if (!previous) {
  generated = await generate(store, window, hosts);
  if (kept !== undefined) writeFileSync(marker, JSON.stringify({ now, hosts }));
}
const counts = await tableCounts(store);
// Every tier has a host at least: a small fleet has more hosts than asked for.
const fleetHosts = fleet(hosts).reduce((n, [, count]) => n + count, 0);
const samples = counts['samples'] ?? 0;
console.log(`machine: ${machine()}`);
console.log(
  `data: ${fleetHosts} hosts, ${counts['series']} series, ${samples} samples, ` +
    `${counts['samples_1m']} 1-minute and ${counts['samples_1h']} 1-hour rollup rows, ` +
    `${counts['logs']} log lines, ${counts['slo_evaluations']} SLO evaluations, ` +
    `${counts['alert_history']} alert transitions, ${counts['notification_log']} notifications` +
    (generated === undefined ? ` (reused from ${dir})` : ''),
);
if (generated) {
  const { samplesSeconds: s, logsSeconds: l, otherSeconds: o } = generated;
  console.log(
    `generated: samples and rollups in ${s.toFixed(1)} s (${Math.round(samples / s)} samples/s), ` +
      `logs in ${l.toFixed(1)} s (${Math.round((counts['logs'] ?? 0) / l)} lines/s), the rest in ${o.toFixed(1)} s`,
  );
}

async function tableCounts(s: Store): Promise<Record<string, number>> {
  const tables = [
    'series',
    'samples',
    'samples_1m',
    'samples_1h',
    'logs',
    'slo_evaluations',
    'alert_history',
    'notification_log',
  ];
  const text = `SELECT ${tables.map((t) => `(SELECT count() FROM ${s.database}.${t}) AS ${t}`).join(', ')}`;
  const [row] = await s.query<Record<string, string>>({ text, params: {} });
  return Object.fromEntries(tables.map((t) => [t, Number(row?.[t])]));
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

interface Result {
  dashboard: string;
  panel: string;
  ref: string;
  rows: number;
  p50: number;
  p95: number;
  max: number;
  /** p95 of the engine alone (output format Null): no transfer, no JSON decoding. */
  engineP95: number | undefined;
  error?: string;
}

/** Sorted wall times in ms of `runs` calls after one warm-up. */
async function timed(call: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const t0 = performance.now();
    await call();
    if (r > 0) times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

const rangeMs = 24 * 3_600_000;
const results: Result[] = [];
const ms = (v: number) => v.toFixed(1).padStart(7);
console.log(
  `\n${'dashboard'.padEnd(16)} ${'panel'.padEnd(36)} ${'rows'.padStart(6)}     p50     p95     max  engine p95  (ms, ${runs} runs)`,
);
/** One line per query, printed as it is measured. */
function report(r: Result): void {
  const head = `${r.dashboard.padEnd(16)} ${`${r.panel} [${r.ref}]`.padEnd(36)}`;
  if (r.error !== undefined) console.log(`${head}  ERROR ${r.error}`);
  else
    console.log(
      `${head} ${String(r.rows).padStart(6)} ${ms(r.p50)} ${ms(r.p95)} ${ms(r.max)} ${r.engineP95 === undefined ? '          -' : ms(r.engineP95).padStart(11)}${r.p95 >= BUDGET_MS ? '  ≥ 300 ms' : ''}`,
    );
}
for (const d of DASHBOARDS) {
  if (only.size > 0 && !only.has(d.file)) continue;
  const json = dashboardJson(d) as {
    title?: string;
    panels?: Panel[];
    templating?: { list?: Variable[] };
  };
  const dashboard = json.title ?? d.file;
  const base = { from: now - rangeMs, to: now, intervalMs: 60_000 };
  const variables = await variableValues(store, json.templating?.list ?? [], base);
  for (const p of allPanels(json.panels ?? [])) {
    for (const t of p.targets ?? []) {
      if (!t.rawSql) continue;
      const panel = `${p.id ?? '?'} ${p.title ?? ''}`;
      const result: Result = {
        dashboard,
        panel,
        ref: t.refId ?? 'A',
        rows: 0,
        p50: 0,
        p95: 0,
        max: 0,
        engineP95: undefined,
      };
      try {
        const ctx = { ...base, intervalMs: panelInterval(p, rangeMs), variables };
        const query = { text: expandMacros(t.rawSql, ctx), params: {} };
        const times = await timed(async () => {
          result.rows = (await store.query<unknown>(query)).length;
        });
        const engine = engineToo ? store.engine : undefined;
        const engineTimes = engine
          ? await timed(() => engine.queryAsync(query.text, { format: 'Null' }))
          : undefined;
        Object.assign(result, {
          p50: percentile(times, 50),
          p95: percentile(times, 95),
          max: times[times.length - 1]!,
          engineP95: engineTimes && percentile(engineTimes, 95),
        });
      } catch (err) {
        result.error = errorMessage(err).slice(0, 300);
      }
      results.push(result);
      report(result);
    }
  }
}
await store.close();
if (kept === undefined) rmSync(dir, { recursive: true, force: true });

const slow = results.filter((r) => r.error === undefined && r.p95 >= BUDGET_MS);
const failed = results.filter((r) => r.error !== undefined);
const worst = results.reduce((m, r) => Math.max(m, r.p95), 0);
console.log(
  `\n${results.length} panel queries: ${slow.length} with p95 ≥ ${BUDGET_MS} ms, ${failed.length} failed; worst p95 ${worst.toFixed(1)} ms`,
);
console.log(`machine: ${machine()}`);
console.log(
  JSON.stringify({
    bench: 'dashboards',
    hosts: fleetHosts,
    runs,
    series: counts['series'],
    samples,
    logs: counts['logs'],
    generate_samples_seconds: generated ? Number(generated.samplesSeconds.toFixed(1)) : null,
    generate_logs_seconds: generated ? Number(generated.logsSeconds.toFixed(1)) : null,
    queries: results.length,
    slow: slow.length,
    failed: failed.length,
    worst_p95_ms: Number(worst.toFixed(1)),
    panels: results.map((r) => ({
      dashboard: r.dashboard,
      panel: r.panel,
      ref: r.ref,
      rows: r.rows,
      p50_ms: Number(r.p50.toFixed(1)),
      p95_ms: Number(r.p95.toFixed(1)),
      max_ms: Number(r.max.toFixed(1)),
      engine_p95_ms: r.engineP95 === undefined ? null : Number(r.engineP95.toFixed(1)),
      ...(r.error !== undefined ? { error: r.error } : {}),
    })),
    machine: machine(),
  }),
);
