// Tests of the host source (this machine's /proc and /sys, against a real node_exporter) and of
// the probe source (local HTTP, HTTPS and TCP servers, and names that do not resolve).

import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  type StatsFs,
} from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  boundedStatfs,
  cgroupSamples,
  hostOptions,
  hostSource,
} from '../collector/agent/sources/host.ts';
import { probeOptions, probeSource } from '../collector/agent/sources/probe.ts';
import type { RawSample } from '../collector/agent/types.ts';
import { silentLogger } from '../core/logger.ts';
import { freePort } from './helpers/ports.ts';
import { tempDir } from './helpers/temp.ts';
import { startNodeExporter } from './helpers/tier-servers.ts';

const logger = silentLogger();
const deps = { name: 'test', logger, stateDir: '/tmp', now: Date.now };
const context = (timeoutMs = 10_000) => ({
  signal: AbortSignal.timeout(timeoutMs),
  now: Date.now,
  logger,
});

async function collectHost(options: Record<string, unknown> = {}): Promise<RawSample[]> {
  const source = hostSource.create(hostOptions.parse(options), deps);
  return (await source.collect(context())).samples;
}

const named = (samples: RawSample[], name: string) => samples.filter((s) => s.name === name);
const labelKey = (labels: Record<string, string>) =>
  Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** Just enough of the Prometheus text format to read node_exporter's answer. */
function parseExposition(
  text: string,
): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const out = [];
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const [, key = '', value = ''] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key] = value;
    out.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return out;
}

describe('host source on this machine', () => {
  it('reports CPU time per cpu and mode, and it grows between two collections', async () => {
    const first = named(await collectHost(), 'node_cpu_seconds_total');
    const cpus = readFileSync('/proc/stat', 'utf8').match(/^cpu\d+ /gm) ?? [];
    expect(first.length).toBe(cpus.length * 8);
    const spinUntil = Date.now() + 150;
    while (Date.now() < spinUntil); // burn CPU so that user time surely moves
    const second = named(await collectHost(), 'node_cpu_seconds_total');
    const sum = (samples: RawSample[]) => samples.reduce((total, s) => total + s.value, 0);
    expect(sum(second)).toBeGreaterThan(sum(first));
    for (const sample of first) {
      expect(sample.type).toBe('counter');
      const later = second.find((s) => labelKey(s.labels) === labelKey(sample.labels));
      expect(later?.value).toBeGreaterThanOrEqual(sample.value);
    }
  });

  it('reports MemTotal as /proc/meminfo says, in bytes', async () => {
    const kb = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    const [total] = named(await collectHost(), 'node_memory_MemTotal_bytes');
    expect(kb).toBeGreaterThan(0);
    expect(total).toEqual({
      name: 'node_memory_MemTotal_bytes',
      labels: {},
      value: kb * 1024,
      type: 'gauge',
    });
  });

  it('reports load, boot time, forks and the root filesystem', async () => {
    const samples = await collectHost();
    for (const name of ['node_load1', 'node_load5', 'node_load15'])
      expect(named(samples, name)[0]?.value).toBeGreaterThanOrEqual(0);
    expect(named(samples, 'node_boot_time_seconds')[0]?.value).toBeGreaterThan(1e9);
    expect(named(samples, 'node_forks_total')[0]?.value).toBeGreaterThan(0);
    const sizes = named(samples, 'node_filesystem_size_bytes');
    expect(sizes.some((s) => s.value > 0)).toBe(true);
    expect(sizes.some((s) => s.labels.fstype === 'tmpfs' || s.labels.fstype === 'proc')).toBe(
      false,
    );
    const root = sizes.find((s) => s.labels.mountpoint === '/');
    const avail = named(samples, 'node_filesystem_avail_bytes').find(
      (s) => s.labels.mountpoint === '/',
    );
    expect(root && avail && avail.value <= root.value).toBe(true);
  });

  it('reports network counters for an interface, loopback left out by default', async () => {
    const samples = named(await collectHost(), 'node_network_receive_bytes_total');
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.map((s) => s.labels.device)).not.toContain('lo');
    const withLo = named(
      await collectHost({ network: { exclude: '' } }),
      'node_network_receive_bytes_total',
    );
    expect(withLo.find((s) => s.labels.device === 'lo')?.value).toBeGreaterThan(0);
  });

  it('reports whole disks only, without loop and ram devices', async () => {
    const devices = named(await collectHost(), 'node_disk_read_bytes_total').map(
      (s) => s.labels.device,
    );
    expect(devices.some((d) => /^(loop|z?ram)\d+$/.test(d ?? ''))).toBe(false);
    const wholeDisks = readdirSync('/sys/block');
    for (const device of devices) expect(wholeDisks).toContain(device);
  });
});

