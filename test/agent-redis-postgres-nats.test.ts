// The redis, postgres and nats sources against real servers (a primary and a replica each for
// Redis and PostgreSQL, nats-server with JetStream) and against deliberately broken targets.

import { execFile } from 'node:child_process';
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { inspect, promisify } from 'node:util';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect as natsConnect } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { natsOptions, natsSource } from '../collector/agent/sources/nats.ts';
import { postgresOptions, postgresSource } from '../collector/agent/sources/postgres.ts';
import { infoSamples, redisOptions, redisSource } from '../collector/agent/sources/redis.ts';
import type { RawSample, Source, SourceDefinition } from '../collector/agent/types.ts';
import { silentLogger } from '../core/logger.ts';
import { freePort } from './helpers/ports.ts';
import { startProcess, type Started } from './helpers/process.ts';
import { tempDir } from './helpers/temp.ts';
import { redisCommand, startPostgresPair, startRedisPair } from './helpers/data-servers.ts';

const logger = silentLogger();
const run = promisify(execFile);

// Started last, stopped first: servers go before the helpers remove their temp dirs.
const started: Started[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
  for (const server of started.reverse()) await server.stop('SIGINT');
});

const stateDir = tempDir('halo-state-');

function create<O extends z.ZodObject>(definition: SourceDefinition<O>, input: unknown): Source {
  const deps = { name: 'under-test', logger, stateDir, now: Date.now };
  return definition.create(definition.options.parse(input), deps);
}

async function collect(source: Source, timeoutMs = 5000): Promise<RawSample[]> {
  const ctx = { signal: AbortSignal.timeout(timeoutMs), now: Date.now, logger };
  return (await source.collect(ctx)).samples;
}

async function failure(source: Source, timeoutMs = 5000): Promise<Error> {
  const err = await collect(source, timeoutMs).then(
    () => new Error('collect succeeded'),
    (e: unknown) => e as Error,
  );
  return err;
}

