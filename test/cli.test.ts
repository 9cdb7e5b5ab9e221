// The `halo` command as a user runs it: up on embedded defaults, clean stop, and one-line
// errors with a non-zero exit for each bad start.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../core/store/migrations/index.ts';
import { freePort } from './helpers/ports.ts';
import { startNatsServer } from './helpers/nats.ts';
import { tempDir } from './helpers/temp.ts';
import { alive, haloEnv } from './helpers/halo-process.ts';
import { until } from './helpers/wait.ts';

const bin = join(import.meta.dirname, '..', 'cli', 'bin.js');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function halo(args: string[], cwd: string, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    env: haloEnv(env),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The lines a person reads: the JSON log lines before them are for machines. */
function errorLines(stderr: string): string[] {
  const lines = stderr.trim().split('\n');
  const plain = lines.filter((line) => !line.startsWith('{'));
  expect(
    lines.filter((line) => line.startsWith('{')).every((line) => JSON.parse(line) as unknown),
  ).toBe(true);
  return plain;
}

describe('halo up on embedded defaults', () => {
  it('answers /healthz and /readyz within 30 s and stops on SIGINT within 10 s, leaving no process', async () => {
    const cwd = tempDir();
    const port = await freePort();
    const child = spawn(process.execPath, [bin, 'up'], {
      cwd,
      env: haloEnv({ HALO_HTTP_PORT: String(port) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

    const url = `http://127.0.0.1:${port}`;
    await until(async () => (await fetch(`${url}/readyz`)).status === 200, 'readyz 200', 30_000);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({
      ready: true,
      checks: { started: 'ok', store: 'ok', bus: 'ok' },
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('halo_process_cpu_user_seconds_total{role="up"}');
    expect(metrics).toMatch(/^halo_build_info\{version="[^"]+",node="v\d+[^"]*",role="up"\} 1$/m);
    for (const check of ['started', 'store', 'bus']) {
      expect(metrics).toContain(`halo_check_up{check="${check}",role="up"} 1`);
    }

    // The agent scrapes Halo's own /metrics into the store (the "Halo itself" dashboard).
    await until(
      async () =>
        /^halo_agent_samples_total\{source="halo"[^}]*\} [1-9]/m.test(
          await (await fetch(`${url}/metrics`)).text(),
        ),
      'samples from the self-scrape',
      15_000,
    );

    const natsPid = Number(readFileSync(join(cwd, 'data', 'nats', 'nats-server.pid'), 'utf8'));
    expect(alive(natsPid)).toBe(true);
    expect(existsSync(join(cwd, 'data', 'clickhouse.lock'))).toBe(true);

    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    const stopAt = Date.now();
    child.kill('SIGINT');
    const code = await exited;
    expect(Date.now() - stopAt).toBeLessThan(10_000);
    expect(code).toBe(0);
    expect(alive(natsPid)).toBe(false);
    expect(existsSync(join(cwd, 'data', 'clickhouse.lock'))).toBe(false);
    expect(stderr).toContain('"msg":"halo is up"');
    expect(stderr).toContain('"msg":"stopped"');
  });

  it('a second halo up on the same data dir is refused with the pid of the first', async () => {
    const cwd = tempDir();
    const port = await freePort();
    const first = spawn(process.execPath, [bin, 'up'], {
      cwd,
      env: haloEnv({ HALO_HTTP_PORT: String(port) }),
      stdio: 'ignore',
    });
    children.push(first);
    await until(
      async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200,
      'the first halo up',
      30_000,
    );
    const second = halo(['up'], cwd, { HALO_HTTP_PORT: String(await freePort()) });
    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGINT');
    await exited;
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(`^halo: embedded ClickHouse directory .* is in use by process ${first.pid} `),
    );
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('a bad start is one line and a non-zero exit, with nothing left behind', () => {
  it('evaluates the SLO files of alerter.slos and serves them at /api/v1/slos', async () => {
    const cwd = tempDir();
    const port = await freePort();
    mkdirSync(join(cwd, 'slos'));
    writeFileSync(
      join(cwd, 'slos', 'checkout.yaml'),
      [
        'apiVersion: halo/v1',
        'kind: SLO',
        'metadata: { name: checkout }',
        'spec:',
        '  service: checkout',
        '  objective: 99.9',
        '  window: { rolling: 30d }',
        '  sli:',
        '    ratio:',
        '      bad: { metric: http_requests_total, matchers: { code: "500" } }',
        '      total: { metric: http_requests_total }',
        '',
      ].join('\n'),
    );
    writeFileSync(join(cwd, 'halo.yaml'), "alerter: { slos: ['slos/*.yaml'], interval: 1s }\n");
    const child = spawn(process.execPath, [bin, 'up'], {
      cwd,
      env: haloEnv({ HALO_HTTP_PORT: String(port) }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    const url = `http://127.0.0.1:${port}/api/v1/slos`;
    let body: { leading?: boolean; evaluatedAt?: string | null; slos?: Array<{ name: string }> } =
      {};
    await until(
      async () => {
        const response = await fetch(url).catch(() => undefined);
        if (response?.status !== 200) return false;
        body = (await response.json()) as typeof body;
        return body.evaluatedAt !== null;
      },
      'an evaluation',
      30_000,
    );
    expect(body.leading).toBe(true);
    expect(body.slos?.map((slo) => slo.name)).toEqual(['checkout']);
    const alerts = await (await fetch(`http://127.0.0.1:${port}/api/v1/alerts`)).json();
    expect(alerts).toEqual({ alerts: [] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('halo alert without a NATS server to take its lease in exits 2 saying so', () => {
    const result = halo(['alert'], tempDir());
    expect(result.code).toBe(2);
    expect(errorLines(result.stderr)).toEqual([
      'halo: nats.url: missing: halo alert takes its lease in NATS KV (set nats.url or HALO_NATS_URL); `halo up` runs everything in one process',
    ]);
  });

  it('a broken config file exits 2 naming the file and key', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'halo.yaml'), 'http:\n  prot: 80\n');
    const result = halo(['up'], cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'halo: halo.yaml:2: http.prot: unknown key (did you mean "port"?)\n',
    );
    expect(existsSync(join(cwd, 'data'))).toBe(false);
  });

  it('a port in use', async () => {
    const cwd = tempDir();
    const blocker = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    );
    try {
      const result = halo(['up'], cwd, { HALO_HTTP_PORT: String(port) });
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `halo: http: port ${port} on 127.0.0.1 is already in use (set http.port or HALO_HTTP_PORT)\n`,
      );
      expect(existsSync(join(cwd, 'data'))).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('a data dir that cannot be created', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'a-file'), '');
    const result = halo(['up'], cwd, {
      HALO_DATA_DIR: join(cwd, 'a-file', 'data'),
      HALO_HTTP_PORT: String(await freePort()),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^halo: data dir .*a-file\/data is not writable: ENOTDIR/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('an unreachable ClickHouse server', async () => {
    const cwd = tempDir();
    const chPort = await freePort();
    const result = halo(['up'], cwd, {
      HALO_CLICKHOUSE_URL: `http://127.0.0.1:${chPort}`,
      HALO_CLICKHOUSE_PASSWORD: 'Ch-s3cret',
      HALO_HTTP_PORT: String(await freePort()),
    });
    expect(result.code).toBe(1);
    expect(errorLines(result.stderr)).toEqual([
      `halo: ClickHouse at http://127.0.0.1:${chPort} is unreachable: connect ECONNREFUSED 127.0.0.1:${chPort}`,
    ]);
    expect(result.stderr).not.toContain('Ch-s3cret');
  });

  it('NATS refusing the credentials, and the embedded store is released', async () => {
    const nats = await startNatsServer(['--user', 'halo', '--pass', 'Right-s3cret']);
    try {
      const cwd = tempDir();
      const result = halo(['up'], cwd, {
        HALO_NATS_URL: nats.url,
        HALO_NATS_USER: 'halo',
        HALO_NATS_PASSWORD: 'Wrong-s3cret',
        HALO_HTTP_PORT: String(await freePort()),
      });
      expect(result.code).toBe(1);
      expect(errorLines(result.stderr)).toEqual([
        `halo: nats at ${nats.url} refused the credentials (authorization violation)`,
      ]);
      expect(existsSync(join(cwd, 'data', 'clickhouse.lock'))).toBe(false);
    } finally {
      await nats.stop();
    }
  });

  it('nats-server not installed says how to install it', async () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'bin'));
    writeFileSync(
      join(cwd, 'halo.yaml'),
      'nats:\n  local:\n    binary: /nonexistent/nats-server\n',
    );
    const result = halo(['up'], cwd, { HALO_HTTP_PORT: String(await freePort()) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'halo: /nonexistent/nats-server is not installed: install it with `apt-get install nats-server`',
    );
  });
});

describe('halo config check, migrate and version', () => {
  it('config check prints the effective config with secrets masked', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'pw'), 'file-s3cret\n');
    writeFileSync(
      join(cwd, 'halo.yaml'),
      'clickhouse:\n  password_file: ./pw\nnats:\n  token: yaml-s3cret\n',
    );
    const result = halo(['config', 'check'], cwd, { HALO_HTTP_PORT: '9000' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`# config OK: ${join(cwd, 'halo.yaml')}`);
    expect(result.stdout).toContain('# http.port from env HALO_HTTP_PORT');
    expect(result.stdout).toMatch(/password: <secret>/);
    expect(result.stdout).toMatch(/token: <secret>/);
    expect(result.stdout).toContain('port: 9000');
    expect(result.stdout + result.stderr).not.toMatch(/s3cret/);
  });

  it('migrate applies the schema once, then finds it up to date', () => {
    const cwd = tempDir();
    expect(halo(['migrate'], cwd).stdout).toBe(
      `migrations applied: ${MIGRATIONS.map((m) => m.version).join(', ')}\n`,
    );
    expect(halo(['migrate'], cwd).stdout).toBe('migrations applied: none (schema up to date)\n');
  });

  it('version prints the package version', () => {
    const pkg = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(halo(['version'], tempDir()).stdout).toBe(
      `halo ${pkg.version} (node ${process.version})\n`,
    );
  });

  it('slo check prints each tier’s detection times, and a broken spec exits 2 naming file, line and key', () => {
    const fixtures = join(import.meta.dirname, 'fixtures', 'slo');
    const ok = halo(
      ['slo', 'check', join(fixtures, 'valid.yaml'), '--error-rate', '2%'],
      tempDir(),
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(
      'SLO checkout-availability (service checkout, objective 99.9%, rolling 30d)',
    );
    expect(ok.stdout).toMatch(/^page-fast\s+page\s+14\.4×\s+1h\s+5m\s+51\.8s\s+43m12s\s+2%$/m);
    const bad = halo(['slo', 'check', join(fixtures, 'unknown-key.yaml')], tempDir());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^halo: .*unknown-key\.yaml:\d+: /);
    const rate = halo(
      ['slo', 'check', join(fixtures, 'valid.yaml'), '--error-rate', 'lots'],
      tempDir(),
    );
    expect(rate.stderr).toBe(
      'halo: --error-rate: got "lots", expected a rate like 2% or 0.02 (above 0, at most 100%)\n',
    );
  });
});
