// The cluster schema compose's `halo migrate` makes: every table of every migration, run through
// migrate() itself with compose's config, is Replicated `_local` + Distributed, ON CLUSTER halo,
// and compose's ClickHouse users are granted tables that schema has.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haloConfigSchema } from '../cli/config-schema.ts';
import { loadConfig } from '../core/config/load.ts';
import { TABLES } from '../core/conventions.ts';
import { silentLogger } from '../core/logger.ts';
import { migrate } from '../core/store/migrate.ts';
import { MIGRATIONS } from '../core/store/migrations/index.ts';
import { sql, type BoundQuery } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { openTestStore } from './helpers/store.ts';

const COMPOSE = resolve(import.meta.dirname, '../compose');
const { config } = loadConfig({
  schema: haloConfigSchema,
  path: join(COMPOSE, 'halo/migrate.yaml'),
  env: {},
});
const CLUSTER = 'halo';
const DB = 'halo';

/**
 * A store that answers nothing and records every statement migrate() sends it: the schema as
 * `halo migrate` would write it to a fresh cluster (no migration done yet), or, with `done`, the
 * statements a role's start-up check sends once every migration is.
 */
function recordingStore(done: readonly number[] = []): { store: Store; sent: string[] } {
  const sent: string[] = [];
  const store: Store = {
    // Never used: every statement goes through query() and command() below.
    client: createClient({ url: 'http://127.0.0.1:9' }),
    engine: undefined,
    mode: 'server',
    database: config.clickhouse.database,
    cluster: config.clickhouse.cluster,
    location: 'recording',
    table: (key) => `${config.clickhouse.database}.${TABLES[key]}`,
    async query<T>(query: BoundQuery): Promise<T[]> {
      sent.push(query.text);
      const rows = query.text.includes('SELECT DISTINCT version')
        ? done.map((version) => ({ version }))
        : [];
      return rows as T[];
    },
    async command(query: BoundQuery | string): Promise<void> {
      sent.push(typeof query === 'string' ? query : query.text);
    },
    ping: async () => true,
    close: async () => undefined,
  };
  return { store, sent };
}

let fresh: string[];
let startup: string[];
/** Statement → what ClickHouse's own parser makes of it (formatQuery), for the checks below. */
const formatted = new Map<string, string>();
let parser: Store;

beforeAll(async () => {
  const first = recordingStore();
  await migrate(first.store, config, silentLogger());
  fresh = first.sent;
  const again = recordingStore(MIGRATIONS.map((m) => m.version));
  await migrate(again.store, config, silentLogger());
  startup = again.sent;
  ({ store: parser } = await openTestStore());
  for (const statement of fresh.filter((s) => !s.startsWith('SELECT'))) {
    const [row] = await parser.query<{ f: string }>(sql`SELECT formatQuery(${statement}) AS f`);
    formatted.set(statement, row?.f ?? '');
  }
});
afterAll(async () => {
  await parser?.close();
});

const ddl = () => fresh.filter((s) => /^(CREATE|ALTER|DROP) /.test(s));
const creates = (kind: 'TABLE' | 'MATERIALIZED VIEW') =>
  ddl().filter((s) => s.startsWith(`CREATE ${kind} IF NOT EXISTS `));
const nameOf = (statement: string) =>
  /^CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS halo\.(\w+) /.exec(statement)?.[1] ?? '';
const tableNames = () => new Set(creates('TABLE').map(nameOf));

/** The tables of every migration (and the migrations table), by plain name. */
const plainTables = () =>
  [...tableNames()].filter((name) => !name.endsWith('_local') && name !== TABLES.samplesRollups);

