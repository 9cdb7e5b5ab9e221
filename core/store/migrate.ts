// Applies the numbered migrations once each, records them, and brings table TTLs in line with config.

import { TABLES } from '../conventions.ts';
import type { HaloConfig } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import { createTable, onCluster, storageName, ttlClause, type DdlContext } from './ddl.ts';
import { MIGRATIONS, type Migration } from './migrations/index.ts';
import { ident, sql } from './sql.ts';
import { storeError, type Store } from './store.ts';

/** Retention key of the config for each table with a TTL. */
const RETENTION: Record<string, keyof HaloConfig['clickhouse']['retention']> = {
  [TABLES.samples]: 'samples',
  [TABLES.samples1m]: 'rollups_1m',
  // Kept as long as the minutes it is made of: a range that reads it reads them otherwise.
  [TABLES.samples5m]: 'rollups_1m',
  [TABLES.samples1h]: 'rollups_1h',
  // A series' labels are needed as long as its longest-kept rollup.
  [TABLES.series]: 'rollups_1h',
  [TABLES.logs]: 'logs',
  [TABLES.logsErrors]: 'logs',
  [TABLES.alerts]: 'alerts',
  [TABLES.notifications]: 'notifications',
  [TABLES.sloEvaluations]: 'slo_evaluations',
};

/** The TTL expression of each table, matching the migrations. */
const TTL_EXPR: Record<string, string> = {
  [TABLES.samples]: 'toDateTime(ts)',
  [TABLES.samples1m]: 'ts',
  [TABLES.samples5m]: 'ts',
  [TABLES.samples1h]: 'ts',
  [TABLES.series]: 'last_seen',
  [TABLES.ingestJournal]: 'toDateTime(written)',
  [TABLES.logs]: 'toDateTime(ts)',
  [TABLES.logsErrors]: 'toDateTime(ts)',
  [TABLES.alerts]: 'toDateTime(ts)',
  [TABLES.notifications]: 'toDateTime(ts)',
  [TABLES.sloEvaluations]: 'toDateTime(ts)',
};

export function ddlContext(config: HaloConfig): DdlContext {
  const ttlSeconds: Record<string, number> = {};
  for (const [table, key] of Object.entries(RETENTION)) {
    ttlSeconds[table] = config.clickhouse.retention[key].seconds;
  }
  // last_seen trails the last sample by up to an hour: keep a series a day past its rollups.
  ttlSeconds[TABLES.series] = (ttlSeconds[TABLES.series] ?? 0) + 86_400;
  // A message may be redelivered as long as its stream keeps it; its journal entry must outlive it.
  const { metrics, logs } = config.nats.streams;
  ttlSeconds[TABLES.ingestJournal] =
    Math.ceil(Math.max(metrics.max_age.ms, logs.max_age.ms) / 1000) + 86_400;
  return { database: config.clickhouse.database, cluster: config.clickhouse.cluster, ttlSeconds };
}

export interface MigrateResult {
  applied: number[];
  ttlUpdated: string[];
}

export async function migrate(
  store: Store,
  config: HaloConfig,
  logger: Logger,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrateResult> {
  const log = logger.child({ module: 'migrate' });
  const ctx = ddlContext(config);
  const run = async (statement: string, what: string) => {
    try {
      await store.command(statement);
    } catch (err) {
      throw storeError(`migration ${what}`, err);
    }
  };

  await run(`CREATE DATABASE IF NOT EXISTS ${ctx.database}${onCluster(ctx)}`, 'create database');
  for (const statement of migrationsTable(ctx)) await run(statement, 'create schema_migrations');

  const done = new Set(
    (
      await store.query<{ version: number }>(
        sql`SELECT DISTINCT version FROM ${ident(`${ctx.database}.${TABLES.migrations}`)}`,
      )
    ).map((row) => Number(row.version)),
  );
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(migration.version)) continue;
    const label = `${String(migration.version).padStart(3, '0')} (${migration.name})`;
    for (const statement of migration.statements(ctx)) await run(statement, label);
    await store.command(
      sql`INSERT INTO ${ident(`${ctx.database}.${TABLES.migrations}`)} (version, name) VALUES (${migration.version}, ${migration.name})`,
    );
    applied.push(migration.version);
    log.info({ version: migration.version, name: migration.name }, 'migration applied');
  }
  const ttlUpdated = await reconcileTtl(store, ctx, log);
  return { applied, ttlUpdated };
}

function migrationsTable(ctx: DdlContext): string[] {
  return createTable(ctx, {
    name: TABLES.migrations,
    columns: ['version UInt32', 'name String', "applied_at DateTime64(3, 'UTC') DEFAULT now64(3)"],
    engine: 'ReplacingMergeTree',
    orderBy: 'version',
  });
}

/** Changes a table's TTL when the configured retention differs from the one in the schema. */
async function reconcileTtl(store: Store, ctx: DdlContext, log: Logger): Promise<string[]> {
  const rows = await store.query<{ name: string; engine_full: string }>(
    sql`SELECT name, engine_full FROM system.tables WHERE database = ${ctx.database}`,
  );
  const updated: string[] = [];
  for (const [table, expr] of Object.entries(TTL_EXPR)) {
    const local = storageName(ctx, table);
    const row = rows.find((r) => r.name === local);
    if (!row) continue;
    const wanted = ttlClause(ctx, table, expr);
    if (row.engine_full.includes(`TTL ${wanted}`)) continue;
    try {
      await store.command(
        `ALTER TABLE ${ctx.database}.${local}${onCluster(ctx)} MODIFY TTL ${wanted}`,
        { materialize_ttl_after_modify: 0 },
      );
    } catch (err) {
      throw storeError(`change retention of ${table}`, err);
    }
    updated.push(table);
    log.info({ table, ttl: wanted }, 'retention changed');
  }
  return updated;
}

/** The schema as ClickHouse reports it: table name → CREATE statement. For checks and tests. */
export async function describeSchema(store: Store): Promise<Record<string, string>> {
  const rows = await store.query<{ name: string; create_table_query: string }>(
    sql`SELECT name, create_table_query FROM system.tables WHERE database = ${store.database} ORDER BY name`,
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.create_table_query]));
}
