// The HA stack seeder: every tier's metric families, its logs, the derived tables and the alerter's
// tables are in the store after real servers, agents, ingester and alerter ran with traffic.

import { afterAll, expect, it } from 'vitest';
import { ident, sql } from '../core/store/sql.ts';
import { seedHaStack, TIERS, type SeededStack, type TierName } from './helpers/ha-stack.ts';

let stack: SeededStack | undefined;
afterAll(async () => {
  await stack?.stop();
});

/** Metric families each tier must have stored, and which of them must sum above zero. */
const EXPECTED: Record<TierName, { present: string[]; positive?: string[] }> = {
  lb: {
    present: ['haproxy_frontend_http_requests_total', 'haproxy_server_up', 'probe_success'],
    positive: ['haproxy_frontend_http_requests_total', 'probe_success'],
  },
  web: {
    present: [
      'nginx_connections_active',
      'nginx_http_requests_total',
      'http_requests_total',
      'http_request_duration_seconds_bucket',
    ],
    positive: ['nginx_http_requests_total'],
  },
  cache: {
    present: [
      'redis_keyspace_hits_total',
      'redis_keyspace_misses_total',
      'redis_connected_replicas',
    ],
    positive: [
      'redis_keyspace_hits_total',
      'redis_keyspace_misses_total',
      'redis_connected_replicas',
    ],
  },
  db: {
    present: ['pg_commits_total', 'pg_rollbacks_total', 'pg_in_recovery'],
    positive: ['pg_commits_total', 'pg_rollbacks_total'],
  },
  mq: {
    present: ['nats_in_messages_total', 'nats_stream_messages', 'nats_consumer_pending_messages'],
    positive: ['nats_in_messages_total'],
  },
  app: {
    present: [
      'http_requests_total',
      'http_request_duration_seconds_bucket',
      'halo_ingest_rows_total',
    ],
    positive: ['http_requests_total', 'halo_ingest_rows_total'],
  },
  host: {
    present: [
      'node_cpu_seconds_total',
      'node_memory_MemAvailable_bytes',
      'node_filesystem_avail_bytes',
      'node_network_receive_bytes_total',
      'node_load1',
    ],
    positive: ['node_memory_MemAvailable_bytes'],
  },
};

it('stores every tier through the real agents and ingester', { timeout: 120_000 }, async () => {
  const began = Date.now();
  stack = await seedHaStack();
  const { store, hosts } = stack;
  const samples = ident(store.table('samples'));

  const families = await store.query<{ tier: string; host: string; name: string; total: number }>(
    sql`SELECT tier, host, name, sum(value) AS total FROM ${samples} GROUP BY tier, host, name`,
  );
  const sumOf = (tier: TierName, name: string) =>
    families.find((f) => f.tier === tier && f.name === name)?.total;
  for (const tier of TIERS) {
    const names = families.filter((f) => f.tier === tier).map((f) => f.name);
    expect(names, tier).toEqual(
      expect.arrayContaining([...EXPECTED[tier].present, 'halo_source_up']),
    );
    expect(families.filter((f) => f.tier === tier).every((f) => f.host === hosts[tier])).toBe(true);
    for (const name of EXPECTED[tier].positive ?? []) {
      expect(sumOf(tier, name), `${tier} ${name}`).toBeGreaterThan(0);
    }
  }
  const hostNames = families.filter((f) => f.tier === 'host').map((f) => f.name);
  expect(hostNames.some((name) => name.startsWith('container_'))).toBe(true);

  const bySource = await store.query<{ tier: string; source: string; up: number }>(
    sql`SELECT tier, labels['source'] AS source, min(value) AS up FROM ${samples}
        WHERE name = 'halo_source_up' GROUP BY tier, source ORDER BY tier, source`,
  );
  expect(
    bySource.filter((s) => s.up !== 1),
    'sources that failed a collection',
  ).toEqual([]);
  const nodeExporter = await store.query<{ n: string }>(
    sql`SELECT count() AS n FROM ${samples}
        WHERE tier = 'host' AND name = 'node_cpu_seconds_total' AND labels['source'] = 'node_exporter'`,
  );
  expect(Number(nodeExporter[0]?.n)).toBeGreaterThan(0);

  const byLabel = async (tier: TierName, name: string, label: string) =>
    Object.fromEntries(
      (
        await store.query<{ label: string; total: number }>(
          sql`SELECT labels[${label}] AS label, sum(value) AS total FROM ${samples}
              WHERE tier = ${tier} AND name = ${name} GROUP BY label`,
        )
      ).map((r) => [r.label, r.total]),
    );
  const webClasses = await byLabel('web', 'http_requests_total', 'status_class');
  expect(webClasses['2xx']).toBeGreaterThan(0);
  expect(webClasses['4xx']).toBeGreaterThan(0);
  expect(webClasses['5xx']).toBeGreaterThan(0);
  const lbCodes = await byLabel('lb', 'haproxy_frontend_http_responses_total', 'code');
  expect(lbCodes['5xx']).toBeGreaterThan(0);
  const appCodes = await byLabel('app', 'http_requests_total', 'code');
  expect(appCodes['500']).toBeGreaterThan(0);

  const logs = await store.query<{ severity: string; n: string }>(
    sql`SELECT severity, count() AS n FROM ${ident(store.table('logs'))}
        WHERE tier = 'web' AND host = ${hosts.web} GROUP BY severity`,
  );
  const logCount = (severity: string) => Number(logs.find((l) => l.severity === severity)?.n ?? 0);
  expect(logCount('error')).toBeGreaterThan(0);
  expect(logCount('info')).toBeGreaterThan(0);

  for (const table of ['samples1m', 'series'] as const) {
    const rows = await store.query<{ tiers: string }>(
      sql`SELECT uniqExact(tier) AS tiers FROM ${ident(store.table(table))}`,
    );
    expect(Number(rows[0]?.tiers), table).toBe(TIERS.length);
  }
  expect(stack.to - stack.from).toBeGreaterThan(5000);
  expect(stack.from).toBeGreaterThanOrEqual(began - 60_000);

  // The real alerter ran: the SLO was evaluated, the SLO and the LB rule fired and paged.
  const count = async (table: 'sloEvaluations' | 'notifications', where = sql`1`) =>
    Number(
      (
        await store.query<{ n: string }>(
          sql`SELECT count() AS n FROM ${ident(store.table(table))} WHERE ${where}`,
        )
      )[0]?.n,
    );
  expect(
    await count('sloEvaluations', sql`slo = 'shop-availability' AND window = 'period'`),
  ).toBeGreaterThan(0);
  const fired = await store.query<{ alertname: string }>(
    sql`SELECT DISTINCT alertname FROM ${ident(store.table('alerts'))} WHERE state = 'firing'`,
  );
  expect(fired.map((r) => r.alertname).sort()).toEqual(['lb-5xx', 'shop-availability']);
  expect(await count('notifications', sql`outcome = 'sent'`)).toBeGreaterThan(0);
  // Its figures reached the store through the agent scraping its /metrics (a counter's first
  // sight sends no delta, so a count made only once may add up to zero: present is enough).
  expect(sumOf('app', 'halo_alerter_evaluation_seconds_count')).toBeGreaterThan(0);
  expect(sumOf('app', 'halo_notifications_total')).toBeDefined();
});
