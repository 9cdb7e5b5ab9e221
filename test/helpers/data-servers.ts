// Starts the real data servers of the cache and db tiers for tests: a redis primary and replica, a
// PostgreSQL primary and streaming replica, on free ports in temp dirs, plus a small redis client.

import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { encodeCommand, parseReply } from '../../collector/agent/sources/redis.ts';
import { freePort } from './ports.ts';
import { startProcess, type Started } from './process.ts';
import { tempDir } from './temp.ts';

const run = promisify(execFile);

// ------------------------------------------------------------------------------------- redis

export interface RedisPair {
  primaryPort: number;
  replicaPort: number;
  /** The primary's unix socket. */
  socketPath: string;
  password: string;
  /** Primary first. */
  servers: Started[];
}

/** A primary with a password and a unix socket, and a replica of it. */
export async function startRedisPair(password: string): Promise<RedisPair> {
  const dir = tempDir('halo-redis-');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const socketPath = join(dir, 'redis.sock');
  // A memory limit, as caches have: the dashboards show memory used of it.
  const common = [
    ...['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    ...['--maxmemory', '256mb'],
  ];
  const ready = { ready: /Ready to accept connections/ };
  const primary = await startProcess(
    'redis-server',
    [
      '--port',
      String(primaryPort),
      ...common,
      '--requirepass',
      password,
      '--unixsocket',
      socketPath,
      '--unixsocketperm',
      '700',
      // Full syncs wait 5 s for more replicas by default.
      '--repl-diskless-sync-delay',
      '0',
    ],
    ready,
  );
  const replica = await startProcess(
    'redis-server',
    [
      '--port',
      String(replicaPort),
      ...common,
      '--dbfilename',
      'replica.rdb',
      '--replicaof',
      '127.0.0.1',
      String(primaryPort),
      '--masterauth',
      password,
    ],
    ready,
  );
  return { primaryPort, replicaPort, socketPath, password, servers: [primary, replica] };
}

/** Sends commands on one connection and returns the replies (a test-side client). */
export async function redisCommand(port: number, ...commands: string[][]): Promise<unknown[]> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.write(Buffer.concat(commands.map(encodeCommand)));
  const replies: unknown[] = [];
  let buffer = Buffer.alloc(0);
  for await (const chunk of socket) {
    buffer = Buffer.concat([buffer, chunk as Buffer]);
    for (let parsed = parseReply(buffer); parsed; parsed = parseReply(buffer)) {
      replies.push(parsed.reply);
      buffer = buffer.subarray(parsed.used);
    }
    if (replies.length >= commands.length) break;
  }
  socket.destroy();
  return replies;
}

// ---------------------------------------------------------------------------------- postgres

export interface PostgresPair {
  primaryPort: number;
  /** Undefined when started without a replica. */
  replicaPort: number | undefined;
  /** Folder of the unix sockets, where the user postgres connects without a password. */
  socketDir: string;
  password: string;
  /** Primary first. */
  servers: Started[];
}

/** The bin folder of the newest PostgreSQL installed from Debian packages. */
function postgresBin(): string {
  const versions = readdirSync('/usr/lib/postgresql')
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('no PostgreSQL under /usr/lib/postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/**
 * A primary whose user postgres has `password` over TCP, with a database `shop`, and (unless
 * replica is false) a streaming replica made with pg_basebackup. Runs as the user postgres.
 */
export async function startPostgresPair(
  password: string,
  options: { replica?: boolean } = {},
): Promise<PostgresPair> {
  const bin = postgresBin();
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  const root = tempDir('halo-pg-');
  chownSync(root, uid, gid);
  const primaryDir = join(root, 'primary');
  const replicaDir = join(root, 'replica');
  const socketDir = join(root, 'sockets');
  mkdirSync(socketDir);
  chownSync(socketDir, uid, gid);
  const asPostgres = { uid, gid, cwd: root, env: { PATH: process.env['PATH'], HOME: root } };
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];

  await run(
    `${bin}/initdb`,
    ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '--no-sync', '--no-locale', '-E', 'UTF8'],
    asPostgres,
  );
  writeFileSync(
    join(primaryDir, 'pg_hba.conf'),
    [
      'local all all trust',
      'host replication postgres 127.0.0.1/32 trust',
      'host all all 127.0.0.1/32 scram-sha-256',
      '',
    ].join('\n'),
  );
  const server = (dir: string, port: number, ready: RegExp) =>
    startProcess(
      `${bin}/postgres`,
      [
        ...['-D', dir, '-k', socketDir, '-p', String(port)],
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'wal_level=replica'],
        ...['-c', 'max_wal_senders=4', '-c', 'fsync=off'],
        ...['-c', 'shared_buffers=16MB', '-c', 'max_connections=50'],
      ],
      { ...asPostgres, ready, timeoutMs: 20_000 },
    );
  const servers = [await server(primaryDir, primaryPort, /ready to accept connections/)];

  const admin = new pg.Client({ host: socketDir, port: primaryPort, user: 'postgres' });
  await admin.connect();
  await admin.query(`ALTER USER postgres PASSWORD ${pg.escapeLiteral(password)}`);
  await admin.query('CREATE DATABASE shop');
  await admin.end();
  if (options.replica === false) {
    return { primaryPort, replicaPort: undefined, socketDir, password, servers };
  }

  await run(
    `${bin}/pg_basebackup`,
    [
      ...['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres'],
      ...['-D', replicaDir, '-R', '-X', 'stream'],
      // A spread checkpoint would take minutes on an idle server.
      '--checkpoint=fast',
    ],
    asPostgres,
  );
  servers.push(await server(replicaDir, replicaPort, /ready to accept read-only connections/));
  return { primaryPort, replicaPort, socketDir, password, servers };
}
