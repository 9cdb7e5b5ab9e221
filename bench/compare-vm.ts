// The VictoriaMetrics half of bench/compare: the Debian package's single-node server on a fresh
// data dir, the payload POSTed to its Prometheus text import, timed until its own metrics say
// every row reached storage.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { freePort } from '../test/helpers/ports.ts';
import { cpuSecondsOf, peakRssMiBOf, pollUntil, timeImport } from './compare-process.ts';

export const VM_BINARY = '/usr/bin/victoria-metrics';
export const VM_INSTALL_HINT =
  'install it with `bash cli/setup.sh bench` or `sudo apt-get install victoria-metrics` (Debian/Ubuntu)';

export interface HalfResult {
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  /** What the store counted at the end. */
  counted: number;
  /** The import's HTTP status and how long it took to answer. */
  status: number;
  answeredSeconds: number;
}

export function vmInstalled(): boolean {
  return existsSync(VM_BINARY);
}

/** Sum of every `name{…} value` line of Prometheus text. */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

export async function runVictoriaMetrics(file: string, samples: number): Promise<HalfResult> {
  const dir = mkdtempSync(join(tmpdir(), 'halo-bench-vm-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    VM_BINARY,
    [
      `-storageDataPath=${dir}`,
      '-retentionPeriod=100y',
      `-httpListenAddr=127.0.0.1:${port}`,
      '-loggerLevel=ERROR',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  const pid = child.pid!;
  try {
    await pollUntil(
      async () => (await fetch(`${url}/health`)).ok,
      50,
      30_000,
      'VictoriaMetrics /health',
    );
    const rows = async () =>
      metricSum(await (await fetch(`${url}/metrics`)).text(), 'vm_rows_added_to_storage_total');
    const rowsBefore = await rows();
    const cpuBefore = cpuSecondsOf(pid);
    const timed = await timeImport({
      name: 'VictoriaMetrics',
      url: `${url}/api/v1/import/prometheus`,
      file,
      expected: samples,
      everyMs: 50,
      count: async () => (await rows()) - rowsBefore,
    });
    const cpuSeconds = cpuSecondsOf(pid) - cpuBefore;
    const { status, answeredSeconds } = await timed.answer;
    return {
      seconds: timed.seconds,
      cpuSeconds,
      peakRssMiB: peakRssMiBOf(pid),
      counted: timed.counted,
      status,
      answeredSeconds,
    };
  } catch (err) {
    if (stderr) console.error(stderr.slice(-2000));
    throw err;
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}