describe('host source next to a real node_exporter', () => {
  let exporter: ReturnType<typeof parseExposition> = [];

  beforeAll(async () => {
    const { url } = await startNodeExporter(['cpu', 'meminfo', 'stat']);
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    exporter = parseExposition(await response.text());
  });

  it('agrees on MemTotal, boot time and the cpu and mode pairs', async () => {
    const ours = await collectHost();
    const theirs = (name: string) => exporter.filter((s) => s.name === name);
    expect(named(ours, 'node_memory_MemTotal_bytes')[0]?.value).toBe(
      theirs('node_memory_MemTotal_bytes')[0]?.value,
    );
    const boot = theirs('node_boot_time_seconds')[0]?.value ?? NaN;
    expect(
      Math.abs((named(ours, 'node_boot_time_seconds')[0]?.value ?? 0) - boot),
    ).toBeLessThanOrEqual(1);
    for (const name of ['node_cpu_seconds_total', 'node_cpu_guest_seconds_total']) {
      const pairs = (samples: Array<{ labels: Record<string, string> }>) =>
        samples.map((s) => labelKey(s.labels)).sort();
      expect(theirs(name).length).toBeGreaterThan(0);
      expect(pairs(named(ours, name))).toEqual(pairs(theirs(name)));
    }
  });
});

