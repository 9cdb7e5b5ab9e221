// Helpers of bench/compare: sending a file with curl from its own process (streamed from disk,
// the same way to both stores), a process's CPU time and peak RSS from /proc, polling, and the
// store-alone runs.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StoreAloneResult } from './compare-store.ts';

export interface Upload {
  /** Settles when curl exits: its exit code, what the server answered and curl's own errors. */
  done: Promise<{ exitCode: number; status: number; body: string; stderr: string }>;
}

/**
 * POSTs `file` to `url` with curl: `-T` reads the file as it sends (`--data-binary @file` would
 * load it whole first), and an empty Expect header skips the wait for `100 Continue`.
 */
export function postFile(url: string, file: string, headers: Record<string, string> = {}): Upload {
  const args = ['-sS', '--fail-with-body', '-X', 'POST', '-T', file, '-H', 'Expect:'];
  args.push('-H', 'Content-Type: text/plain; version=0.0.4');
  for (const [key, value] of Object.entries(headers)) args.push('-H', `${key}: ${value}`);
  args.push('-w', '\n%{http_code}', url);
  const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ exitCode: number; status: number; body: string; stderr: string }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => {
        const cut = stdout.lastIndexOf('\n');
        resolve({
          exitCode: code ?? -1,
          status: Number(stdout.slice(cut + 1)),
          body: stdout.slice(0, Math.max(cut, 0)).trim(),
          stderr: stderr.trim(),
        });
      });
    },
  );
  return { done };
}

/** User + system CPU seconds of a live process, from /proc/<pid>/stat (clock ticks of 1/100 s). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Peak resident memory of a live process in MiB (VmHWM), or 0 where /proc does not say. */
export function peakRssMiBOf(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/**
 * Calls `check` every `everyMs` until it returns true (a throw counts as false); throws after
 * `limitMs`, or as soon as `failed` returns an error (e.g. the upload was refused).
 */
export async function pollUntil(
  check: () => Promise<boolean>,
  everyMs: number,
  limitMs: number,
  what: string,
  failed: () => Error | undefined = () => undefined,
): Promise<void> {
  const end = Date.now() + limitMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    const err = failed();
    if (err) throw err;
    if (Date.now() > end) throw new Error(`no ${what} within ${limitMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** How long a store may count nothing new after answering the import before the bench gives up. */
export const STALL_MS = 60_000;

export interface TimedImport {
  /** From the upload's start until `count` reached `expected`. */
  seconds: number;
  counted: number;
  /** Settles when curl exits: the import's HTTP status and how long it took to answer. */
  answer: Promise<{ status: number; answeredSeconds: number }>;
}

/**
 * POSTs `file` to a store's import `url` and polls `count` every `everyMs` until it reaches
 * `expected`. Fails as soon as the import is refused, or once the store answered and then counted
 * nothing new for STALL_MS. Resolves right then, so the caller's CPU reading after it covers the
 * same time as `seconds`.
 */
export async function timeImport(options: {
  /** The store's name, for errors. */
  name: string;
  url: string;
  file: string;
  headers?: Record<string, string>;
  expected: number;
  everyMs: number;
  count: () => Promise<number>;
}): Promise<TimedImport> {
  const { name, expected } = options;
  const began = performance.now();
  const upload = postFile(options.url, options.file, options.headers);
  let answered = 0;
  let failure: Error | undefined;
  void upload.done.then((r) => {
    answered = performance.now();
    if (r.exitCode !== 0) {
      failure = new Error(`${name} refused the import: HTTP ${r.status} ${r.body} ${r.stderr}`);
    }
  });
  let counted = 0;
  let changed = performance.now();
  // Answered, and nothing new for a while: what is missing is not coming.
  const stalled = () =>
    answered > 0 && performance.now() - changed > STALL_MS
      ? new Error(`${name} answered but holds ${counted} of ${expected} samples`)
      : undefined;
  await pollUntil(
    async () => {
      const before = counted;
      counted = await options.count();
      if (counted !== before) changed = performance.now();
      return counted >= expected;
    },
    options.everyMs,
    1_800_000,
    `${expected} samples in ${name}`,
    () => failure ?? stalled(),
  );
  const seconds = (performance.now() - began) / 1000;
  const answer = upload.done.then((r) => ({
    status: r.status,
    answeredSeconds: (answered - began) / 1000,
  }));
  return { seconds, counted, answer };
}

export const round2 = (n: number) => Number(n.toFixed(2));

/**
 * Runs bench/compare-store.ts in a process of its own (chDB takes one data directory per process)
 * and returns the JSON line it prints.
 */
export async function runStoreAlone(
  rowsFile: string,
  perInsert: number,
  rollups: boolean,
): Promise<StoreAloneResult> {
  const script = fileURLToPath(new URL('./compare-store.ts', import.meta.url));
  const args = ['--import', 'tsx', script, rowsFile, String(perInsert)];
  if (!rollups) args.push('--no-rollups');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`compare-store exited with ${code}: ${stderr.trim()}`);
  return JSON.parse(stdout.trim().split('\n').pop()!) as StoreAloneResult;
}
