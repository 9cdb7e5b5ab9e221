// Bench: `halo up` with its demo, as a process, on a fresh data dir: the time from start to
// ready, to the first stored data (an SLO evaluated over the demo's samples), and from the
// scripted incident's start to the page on the console and to its resolve. Prints the machine
// and one JSON line last.
// Usage: npm run bench:up-demo [-- RUNS]   (each run takes about 3 minutes)

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haloEnv } from '../test/helpers/halo-process.ts';
import { freePort } from '../test/helpers/ports.ts';
import { machine } from './machine.ts';

const runs = Number(process.argv[2] ?? 1);
const bin = join(import.meta.dirname, '..', 'cli', 'bin.js');

async function poll(check: () => Promise<boolean>, limitMs: number, what: string): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${what} within ${limitMs} ms`);
}

interface Figures {
  ready_s: number;
  first_data_s: number;
  incident_to_page_s: number;
  incident_to_resolve_s: number;
}

async function once(): Promise<Figures> {
  const cwd = mkdtempSync(join(tmpdir(), 'halo-bench-up-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = haloEnv({ HALO_HTTP_PORT: String(port) });
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [bin, 'up', '--incident-after', '30s', '--incident-errors-for', '45s'],
    { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  const seen = new Map<string, number>();
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (!seen.has('page') && /\[FIRING:\d+\] front-door-availability \(page/.test(stdout))
      seen.set('page', Date.now());
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (!seen.has('incident') && stderr.includes('"phase":"errors"'))
      seen.set('incident', Date.now());
  });
  try {
    await poll(async () => (await fetch(`${url}/readyz`)).status === 200, 120_000, 'readyz');
    const ready = Date.now();
    await poll(
      async () => {
        const body = (await (await fetch(`${url}/api/v1/slos`)).json()) as {
          slos: Array<{ name: string; instances: Array<{ total: number }> }>;
        };
        const front = body.slos.find((s) => s.name === 'front-door-availability');
        return (front?.instances[0]?.total ?? 0) > 0;
      },
      120_000,
      'first data',
    );
    const firstData = Date.now();
    await poll(async () => seen.has('page'), 180_000, 'page');
    // Resolved: the page tier of the SLO is no longer pending or firing.
    await poll(
      async () => {
        const body = (await (await fetch(`${url}/api/v1/alerts`)).json()) as {
          alerts: Array<{ labels: Record<string, string> }>;
        };
        return !body.alerts.some(
          (a) => a.labels['slo'] === 'front-door-availability' && a.labels['severity'] === 'page',
        );
      },
      300_000,
      'resolve',
    );
    const resolved = Date.now();
    const incident = seen.get('incident')!;
    return {
      ready_s: (ready - started) / 1000,
      first_data_s: (firstData - started) / 1000,
      incident_to_page_s: (seen.get('page')! - incident) / 1000,
      incident_to_resolve_s: (resolved - incident) / 1000,
    };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
    rmSync(cwd, { recursive: true, force: true });
  }
}

const results: Figures[] = [];
for (let i = 0; i < runs; i++) {
  const f = await once();
  results.push(f);
  console.log(
    `run ${i + 1}: ready ${f.ready_s.toFixed(1)} s, first data ${f.first_data_s.toFixed(1)} s, ` +
      `incident → page ${f.incident_to_page_s.toFixed(1)} s, → resolved ${f.incident_to_resolve_s.toFixed(1)} s`,
  );
}
console.log(`machine: ${machine()}`);
console.log(JSON.stringify({ bench: 'up-demo', runs: results, machine: machine() }));