describe('host source on broken files', () => {
  const realStat = readFileSync('/proc/stat', 'utf8');
  const realMeminfo = readFileSync('/proc/meminfo', 'utf8');
  const rootMount = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .find((line) => line.split(' ')[1] === '/');

  function brokenProc(): string {
    const dir = tempDir('halo-proc-');
    mkdirSync(join(dir, 'net'));
    const cpu0 = realStat.split('\n').find((line) => line.startsWith('cpu0 ')) ?? '';
    // Cut in the middle of the second cpu line, then binary noise and malformed keys.
    writeFileSync(join(dir, 'stat'), `cpu  1 2 3\n${cpu0}\ncpu1 12 3`);
    writeFileSync(
      join(dir, 'meminfo'),
      `${realMeminfo}Garbage without colon\nMemFree: -5 kB\nWeird(: 12 kB\n${'x'.repeat(1 << 20)}\n`,
    );
    writeFileSync(join(dir, 'loadavg'), 'garbage here\n');
    writeFileSync(join(dir, 'net', 'dev'), Buffer.from([0, 255, 58, 10, 1, 2, 3, 58, 58]));
    writeFileSync(
      join(dir, 'mounts'),
      `broken\n/dev/none /definitely/not/there ext4 rw 0 0\n${rootMount}\n${rootMount}\n`,
    );
    // A FIFO with no writer would block a plain open() for ever.
    execFileSync('mkfifo', [join(dir, 'diskstats')]);
    return dir;
  }

  it('returns what can be parsed and never throws', async () => {
    const samples = await collectHost({ proc_path: brokenProc() });
    const cpu = named(samples, 'node_cpu_seconds_total');
    expect(new Set(cpu.map((s) => s.labels.cpu))).toEqual(new Set(['0', '1']));
    expect(cpu.filter((s) => s.labels.cpu === '1').map((s) => s.labels.mode)).toEqual([
      'user',
      'nice',
    ]);
    const kb = Number(/^MemTotal:\s+(\d+) kB/m.exec(realMeminfo)?.[1]);
    expect(named(samples, 'node_memory_MemTotal_bytes')[0]?.value).toBe(kb * 1024);
    expect(named(samples, 'node_memory_MemFree_bytes')).toHaveLength(1);
    expect(named(samples, 'node_load1')).toEqual([]);
    expect(samples.filter((s) => s.name.startsWith('node_network_'))).toEqual([]);
    expect(samples.filter((s) => s.name.startsWith('node_disk_'))).toEqual([]);
    const mounts = named(samples, 'node_filesystem_size_bytes').map((s) => s.labels.mountpoint);
    expect(mounts).toEqual(['/']);
  });

  it('survives every file being binary noise', async () => {
    const dir = tempDir('halo-proc-');
    mkdirSync(join(dir, 'net'));
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    for (const file of ['stat', 'meminfo', 'loadavg', 'diskstats', 'mounts', 'net/dev'])
      writeFileSync(join(dir, file), noise);
    expect(await collectHost({ proc_path: dir })).toEqual([]);
  });

  it('fails with a clear message when proc_path cannot be read', async () => {
    const missing = join(tempDir('halo-proc-'), 'nope');
    await expect(collectHost({ proc_path: missing })).rejects.toThrow(`read ${missing}: ENOENT`);
  });

  it('gives up on a statfs that hangs, and skips the mount while it is still pending', async () => {
    const pending = new Set<string>();
    const options = { timeoutMs: 100, signal: AbortSignal.timeout(5000), pending, logger };
    let calls = 0;
    const hang = () => {
      calls++;
      return new Promise<StatsFs>(() => {});
    };
    const started = Date.now();
    expect(await boundedStatfs('/mnt/nfs', options, hang)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await boundedStatfs('/mnt/nfs', options, hang)).toBeUndefined();
    expect(calls).toBe(1);
    expect((await boundedStatfs('/', options))?.blocks).toBeGreaterThan(0);
  });
});

