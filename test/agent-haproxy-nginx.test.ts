// The haproxy and nginx sources against a real haproxy balancing two real nginx, and against
// local servers that answer garbage, cut-short or slow responses.

import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.ts';
import { csvUrl, haproxyOptions, haproxySource, isUp } from '../collector/agent/sources/haproxy.ts';
import { nginxOptions, nginxSource } from '../collector/agent/sources/nginx.ts';
import type { RawSample, SourceContext } from '../collector/agent/types.ts';
import { freePort } from './helpers/ports.ts';
import { tempDir } from './helpers/temp.ts';
import {
  startHaproxy,
  startNginx,
  type HaproxyServer,
  type NginxServer,
} from './helpers/tier-servers.ts';

const PASSWORD = 'pa55-w0rd-halo';

/** Local servers started inside tests, closed when the file ends. */
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const context = (timeoutMs = 5000): SourceContext => ({
  signal: AbortSignal.timeout(timeoutMs),
  now: Date.now,
  logger: silentLogger(),
});

const stateDir = tempDir('halo-state-');
const deps = (name: string) => ({ name, logger: silentLogger(), stateDir, now: Date.now });

async function collectHaproxy(options: Record<string, unknown>, timeoutMs?: number) {
  const source = haproxySource.create(haproxyOptions.parse(options), deps('lb'));
  return (await source.collect(context(timeoutMs))).samples;
}

async function collectNginx(url: string) {
  const source = nginxSource.create(nginxOptions.parse({ url }), deps('web'));
  return (await source.collect(context())).samples;
}

