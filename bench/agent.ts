// Bench: CPU and RSS of a real `halo agent` process scraping 2,000 series every 10 s and
// publishing them to a real nats-server. Usage: npm run bench:agent [-- SECONDS SERIES INTERVAL_S]

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectBus } from '../core/bus/connect.ts';
import { startLocalNats } from '../core/bus/local-server.ts';
import { ensureStreams } from '../core/bus/streams.ts';
import { configSchema } from '../core/config/schema.ts';
import { STREAMS } from '../core/conventions.ts';
import { silentLogger } from '../core/logger.ts';
import { machine } from './machine.ts';

const seconds = Number(process.argv[2] ?? 60);
const seriesCount = Number(process.argv[3] ?? 2000);
const intervalS = Number(process.argv[4] ?? 10);
const dir = mkdtempSync(join(tmpdir(), 'halo-bench-agent-'));
const logger = silentLogger();

// A /metrics page like an app's: counters, gauges and one histogram, values moving each scrape.
let scrape = 0;
function page(): string {
  scrape++;
  const lines: string[] = [];
  const counters = Math.floor(seriesCount / 2);
  const buckets = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
  const histogramSeries = Math.floor(seriesCount / 10);
  const gauges = seriesCount - counters - histogramSeries;
  lines.push('# TYPE app_requests_total counter');
  for (let i = 0; i < counters; i++)
    lines.push(
      `app_requests_total{route="/r${i % 50}",code="${200 + (i % 5)}",instance="${i}"} ${scrape * (i + 1)}`,
    );
  lines.push('# TYPE app_queue_depth gauge');
  for (let i = 0; i < gauges; i++)
    lines.push(`app_queue_depth{queue="q${i}"} ${(scrape * 7 + i) % 100}`);
  lines.push('# TYPE app_latency_seconds histogram');
  for (let i = 0; i < histogramSeries; i++) {
    const le = buckets[i % buckets.length]!;
    lines.push(
      `app_latency_seconds_bucket{route="/r${Math.floor(i / buckets.length)}",le="${le}"} ${scrape * ((i % buckets.length) + 1)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const target = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
  res.end(page());
});
await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
const targetPort = (target.address() as { port: number }).port;

const nats = await startLocalNats({
  dir: join(dir, 'nats'),
  binary: 'nats-server',
  address: '127.0.0.1',
  port: 0,
  logger,
});
const config = configSchema.parse({ nats: { url: nats.url } });
const nc = await connectBus({ config, logger });
await ensureStreams(nc, config, logger);

writeFileSync(
  join(dir, 'halo.yaml'),
  [
    'log: { level: warn }',
    'http: { port: 0 }',
    `data_dir: ${dir}/data`,
    `nats: { url: "${nats.url}" }`,
    'agent:',
    '  tier: app',
    '  host: bench-1',
    `  interval: ${intervalS}s`,
    '  sources:',
    '    - type: prometheus',
    `      url: http://127.0.0.1:${targetPort}/metrics`,
    '',
  ].join('\n'),
);
// The compiled build (npm run build), as deployments run it; tsx alone adds ~35 MiB.
const agent = spawn(
  process.execPath,
  [
    join(import.meta.dirname, '..', 'dist', 'cli', 'main.js'),
    '--config',
    join(dir, 'halo.yaml'),
    'agent',
  ],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
const pid = agent.pid!;
const ticks = () => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks (100/s)
};
const rssMiB = () =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

await new Promise((resolve) => setTimeout(resolve, 2 * intervalS * 1000)); // start-up and first scrapes
const startTicks = ticks();
const startAt = performance.now();
let peakRss = 0;
const scrapesBefore = scrape;
while (performance.now() - startAt < seconds * 1000) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  peakRss = Math.max(peakRss, rssMiB());
}
const cpuSeconds = (ticks() - startTicks) / 100;
const wall = (performance.now() - startAt) / 1000;
const scrapes = scrape - scrapesBefore;
agent.kill('SIGTERM');
await new Promise((resolve) => agent.once('exit', resolve));
const info = await (await jetstreamManager(nc)).streams.info(STREAMS.metrics);
await nc.close();
await nats.stop();
target.close();
rmSync(dir, { recursive: true, force: true });

const result = {
  bench: 'agent',
  series: seriesCount,
  interval_s: intervalS,
  measured_s: Number(wall.toFixed(1)),
  scrapes,
  cpu_percent_of_one_core: Number(((cpuSeconds / wall) * 100).toFixed(2)),
  peak_rss_mib: Number(peakRss.toFixed(1)),
  stream_messages: info.state.messages,
  machine: machine(),
};
console.log(`machine: ${result.machine}`);
console.log(
  `agent: ${seriesCount} series every ${intervalS} s for ${result.measured_s} s (${scrapes} scrapes)`,
);
console.log(
  `cpu: ${result.cpu_percent_of_one_core}% of one core; peak RSS ${result.peak_rss_mib} MiB (compiled build, node process)`,
);
console.log(JSON.stringify(result));