describe('host source on cgroups', () => {
  it('reads the cgroup v2 files under their cAdvisor names', () => {
    const samples = cgroupSamples(
      '/web.slice/app',
      {
        cpuStat:
          'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 3\nthrottled_usec 1500\n',
        memoryCurrent: '1048576\n',
        memoryMax: 'max\n',
        memoryStat: 'anon 4096\nfile 8192\ninactive_file 1024\n',
        ioStat:
          '254:0 rbytes=100 wbytes=200 rios=3 wios=4 dbytes=0 dios=0\n9:9 rbytes=1\ngarbage\n',
      },
      new Map([['254:0', 'vda']]),
    );
    const value = (name: string, device?: string) =>
      samples.find((s) => s.name === name && s.labels.device === device)?.value;
    expect(value('container_cpu_usage_seconds_total')).toBe(2.5);
    expect(value('container_cpu_user_seconds_total')).toBe(2);
    expect(value('container_cpu_system_seconds_total')).toBe(0.5);
    expect(value('container_cpu_cfs_periods_total')).toBe(10);
    expect(value('container_cpu_cfs_throttled_periods_total')).toBe(3);
    expect(value('container_cpu_cfs_throttled_seconds_total')).toBe(0.0015);
    expect(value('container_memory_usage_bytes')).toBe(1048576);
    expect(value('container_memory_limit_bytes')).toBeUndefined();
    expect(value('container_memory_rss')).toBe(4096);
    expect(value('container_memory_cache')).toBe(8192);
    expect(value('container_memory_working_set_bytes')).toBe(1048576 - 1024);
    expect(value('container_fs_reads_bytes_total', 'vda')).toBe(100);
    expect(value('container_fs_writes_total', 'vda')).toBe(4);
    expect(value('container_fs_reads_bytes_total', '9:9')).toBe(1);
    expect(samples.every((s) => s.labels.cgroup === '/web.slice/app')).toBe(true);
  });

  it('finds its own cgroup through /proc/self/cgroup in a cgroup v2 tree', async () => {
    const root = tempDir('halo-cgroup-');
    mkdirSync(join(root, 'web.slice', 'app'), { recursive: true });
    writeFileSync(join(root, 'cgroup.controllers'), 'cpu io memory\n');
    writeFileSync(join(root, 'web.slice', 'app', 'memory.current'), '2048\n');
    writeFileSync(join(root, 'web.slice', 'app', 'memory.max'), '4096\n');
    const proc = tempDir('halo-proc-');
    mkdirSync(join(proc, 'self'));
    writeFileSync(join(proc, 'self', 'cgroup'), '0::/web.slice/app\n');
    const samples = await collectHost({
      proc_path: proc,
      cgroup_path: root,
      cgroups: ['self', '.'],
    });
    expect(samples).toEqual([
      {
        name: 'container_memory_usage_bytes',
        labels: { cgroup: '/web.slice/app' },
        value: 2048,
        type: 'gauge',
      },
      {
        name: 'container_memory_limit_bytes',
        labels: { cgroup: '/web.slice/app' },
        value: 4096,
        type: 'gauge',
      },
    ]);
  });

  it('reports the agent cgroup of this machine, or nothing when there is no cgroup v2 tree', async () => {
    const samples = await collectHost({ cgroups: ['self'] });
    const containers = samples.filter((s) => s.name.startsWith('container_'));
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      expect(named(containers, 'container_memory_usage_bytes')[0]?.value).toBeGreaterThan(0);
    } else {
      expect(containers).toEqual([]);
    }
  });

  it.runIf(existsSync('/sys/fs/cgroup/unified/cgroup.controllers'))(
    'reads CPU usage from the unified tree of a hybrid cgroup host',
    async () => {
      const samples = await collectHost({
        cgroup_path: '/sys/fs/cgroup/unified',
        cgroups: ['self'],
      });
      expect(named(samples, 'container_cpu_usage_seconds_total')[0]?.value).toBeGreaterThan(0);
    },
  );

  it.each([
    [
      'a cgroup path that climbs out of cgroup_path',
      { cgroups: ['../etc'] },
      'a cgroup path below cgroup_path, without',
    ],
    [
      'an exclude pattern that is not a regular expression',
      { network: { exclude: '(' } },
      'valid regular expression',
    ],
    ['an unknown key', { disk: {} }, 'Unrecognized key'],
  ])('rejects %s', (_, options, message) => {
    const result = hostOptions.safeParse(options);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(message);
  });
});