/** The value of the one sample with exactly these labels. */
function valueOf(samples: RawSample[], name: string, labels: Record<string, string> = {}) {
  const key = JSON.stringify(Object.entries(labels).sort());
  const found = samples.filter(
    (s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === key,
  );
  expect(found.length, `${name} ${key}`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

const seriesOf = (samples: RawSample[]) =>
  samples
    .map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${s.type}`)
    .sort();

/** Calls read until check passes on its result, for at most timeoutMs. */
async function until<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function get(url: string, times = 1) {
  for (let i = 0; i < times; i++) await (await fetch(url)).text();
}

const nginxPages = (dir: string) => `    root ${dir}/html;
    location = / { return 200 "ok\\n"; }
    location = /stub_status { stub_status; }`;
const startWebNginx = () =>
  startNginx({ http: (dir) => `  access_log ${dir}/access.log;`, server: nginxPages });

/** A local HTTP server for deliberately broken targets; its URL without a trailing slash. */
async function serve(handler: RequestListener): Promise<string> {
  const server = createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

/** A CSV as haproxy writes it: "# " before the header and a comma ending every line. */
function csv(columns: string[], rows: string[][]): string {
  return [`# ${columns.join(',')},`, ...rows.map((r) => `${r.join(',')},`)].join('\n') + '\n';
}

let nginx1: NginxServer;
let nginx2: NginxServer;
let ports: HaproxyServer;
let realCsv = '';

beforeAll(async () => {
  [nginx1, nginx2] = await Promise.all([startWebNginx(), startWebNginx()]);
  // Ready once both servers have passed their first check.
  ports = await startHaproxy({ web: [nginx1.port, nginx2.port], statsPassword: PASSWORD });
  realCsv = await (await fetch(`http://127.0.0.1:${ports.stats}/stats;csv`)).text();
});

describe('the nginx source', () => {
  it('reports connections and counters that make sense', async () => {
    const samples = await collectNginx(`http://127.0.0.1:${nginx1.port}/stub_status`);
    expect(seriesOf(samples)).toEqual(
      [
        'nginx_connections_accepted_total[] counter',
        'nginx_connections_active[] gauge',
        'nginx_connections_handled_total[] counter',
        'nginx_connections_reading[] gauge',
        'nginx_connections_waiting[] gauge',
        'nginx_connections_writing[] gauge',
        'nginx_http_requests_total[] counter',
      ].sort(),
    );
    // The status request itself is an active connection being written.
    expect(valueOf(samples, 'nginx_connections_active')).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, 'nginx_connections_writing')).toBeGreaterThanOrEqual(1);
    const accepted = valueOf(samples, 'nginx_connections_accepted_total')!;
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(valueOf(samples, 'nginx_connections_handled_total')).toBe(accepted);
    expect(valueOf(samples, 'nginx_http_requests_total')).toBeGreaterThanOrEqual(1);
  });

  it('counts requests made between two collections', async () => {
    const url = `http://127.0.0.1:${nginx1.port}`;
    const before = valueOf(await collectNginx(`${url}/stub_status`), 'nginx_http_requests_total')!;
    await get(`${url}/`, 5);
    const after = valueOf(await collectNginx(`${url}/stub_status`), 'nginx_http_requests_total')!;
    // Five requests, the status read itself, and any haproxy health checks in between.
    expect(after - before).toBeGreaterThanOrEqual(6);
    expect(after - before).toBeLessThan(40);
  });

  it.each([
    {
      name: 'a page that is not stub_status is refused with what was read',
      path: () => `http://127.0.0.1:${nginx1.port}/`,
      error: /expected stub_status output \("Active connections: …"\), got "ok\?"/,
    },
    {
      name: 'a missing page gives its HTTP status',
      path: () => `http://127.0.0.1:${nginx1.port}/nope`,
      error: /read nginx stub_status from http:\/\/127\.0\.0\.1:\d+\/nope: HTTP 404/,
    },
  ])('$name', async ({ path, error }) => {
    await expect(collectNginx(path())).rejects.toThrow(error);
  });

  it('refuses garbage, binary and huge bodies with a one-line error', async () => {
    const base = await serve((req, res) => {
      if (req.url === '/huge') res.end('Active connections: 1\n'.repeat(10_000));
      else if (req.url === '/binary') res.end(Buffer.from([0, 1, 2, 255, 10, 13, 200, 65]));
      else res.end('Active connections: 3\nserver accepts handled requests\n 1 2\n');
    });
    await expect(collectNginx(`${base}/huge`)).rejects.toThrow(/larger than the limit/);
    await expect(collectNginx(`${base}/binary`)).rejects.toThrow(/^[^\n]*got "\?\?\?\?\?\?\?A"$/);
    await expect(collectNginx(`${base}/cut`)).rejects.toThrow(/expected stub_status output/);
  });

  it('names a target that does not answer', async () => {
    const port = await freePort();
    await expect(collectNginx(`http://127.0.0.1:${port}/stub_status`)).rejects.toThrow(
      `read nginx stub_status from http://127.0.0.1:${port}/stub_status: ECONNREFUSED`,
    );
  });
});

describe('the haproxy source options', () => {
  it.each([
    { name: 'both url and socket are refused', input: { url: 'http://h/s', socket: '/s' } },
    { name: 'neither url nor socket is refused', input: {} },
    {
      name: 'a username without a password is refused',
      input: { url: 'http://h/', username: 'a' },
    },
    {
      name: 'a login with a socket is refused',
      input: { socket: '/s', username: 'a', password: 'b' },
    },
    { name: 'credentials inside the URL are refused', input: { url: 'http://a:b@h/stats' } },
    { name: 'a size that is not one is refused', input: { url: 'http://h/', max_bytes: 'lots' } },
    { name: 'an unknown key is refused', input: { url: 'http://h/', uri: '/stats' } },
  ])('$name', ({ input }) => {
    const result = haproxyOptions.safeParse(input);
    expect(result.success).toBe(false);
    for (const issue of result.error?.issues ?? []) {
      if (issue.code === 'custom') expect(issue.message).toMatch(/^expected /);
    }
  });

  it.each([
    { url: 'http://127.0.0.1:8404/stats', csv: 'http://127.0.0.1:8404/stats;csv' },
    { url: 'http://h/stats;csv;norefresh', csv: 'http://h/stats;csv;norefresh' },
    { url: 'http://h/haproxy?stats', csv: 'http://h/haproxy?stats;csv' },
    { url: 'https://h/?stats#top', csv: 'https://h/?stats;csv' },
  ])('reads the stats page $url as $csv', ({ url, csv: expected }) => {
    expect(csvUrl(url)).toBe(expected);
  });

  it('accepts a url or a socket, with a login that prints as <secret>', () => {
    const options = haproxyOptions.parse({ url: 'http://h/', username: 'a', password: PASSWORD });
    expect(JSON.stringify(options)).not.toContain(PASSWORD);
    expect(options.max_bytes.bytes).toBe(10 * 1024 * 1024);
    expect(haproxyOptions.parse({ socket: '/run/haproxy.sock' }).socket).toBe('/run/haproxy.sock');
  });
});

