// Bench: one evaluation cycle of N SLOs (default 1,000) over D days (default 30) of history in
// embedded ClickHouse: 1-minute rollups for the whole period (and 1-hour ones through the view),
// raw samples for the last two hours. The history is generated inside ClickHouse. Prints the
// time of each cycle and the machine, and one JSON line last.
// Usage: npm run bench:alerter [-- SLOS DAYS CYCLES]; with BENCH_DIR=path the store is kept there
// and reused by the next run with the same SLOS and DAYS (generating 30 days takes minutes).

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateSlos } from '../alerter/slo/evaluate.ts';
import type { Slo } from '../alerter/slo/model.ts';
import { parseSlos } from '../alerter/slo/spec.ts';
import { configSchema } from '../core/config/schema.ts';
import { silentLogger } from '../core/logger.ts';
import { migrate } from '../core/store/migrate.ts';
import { openStore } from '../core/store/store.ts';
import { machine } from './machine.ts';

const sloCount = Number(process.argv[2] ?? 1000);
const days = Number(process.argv[3] ?? 30);
const cycles = Number(process.argv[4] ?? 5);
const logger = silentLogger();
const kept = process.env['BENCH_DIR'];
const dir = kept ?? mkdtempSync(join(tmpdir(), 'halo-bench-alerter-'));
const reuse = kept !== undefined && existsSync(join(kept, 'generated.json'));
const config = configSchema.parse({ data_dir: dir });
const store = await openStore({ config, logger });
await migrate(store, config, logger);

const MINUTE = 60_000;
const now = reuse
  ? (JSON.parse(readFileSync(join(dir, 'generated.json'), 'utf8')) as { now: number }).now
  : Math.floor(Date.now() / MINUTE) * MINUTE;
const rawFrom = now - 2 * 3_600_000;
const db = store.database;
// One service per SLO, two series each (code 200 and 500), 100 requests a minute with a little
// noise and 0.05% failures; fingerprints as the samples table computes them.
const seriesSelect = `
  SELECT 'http_requests_total' AS name, 'web' AS tier, 'web-1' AS host,
    concat('svc-', toString(intDiv(number, 2))) AS service,
    map('code', if(number % 2 = 0, '200', '500')) AS labels
  FROM numbers(${sloCount * 2})`;
const began = performance.now();
if (!reuse) await generate();
async function generate(): Promise<void> {
  await store.command(
    `INSERT INTO ${db}.series (name, tier, host, service, labels, first_seen, last_seen)
   SELECT name, tier, host, service, labels, toDateTime(${Math.floor((now - days * 86_400_000) / 1000)}), toDateTime(${Math.floor(now / 1000)})
   FROM (${seriesSelect})`,
  );
  // Minute rollups up to where raw samples start (the samples view makes the rest).
  const minutes = Math.floor((rawFrom - (now - days * 86_400_000)) / MINUTE);
  await store.command(
    `INSERT INTO ${db}.samples_1m (name, tier, host, service, fingerprint, ts, value_sum, value_count, value_min, value_max, value_last)
   SELECT name, tier, host, service, fingerprint, t, v, 6, v / 6, v / 6,
     initializeAggregation('argMaxState', toFloat64(v / 6), toDateTime64(t, 3, 'UTC'))
   FROM (
     SELECT s.name AS name, s.tier AS tier, s.host AS host, s.service AS service,
       cityHash64(s.name, s.tier, s.host, s.service, mapSort(s.labels)) AS fingerprint, m.t AS t,
       if(s.labels['code'] = '200', 100.0 + cityHash64(m.t, s.service) % 7,
          toFloat64(cityHash64(m.t, s.service) % 2000 = 0)) AS v
     FROM (${seriesSelect}) AS s
     CROSS JOIN (SELECT toDateTime(${Math.floor((now - days * 86_400_000) / 1000)} + number * 60, 'UTC') AS t FROM numbers(${minutes})) AS m)`,
  );
  await store.command(
    `INSERT INTO ${db}.samples (name, tier, host, service, labels, ts, value)
   SELECT s.name, s.tier, s.host, s.service, s.labels, t,
     if(s.labels['code'] = '200', 16.0 + cityHash64(t, s.service) % 2, toFloat64(cityHash64(t, s.service) % 3000 = 0))
   FROM (${seriesSelect}) AS s
   CROSS JOIN (SELECT toDateTime64(${rawFrom / 1000} + number * 10, 3, 'UTC') AS t FROM numbers(720)) AS r`,
  );
  if (kept !== undefined) writeFileSync(join(dir, 'generated.json'), JSON.stringify({ now }));
}
const [rows] = await store.query<{ m: string; h: string; r: string }>({
  text: `SELECT (SELECT count() FROM ${db}.samples_1m) AS m, (SELECT count() FROM ${db}.samples_1h) AS h, (SELECT count() FROM ${db}.samples) AS r`,
  params: {},
});
const generated = (performance.now() - began) / 1000;

const text = Array.from(
  { length: sloCount },
  (_, i) => `apiVersion: halo/v1
kind: SLO
metadata: { name: slo-${i} }
spec:
  service: svc-${i}
  objective: ${i % 2 === 0 ? 99.9 : 99.5}
  window: { rolling: ${days}d }
  sli:
    ratio:
      bad: { metric: http_requests_total, matchers: { service: svc-${i}, code: { op: "=~", value: "5.." } } }
      total: { metric: http_requests_total, matchers: { service: svc-${i} } }
`,
).join('---\n');
const slos: Slo[] = parseSlos(text, 'bench.yaml');

const times: number[] = [];
let instances = 0;
for (let c = 0; c < cycles; c++) {
  const t0 = performance.now();
  const evaluations = await evaluateSlos(store, slos, now + c * 15_000);
  times.push((performance.now() - t0) / 1000);
  instances = evaluations.length;
}
await store.close();
if (kept === undefined) rmSync(dir, { recursive: true, force: true });

const sorted = [...times].sort((a, b) => a - b);
const result = {
  bench: 'alerter',
  slos: sloCount,
  days,
  rollup_rows_1m: Number(rows?.m),
  rollup_rows_1h: Number(rows?.h),
  raw_samples: Number(rows?.r),
  generate_seconds: Number(generated.toFixed(1)),
  instances,
  cycle_seconds_median: Number(sorted[Math.floor(sorted.length / 2)]!.toFixed(3)),
  cycle_seconds_max: Number(sorted[sorted.length - 1]!.toFixed(3)),
  cycle_seconds_first: Number(times[0]!.toFixed(3)),
  machine: machine(),
};
console.log(`machine: ${result.machine}`);
console.log(
  `history: ${result.rollup_rows_1m} 1-minute rollup rows, ${result.rollup_rows_1h} 1-hour, ${result.raw_samples} raw samples (${days} days, ${sloCount * 2} series), generated in ${result.generate_seconds} s`,
);
console.log(
  `evaluation of ${sloCount} SLOs (${instances} instances, 9 windows each): median ${result.cycle_seconds_median} s, max ${result.cycle_seconds_max} s, first ${result.cycle_seconds_first} s over ${cycles} cycles`,
);
console.log(JSON.stringify(result));