/** Answers like a small web app, with routes for each way a probe can fail. */
function routes(otherOrigin: () => string): RequestListener {
  return (req, res) => {
    const path = req.url ?? '/';
    if (path === '/ok') return void res.end('hello: all systems go');
    if (path === '/error') return void res.writeHead(500).end('boom');
    if (path === '/slow') return void setTimeout(() => res.end('late'), 5000).unref();
    if (path === '/redirect') return void res.writeHead(302, { location: '/ok' }).end();
    if (path === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    if (path === '/away')
      return void res.writeHead(302, { location: `${otherOrigin()}/auth` }).end();
    if (path === '/big') return void res.end('x'.repeat(2 * 1024 * 1024));
    if (path === '/auth') return void res.end(`auth=${req.headers.authorization ?? 'none'}`);
    res.writeHead(404).end();
  };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('probe source', () => {
  const servers: Server[] = [];
  let http = '';
  let other = '';
  let https = '';
  let httpsPort = 0;
  let closedPort = 0;
  const DAYS = 30;

  beforeAll(async () => {
    const dir = tempDir('halo-tls-');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        String(DAYS),
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    const handler = routes(() => other);
    const plain = createServer(handler);
    const second = createServer(handler);
    const secure = createHttpsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      handler,
    );
    servers.push(plain, second, secure);
    http = `http://127.0.0.1:${await listen(plain)}`;
    other = `http://127.0.0.1:${await listen(second)}`;
    httpsPort = await listen(secure);
    https = `https://127.0.0.1:${httpsPort}`;
    closedPort = await freePort();
  });

  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function probe(options: Record<string, unknown>, timeoutMs = 5000) {
    const source = probeSource.create(probeOptions.parse(options), deps);
    const { samples } = await source.collect(context(timeoutMs));
    const value = (name: string) => named(samples, name)[0]?.value;
    return {
      samples,
      success: value('probe_success'),
      status: value('probe_http_status_code'),
      seconds: value('probe_duration_seconds') ?? NaN,
      expiry: value('probe_tls_cert_expiry_seconds'),
      reasons: named(samples, 'probe_failure').map((s) => s.labels.reason),
    };
  }

  it.each([
    ['a page that answers 200 passes', () => ({ target: `${http}/ok` }), 1, 200, []],
    [
      'a page that answers 500 fails on its status',
      () => ({ target: `${http}/error` }),
      0,
      500,
      ['status'],
    ],
    [
      'a 500 passes when 5xx is expected',
      () => ({ target: `${http}/error`, expect_status: ['5xx'] }),
      1,
      500,
      [],
    ],
    [
      'a status outside an explicit range fails',
      () => ({ target: `${http}/ok`, expect_status: ['201-299', 404] }),
      0,
      200,
      ['status'],
    ],
    [
      'a body that matches body_match passes',
      () => ({ target: `${http}/ok`, body_match: 'systems go$' }),
      1,
      200,
      [],
    ],
    [
      'a body that does not match body_match fails',
      () => ({ target: `${http}/ok`, body_match: 'degraded' }),
      0,
      200,
      ['body'],
    ],
    [
      'a body free of body_not_match passes',
      () => ({ target: `${http}/ok`, body_not_match: 'boom|error' }),
      1,
      200,
      [],
    ],
    [
      'a body that matches body_not_match fails',
      () => ({ target: `${http}/ok`, body_not_match: 'systems' }),
      0,
      200,
      ['body'],
    ],
    [
      'a body larger than max_bytes fails',
      () => ({ target: `${http}/big`, max_bytes: '1MiB' }),
      0,
      200,
      ['body'],
    ],
    [
      'a redirect is followed to its page',
      () => ({ target: `${http}/redirect`, body_match: 'systems' }),
      1,
      200,
      [],
    ],
    [
      'a redirect loop fails after five hops',
      () => ({ target: `${http}/loop` }),
      0,
      302,
      ['other'],
    ],
    [
      'a closed port is refused',
      () => ({ target: `http://127.0.0.1:${closedPort}/` }),
      0,
      undefined,
      ['refused'],
    ],
    [
      'a name that does not resolve fails on dns',
      () => ({ target: 'http://nonexistent.invalid/' }),
      0,
      undefined,
      ['dns'],
    ],
  ])('http: %s', async (_, options, success, status, reasons) => {
    const result = await probe(options());
    expect(result.success).toBe(success);
    expect(result.status).toBe(status);
    expect(result.reasons).toEqual(reasons);
    expect(result.seconds).toBeGreaterThan(0);
    expect(result.seconds).toBeLessThan(3);
    expect(result.expiry).toBeUndefined();
  });

  it('http: a page slower than the time bound fails on timeout, and returns at once', async () => {
    const result = await probe({ target: `${http}/slow` }, 300);
    expect(result.reasons).toEqual(['timeout']);
    expect(result.success).toBe(0);
    expect(result.seconds).toBeGreaterThanOrEqual(0.25);
    expect(result.seconds).toBeLessThan(1.5);
  });

  it('http: sends its headers, and not to another origin after a redirect', async () => {
    const headers = { Authorization: 'Bearer s3cret' };
    const same = await probe({ target: `${http}/auth`, headers, body_match: 'auth=Bearer s3cret' });
    expect(same.reasons).toEqual([]);
    const away = await probe({ target: `${http}/away`, headers, body_match: '^auth=none$' });
    expect(away.reasons).toEqual([]);
    expect(String(probeOptions.parse({ target: http, headers }).headers?.Authorization)).toBe(
      '<secret>',
    );
  });

  it('https: reports the days left on a self-signed certificate when told to trust it', async () => {
    const result = await probe({ target: `${https}/ok`, tls_insecure: true });
    expect(result.reasons).toEqual([]);
    expect(result.status).toBe(200);
    expect(Math.abs((result.expiry ?? 0) - DAYS * 86400)).toBeLessThan(600);
  });

  it('https: fails on tls with a self-signed certificate, and still reports its expiry', async () => {
    const result = await probe({ target: `${https}/ok` });
    expect(result.success).toBe(0);
    expect(result.reasons).toEqual(['tls']);
    expect(result.status).toBeUndefined();
    expect(Math.abs((result.expiry ?? 0) - DAYS * 86400)).toBeLessThan(600);
  });

  it.each([
    ['an open port passes', () => ({ target: `127.0.0.1:${new URL(http).port}` }), 1, []],
    ['a closed port is refused', () => ({ target: `127.0.0.1:${closedPort}` }), 0, ['refused']],
    [
      'a name that does not resolve fails on dns',
      () => ({ target: 'nonexistent.invalid:80' }),
      0,
      ['dns'],
    ],
    [
      'a TLS port with a self-signed certificate fails on tls',
      () => ({ target: `127.0.0.1:${httpsPort}`, tls: true }),
      0,
      ['tls'],
    ],
    [
      'a TLS port passes when told to trust it',
      () => ({ target: `127.0.0.1:${httpsPort}`, tls: true, tls_insecure: true }),
      1,
      [],
    ],
  ])('tcp: %s', async (_, options, success, reasons) => {
    const result = await probe({ kind: 'tcp', ...options() });
    expect(result.success).toBe(success);
    expect(result.reasons).toEqual(reasons);
    expect(result.status).toBeUndefined();
    const tls = 'tls' in options();
    if (tls) expect(Math.abs((result.expiry ?? 0) - DAYS * 86400)).toBeLessThan(600);
    else expect(result.expiry).toBeUndefined();
  });

  it.each([
    ['a tcp target without a port', { kind: 'tcp', target: 'db-1' }, 'expected host:port'],
    [
      'an http target that is not an http URL',
      { target: 'ftp://example.com/' },
      'expected an http:// or https:// URL',
    ],
    [
      'a URL with a password in it',
      { target: 'http://u:p@example.com/' },
      'without user or password',
    ],
    [
      'a status class that does not exist',
      { target: 'http://x/', expect_status: ['9xx'] },
      'expected a status code',
    ],
    ['tls with kind http', { target: 'http://x/', tls: true }, 'expected tls only with kind tcp'],
    [
      'body_match with kind tcp',
      { kind: 'tcp', target: 'x:1', body_match: 'a' },
      'only with kind http',
    ],
    [
      'a body_match that is not a regular expression',
      { target: 'http://x/', body_match: '(' },
      'valid regular expression',
    ],
    [
      'a header value with a line break',
      { target: 'http://x/', headers: { 'X-A': 'a\r\nb' } },
      'without line breaks',
    ],
  ])('rejects %s', (_, options, message) => {
    const result = probeOptions.safeParse(options);
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(message);
    expect(JSON.stringify(result.error?.issues)).not.toContain(':p@');
  });
});