describe('the haproxy source against a real haproxy', () => {
  it('reports the same series over HTTP and over the stats socket', async () => {
    const overHttp = await collectHaproxy({ url: `http://127.0.0.1:${ports.stats}/stats` });
    const overSocket = await collectHaproxy({ socket: ports.socket });
    expect(seriesOf(overHttp)).toEqual(seriesOf(overSocket));
    for (const samples of [overHttp, overSocket]) {
      const web = { proxy: 'web' };
      expect(valueOf(samples, 'haproxy_frontend_up', { proxy: 'fe' })).toBe(1);
      expect(valueOf(samples, 'haproxy_frontend_status', { proxy: 'fe', state: 'OPEN' })).toBe(1);
      expect(valueOf(samples, 'haproxy_backend_up', web)).toBe(1);
      expect(valueOf(samples, 'haproxy_backend_servers_up', web)).toBe(2);
      expect(valueOf(samples, 'haproxy_backend_active_servers', web)).toBe(2);
      expect(valueOf(samples, 'haproxy_backend_backup_servers', web)).toBe(0);
      for (const server of ['web1', 'web2']) {
        const labels = { proxy: 'web', server };
        expect(valueOf(samples, 'haproxy_server_up', labels)).toBe(1);
        expect(valueOf(samples, 'haproxy_server_status', { ...labels, state: 'UP' })).toBe(1);
        expect(valueOf(samples, 'haproxy_server_check_status', { ...labels, status: 'L7OK' })).toBe(
          1,
        );
        expect(valueOf(samples, 'haproxy_server_weight', labels)).toBe(1);
        expect(valueOf(samples, 'haproxy_server_check_duration_seconds', labels)).toBeLessThan(1);
        expect(valueOf(samples, 'haproxy_server_downtime_seconds_total', labels)).toBe(0);
      }
      // The stats listener is a proxy like the others; listener rows are not reported.
      expect(valueOf(samples, 'haproxy_frontend_up', { proxy: 'stats' })).toBe(1);
      expect(samples.every((s) => !('tier' in s.labels || 'host' in s.labels))).toBe(true);
    }
  });

  it('counts requests and responses by class that go through the frontend', async () => {
    const read = () => collectHaproxy({ socket: ports.socket });
    const before = await read();
    await get(`http://127.0.0.1:${ports.frontend}/`, 4);
    await get(`http://127.0.0.1:${ports.frontend}/missing`, 2);
    const after = await read();
    const delta = (name: string, labels: Record<string, string>) =>
      valueOf(after, name, labels)! - valueOf(before, name, labels)!;
    const fe = { proxy: 'fe' };
    expect(delta('haproxy_frontend_http_requests_total', fe)).toBe(6);
    expect(delta('haproxy_frontend_http_responses_total', { ...fe, code: '2xx' })).toBe(4);
    expect(delta('haproxy_frontend_http_responses_total', { ...fe, code: '4xx' })).toBe(2);
    expect(delta('haproxy_frontend_http_responses_total', { ...fe, code: '5xx' })).toBe(0);
    expect(delta('haproxy_backend_http_responses_total', { proxy: 'web', code: '2xx' })).toBe(4);
    const servers2xx = ['web1', 'web2'].map((server) =>
      delta('haproxy_server_http_responses_total', { proxy: 'web', server, code: '2xx' }),
    );
    // Round robin: both servers answered.
    expect(servers2xx).toEqual([2, 2]);
    expect(delta('haproxy_frontend_bytes_out_total', fe)).toBeGreaterThan(0);
    expect(delta('haproxy_frontend_sessions_total', fe)).toBeGreaterThanOrEqual(1);
    expect(after.find((s) => s.name === 'haproxy_frontend_bytes_out_total')?.type).toBe('counter');
  });

  it.each([
    { name: 'no login is refused with a hint', login: {}, error: /asks for a login/ },
    {
      name: 'a wrong password is refused without printing it',
      login: { username: 'halo', password: `${PASSWORD}-wrong` },
      error: /refused the username and password/,
    },
  ])('on the protected stats page, $name', async ({ login, error }) => {
    const url = `http://127.0.0.1:${ports.statsAuth}/stats`;
    const failure = await collectHaproxy({ url, ...login }).catch((err: Error) => err);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(error);
    expect((failure as Error).message).toContain(`${url};csv: HTTP 401`);
    expect(`${(failure as Error).message} ${(failure as Error).stack}`).not.toContain(PASSWORD);
  });

  it('reads the protected stats page with the right login', async () => {
    const samples = await collectHaproxy({
      url: `http://127.0.0.1:${ports.statsAuth}/stats;csv;norefresh`,
      username: 'halo',
      password: PASSWORD,
    });
    expect(valueOf(samples, 'haproxy_backend_servers_up', { proxy: 'web' })).toBe(2);
  });

  it('reports a server whose nginx stopped as down within a few seconds', async () => {
    await nginx2.server.stop();
    const samples = await until(
      () => collectHaproxy({ socket: ports.socket }),
      (s) =>
        valueOf(s, 'haproxy_server_status', { proxy: 'web', server: 'web2', state: 'DOWN' }) === 1,
      5000,
    );
    const web2 = { proxy: 'web', server: 'web2' };
    expect(valueOf(samples, 'haproxy_server_status', { ...web2, state: 'DOWN' })).toBe(1);
    expect(valueOf(samples, 'haproxy_server_up', web2)).toBe(0);
    expect(valueOf(samples, 'haproxy_server_check_status', { ...web2, status: 'L4CON' })).toBe(1);
    expect(valueOf(samples, 'haproxy_server_up', { proxy: 'web', server: 'web1' })).toBe(1);
    expect(valueOf(samples, 'haproxy_backend_servers_up', { proxy: 'web' })).toBe(1);
    expect(valueOf(samples, 'haproxy_backend_active_servers', { proxy: 'web' })).toBe(1);
    expect(valueOf(samples, 'haproxy_backend_up', { proxy: 'web' })).toBe(1);
  });
});