describe("compose's cluster schema, as `halo migrate` makes it", () => {
  it('uses the cluster and database of compose/halo/migrate.yaml', () => {
    expect(config.clickhouse.cluster).toBe(CLUSTER);
    expect(config.clickhouse.database).toBe(DB);
  });

  it('runs every DDL statement ON CLUSTER halo, as ClickHouse parses it', () => {
    expect(ddl().length).toBeGreaterThan(30);
    for (const statement of ddl()) {
      expect(formatted.get(statement), statement).toMatch(/^(CREATE|ALTER|DROP) /);
      expect(formatted.get(statement), statement).toContain(` ON CLUSTER ${CLUSTER}`);
    }
    expect(fresh[0]).toBe(`CREATE DATABASE IF NOT EXISTS ${DB} ON CLUSTER ${CLUSTER}`);
  });

  it('covers every table Halo names, and the migrations table', () => {
    const expected = Object.values(TABLES).filter((t) => t !== TABLES.samplesRollups);
    expect(plainTables().sort()).toEqual([...expected].sort());
  });

  it.each(Object.values(TABLES).filter((t) => t !== TABLES.samplesRollups))(
    '%s: rows in a Replicated*MergeTree _local table at its own Keeper path, a Distributed table in front',
    (table) => {
      const locals = creates('TABLE').filter((s) => nameOf(s) === `${table}_local`);
      expect(locals, table).toHaveLength(1);
      expect(locals[0]).toMatch(
        new RegExp(
          `^CREATE TABLE IF NOT EXISTS halo\\.${table}_local ON CLUSTER halo\\n[^]*\\nENGINE = Replicated\\w*MergeTree\\('/clickhouse/tables/\\{shard\\}/\\{database\\}/${table}_local', '\\{replica\\}'`,
        ),
      );
      const fronts = creates('TABLE').filter((s) => nameOf(s) === table);
      expect(fronts, table).toHaveLength(1);
      expect(fronts[0]).toMatch(
        new RegExp(
          `^CREATE TABLE IF NOT EXISTS halo\\.${table} ON CLUSTER halo AS halo\\.${table}_local\\nENGINE = Distributed\\(halo, halo, ${table}_local, [^)]+\\)?\\)$`,
        ),
      );
    },
  );

  it('makes no _local table without its Distributed table, and no Distributed table over another', () => {
    for (const statement of creates('TABLE')) {
      const engine = /\nENGINE = (\w+)/.exec(statement)?.[1] ?? '';
      const name = nameOf(statement);
      if (name.endsWith('_local')) {
        expect(engine, name).toMatch(/^Replicated\w*MergeTree$/);
        expect(tableNames().has(name.replace(/_local$/, '')), name).toBe(true);
      } else if (engine === 'Distributed') {
        expect(statement, name).toContain(`ENGINE = Distributed(${CLUSTER}, ${DB}, ${name}_local,`);
      } else {
        expect(name).toBe(TABLES.samplesRollups);
      }
    }
  });

  it('feeds every materialized view from a _local table into a _local table', () => {
    const views = creates('MATERIALIZED VIEW');
    expect(views.length).toBeGreaterThanOrEqual(4);
    for (const view of views) {
      const to = /\nTO halo\.(\w+)\n/.exec(view)?.[1];
      const sources = [...view.matchAll(/\bFROM halo\.(\w+)/g)].map((m) => m[1]);
      expect(sources, view).toHaveLength(1);
      const source = sources[0];
      expect(to, view).toMatch(/_local$/);
      expect(source, view).toMatch(/_local$/);
      expect(tableNames().has(to!), view).toBe(true);
      expect(tableNames().has(source!), view).toBe(true);
    }
  });

  it('reads the rollups through their Distributed tables in the Merge table', () => {
    const merge = creates('TABLE').filter((s) => nameOf(s) === TABLES.samplesRollups);
    expect(merge).toHaveLength(1);
    const regexp = /ENGINE = Merge\('halo', '\^\(([\w|]+)\)\$'\)$/.exec(merge[0]!)?.[1];
    const rollups = regexp?.split('|') ?? [];
    expect(rollups).toEqual([TABLES.samples1m, TABLES.samples5m, TABLES.samples1h]);
    for (const rollup of rollups) {
      const front = creates('TABLE').find((s) => nameOf(s) === rollup);
      expect(front, rollup).toContain(`ENGINE = Distributed(${CLUSTER}, ${DB}, ${rollup}_local,`);
    }
  });

  it('alters tables that exist: projections on _local tables, columns on both', () => {
    for (const alter of ddl().filter((s) => s.startsWith('ALTER TABLE'))) {
      const table = /^ALTER TABLE halo\.(\w+) ON CLUSTER halo /.exec(alter)?.[1];
      expect(tableNames().has(table ?? ''), alter).toBe(true);
      if (alter.includes('PROJECTION')) expect(table, alter).toMatch(/_local$/);
    }
  });

  it('writes data only through Distributed tables, each insert reaching the shards before the next', () => {
    const inserts = fresh.filter((s) => s.startsWith('INSERT INTO'));
    const data = inserts.filter((s) => !s.startsWith(`INSERT INTO halo.${TABLES.migrations} `));
    expect(data.length).toBeGreaterThanOrEqual(5);
    for (const insert of data) {
      expect(insert).not.toContain('_local');
      expect(insert).toMatch(/\nSETTINGS insert_distributed_sync = 1$/);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// compose/clickhouse/users.d/halo-users.xml against that schema.

const usersXml = readFileSync(join(COMPOSE, 'clickhouse/users.d/halo-users.xml'), 'utf8');

/** The users section: a profile may share a user's name (halo_grafana). */
const usersSection = /<users>([^]*)<\/users>/.exec(usersXml)?.[1] ?? '';

function grantsOf(user: string): string[] {
  const block = new RegExp(`<${user}>([^]*?)</${user}>`).exec(usersSection)?.[1] ?? '';
  return [...block.matchAll(/<query>(GRANT [^<]+)<\/query>/g)].map((m) => m[1]!);
}

/** The tables a grant names, with the privilege: `INSERT halo.*`, `SELECT halo.ingest_journal`. */
function grantTargets(grant: string): Array<{ privilege: string; table: string }> {
  const match = /^GRANT ([A-Z ]+?) ON (\S+)$/.exec(grant);
  if (!match) throw new Error(`unexpected grant ${grant}`);
  return [{ privilege: match[1]!, table: match[2]! }];
}

function allowed(user: string, privilege: string, table: string): boolean {
  return grantsOf(user)
    .flatMap(grantTargets)
    .some(
      (g) =>
        g.privilege === privilege &&
        (g.table === table || g.table === `${DB}.*` || g.table === '*.*'),
    );
}

describe("compose's ClickHouse users", () => {
  const users = ['halo_admin', 'halo_ingester', 'halo_alerter', 'halo_grafana'];

  it.each(users)('%s: every grant parses and names a table the schema has', async (user) => {
    const grants = grantsOf(user);
    expect(grants.length, user).toBeGreaterThan(0);
    for (const grant of grants) {
      const [row] = await parser.query<{ f: string }>(
        sql`SELECT formatQuery(${`${grant} TO ${user}`}) AS f`,
      );
      expect(row?.f, grant).toMatch(/^GRANT /);
      for (const { table } of grantTargets(grant)) {
        if (table === '*.*' || table === `${DB}.*`) continue;
        expect(tableNames().has(table.replace(`${DB}.`, '')), grant).toBe(true);
      }
    }
  });

  it('gives the roles what their start-up schema check sends, once halo-migrate ran, and no more DDL', () => {
    // What a role sends at start when every migration is done: the database, the migrations
    // table, and the read of which ran; no migration and no ALTER.
    expect(startup.map((s) => s.split('\n')[0])).toEqual([
      `CREATE DATABASE IF NOT EXISTS ${DB} ON CLUSTER ${CLUSTER}`,
      `CREATE TABLE IF NOT EXISTS ${DB}.${TABLES.migrations}_local ON CLUSTER ${CLUSTER}`,
      `CREATE TABLE IF NOT EXISTS ${DB}.${TABLES.migrations} ON CLUSTER ${CLUSTER} AS ${DB}.${TABLES.migrations}_local`,
      `SELECT DISTINCT version FROM ${DB}.${TABLES.migrations}`,
      `SELECT name, engine_full FROM system.tables WHERE database = {p0:String}`,
    ]);
    for (const user of ['halo_ingester', 'halo_alerter']) {
      expect(allowed(user, 'CREATE DATABASE', `${DB}.*`), user).toBe(true);
      expect(allowed(user, 'CLUSTER', '*.*'), user).toBe(true);
      for (const table of [`${TABLES.migrations}_local`, TABLES.migrations]) {
        expect(allowed(user, 'CREATE TABLE', `${DB}.${table}`), `${user} ${table}`).toBe(true);
        expect(allowed(user, 'SELECT', `${DB}.${table}`), `${user} ${table}`).toBe(true);
      }
      // No other DDL right: a pending migration is halo-migrate's to apply.
      const ddlGrants = grantsOf(user).filter((g) => /^GRANT (CREATE|ALTER|DROP)/.test(g));
      expect(
        ddlGrants.every((g) => /schema_migrations|CREATE DATABASE/.test(g)),
        user,
      ).toBe(true);
    }
  });

  it('lets the ingester insert and read only its journal back', () => {
    expect(allowed('halo_ingester', 'INSERT', `${DB}.${TABLES.samples}`)).toBe(true);
    expect(allowed('halo_ingester', 'SELECT', `${DB}.${TABLES.samples}`)).toBe(false);
    expect(allowed('halo_ingester', 'SELECT', `${DB}.${TABLES.ingestJournal}`)).toBe(true);
    expect(allowed('halo_ingester', 'SELECT', `${DB}.${TABLES.ingestJournal}_local`)).toBe(true);
  });

  it('lets the alerter read everything and write its own tables only', () => {
    expect(allowed('halo_alerter', 'SELECT', `${DB}.${TABLES.samples}`)).toBe(true);
    for (const own of [TABLES.alerts, TABLES.notifications, TABLES.sloEvaluations]) {
      expect(allowed('halo_alerter', 'INSERT', `${DB}.${own}`), own).toBe(true);
      expect(allowed('halo_alerter', 'INSERT', `${DB}.${own}_local`), own).toBe(true);
    }
    expect(allowed('halo_alerter', 'INSERT', `${DB}.${TABLES.samples}`)).toBe(false);
  });

  it('keeps Grafana read-only, with max_execution_time changeable within a bound', () => {
    expect(grantsOf('halo_grafana')).toEqual([`GRANT SELECT ON ${DB}.*`]);
    const profile =
      /<profiles>[^]*?<halo_grafana>([^]*?)<\/halo_grafana>/.exec(usersXml)?.[1] ?? '';
    expect(profile).toContain('<readonly>1</readonly>');
    expect(profile).toMatch(
      /<constraints>\s*<max_execution_time>\s*<max>\d+<\/max>\s*<changeable_in_readonly\/>/,
    );
  });

  it('reads every password from the environment', () => {
    for (const user of users) {
      const block = new RegExp(`<${user}>([^]*?)</${user}>`).exec(usersSection)?.[1] ?? '';
      expect(block, user).toMatch(/<password from_env="[A-Z_]+"\/>/);
    }
  });
});
