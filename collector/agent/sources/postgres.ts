// PostgreSQL source: one short read-only session per collection that reads pg_stat_activity,
// pg_stat_database and the replication views into connection, database and lag series.

import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { z } from 'zod';
import { port, secret } from '../../../core/config/schema.ts';
import type { Secret } from '../../../core/config/secret.ts';
import type { RawSample, SourceContext, SourceDefinition } from '../types.ts';

/** Upper bounds for one collection; the source timeout (ctx.signal) usually ends it sooner. */
const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 5_000;

const name = (what: string) =>
  z.string({ error: `expected ${what}` }).min(1, { error: `expected ${what}` });

export const postgresOptions = z.strictObject({
  connection: z
    .strictObject({
      /** A host name, an IP address, or the folder of the server's unix socket (starts with /). */
      host: name('a host name, an IP address or a unix socket folder').default('127.0.0.1'),
      port: port(5432),
      user: name('a user name').default('postgres'),
      password: secret(),
      database: name('a database name').default('postgres'),
      /** true: TLS verified against the system CAs; or a CA file, and verify: false to skip it. */
      ssl: z
        .union(
          [
            z.boolean(),
            z.strictObject({
              ca_file: name('a file path').optional(),
              verify: z.boolean({ error: 'expected true or false' }).default(true),
            }),
          ],
          { error: 'expected true, false or { ca_file, verify }' },
        )
        .optional(),
    })
    .prefault({}),
  /** Only these databases get per-database series; by default every non-template database. */
  databases: z
    .array(name('a database name'), { error: 'expected a list of database names' })
    .min(1, { error: 'expected a list of database names' })
    .optional(),
});

type PostgresOptions = z.output<typeof postgresOptions>;

export class PostgresError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PostgresError';
  }
}

/** States pg_stat_activity knows; each is reported (0 when idle) so series do not come and go. */
const STATES = [
  'active',
  'idle',
  'idle in transaction',
  'idle in transaction (aborted)',
  'fastpath function call',
  'disabled',
];

const SERVER_SQL = `SELECT pg_is_in_recovery() AS in_recovery,
  current_setting('max_connections')::int AS max_connections`;

const DATABASES_SQL = `SELECT d.datname, d.xact_commit, d.xact_rollback, d.deadlocks, d.conflicts,
  d.temp_bytes, d.temp_files, d.blks_read, d.blks_hit, d.tup_returned, d.tup_fetched,
  d.tup_inserted, d.tup_updated, d.tup_deleted,
  CASE WHEN has_database_privilege(d.datid, 'CONNECT') THEN pg_database_size(d.datid) END AS size_bytes
FROM pg_stat_database d JOIN pg_database db ON db.oid = d.datid
WHERE CASE WHEN $1::text[] IS NULL THEN NOT db.datistemplate ELSE d.datname = ANY($1::text[]) END`;

// Our own session is left out: it would always show one active connection.
const CONNECTIONS_SQL = `SELECT datname, coalesce(state, 'unknown') AS state, count(*)::int AS count
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND datname IS NOT NULL AND pid <> pg_backend_pid()
GROUP BY 1, 2`;

const PRIMARY_SQL = `SELECT application_name, host(client_addr) AS client_addr, state,
  pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS lag_bytes,
  extract(epoch FROM replay_lag) AS lag_seconds
FROM pg_stat_replication`;

// replay_timestamp is that of the last replayed commit: on an idle primary it grows forever, so
// a replica that has replayed all it received counts as caught up (lag 0).
const REPLICA_SQL = `SELECT pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() AS caught_up,
  extract(epoch FROM now() - pg_last_xact_replay_timestamp()) AS lag_seconds,
  (SELECT count(*)::int FROM pg_stat_wal_receiver WHERE status = 'streaming') AS receivers`;

/** pg_stat_database columns that are cumulative counts. */
const DATABASE_COUNTERS: Record<string, string> = {
  xact_commit: 'pg_commits_total',
  xact_rollback: 'pg_rollbacks_total',
  deadlocks: 'pg_deadlocks_total',
  conflicts: 'pg_conflicts_total',
  temp_bytes: 'pg_temp_bytes_total',
  temp_files: 'pg_temp_files_total',
  blks_read: 'pg_blocks_read_total',
  blks_hit: 'pg_blocks_hit_total',
  tup_returned: 'pg_tuples_returned_total',
  tup_fetched: 'pg_tuples_fetched_total',
  tup_inserted: 'pg_tuples_inserted_total',
  tup_updated: 'pg_tuples_updated_total',
  tup_deleted: 'pg_tuples_deleted_total',
};

type Row = Record<string, unknown>;

/** int8 and numeric arrive as strings, int4 and float8 as numbers, NULL as null. */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function text(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value : fallback;
}

function gauge(name: string, value: number, labels: Record<string, string> = {}): RawSample {
  return { name, labels, value, type: 'gauge' };
}

export function databaseSamples(rows: Row[]): RawSample[] {
  const samples: RawSample[] = [];
  for (const row of rows) {
    const database = text(row['datname'], '');
    if (database === '') continue;
    for (const [column, name] of Object.entries(DATABASE_COUNTERS)) {
      const value = toNumber(row[column]);
      if (value !== undefined) samples.push({ name, labels: { database }, value, type: 'counter' });
    }
    const size = toNumber(row['size_bytes']);
    if (size !== undefined) samples.push(gauge('pg_database_size_bytes', size, { database }));
  }
  return samples;
}

