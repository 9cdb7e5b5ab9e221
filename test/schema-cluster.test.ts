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

describe('with clickhouse.cluster set', () => {
  it('every statement parses in ClickHouse and runs ON CLUSTER', async () => {
    for (const statement of statements) {
      const [row] = await store.query<{ formatted: string }>(
        sql`SELECT formatQuery(${statement}) AS formatted`,
      );
      expect(row?.formatted).toContain('ON CLUSTER halo_cluster');
    }
  });

  it('stores rows in Replicated _local tables and puts a Distributed table of the plain name in front', () => {
    const tables = [
      'samples',
      'samples_1m',
      'samples_1h',
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

  it('feeds the rollups from the local tables, so each replica aggregates its own inserts', () => {
    const views = statements.filter((s) => s.startsWith('CREATE MATERIALIZED VIEW'));
    expect(views).toHaveLength(2);
    expect(views[0]).toContain('TO halo.samples_1m_local');
    expect(views[0]).toContain('FROM halo.samples_local');
    expect(views[1]).toContain('TO halo.samples_1h_local');
    expect(views[1]).toContain('FROM halo.samples_1m_local');
  });
});