describe('the haproxy source against broken targets', () => {
  const header = ['pxname', 'svname', 'status', 'scur', 'stot', 'type', 'check_status'];
  const synthetic = csv(header, [
    ['web', 'a', 'UP', '1', '10', '2', 'L7OK'],
    ['web', 'b', 'oops'],
    ['\u0000\u0001', '\uFFFD', '"unterminated'],
  ]);
  const cutAt = (text: string, marker: string) => text.slice(0, text.indexOf(marker) + 12);
  let base = '';

  beforeAll(async () => {
    base = await serve((req, res) => {
      const path = (req.url ?? '').split(';')[0] ?? '';
      if (path === '/slow') return; // never answers
      if (path === '/error') res.statusCode = 500;
      const bodies: Record<string, string | Buffer> = {
        '/html': '<html><body>Statistics Report</body></html>',
        '/binary': Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 256)),
        '/empty': '',
        '/header-only': csv(header, []),
        '/garbage-rows': synthetic,
        '/all-garbage': csv(header, [['x'], ['a,b'], ['1', '2', '3', '4', '5', '6', '7', '8']]),
        '/cut-in-row': cutAt(realCsv, '\nweb,web2,'),
        '/cut-in-header': realCsv.slice(0, 30),
        '/huge': `# pxname,svname\n${'fe,FRONTEND\n'.repeat(200)}`,
      };
      res.end(bodies[path] ?? 'no such fixture');
    });
  });

  it.each([
    {
      name: 'an HTML page is refused',
      path: '/html',
      error: /got "<html><body>Statistics Report<\/body><\/ht…"$/,
    },
    { name: 'binary data is refused', path: '/binary', error: /expected CSV starting with/ },
    { name: 'an empty answer is refused', path: '/empty', error: /got ""$/ },
    { name: 'a server error gives its status', path: '/error', error: /: HTTP 500$/ },
    {
      name: 'rows that are all garbage are refused',
      path: '/all-garbage',
      error: /none of the 3 rows/,
    },
    {
      name: 'a CSV cut inside its header is refused',
      path: '/cut-in-header',
      error: /ends inside its header line$/,
    },
    {
      name: 'a body over max_bytes is refused',
      path: '/huge',
      error: /larger than the limit of 1024/,
    },
    { name: 'a target that never answers times out', path: '/slow', error: /: timed out$/ },
  ])('$name', async ({ path, error }) => {
    const failure = await collectHaproxy({ url: `${base}${path}`, max_bytes: '1KiB' }, 500).catch(
      (err: Error) => err,
    );
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(error);
    expect((failure as Error).message).toMatch(
      /^(read|parse) haproxy stats from http:\/\/127\.0\.0\.1:/,
    );
    expect((failure as Error).message).not.toContain('\n');
  });

  it('reports the good rows of a CSV with garbage rows and skips the rest', async () => {
    const samples = await collectHaproxy({ url: `${base}/garbage-rows` });
    expect(seriesOf(samples)).toEqual(
      [
        'haproxy_server_check_status[["proxy","web"],["server","a"],["status","L7OK"]] gauge',
        'haproxy_server_current_sessions[["proxy","web"],["server","a"]] gauge',
        'haproxy_server_sessions_total[["proxy","web"],["server","a"]] counter',
        'haproxy_server_status[["proxy","web"],["server","a"],["state","UP"]] gauge',
        'haproxy_server_up[["proxy","web"],["server","a"]] gauge',
      ].sort(),
    );
    expect(valueOf(samples, 'haproxy_server_sessions_total', { proxy: 'web', server: 'a' })).toBe(
      10,
    );
  });

  it('reports nothing, without failing, for a haproxy with no proxies', async () => {
    expect(await collectHaproxy({ url: `${base}/header-only` })).toEqual([]);
  });

  it('reports the rows before the cut of a CSV cut inside a row', async () => {
    const samples = await collectHaproxy({ url: `${base}/cut-in-row` });
    expect(valueOf(samples, 'haproxy_frontend_up', { proxy: 'fe' })).toBe(1);
    expect(valueOf(samples, 'haproxy_server_up', { proxy: 'web', server: 'web1' })).toBe(1);
    expect(samples.some((s) => s.labels.server === 'web2')).toBe(false);
    // The backend row comes after its servers, so a cut never leaves a backend half counted.
    expect(samples.some((s) => s.name.startsWith('haproxy_backend_'))).toBe(false);
  });

  it('reads columns by name, in any order, quoted, with empty values left out', async () => {
    const columns = ['svname', 'new_column', 'type', 'pxname', 'status', 'check_status', 'scur'];
    const rows = [
      ['"a, the first"', '"x ""y"""', '2', 'api', '"UP 1/2"', '* L7OK', ''],
      ['b', '', '2', 'api', '"DOWN 1/2"', 'L4TOUT', '0'],
      ['c', '', '2', 'api', 'no check', '', '0'],
      ['d', '', '2', 'api', '"MAINT (via api/c)"', '', '0'],
      ['BACKEND', '', '1', 'api', 'UP', '', '2'],
      ['sock-1', '', '3', 'api', 'OPEN', '', '0'],
    ];
    const base2 = await serve((_req, res) => res.end(csv(columns, rows)));
    const samples = await collectHaproxy({ url: `${base2}/stats` });
    const a = { proxy: 'api', server: 'a, the first' };
    expect(valueOf(samples, 'haproxy_server_up', a)).toBe(1);
    expect(valueOf(samples, 'haproxy_server_status', { ...a, state: 'UP 1/2' })).toBe(1);
    expect(valueOf(samples, 'haproxy_server_check_status', { ...a, status: 'L7OK' })).toBe(1);
    expect(valueOf(samples, 'haproxy_server_current_sessions', a)).toBeUndefined();
    expect(valueOf(samples, 'haproxy_server_up', { proxy: 'api', server: 'b' })).toBe(0);
    expect(valueOf(samples, 'haproxy_server_up', { proxy: 'api', server: 'c' })).toBe(1);
    expect(valueOf(samples, 'haproxy_server_up', { proxy: 'api', server: 'd' })).toBe(0);
    expect(valueOf(samples, 'haproxy_backend_servers_up', { proxy: 'api' })).toBe(2);
    expect(valueOf(samples, 'haproxy_backend_current_sessions', { proxy: 'api' })).toBe(2);
    expect(samples.some((s) => s.labels.server === 'sock-1')).toBe(false);
  });

  it.each([
    { status: 'UP', up: true },
    { status: 'UP 1/2', up: true },
    { status: 'OPEN', up: true },
    { status: 'no check', up: true },
    { status: 'FULL', up: true },
    { status: 'DOWN', up: false },
    { status: 'DOWN 1/2', up: false },
    { status: 'NOLB', up: false },
    { status: 'DRAIN', up: false },
    { status: 'MAINT', up: false },
    { status: 'MAINT (resolution)', up: false },
    { status: 'STOP', up: false },
    { status: 'UPPER', up: false },
  ])('counts the state "$status" as up: $up', ({ status, up }) => {
    expect(isUp(status)).toBe(up);
  });
});

