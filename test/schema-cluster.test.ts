// The cluster variant of the migrations: Replicated tables ON CLUSTER with Distributed tables in
// front, checked statement by statement with ClickHouse's own parser (formatQuery).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ddlContext } from '../core/store/migrate.ts';
import { MIGRATIONS } from '../core/store/migrations/index.ts';
import { sql } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { testConfig } from './helpers/config.ts';
import { openTestStore } from './helpers/store.ts';

let store: Store;
beforeAll(async () => {
  ({ store } = await openTestStore());
});
afterAll(async () => {
  await store.close();
});

const clusterConfig = testConfig({ clickhouse: { cluster: 'halo_cluster', database: 'halo' } });
const statements = MIGRATIONS.flatMap((m) => m.statements(ddlContext(clusterConfig)));

/** The statements of one migration, for the cluster. */
function statementsOf(version: number): string[] {
  const migration = MIGRATIONS.find((m) => m.version === version);
  if (!migration) throw new Error(`no migration ${version}`);
  return migration.statements(ddlContext(clusterConfig));
}

describe('with clickhouse.cluster set', () => {
  it('every statement parses in ClickHouse; every DDL statement runs ON CLUSTER', async () => {
    for (const statement of statements) {
      const [row] = await store.query<{ formatted: string }>(
        sql`SELECT formatQuery(${statement}) AS formatted`,
      );
      expect(row?.formatted, statement).toMatch(/^(CREATE|ALTER|DROP|INSERT) /);
      if (row?.formatted.startsWith('INSERT')) continue;
      expect(row?.formatted, statement).toContain('ON CLUSTER halo_cluster');
    }
  });

  it('runs its data statements, the series backfill, through the Distributed tables', () => {
    const data = statements.filter((s) => !/^(CREATE|ALTER|DROP) /.test(s));
    const inserts = data.filter((s) => s.startsWith('INSERT INTO halo.series '));
    expect(inserts).toHaveLength(3);
    // Migrations 9 and 10 fill their new tables once, through the Distributed tables too.
    const fills = data.filter((s) => !s.startsWith('INSERT INTO halo.series '));
    expect(fills.map((s) => /^INSERT INTO (\S+)/.exec(s)?.[1])).toEqual([
      'halo.samples_5m',
      'halo.logs_errors',
    ]);
    expect(fills[0]).toContain(
      'FROM halo.samples_1m WHERE (SELECT count() FROM halo.samples_5m) = 0',
    );
    expect(fills[1]).toContain('FROM halo.logs\n');
    expect(fills[1]).toContain('(SELECT count() FROM halo.logs_errors) = 0');
    for (const fill of fills) {
      expect(fill).not.toContain('_local');
      expect(fill).toMatch(/\nSETTINGS insert_distributed_sync = 1$/);
    }
    // From the samples, then from each rollup (which outlives the samples) for series not found yet.
    const sources = ['samples', 'samples_1m', 'samples_1h'];
    inserts.forEach((insert, i) => {
      // Through the Distributed tables: the SELECT reads every shard, the rows go to their shard.
      expect(insert, sources[i]).toMatch(
        /^INSERT INTO halo\.series \(name, tier, host, service, labels, fingerprint, first_seen, last_seen\)\n/,
      );
      expect(insert, sources[i]).toContain(`\nFROM halo.${sources[i]}\n`);
      expect(insert, sources[i]).toContain('GROUP BY fingerprint');
      expect(insert, sources[i]).not.toContain('_local');
    });
    expect(inserts[0]).not.toContain('NOT IN');
    for (const insert of inserts.slice(1)) {
      // GLOBAL: a plain IN over two Distributed tables is refused on a cluster.
      expect(insert).toContain(
        'WHERE fingerprint GLOBAL NOT IN (SELECT fingerprint FROM halo.series)',
      );
    }
    // Each insert reaches the shards before the next one looks for what it stored.
    for (const insert of inserts) expect(insert).toMatch(/\nSETTINGS insert_distributed_sync = 1$/);
    // Migration 5 ends with them, once the rollup views are back.
    expect(statementsOf(5).slice(-3)).toEqual(inserts);
  });

  it('stores rows in Replicated _local tables and puts a Distributed table of the plain name in front', () => {
    const tables = [
      'samples',
      'samples_1m',
      'samples_1h',
      'series',
      'ingest_journal',
      'logs',
      'alert_history',
      'notification_log',
      'slo_evaluations',
    ];
    for (const table of tables) {
      const local = statements.find((s) =>
        s.startsWith(`CREATE TABLE IF NOT EXISTS halo.${table}_local ON CLUSTER`),
      );
      expect(local, table).toMatch(
        /ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\//,
      );
      const front = statements.find((s) =>
        s.startsWith(`CREATE TABLE IF NOT EXISTS halo.${table} ON CLUSTER`),
      );
      expect(front, table).toContain(`ENGINE = Distributed(halo_cluster, halo, ${table}_local,`);
    }
    expect(statements.join('\n')).toContain('replicated_deduplication_window = 10000');
    expect(statements.join('\n')).not.toContain('non_replicated_deduplication_window');
  });

  it('puts one Merge table over the Distributed rollups, not their _local tables', () => {
    expect(statementsOf(11)).toEqual([
      'CREATE TABLE IF NOT EXISTS halo.samples_rollups ON CLUSTER halo_cluster AS halo.samples_1m\n' +
        "ENGINE = Merge('halo', '^(samples_1m|samples_5m|samples_1h)$')",
    ]);
  });

  it('keeps series in a ReplicatedAggregatingMergeTree, sharded like the samples by fingerprint', () => {
    const [local, front] = statementsOf(5);
    expect(local).toMatch(
      /^CREATE TABLE IF NOT EXISTS halo\.series_local ON CLUSTER halo_cluster\n/,
    );
    expect(local).toContain(
      "ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/{database}/series_local', '{replica}')",
    );
    expect(local).toContain('labels SimpleAggregateFunction(any, Map(String, String))');
    expect(local).toContain('TTL last_seen + toIntervalSecond(');
    expect(front).toBe(
      'CREATE TABLE IF NOT EXISTS halo.series ON CLUSTER halo_cluster AS halo.series_local\n' +
        'ENGINE = Distributed(halo_cluster, halo, series_local, fingerprint)',
    );
    const samples = statements.find((s) =>
      s.startsWith('CREATE TABLE IF NOT EXISTS halo.samples_local ON CLUSTER'),
    );
    const fingerprint = (create: string | undefined) =>
      /\n {2}fingerprint UInt64 DEFAULT (.*),\n/.exec(create ?? '')?.[1];
    // The same expression as the samples: a series row and its samples share a fingerprint.
    expect(fingerprint(samples)).toBe('cityHash64(name, tier, host, service, mapSort(labels))');
    expect(fingerprint(local)).toBe(fingerprint(samples));
    expect(statements).toContain(
      'CREATE TABLE IF NOT EXISTS halo.samples ON CLUSTER halo_cluster AS halo.samples_local\n' +
        'ENGINE = Distributed(halo_cluster, halo, samples_local, fingerprint)',
    );
  });

  it('recreates the rollup views from the local tables without labels, leaving the rollup tables as they are', () => {
    const views = statements.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW'));
    // Migration 1's two rollup views, then migration 5's two, then 9's and 10's: no other view.
    expect(views.map((v) => /^CREATE MATERIALIZED VIEW IF NOT EXISTS (\S+) /.exec(v)?.[1])).toEqual(
      [
        'halo.samples_1m_mv',
        'halo.samples_1h_mv',
        'halo.samples_1m_mv',
        'halo.samples_1h_mv',
        'halo.samples_5m_mv',
        'halo.logs_errors_mv',
      ],
    );
    for (const view of views) expect(view).toContain(' ON CLUSTER halo_cluster\n');
    const [oldMinute, oldHour, minute, hour, five, errors] = views;
    expect(five).toContain('TO halo.samples_5m_local');
    expect(five).toContain('FROM halo.samples_1m_local');
    expect(five).not.toMatch(/\blabels\b/);
    expect(errors).toContain('TO halo.logs_errors_local');
    expect(errors).toContain('FROM halo.logs_local');
    expect(oldMinute).toContain('any(labels) AS labels');
    expect(oldHour).toContain('any(labels) AS labels');
    expect(minute).toContain('TO halo.samples_1m_local');
    expect(minute).toContain('FROM halo.samples_local');
    expect(hour).toContain('TO halo.samples_1h_local');
    expect(hour).toContain('FROM halo.samples_1m_local');
    // A rollup row finds its labels in series by fingerprint.
    expect(minute).not.toMatch(/\blabels\b/);
    expect(hour).not.toMatch(/\blabels\b/);
    // Otherwise the views of migration 1, so migration 1's statements may run again after 5.
    expect(minute).toBe(oldMinute!.replace('any(labels) AS labels, ', ''));
    expect(hour).toBe(oldHour!.replace('any(labels) AS labels, ', ''));

    const migration5 = statementsOf(5);
    // The old views go first (the newest first), then come back; no table is altered.
    const drops = migration5.filter((s) => s.startsWith('DROP'));
    expect(drops).toEqual([
      'DROP VIEW IF EXISTS halo.samples_1h_mv ON CLUSTER halo_cluster',
      'DROP VIEW IF EXISTS halo.samples_1m_mv ON CLUSTER halo_cluster',
    ]);
    expect(migration5.filter((s) => s.startsWith('ALTER'))).toEqual([]);
    expect(statements.join('\n')).not.toContain('DROP COLUMN');
    const at = (s: string) => migration5.indexOf(s);
    expect(Math.max(...drops.map(at))).toBeLessThan(Math.min(at(minute!), at(hour!)));
    // The rollup tables still hold labels (for the rows written before), created by migration 1 only.
    for (const rollup of ['samples_1m', 'samples_1h']) {
      const creates = statements.filter((s) =>
        s.startsWith(`CREATE TABLE IF NOT EXISTS halo.${rollup}_local `),
      );
      expect(creates, rollup).toHaveLength(1);
      expect(creates[0], rollup).toContain(
        '  labels SimpleAggregateFunction(any, Map(String, String)),\n',
      );
      expect(statementsOf(1)).toContain(creates[0]);
    }
  });
});