export function connectionSamples(rows: Row[], databases: readonly string[]): RawSample[] {
  const counts = new Map<string, Map<string, number>>();
  for (const database of databases) counts.set(database, new Map(STATES.map((s) => [s, 0])));
  for (const row of rows) {
    const byState = counts.get(text(row['datname'], ''));
    const count = toNumber(row['count']);
    if (!byState || count === undefined) continue;
    const state = text(row['state'], 'unknown');
    byState.set(state, (byState.get(state) ?? 0) + count);
  }
  return [...counts].flatMap(([database, byState]) =>
    [...byState].map(([state, count]) => gauge('pg_connections', count, { state, database })),
  );
}

export function primarySamples(rows: Row[]): RawSample[] {
  const samples = [gauge('pg_replication_connected_replicas', rows.length)];
  for (const row of rows) {
    const labels = {
      application_name: text(row['application_name'], ''),
      // NULL client_addr: the replica connects over the unix socket.
      client_addr: text(row['client_addr'], 'local'),
      state: text(row['state'], 'unknown'),
    };
    const bytes = toNumber(row['lag_bytes']);
    if (bytes !== undefined)
      samples.push(gauge('pg_replication_lag_bytes', Math.max(0, bytes), labels));
    // replay_lag turns NULL once an idle replica has caught up.
    const seconds = toNumber(row['lag_seconds']) ?? (bytes === 0 ? 0 : undefined);
    if (seconds !== undefined)
      samples.push(gauge('pg_replication_lag_seconds', Math.max(0, seconds), labels));
  }
  return samples;
}

export function replicaSamples(row: Row | undefined): RawSample[] {
  if (!row) return [];
  const samples = [gauge('pg_wal_receiver_up', (toNumber(row['receivers']) ?? 0) > 0 ? 1 : 0)];
  const lag = row['caught_up'] === true ? 0 : toNumber(row['lag_seconds']);
  if (lag !== undefined) samples.push(gauge('pg_replica_lag_seconds', Math.max(0, lag)));
  return samples;
}

function sslConfig(ssl: PostgresOptions['connection']['ssl']): pg.ClientConfig['ssl'] {
  if (ssl === undefined || typeof ssl === 'boolean') return ssl;
  let ca: string | undefined;
  if (ssl.ca_file !== undefined) {
    try {
      ca = readFileSync(ssl.ca_file, 'utf8');
    } catch (err) {
      throw new PostgresError(
        `postgres: cannot read ssl.ca_file ${ssl.ca_file}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }
  return { rejectUnauthorized: ssl.verify, ...(ca !== undefined ? { ca } : {}) };
}

/** Server messages do not echo the password, but an error must never be the way one leaks. */
function reasonOf(err: unknown, password: Secret | undefined): string {
  let message = err instanceof Error ? err.message : String(err);
  if (/client password must be a string/.test(message))
    message = 'the server asks for a password: set connection.password';
  const value = password?.reveal();
  return value ? message.split(value).join('<secret>') : message;
}

async function collectSamples(
  options: PostgresOptions,
  ssl: pg.ClientConfig['ssl'],
  signal: AbortSignal,
): Promise<RawSample[]> {
  const { connection } = options;
  const target = `${connection.host}:${connection.port}/${connection.database}`;
  if (signal.aborted) throw new PostgresError(`postgres ${target}: timed out`);
  // The driver is loaded on first use: an agent without a postgres source never pays for it.
  const { default: driver } = await import('pg');
  const client = new driver.Client({
    host: connection.host,
    port: connection.port,
    user: connection.user,
    password: connection.password?.reveal(),
    database: connection.database,
    ssl,
    application_name: 'halo-agent',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
  });
  // Socket errors also reject the pending call, which is where they are reported.
  client.on('error', () => {});
  // Destroying the socket ends whatever pg is waiting for: connect, a query or the goodbye.
  const onAbort = () => client.connection.stream.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  let stage = 'connect';
  const run = async (what: string, sql: string, params?: unknown[]): Promise<Row[]> => {
    stage = what;
    return (await client.query<Row>(sql, params)).rows;
  };
  try {
    await client.connect();
    await run('begin a read-only transaction', 'BEGIN TRANSACTION READ ONLY');
    const [server] = await run('read server settings', SERVER_SQL);
    const inRecovery = server?.['in_recovery'] === true;
    const databaseRows = await run('read pg_stat_database', DATABASES_SQL, [
      options.databases ?? null,
    ]);
    const connectionRows = await run('read pg_stat_activity', CONNECTIONS_SQL);
    const replication = inRecovery
      ? replicaSamples((await run('read the replica state', REPLICA_SQL))[0])
      : primarySamples(await run('read pg_stat_replication', PRIMARY_SQL));
    await run('end the transaction', 'COMMIT');
    stage = 'disconnect';
    await client.end();
    const databases = databaseRows.map((row) => text(row['datname'], '')).filter((d) => d !== '');
    const maxConnections = toNumber(server?.['max_connections']);
    return [
      gauge('pg_in_recovery', inRecovery ? 1 : 0),
      ...(maxConnections !== undefined ? [gauge('pg_max_connections', maxConnections)] : []),
      ...connectionSamples(connectionRows, databases),
      ...databaseSamples(databaseRows),
      ...replication,
    ];
  } catch (err) {
    client.connection.stream.destroy();
    const reason = signal.aborted ? 'timed out' : reasonOf(err, connection.password);
    throw new PostgresError(`postgres ${target}: ${stage}: ${reason}`, { cause: err });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export const postgresSource: SourceDefinition<typeof postgresOptions> = {
  type: 'postgres',
  options: postgresOptions,
  create(options, deps) {
    const ssl = sslConfig(options.connection.ssl);
    return {
      name: deps.name,
      type: 'postgres',
      async collect(ctx: SourceContext) {
        return { samples: await collectSamples(options, ssl, ctx.signal) };
      },
    };
  },
};
