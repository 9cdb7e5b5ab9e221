// The simulated demo HA stack read by the agent's real sources, as `halo up` runs them: figures that
// move with the traffic, the web-2 failure modes, the scripted incident, log files that parse and
// rotate, postgres series identical to a real server's, and nothing left open after stop().

import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentSchema } from '../cli/config-schema.ts';
import {
  logPaths,
  scheduleIncident,
  startDemoStack,
  type DemoStack,
  type IncidentEvent,
} from '../cli/demo/stack.ts';
import { resolveSources } from '../collector/agent/config.ts';
import { parseCsv } from '../collector/agent/haproxy-csv.ts';
import { parseLine } from '../collector/agent/log-parsers.ts';
import { SOURCE_DEFINITIONS } from '../collector/agent/sources/index.ts';
import { postgresOptions, postgresSource } from '../collector/agent/sources/postgres.ts';
import type { Collection, RawSample, Source } from '../collector/agent/types.ts';
import { silentLogger } from '../core/logger.ts';
import { startPostgresPair } from './helpers/data-servers.ts';
import { tempDir } from './helpers/temp.ts';

const logger = silentLogger();
const START = Date.parse('2026-03-02T10:00:00Z');
let now = START;
const clock = () => now;

/** Moves the injected clock on in 250 ms ticks, as the stack's timer would. */
function advance(stack: DemoStack, seconds: number): void {
  for (let i = 0; i < seconds * 4; i++) {
    now += 250;
    stack.tick(now);
  }
}

/** The real sources of one member's agent, built from its parsed agent config as the agent does. */
function sourcesOf(stack: DemoStack, host: string, stateRoot: string): Map<string, Source> {
  const raw = stack.agents().find((a) => a['host'] === host);
  const config = agentSchema.parse(raw);
  const sources = new Map<string, Source>();
  for (const spec of resolveSources(config)) {
    const definition = SOURCE_DEFINITIONS.find((d) => d.type === spec.type)!;
    const stateDir = join(stateRoot, host, spec.name);
    mkdirSync(stateDir, { recursive: true });
    sources.set(
      spec.name,
      definition.create(spec.options as never, { name: spec.name, logger, stateDir, now: clock }),
    );
  }
  return sources;
}

async function collect(source: Source | undefined): Promise<Collection> {
  if (!source) throw new Error('no such source');
  const collection = await source.collect({
    signal: AbortSignal.timeout(5000),
    now: clock,
    logger,
  });
  for (const chunk of collection.logChunks ?? []) await chunk.commit();
  return collection;
}

const matches = (s: RawSample, labels: Record<string, string>) =>
  Object.entries(labels).every(([k, v]) => s.labels[k] === v);

/** The sum of the samples of this name whose labels include these. */
function sum(samples: RawSample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && matches(s, labels))
    .reduce((total, s) => total + s.value, 0);
}

/** The one sample of this name whose labels include these. */
function one(samples: RawSample[], name: string, labels: Record<string, string> = {}): RawSample {
  const found = samples.filter((s) => s.name === name && matches(s, labels));
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
  return found[0]!;
}