describe('the haproxy source on a broken stats socket', () => {
  const dir = tempDir('halo-sock-');
  const sockets: Socket[] = [];
  const listen = async (name: string, onConnection: (socket: Socket) => void) => {
    const server = createNetServer((socket) => {
      sockets.push(socket);
      onConnection(socket);
    });
    const path = join(dir, name);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      server.close();
    });
    return path;
  };

  it('names a socket that does not exist', async () => {
    const path = join(dir, 'missing.sock');
    await expect(collectHaproxy({ socket: path })).rejects.toThrow(
      `read haproxy stats from socket ${path}: ENOENT`,
    );
  });

  it('refuses an answer that is not stats CSV', async () => {
    const path = await listen('garbage.sock', (s) =>
      s.end('Unknown command. Please enter one of…\n'),
    );
    await expect(collectHaproxy({ socket: path })).rejects.toThrow(
      /parse haproxy stats from socket .*: expected CSV starting with "# pxname,svname,…", got "Unknown/,
    );
  });

  it('times out on a socket that never answers', async () => {
    const path = await listen('silent.sock', () => undefined);
    await expect(collectHaproxy({ socket: path }, 300)).rejects.toThrow(/: timed out$/);
  });

  it('stops reading an answer over max_bytes', async () => {
    const path = await listen('huge.sock', (s) => {
      s.write(`# pxname,svname\n${'fe,FRONTEND\n'.repeat(1000)}`);
    });
    await expect(collectHaproxy({ socket: path, max_bytes: '1KiB' })).rejects.toThrow(
      /larger than the limit of 1024 bytes/,
    );
  });
});