/** The value of the one sample with this name whose labels include these. */
function value(samples: RawSample[], name: string, labels: Record<string, string> = {}) {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match`);
  return found[0]?.value;
}

async function eventually(
  source: Source,
  ok: (samples: RawSample[]) => boolean,
  timeoutMs = 10_000,
): Promise<RawSample[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const samples = await collect(source);
    if (ok(samples) || Date.now() > deadline) return samples;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A TCP server that does `behave` with each connection, for broken targets. */
async function tcpServer(behave: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    behave(socket);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return port;
}

// ---------------------------------------------------------------------------------------------

describe('redis', () => {
  const password = 'Red1s-pr1mary-pa55';
  let primaryPort: number;
  let replicaPort: number;
  let socketPath: string;

  beforeAll(async () => {
    const pair = await startRedisPair(password);
    ({ primaryPort, replicaPort, socketPath } = pair);
    started.push(...pair.servers);
  });

  it('reports the primary role, its one replica, and the keys of each database', async () => {
    await redisCommand(
      primaryPort,
      ['AUTH', password],
      ['SET', 'a', '1'],
      ['SET', 'b', '2'],
      ['SET', 'c', '3', 'EX', '3600'],
      ['SELECT', '2'],
      ['SET', 'z', '1'],
    );
    const source = create(redisSource, {
      address: `127.0.0.1:${primaryPort}`,
      password,
    });
    const replica = { replica: `127.0.0.1:${replicaPort}` };
    // The replica shows up first while the primary prepares its copy, then goes online.
    const samples = await eventually(
      source,
      (s) => value(s, 'redis_replica_online', replica) === 1,
    );
    expect(value(samples, 'redis_role', { role: 'master' })).toBe(1);
    expect(value(samples, 'redis_role', { role: 'replica' })).toBe(0);
    expect(value(samples, 'redis_connected_replicas')).toBe(1);
    expect(value(samples, 'redis_db_keys', { db: 'db0' })).toBe(3);
    expect(value(samples, 'redis_db_expiring_keys', { db: 'db0' })).toBe(1);
    expect(value(samples, 'redis_db_keys', { db: 'db2' })).toBe(1);
    expect(value(samples, 'redis_replica_lag_bytes', replica)).toBeGreaterThanOrEqual(0);
    expect(value(samples, 'redis_replica_lag_seconds', replica)).toBeGreaterThanOrEqual(0);
    expect(value(samples, 'redis_replica_online', replica)).toBe(1);
    expect(value(samples, 'redis_memory_used_bytes')).toBeGreaterThan(0);
    expect(value(samples, 'redis_uptime_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(samples, 'redis_aof_enabled')).toBe(0);
    expect(value(samples, 'redis_rdb_last_bgsave_ok')).toBe(1);
    const counter = samples.find((s) => s.name === 'redis_commands_processed_total');
    expect(counter).toMatchObject({ type: 'counter', labels: {} });
    expect(counter?.value).toBeGreaterThanOrEqual(6);
  });

  it('counts keyspace hits and misses as counters that grow with GETs of existing and missing keys', async () => {
    const source = create(redisSource, { address: `127.0.0.1:${primaryPort}`, password });
    const before = await collect(source);
    await redisCommand(
      primaryPort,
      ['AUTH', password],
      ['GET', 'a'],
      ['GET', 'b'],
      ['GET', 'missing-1'],
      ['GET', 'missing-2'],
      ['GET', 'missing-3'],
    );
    const after = await collect(source);
    const delta = (name: string) => (value(after, name) ?? NaN) - (value(before, name) ?? NaN);
    expect(delta('redis_keyspace_hits_total')).toBe(2);
    expect(delta('redis_keyspace_misses_total')).toBe(3);
    expect(after.find((s) => s.name === 'redis_keyspace_hits_total')?.type).toBe('counter');
  });

  it('reports on the replica its role, an up link to the primary, its lag and the replicated keys', async () => {
    const source = create(redisSource, { address: `127.0.0.1:${replicaPort}` });
    const samples = await eventually(
      source,
      (s) =>
        value(s, 'redis_master_link_up') === 1 && value(s, 'redis_db_keys', { db: 'db0' }) === 3,
    );
    expect(value(samples, 'redis_role', { role: 'replica' })).toBe(1);
    expect(value(samples, 'redis_role', { role: 'master' })).toBe(0);
    expect(value(samples, 'redis_master_link_up')).toBe(1);
    expect(value(samples, 'redis_replication_lag_bytes')).toBeGreaterThanOrEqual(0);
    expect(value(samples, 'redis_master_last_io_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(samples, 'redis_db_keys', { db: 'db0' })).toBe(3);
  });

  it('reads INFO over a unix socket', async () => {
    const samples = await collect(create(redisSource, { socket: socketPath, password }));
    expect(value(samples, 'redis_role', { role: 'master' })).toBe(1);
  });

  const authCases = [
    {
      name: 'a server that requires a password says so when none is configured',
      options: {},
      error: /authentication required: set password/,
    },
    {
      name: 'a wrong password is refused without the password in the error',
      options: { password: 'Wr0ng-pa55-d0-not-print' },
      error: /authentication failed: WRONGPASS/,
    },
    {
      name: 'an unknown ACL user is refused without the password in the error',
      options: { username: 'nobody', password: 'Wr0ng-pa55-d0-not-print' },
      error: /authentication failed: WRONGPASS/,
    },
  ];
  for (const { name, options, error } of authCases) {
    it(name, async () => {
      const err = await failure(
        create(redisSource, { address: `127.0.0.1:${primaryPort}`, ...options }),
      );
      expect(err.message).toMatch(error);
      expect(err.message).toContain(`redis 127.0.0.1:${primaryPort}`);
      for (const text of [err.message, inspect(err, { depth: 5 })]) {
        expect(text).not.toContain('Wr0ng-pa55');
        expect(text).not.toContain(password);
      }
    });
  }

  const brokenCases: Array<{ name: string; behave: (s: Socket) => void; error: RegExp }> = [
    {
      name: 'a target that answers with binary garbage is reported as not speaking RESP',
      behave: (s) => s.write(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0d, 0x0a])),
      error: /not RESP/,
    },
    {
      name: 'a bulk reply announced larger than the limit is refused before it is read',
      behave: (s) => s.write('$999999999999\r\n'),
      error: /larger than the limit/,
    },
    {
      name: 'an endless line without CRLF is cut off',
      behave: (s) => s.write(Buffer.alloc(200_000, 0x2b)),
      error: /line too long/,
    },
    {
      name: 'a target that closes the connection mid-reply is an error, not a hang',
      behave: (s) => s.end('$100\r\nrole:master\r\n'),
      error: /connection closed before the reply/,
    },
    {
      name: 'a target that never answers is given up when the signal aborts',
      behave: () => {},
      error: /timed out/,
    },
  ];
  for (const { name, behave, error } of brokenCases) {
    it(name, async () => {
      const port = await tcpServer(behave);
      const startedAt = Date.now();
      const err = await failure(create(redisSource, { address: `127.0.0.1:${port}` }), 500);
      expect(err.message).toMatch(error);
      expect(Date.now() - startedAt).toBeLessThan(2000);
    });
  }

  it('speaks TLS when asked and reports a certificate it cannot verify', async () => {
    const dir = tempDir('halo-redis-tls-');
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
    ]);
    const port = await freePort();
    started.push(
      await startProcess(
        'redis-server',
        [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--tls-cert-file',
          cert,
          '--tls-key-file',
          key,
          '--tls-ca-cert-file',
          cert,
          '--tls-auth-clients',
          'no',
          '--save',
          '',
          '--dir',
          dir,
        ],
        { ready: /Ready to accept connections/ },
      ),
    );
    const err = await failure(create(redisSource, { address: `127.0.0.1:${port}`, tls: true }));
    expect(err.message).toBe(`redis 127.0.0.1:${port}: connect: DEPTH_ZERO_SELF_SIGNED_CERT`);
    // Without TLS the server drops the plain-text command instead of answering it.
    const plain = await failure(create(redisSource, { address: `127.0.0.1:${port}` }), 1000);
    expect(plain.message).toMatch(/connection closed before the reply|timed out|ECONNRESET/);
  });

  it('reports a refused connection with the address that failed', async () => {
    const port = await freePort();
    const err = await failure(create(redisSource, { address: `127.0.0.1:${port}` }));
    expect(err.message).toBe(`redis 127.0.0.1:${port}: connect: ECONNREFUSED`);
  });

  it('derives replication lag from the offsets and skips lines and values it cannot parse', () => {
    const samples = infoSamples(
      [
        '# Replication',
        'role:slave',
        'master_link_status:down',
        'master_last_io_seconds_ago:-1',
        'master_repl_offset:1000',
        'slave_repl_offset:400',
        'not a field',
        ':no-key',
        'connected_clients:many',
        'db0:keys=abc,expires=2',
        'db1:keys=5',
        'some_future_field:42',
        '\u0000\u00ff binary',
      ].join('\r\n'),
    );
    expect(value(samples, 'redis_replication_lag_bytes')).toBe(600);
    expect(value(samples, 'redis_master_link_up')).toBe(0);
    expect(value(samples, 'redis_master_last_io_seconds')).toBeUndefined();
    expect(value(samples, 'redis_connected_clients')).toBeUndefined();
    expect(value(samples, 'redis_db_keys', { db: 'db0' })).toBeUndefined();
    expect(value(samples, 'redis_db_expiring_keys', { db: 'db0' })).toBe(2);
    expect(value(samples, 'redis_db_keys', { db: 'db1' })).toBe(5);
    expect(samples.map((s) => s.name)).not.toContain('redis_some_future_field');
  });

  const optionCases = [
    { name: 'an address without a port is refused', input: { address: 'localhost' } },
    { name: 'a port above 65535 is refused', input: { address: '127.0.0.1:70000' } },
    { name: 'an empty password is refused', input: { password: '' } },
    { name: 'an unknown key is refused', input: { host: '127.0.0.1' } },
  ];
  for (const { name, input } of optionCases) {
    it(name, () => {
      expect(redisOptions.safeParse(input).success).toBe(false);
    });
  }

  it('refuses at construction a username without a password', () => {
    expect(() => create(redisSource, { username: 'halo' })).toThrow(
      'redis: username is set without password',
    );
  });

  it('accepts an IPv6 address in brackets and keeps the password out of its printed form', () => {
    const options = redisOptions.parse({ address: '[::1]:6380', password: 'Pr1nt-me-n0t' });
    expect(options.address).toBe('[::1]:6380');
    expect(inspect(options)).not.toContain('Pr1nt-me-n0t');
  });
});

// ---------------------------------------------------------------------------------------------

describe('postgres', () => {
  const password = 'Pg-r1ght-pa55w0rd';
  let primaryPort: number;
  let replicaPort: number;
  let socketDir: string;

  beforeAll(async () => {
    const pair = await startPostgresPair(password);
    ({ primaryPort, socketDir } = pair);
    replicaPort = pair.replicaPort!;
    started.push(...pair.servers);
  });

  const primary = (extra: object = {}) =>
    create(postgresSource, {
      connection: { port: primaryPort, password },
      ...extra,
    });

  /** A client on the shop database, over the socket, for the test's own transactions. */
  async function shop(): Promise<pg.Client> {
    const client = new pg.Client({
      host: socketDir,
      port: primaryPort,
      user: 'postgres',
      database: 'shop',
    });
    await client.connect();
    return client;
  }

  it('reports a primary: not in recovery, max_connections, and each database with a size', async () => {
    const samples = await collect(primary());
    expect(value(samples, 'pg_in_recovery')).toBe(0);
    expect(value(samples, 'pg_max_connections')).toBe(50);
    expect(value(samples, 'pg_database_size_bytes', { database: 'shop' })).toBeGreaterThan(0);
    expect(value(samples, 'pg_database_size_bytes', { database: 'postgres' })).toBeGreaterThan(0);
    // Template databases are left out unless asked for.
    expect(samples.some((s) => s.labels['database'] === 'template1')).toBe(false);
    const commits = samples.find((s) => s.name === 'pg_commits_total');
    expect(commits?.type).toBe('counter');
  });

  it('counts commits, rollbacks and inserted tuples as counters that grow with transactions', async () => {
    const source = primary();
    const before = await collect(source);
    const client = await shop();
    await client.query('CREATE TABLE IF NOT EXISTS orders (id int)');
    for (let i = 0; i < 5; i++) await client.query('INSERT INTO orders VALUES ($1)', [i]);
    await client.query('BEGIN');
    await client.query('INSERT INTO orders VALUES (99)');
    await client.query('ROLLBACK');
    await client.end();
    const grown = (after: RawSample[], name: string) =>
      (value(after, name, { database: 'shop' }) ?? NaN) -
      (value(before, name, { database: 'shop' }) ?? NaN);
    // A backend flushes its statistics when it ends, a moment after the client has gone.
    const after = await eventually(source, (s) => grown(s, 'pg_commits_total') >= 6);
    expect(grown(after, 'pg_commits_total')).toBeGreaterThanOrEqual(6);
    expect(grown(after, 'pg_rollbacks_total')).toBeGreaterThanOrEqual(1);
    expect(grown(after, 'pg_tuples_inserted_total')).toBeGreaterThanOrEqual(6);
  });

  it('reports connections by state for each database, zero for states nobody is in', async () => {
    const idle = await shop();
    const inTransaction = await shop();
    await inTransaction.query('BEGIN');
    await inTransaction.query('SELECT 1');
    try {
      const samples = await collect(primary());
      const shopState = (state: string) =>
        value(samples, 'pg_connections', { database: 'shop', state });
      expect(shopState('idle')).toBeGreaterThanOrEqual(1);
      expect(shopState('idle in transaction')).toBe(1);
      expect(shopState('idle in transaction (aborted)')).toBe(0);
      expect(value(samples, 'pg_connections', { database: 'postgres', state: 'active' })).toBe(0);
    } finally {
      await inTransaction.query('ROLLBACK');
      await Promise.all([idle.end(), inTransaction.end()]);
    }
  });

  it('restricts per-database series to the configured databases', async () => {
    const samples = await collect(primary({ databases: ['shop'] }));
    const databases = new Set(samples.map((s) => s.labels['database']).filter(Boolean));
    expect([...databases]).toEqual(['shop']);
  });

  it('shows on the primary its one streaming replica with a lag of zero or more', async () => {
    const samples = await eventually(primary(), (s) =>
      s.some((x) => x.name === 'pg_replication_lag_bytes' && x.labels['state'] === 'streaming'),
    );
    expect(value(samples, 'pg_replication_connected_replicas')).toBe(1);
    const lag = samples.filter((s) => s.name === 'pg_replication_lag_bytes');
    expect(lag).toHaveLength(1);
    expect(lag[0]?.labels).toEqual({
      application_name: 'walreceiver',
      client_addr: '127.0.0.1',
      state: 'streaming',
    });
    expect(lag[0]?.value).toBeGreaterThanOrEqual(0);
    expect(
      value(samples, 'pg_replication_lag_seconds', { state: 'streaming' }),
    ).toBeGreaterThanOrEqual(0);
  });

  it('reports on the replica recovery, an up WAL receiver and a lag in seconds', async () => {
    const source = create(postgresSource, { connection: { port: replicaPort, password } });
    const samples = await eventually(source, (s) => value(s, 'pg_wal_receiver_up') === 1);
    expect(value(samples, 'pg_in_recovery')).toBe(1);
    expect(value(samples, 'pg_wal_receiver_up')).toBe(1);
    expect(value(samples, 'pg_replica_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(samples.some((s) => s.name === 'pg_replication_lag_bytes')).toBe(false);
    expect(value(samples, 'pg_database_size_bytes', { database: 'shop' })).toBeGreaterThan(0);
  });

  it('connects over the unix socket folder', async () => {
    const samples = await collect(
      create(postgresSource, { connection: { host: socketDir, port: primaryPort } }),
    );
    expect(value(samples, 'pg_in_recovery')).toBe(0);
  });

  const failureCases = [
    {
      name: 'a wrong password is refused with a clear error that does not contain it',
      connection: { password: 'Wr0ng-pg-pa55-d0-not-print' },
      error: /connect: password authentication failed for user "postgres"/,
    },
    {
      name: 'a missing password is reported as such',
      connection: {},
      error: /connect: the server asks for a password: set connection.password/,
    },
  ];
  for (const { name, connection, error } of failureCases) {
    it(name, async () => {
      const err = await failure(
        create(postgresSource, { connection: { port: primaryPort, ...connection } }),
      );
      expect(err.message).toMatch(error);
      expect(err.message).toContain(`postgres 127.0.0.1:${primaryPort}/postgres`);
      for (const text of [err.message, inspect(err, { depth: 5 })]) {
        expect(text).not.toContain('Wr0ng-pg-pa55');
        expect(text).not.toContain(password);
      }
    });
  }

  it('gives up on a server that never answers when the signal aborts', async () => {
    const port = await tcpServer(() => {});
    const startedAt = Date.now();
    const err = await failure(create(postgresSource, { connection: { port, password } }), 500);
    expect(err.message).toBe(`postgres 127.0.0.1:${port}/postgres: connect: timed out`);
    expect(Date.now() - startedAt).toBeLessThan(2000);
  });

  it('refuses a connection block with unknown keys and an empty database list', () => {
    expect(postgresOptions.safeParse({ connection: { hostname: 'db' } }).success).toBe(false);
    expect(postgresOptions.safeParse({ databases: [] }).success).toBe(false);
    expect(postgresOptions.parse({}).connection).toMatchObject({
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      database: 'postgres',
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('nats', () => {
  let clientPort: number;
  let monitorUrl: string;
  let plainMonitorUrl: string;

  beforeAll(async () => {
    const [port, monitor, plainPort, plainMonitor] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    clientPort = port;
    monitorUrl = `http://127.0.0.1:${monitor}`;
    plainMonitorUrl = `http://127.0.0.1:${plainMonitor}`;
    const args = (p: number, m: number) => ['-a', '127.0.0.1', '-p', String(p), '-m', String(m)];
    const [withJs, withoutJs] = await Promise.all([
      startProcess('nats-server', ['-js', ...args(port, monitor), '-sd', tempDir('halo-nats-')], {
        ready: /Server is ready/,
      }),
      startProcess('nats-server', args(plainPort, plainMonitor), { ready: /Server is ready/ }),
    ]);
    started.push(withJs, withoutJs);
  });

  it('reports a stream, its consumer and the traffic that filled them', async () => {
    const source = create(natsSource, { url: monitorUrl });
    const before = await collect(source);
    const nc = await natsConnect({ servers: `nats://127.0.0.1:${clientPort}` });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
      await jsm.consumers.add('ORDERS', {
        durable_name: 'billing',
        ack_policy: AckPolicy.Explicit,
      });
      const js = jetstream(nc);
      for (let i = 0; i < 7; i++) await js.publish('orders.new', `order ${i}`);
      // Two delivered and never acknowledged: pending acks, no longer pending delivery.
      const consumer = await js.consumers.get('ORDERS', 'billing');
      const batch = await consumer.fetch({ max_messages: 2, expires: 2000 });
      const received: string[] = [];
      for await (const message of batch) {
        received.push(message.string());
        if (received.length === 2) break;
      }
      expect(received).toEqual(['order 0', 'order 1']);
    } finally {
      await nc.drain();
    }
    const after = await collect(source);
    const labels = { account: '$G', stream: 'ORDERS' };
    expect(value(after, 'nats_stream_messages', labels)).toBe(7);
    expect(value(after, 'nats_stream_bytes', labels)).toBeGreaterThan(0);
    expect(value(after, 'nats_stream_consumers', labels)).toBe(1);
    const consumer = { ...labels, consumer: 'billing' };
    expect(value(after, 'nats_consumer_pending_messages', consumer)).toBe(5);
    expect(value(after, 'nats_consumer_ack_pending_messages', consumer)).toBe(2);
    expect(value(after, 'nats_consumer_redelivered_messages', consumer)).toBe(0);
    expect(value(after, 'nats_jetstream_storage_used_bytes')).toBeGreaterThan(0);
    expect(value(after, 'nats_jetstream_storage_max_bytes')).toBeGreaterThan(0);

    const grown = (name: string) => (value(after, name) ?? NaN) - (value(before, name) ?? NaN);
    expect(grown('nats_in_messages_total')).toBeGreaterThanOrEqual(7);
    expect(grown('nats_out_messages_total')).toBeGreaterThanOrEqual(7);
    expect(grown('nats_in_bytes_total')).toBeGreaterThan(0);
    expect(grown('nats_connections_total')).toBeGreaterThanOrEqual(1);
    expect(after.find((s) => s.name === 'nats_in_messages_total')?.type).toBe('counter');
    expect(value(after, 'nats_subscriptions')).toBeGreaterThan(0);
    expect(value(after, 'nats_memory_bytes')).toBeGreaterThan(0);
    expect(value(after, 'nats_cpu_ratio')).toBeGreaterThanOrEqual(0);
  });

  it('reports a server without JetStream from /varz alone, without error', async () => {
    const samples = await collect(create(natsSource, { url: `${plainMonitorUrl}/` }));
    expect(value(samples, 'nats_connections')).toBe(0);
    expect(samples.some((s) => s.name.startsWith('nats_jetstream_'))).toBe(false);
    expect(samples.some((s) => s.name.startsWith('nats_stream_'))).toBe(false);
  });

  /** An HTTP server answering each path with a handler, for broken or partial targets. */
  async function httpServer(handler: (path: string, res: ServerResponse) => void): Promise<string> {
    const server: HttpServer = createHttpServer((req, res) => handler(req.url ?? '', res));
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    return `http://127.0.0.1:${port}`;
  }

  it('skips JetStream when /jsz answers 404 (monitoring without JetStream support)', async () => {
    const url = await httpServer((path, res) => {
      if (path.startsWith('/varz')) res.end(JSON.stringify({ connections: 3, in_msgs: 10 }));
      else res.writeHead(404).end('not found');
    });
    const samples = await collect(create(natsSource, { url }));
    expect(value(samples, 'nats_connections')).toBe(3);
    expect(value(samples, 'nats_in_messages_total')).toBe(10);
    expect(samples).toHaveLength(2);
  });

  it('skips fields and entries of unexpected types in a newer or odd /jsz shape', async () => {
    const url = await httpServer((path, res) => {
      if (path.startsWith('/varz')) return res.end(JSON.stringify({ server_name: 'n1', cpu: 'x' }));
      res.end(
        JSON.stringify({
          memory: 'lots',
          storage: 10,
          account_details: [
            null,
            {
              name: 'A',
              stream_detail: [7, { name: 'S', state: { messages: 4 }, consumer_detail: [{}] }],
            },
            {
              name: 'B',
              stream_detail: [
                { name: 'T', cluster: { leader: 'n2' }, state: { messages: 9 } },
                { name: 'U', cluster: { leader: 'n1' }, state: { messages: 1 } },
              ],
            },
          ],
        }),
      );
    });
    const samples = await collect(create(natsSource, { url }));
    expect(value(samples, 'nats_jetstream_storage_used_bytes')).toBe(10);
    expect(value(samples, 'nats_jetstream_memory_used_bytes')).toBeUndefined();
    expect(value(samples, 'nats_stream_messages', { account: 'A', stream: 'S' })).toBe(4);
    // Stream T is led by another server, which reports it.
    expect(value(samples, 'nats_stream_messages', { stream: 'T' })).toBeUndefined();
    expect(value(samples, 'nats_stream_messages', { stream: 'U' })).toBe(1);
    expect(samples.some((s) => s.name === 'nats_cpu_ratio')).toBe(false);
  });

  const brokenCases: Array<{
    name: string;
    handler: (path: string, res: ServerResponse) => void;
    error: RegExp;
  }> = [
    {
      name: 'a /varz that is not JSON is an error naming the endpoint',
      handler: (_path, res) => res.end('<html>\u0000\u00ff</html>'),
      error: /^nats: read http:\/\/127\.0\.0\.1:\d+\/varz: not JSON$/,
    },
    {
      name: 'a /varz that is a JSON array is an error',
      handler: (_path, res) => res.end('[1,2,3]'),
      error: /\/varz: expected a JSON object/,
    },
    {
      name: 'a /varz larger than the limit is refused',
      handler: (_path, res) => {
        res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
        res.write(Buffer.alloc(1024, 0x20));
      },
      error: /larger than the limit/,
    },
    {
      name: 'a /jsz that fails with a server error is reported, not skipped',
      handler: (path, res) => {
        if (path.startsWith('/varz')) res.end('{}');
        else res.writeHead(500).end('boom');
      },
      error: /\/jsz: HTTP status 500/,
    },
    {
      name: 'a target that never answers is given up when the signal aborts',
      handler: () => {},
      error: /timed out/,
    },
  ];
  for (const { name, handler, error } of brokenCases) {
    it(name, async () => {
      const url = await httpServer(handler);
      const startedAt = Date.now();
      const err = await failure(create(natsSource, { url }), 500);
      expect(err.message).toMatch(error);
      expect(Date.now() - startedAt).toBeLessThan(2000);
    });
  }

  const optionCases = [
    { name: 'a client URL is refused as monitoring URL', input: { url: 'nats://127.0.0.1:4222' } },
    { name: 'a URL with credentials is refused', input: { url: 'http://u:p@127.0.0.1:8222' } },
    { name: 'an unknown key is refused', input: { url: 'http://127.0.0.1:8222', jsz: true } },
  ];
  for (const { name, input } of optionCases) {
    it(name, () => {
      expect(natsOptions.safeParse(input).success).toBe(false);
    });
  }
});