/** Each series as name{labels} type, sorted: what two sources must agree on. */
const seriesOf = (samples: RawSample[]) =>
  samples
    .map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${s.type}`)
    .sort();

const names = (samples: RawSample[]) => [...new Set(samples.map((s) => s.name))].sort();

const parseOptions = { severityField: 'level', messageField: 'msg', now: START };

function readLines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter(Boolean);
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

const portsOf = (stack: DemoStack) =>
  [...JSON.stringify(stack.agents()).matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));

/** The haproxy stats CSV as the stats page serves it, every column by name (the source reads a few). */
async function haproxyRows(stack: DemoStack): Promise<Array<Record<string, string>>> {
  const lb = stack.agents().find((a) => a['host'] === 'lb-1')!;
  const url = (lb['sources'] as Array<{ url: string }>)[0]!.url;
  const [header, ...rows] = parseCsv(await (await fetch(`${url};csv`)).text());
  const columns = header!.map((name) => name.replace(/^# /, ''));
  return rows.map((row) => Object.fromEntries(columns.map((name, i) => [name, row[i] ?? ''])));
}

let stack: DemoStack;
let dir: string;
let sources: Record<string, Map<string, Source>>;
let realPostgres: Source;
const PG_PASSWORD = 'demo-pa55';

beforeAll(async () => {
  dir = tempDir('halo-demo-');
  const [started, pgServer] = await Promise.all([
    startDemoStack({ dir, clock, seed: 7, logger }),
    startPostgresPair(PG_PASSWORD, { replica: false }),
  ]);
  stack = started;
  const stateRoot = join(dir, 'state');
  sources = Object.fromEntries(
    stack.members.map((m) => [m.host, sourcesOf(stack, m.host, stateRoot)]),
  );
  realPostgres = postgresSource.create(
    postgresOptions.parse({ connection: { port: pgServer.primaryPort, password: PG_PASSWORD } }),
    { name: 'real', logger, stateDir: stateRoot, now: Date.now },
  );
});

afterAll(async () => {
  for (const byName of Object.values(sources ?? {})) {
    for (const source of byName.values()) await source.close?.();
  }
  await stack?.stop();
});

const lb = () => collect(sources['lb-1']!.get('haproxy')).then((c) => c.samples);
const nginx = (host: string) => collect(sources[host]!.get('nginx')).then((c) => c.samples);
const accessLog = (host: string) => collect(sources[host]!.get('access-log'));
const app = () => collect(sources['app-1']!.get('shop')).then((c) => c.samples);
const appLog = () => collect(sources['app-1']!.get('app-log'));
const records = (c: Collection) => (c.logChunks ?? []).flatMap((chunk) => chunk.records);

const fe5xx = (s: RawSample[]) =>
  sum(s, 'haproxy_frontend_http_responses_total', { proxy: 'www', code: '5xx' });
const feTotal = (s: RawSample[]) =>
  sum(s, 'haproxy_frontend_http_requests_total', { proxy: 'www' });
/** A haproxy server series of backend web, summed over other labels. */
const server = (s: RawSample[], metric: string, name: string, labels = {}) =>
  sum(s, `haproxy_server_${metric}`, { proxy: 'web', server: name, ...labels });

describe('the demo stack read by the real agent sources', () => {
  it('gives every member an agent config the agent schema accepts', () => {
    const configs = stack.agents().map((raw) => agentSchema.parse(raw));
    expect(configs.map((c) => [c.host, c.tier, c.interval.ms])).toEqual([
      ['lb-1', 'lb', 5000],
      ['web-1', 'web', 5000],
      ['web-2', 'web', 5000],
      ['app-1', 'app', 5000],
      ['cache-1', 'cache', 5000],
      ['db-1', 'db', 5000],
      ['mq-1', 'mq', 5000],
    ]);
    const services = configs.map((c) => resolveSources(c).map((s) => `${s.type}:${s.service}`));
    expect(services).toEqual([
      ['haproxy:haproxy'],
      ['nginx:nginx', 'logs:nginx'],
      ['nginx:nginx', 'logs:nginx'],
      ['prometheus:shop', 'logs:shop'],
      ['redis:redis'],
      ['prometheus:postgres'],
      ['nats:nats'],
    ]);
    const paths = logPaths(dir);
    expect(JSON.stringify(stack.agents())).toContain(paths['web-2']);
    expect(paths['app-1']!.startsWith(join(dir, 'logs'))).toBe(true);
  });

  it('counts about rps × seconds of requests on every tier between two collections', async () => {
    // First reads: baselines (and the logs sources read what is there so far).
    const [lb0, w10, w20, app0] = [
      await lb(),
      await nginx('web-1'),
      await nginx('web-2'),
      await app(),
    ];
    await Promise.all([accessLog('web-1'), accessLog('web-2'), appLog()]);
    advance(stack, 10);
    const [lb1, w11, w21, app1] = [
      await lb(),
      await nginx('web-1'),
      await nginx('web-2'),
      await app(),
    ];
    const front = feTotal(lb1) - feTotal(lb0);
    expect(front).toBeGreaterThan(170); // 20 rps × 10 s
    expect(front).toBeLessThan(230);
    for (const [before, after] of [
      [w10, w11],
      [w20, w21],
    ] as const) {
      const served =
        sum(after, 'nginx_http_requests_total') - sum(before, 'nginx_http_requests_total');
      expect(Math.abs(served - front / 2)).toBeLessThanOrEqual(1); // round robin over two
    }
    for (const name of ['web-1', 'web-2']) {
      expect(one(lb1, 'haproxy_server_up', { server: name }).value).toBe(1);
      expect(one(lb1, 'haproxy_server_check_status', { server: name }).labels['status']).toBe(
        'L7OK',
      );
    }
    expect(sum(app1, 'http_requests_total') - sum(app0, 'http_requests_total')).toBe(front);
    expect(
      sum(app1, 'http_request_duration_seconds_count') -
        sum(app0, 'http_request_duration_seconds_count'),
    ).toBe(front);
    // Median about 40 ms, p99 about 300 ms.
    const under = (le: string) => sum(app1, 'http_request_duration_seconds_bucket', { le });
    const count = sum(app1, 'http_request_duration_seconds_count');
    expect(under('0.05') / count).toBeGreaterThan(0.5);
    expect(under('0.025') / count).toBeLessThan(0.5);
    expect(under('0.5') / count).toBeGreaterThan(0.985);
    // Every request of the window is one access-log line and one app-log line.
    const lines =
      records(await accessLog('web-1')).length + records(await accessLog('web-2')).length;
    expect(lines).toBe(front);
    expect(records(await appLog())).toHaveLength(front);
    // A small baseline of 4xx and next to no 5xx.
    const total = sum(app1, 'http_requests_total');
    const clientErrors = app1
      .filter((s) => s.name === 'http_requests_total' && s.labels['code']?.startsWith('4'))
      .reduce((t, s) => t + s.value, 0);
    expect(clientErrors / total).toBeGreaterThan(0.002);
    expect(clientErrors / total).toBeLessThan(0.05);
    expect(fe5xx(lb1) / feTotal(lb1)).toBeLessThan(0.01);
  });

  it('keeps the redis hit ratio near 0.9 and counts commands', async () => {
    const cache = sources['cache-1']!.get('redis');
    const before = (await collect(cache)).samples;
    advance(stack, 20);
    const after = (await collect(cache)).samples;
    const hits = sum(after, 'redis_keyspace_hits_total') - sum(before, 'redis_keyspace_hits_total');
    const misses =
      sum(after, 'redis_keyspace_misses_total') - sum(before, 'redis_keyspace_misses_total');
    expect(hits + misses).toBeGreaterThan(200);
    expect(hits / (hits + misses)).toBeGreaterThan(0.85);
    expect(hits / (hits + misses)).toBeLessThan(0.95);
    // Every GET, SET and DEL, plus our own INFO.
    const commands =
      sum(after, 'redis_commands_processed_total') - sum(before, 'redis_commands_processed_total');
    expect(commands).toBeGreaterThan(hits + misses);
    expect(one(after, 'redis_role', { role: 'master' }).value).toBe(1);
    expect(one(after, 'redis_memory_max_bytes').value).toBe(256 * 1024 * 1024);
    expect(one(after, 'redis_db_keys', { db: 'db0' }).value).toBeGreaterThan(1000);
    expect(names(after)).toEqual(
      [
        'redis_aof_enabled',
        'redis_blocked_clients',
        'redis_commands_processed_total',
        'redis_connected_clients',
        'redis_connected_replicas',
        'redis_connections_received_total',
        'redis_db_expiring_keys',
        'redis_db_keys',
        'redis_evicted_keys_total',
        'redis_expired_keys_total',
        'redis_instantaneous_ops_per_second',
        'redis_keyspace_hits_total',
        'redis_keyspace_misses_total',
        'redis_master_repl_offset_bytes',
        'redis_memory_fragmentation_ratio',
        'redis_memory_max_bytes',
        'redis_memory_used_bytes',
        'redis_net_input_bytes_total',
        'redis_net_output_bytes_total',
        'redis_rdb_changes_since_last_save',
        'redis_rdb_last_bgsave_ok',
        'redis_rejected_connections_total',
        'redis_role',
        'redis_uptime_seconds',
      ].sort(),
    );
  });

  it('serves db-1 with exactly the series the postgres source reads from a real server', async () => {
    const db = sources['db-1']!.get('postgres');
    const before = (await collect(db)).samples;
    advance(stack, 5);
    const simulated = (await collect(db)).samples;
    const real = (await collect(realPostgres)).samples;
    // The real server has the databases postgres and shop, as the simulated one does.
    expect(seriesOf(simulated)).toEqual(seriesOf(real));
    const shop = { database: 'shop' };
    const commits =
      sum(simulated, 'pg_commits_total', shop) - sum(before, 'pg_commits_total', shop);
    expect(commits).toBeGreaterThan(10);
    expect(one(simulated, 'pg_connections', { ...shop, state: 'idle' }).value).toBeGreaterThan(0);
    expect(one(simulated, 'pg_in_recovery').value).toBe(0);
  });

  it('serves mq-1 with the ORDERS stream and its consumer', async () => {
    const mq = sources['mq-1']!.get('nats');
    const before = (await collect(mq)).samples;
    advance(stack, 10);
    const after = (await collect(mq)).samples;
    expect(sum(after, 'nats_in_messages_total')).toBeGreaterThan(
      sum(before, 'nats_in_messages_total'),
    );
    const stream = { account: '$G', stream: 'ORDERS' };
    expect(one(after, 'nats_stream_consumers', stream).value).toBe(1);
    expect(one(after, 'nats_stream_messages', stream).type).toBe('gauge');
    const consumer = { ...stream, consumer: 'fulfilment' };
    for (const name of [
      'nats_consumer_pending_messages',
      'nats_consumer_ack_pending_messages',
      'nats_consumer_redelivered_messages',
      'nats_consumer_waiting_pulls',
    ]) {
      expect(one(after, name, consumer).value).toBeGreaterThanOrEqual(0);
    }
    expect(names(after)).toEqual(
      expect.arrayContaining([
        'nats_connections',
        'nats_connections_total',
        'nats_cpu_ratio',
        'nats_jetstream_api_requests_total',
        'nats_jetstream_storage_max_bytes',
        'nats_memory_bytes',
        'nats_out_messages_total',
        'nats_subscriptions',
      ]),
    );
  });

  it('answers 5xx from web-2 in errors while haproxy keeps it in rotation', async () => {
    await stack.setMode('web-2', 'errors');
    const lb0 = await lb();
    const web2Lines = readLines(logPaths(dir)['web-2']!).length;
    advance(stack, 10);
    const lb1 = await lb();
    const front = feTotal(lb1) - feTotal(lb0);
    const front5xx = fe5xx(lb1) - fe5xx(lb0);
    // Its share of the traffic: half.
    expect(front5xx / front).toBeGreaterThan(0.45);
    expect(front5xx / front).toBeLessThan(0.55);
    const web2 =
      server(lb1, 'http_requests_total', 'web-2') - server(lb0, 'http_requests_total', 'web-2');
    const web2Bad =
      server(lb1, 'http_responses_total', 'web-2', { code: '5xx' }) -
      server(lb0, 'http_responses_total', 'web-2', { code: '5xx' });
    expect(web2Bad).toBe(web2);
    const backend5xx = (s: RawSample[]) =>
      sum(s, 'haproxy_backend_http_responses_total', { proxy: 'web', code: '5xx' });
    expect(backend5xx(lb1) - backend5xx(lb0)).toBe(front5xx);
    expect(server(lb1, 'http_responses_total', 'web-1', { code: '5xx' })).toBe(
      server(lb0, 'http_responses_total', 'web-1', { code: '5xx' }),
    );
    expect(one(lb1, 'haproxy_server_up', { server: 'web-2' }).value).toBe(1);
    expect(one(lb1, 'haproxy_server_status', { server: 'web-2' }).labels['state']).toBe('UP');
    // Its access log says so, line by line, through the real nginx parser.
    const fresh = readLines(logPaths(dir)['web-2']!).slice(web2Lines);
    expect(fresh).toHaveLength(web2);
    const statuses = fresh.map((line) => parseLine('nginx', line, parseOptions).access?.status);
    expect(statuses.every((s) => s === 502 || s === 503)).toBe(true);
    // The logs source turns them into request metrics by status class.
    const access = await accessLog('web-2');
    expect(records(access).filter((r) => r.severity === 'error').length).toBeGreaterThanOrEqual(
      web2,
    );
  });

  it('takes web-2 out of rotation when down and back on the same port when healthy', async () => {
    const before = await haproxyRows(stack);
    const web2Before = before.find((r) => r['svname'] === 'web-2')!;
    const port = Number(
      new URL((stack.agents()[2]!['sources'] as Array<{ url: string }>)[0]!.url).port,
    );
    await stack.setMode('web-2', 'down');
    expect(stack.members.find((m) => m.host === 'web-2')!.mode).toBe('down');
    // As for the agent, some time passes before the next read: the client has seen the close.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(nginx('web-2')).rejects.toThrow(/stub_status.*ECONNREFUSED/);
    expect(await refused(port)).toBe(true);
    const web2Lines = statSync(logPaths(dir)['web-2']!).size;
    const lb0 = await lb();
    advance(stack, 10);
    const lb1 = await lb();
    expect(one(lb1, 'haproxy_server_up', { server: 'web-2' }).value).toBe(0);
    expect(one(lb1, 'haproxy_server_status', { server: 'web-2' }).labels['state']).toBe('DOWN');
    expect(one(lb1, 'haproxy_server_check_status', { server: 'web-2' }).labels['status']).toBe(
      'L4CON',
    );
    expect(one(lb1, 'haproxy_backend_servers_up', { proxy: 'web' }).value).toBe(1);
    const front = feTotal(lb1) - feTotal(lb0);
    expect(front).toBeGreaterThan(170);
    // All of it on web-1, none lost.
    expect(
      server(lb1, 'http_requests_total', 'web-1') - server(lb0, 'http_requests_total', 'web-1'),
    ).toBe(front);
    expect(server(lb1, 'http_requests_total', 'web-2')).toBe(
      server(lb0, 'http_requests_total', 'web-2'),
    );
    expect(fe5xx(lb1) - fe5xx(lb0)).toBeLessThanOrEqual(1);
    expect(statSync(logPaths(dir)['web-2']!).size).toBe(web2Lines);
    // The columns the source does not read: failed checks, and the time since the change.
    const rows = await haproxyRows(stack);
    const web2 = rows.find((r) => r['svname'] === 'web-2')!;
    expect(Number(web2['chkfail'])).toBe(Number(web2Before['chkfail'] ?? 0) + 3);
    expect(Number(web2['chkdown'])).toBe(1);
    expect(Number(web2['lastchg'])).toBeLessThanOrEqual(10);
    expect(Number(rows.find((r) => r['svname'] === 'web-1')!['lastchg'])).toBeGreaterThan(40);
    expect(Number(web2['downtime'])).toBe(10);

    await stack.setMode('web-2', 'healthy');
    expect(
      Number(new URL((stack.agents()[2]!['sources'] as Array<{ url: string }>)[0]!.url).port),
    ).toBe(port);
    const restarted = await nginx('web-2');
    advance(stack, 10);
    const [lb2, again] = [await lb(), await nginx('web-2')];
    expect(one(lb2, 'haproxy_server_up', { server: 'web-2' }).value).toBe(1);
    expect(one(lb2, 'haproxy_server_check_status', { server: 'web-2' }).labels['status']).toBe(
      'L7OK',
    );
    // A restarted nginx counts from zero: about half of the 200 requests since.
    const served =
      sum(again, 'nginx_http_requests_total') - sum(restarted, 'nginx_http_requests_total');
    expect(served).toBeGreaterThan(85);
    expect(served).toBeLessThan(115);
    expect(sum(restarted, 'nginx_http_requests_total')).toBe(0);
  });

  it('writes log lines the real parsers read: nginx with request time, app JSON with levels', () => {
    const paths = logPaths(dir);
    const access = readLines(paths['web-1']!).map((line) => parseLine('nginx', line, parseOptions));
    expect(access.length).toBeGreaterThan(300);
    for (const parsed of access) {
      expect(parsed.attributes['parse_failed']).toBeUndefined();
      expect(parsed.access?.requestTime).toBeGreaterThan(0);
      expect(parsed.ts).toBeGreaterThanOrEqual(START);
    }
    const routes = new Set(access.map((p) => p.access!.path.split(/[?/]/)[2] ?? ''));
    expect([...routes].sort()).toEqual(['', 'cart', 'orders', 'products']);
    const app = readLines(paths['app-1']!).map((line) => parseLine('json', line, parseOptions));
    expect(app.length).toBeGreaterThan(600);
    for (const parsed of app) {
      expect(parsed.attributes['parse_failed']).toBeUndefined();
      const status = Number(parsed.attributes['status']);
      expect(parsed.severity).toBe(status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info');
      expect(parsed.attributes['route']).toMatch(/^\/(api\/(products|cart|orders))?$/);
      expect(parsed.traceId).toMatch(/^[0-9a-f]{32}$/);
    }
  });

  it('runs the scripted incident through its phases in order with injected timers', async () => {
    let virtual = 0;
    const queue: Array<{ at: number; run: () => void; id: number }> = [];
    let ids = 0;
    const timers = {
      setTimeout: (run: () => void, ms: number) => {
        queue.push({ at: virtual + ms, run, id: ++ids });
        return ids;
      },
      clearTimeout: (id: unknown) => {
        const i = queue.findIndex((t) => t.id === id);
        if (i >= 0) queue.splice(i, 1);
      },
    };
    /** Runs the next timer and lets the step's setMode settle. */
    const fire = async () => {
      queue.sort((a, b) => a.at - b.at);
      const next = queue.shift()!;
      virtual = next.at;
      next.run();
      await new Promise((resolve) => setTimeout(resolve, 50));
    };
    const events: IncidentEvent[] = [];
    const modes: string[] = [];
    const incident = scheduleIncident(stack, {
      afterMs: 60_000,
      errorsForMs: 120_000,
      downForMs: 180_000,
      clock: () => virtual,
      timers,
      onEvent: (e) => {
        events.push(e);
        modes.push(stack.members.find((m) => m.host === 'web-2')!.mode);
      },
    });
    expect(queue.map((t) => t.at)).toEqual([60_000]);
    await fire();
    const lb0 = await lb();
    advance(stack, 5);
    expect(fe5xx(await lb()) - fe5xx(lb0)).toBeGreaterThan(30);
    await fire();
    await expect(nginx('web-2')).rejects.toThrow(/ECONNREFUSED/);
    await fire();
    await incident.done;
    expect(queue).toHaveLength(0);
    expect(events.map((e) => [e.at, e.phase, e.host])).toEqual([
      [60_000, 'errors', 'web-2'],
      [180_000, 'down', 'web-2'],
      [360_000, 'healthy', 'web-2'],
    ]);
    expect(modes).toEqual(['errors', 'down', 'healthy']);
    expect(events[0]!.text).toMatch(/^demo incident: web-2 answers 5xx/);
    expect(events[2]!.text).toBe('demo incident: web-2 is back and healthy');
    expect(sum(await nginx('web-2'), 'nginx_http_requests_total')).toBe(0);

    // Cancelled after its first step, it goes no further.
    const cancelled: IncidentEvent[] = [];
    const second = scheduleIncident(stack, {
      afterMs: 1000,
      errorsForMs: 1000,
      downForMs: 1000,
      target: 'web-1',
      clock: () => virtual,
      timers,
      onEvent: (e) => cancelled.push(e),
    });
    await fire();
    second.cancel();
    await second.done;
    expect(queue).toHaveLength(0);
    expect(cancelled.map((e) => e.phase)).toEqual(['errors']);
    await stack.setMode('web-1', 'healthy');
  });

  it('rotates a log file at its size cap and the logs source reads every line across it', async () => {
    const rotating = await startDemoStack({
      dir: tempDir('halo-demo-rotate-'),
      clock,
      seed: 3,
      logMaxBytes: 8192,
    });
    try {
      const log = sourcesOf(rotating, 'web-1', tempDir('halo-demo-rotate-state-')).get(
        'access-log',
      )!;
      let read = 0;
      for (let i = 0; i < 20; i++) {
        advance(rotating, 1);
        read += records(await collect(log)).length;
      }
      now += 10_000; // past rotate_wait: the last rotated file is read to its end and let go
      read += records(await collect(log)).length;
      await log.close?.();
      const file = (rotating.agents()[1]!['sources'] as Array<{ paths?: string[] }>)[1]!.paths![0]!;
      expect(statSync(file).size).toBeLessThanOrEqual(8192);
      expect(statSync(`${file}.1`).size).toBeGreaterThan(4096);
      const served = (await collect(sourcesOf(rotating, 'web-1', tempDir()).get('nginx'))).samples;
      expect(read).toBe(sum(served, 'nginx_http_requests_total'));
    } finally {
      await rotating.stop();
    }
  });

  it('closes every port, timer and file on stop(), once', async () => {
    const ports = portsOf(stack);
    expect(new Set(ports).size).toBe(7);
    const listening = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    expect(listening()).toBeGreaterThanOrEqual(7);
    stack.start();
    const sizeBefore = statSync(logPaths(dir)['app-1']!).size;
    await stack.stop();
    await stack.stop();
    // Closed handles leave the event loop on its next turn.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(listening()).toBe(0);
    for (const port of new Set(ports)) expect(await refused(port), `port ${port}`).toBe(true);
    advance(stack, 2);
    stack.start();
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(statSync(logPaths(dir)['app-1']!).size).toBe(sizeBefore);
    await expect(stack.setMode('web-1', 'down')).rejects.toThrow(/stopped/);
  });
});
