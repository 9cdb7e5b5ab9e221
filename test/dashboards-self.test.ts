// The Halo-itself dashboard: structure, and every panel and variable query on the self metrics
// (as the prometheus source scrapes them), source states and the notification log in chDB.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import type { MacroContext } from '../dashboards/macros.ts';
import { selfDashboard } from '../dashboards/self.ts';
import { checkDashboard } from '../dashboards/structure.ts';
import {
  HOUR,
  expectShape,
  queryVariables,
  runSql,
  targetsOf,
  toJson,
} from './helpers/dashboard-queries.ts';
import { openTestStore } from './helpers/store.ts';

const STEP = 60_000;
const now = Math.floor(Date.now() / STEP) * STEP;
const start = now - 25 * HOUR;

type Add = (name: string, labels: Record<string, string>, value: number) => void;

/** prom-client histogram series: cumulative `_bucket` deltas with `le`, `_sum`, `_count`. */
function histogram(
  add: Add,
  name: string,
  labels: Record<string, string>,
  bounds: number[],
  counts: number[],
  sum: number,
) {
  bounds.forEach((le, i) => add(`${name}_bucket`, { ...labels, le: String(le) }, counts[i]!));
  add(`${name}_bucket`, { ...labels, le: '+Inf' }, counts[counts.length - 1]!);
  add(`${name}_sum`, labels, sum);
  add(`${name}_count`, labels, counts[counts.length - 1]!);
}

/**
 * Three agents: web-1 (nginx up, redis down in the last ten minutes), halo-1 (the Halo host,
 * whose prometheus source `halo` scrapes the agent, ingest and alerter registries) and old-1,
 * which stopped an hour ago.
 */
function rows(): SampleRow[] {
  const out: SampleRow[] = [];
  for (let ts = start; ts <= now; ts += STEP) {
    const on =
      (tier: string, host: string, service = ''): Add =>
      (name, labels, value) =>
        out.push({ name, tier, host, service, labels, ts, value });
    const web = on('web', 'web-1');
    web('halo_source_up', { source: 'nginx', type: 'nginx' }, 1);
    web('halo_source_duration_seconds', { source: 'nginx', type: 'nginx' }, 0.02);
    web('halo_source_up', { source: 'redis', type: 'redis' }, ts > now - 10 * STEP ? 0 : 1);
    web('halo_source_duration_seconds', { source: 'redis', type: 'redis' }, 0.01);
    if (ts < now - HOUR)
      on('web', 'old-1')('halo_source_up', { source: 'nginx', type: 'nginx' }, 1);

    const halo = on('halo', 'halo-1', 'halo');
    halo('halo_source_up', { source: 'halo', type: 'prometheus' }, 1);
    halo('halo_source_duration_seconds', { source: 'halo', type: 'prometheus' }, 0.05);
    const agent = { source: 'halo', role: 'agent' };
    halo('halo_agent_samples_total', agent, 600);
    halo('halo_agent_invalid_samples_total', agent, 0);
    halo('halo_agent_source_errors_total', agent, ts > now - 10 * STEP ? 1 : 0);
    halo('halo_agent_batches_total', { ...agent, outcome: 'published' }, 6);
    halo('halo_agent_batches_total', { ...agent, outcome: 'spooled' }, 0);
    halo('halo_agent_log_records_total', agent, 120);
    halo('halo_agent_spool_bytes', agent, 0);
    halo('halo_agent_spool_batches', agent, 0);
    const ingest = { source: 'halo', role: 'ingest' };
    for (const kind of ['metrics', 'logs']) {
      const k = { ...ingest, kind };
      halo('halo_ingest_rows_total', k, 6000);
      halo('halo_ingest_batches_total', { ...k, outcome: 'stored' }, 12);
      halo('halo_ingest_redelivered_total', k, 0);
      halo('halo_ingest_dead_letters_total', k, ts % (30 * STEP) === 0 ? 1 : 0);
      halo('halo_ingest_insert_errors_total', k, 0);
      histogram(
        halo,
        'halo_ingest_insert_seconds',
        k,
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        [0, 1, 4, 8, 11, 12, 12, 12, 12, 12],
        0.6,
      );
      histogram(halo, 'halo_ingest_insert_rows', k, [1, 100, 1000, 10_000], [0, 2, 12, 12], 6000);
      histogram(halo, 'halo_ingest_insert_batches', k, [1, 2, 5, 10], [6, 12, 12, 12], 12);
    }
    halo('halo_ingest_dropped_series_total', { ...ingest, tier: 'web' }, 0);
    halo('halo_ingest_dropped_samples_total', { ...ingest, tier: 'web' }, 0);
    halo('halo_ingest_consumer_pending', { ...ingest, stream: 'HALO_METRICS' }, 3);
    halo('halo_ingest_consumer_pending', { ...ingest, stream: 'HALO_LOGS' }, 1);
    const alerter = { source: 'halo', role: 'alerter' };
    histogram(
      halo,
      'halo_alerter_evaluation_seconds',
      alerter,
      [0.05, 0.1, 0.25, 0.5, 1],
      [0, 1, 2, 2, 2],
      0.3,
    );
    halo('halo_alerter_evaluation_failures_total', alerter, 0);
    halo('halo_alerter_evaluations_skipped_total', alerter, 0);
    halo(
      'halo_alerter_transitions_total',
      { ...alerter, to: 'firing' },
      ts % (60 * STEP) === 0 ? 1 : 0,
    );
    for (const [state, n] of [
      ['pending', 0],
      ['firing', 2],
      ['resolved', 1],
    ] as const)
      halo('halo_alerter_alerts', { ...alerter, state }, n);
    halo('halo_alerter_leading', alerter, 1);
    const n = { ...alerter, receiver: 'ops', integration: 'webhook' };
    halo('halo_notifications_total', { ...n, outcome: 'sent' }, ts % (60 * STEP) === 0 ? 1 : 0);
    halo('halo_notifications_total', { ...n, outcome: 'failed' }, 0);
    halo('halo_notification_requests_total', { ...n, code: '200' }, ts % (60 * STEP) === 0 ? 1 : 0);
    for (const role of ['agent', 'ingest', 'alerter']) {
      halo('halo_process_cpu_seconds_total', { source: 'halo', role }, 3);
      halo('halo_process_resident_memory_bytes', { source: 'halo', role }, 120e6);
      halo('halo_check_up', { source: 'halo', role, check: 'store' }, 1);
    }
  }
  return out;
}

const chTime = (ms: number): string =>
  new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
const notifications = () =>
  [1, 2, 3].map((i) => ({
    ts: chTime(now - i * 10 * STEP),
    receiver: 'ops',
    integration: 'webhook',
    group_key: `{}:{alertname="X${i}"}`,
    firing_alerts: [i],
    resolved_alerts: [],
    outcome: i === 2 ? 'failed' : 'sent',
    attempts: i,
    error: i === 2 ? 'HTTP 503' : '',
    expires_at: chTime(now + 24 * HOUR),
  }));

const json = toJson(selfDashboard());

describe('selfDashboard', () => {
  it('is sound: ids, grid, datasources, variables', () => {
    expect(checkDashboard(json)).toEqual([]);
    expect(json).toMatchObject({ uid: 'halo-self', title: 'Halo / Halo itself' });
    expect(json.templating.list.map((v) => v.name)).toEqual(['tier', 'host']);
  });
});

describe('every Halo-itself panel on chDB', () => {
  let store: Store;
  let database: string;
  beforeAll(async () => {
    const opened = await openTestStore();
    store = opened.store;
    database = opened.config.clickhouse.database;
    const all = rows();
    for (let i = 0; i < all.length; i += 100_000)
      await writeSamples(store, all.slice(i, i + 100_000));
    await store.client.insert({
      table: store.table('notifications'),
      values: notifications(),
      format: 'JSONEachRow',
    });
  }, 120_000);
  afterAll(async () => {
    await store?.close();
  });

  const ctx = (rangeMs: number, intervalMs: number): MacroContext => ({
    from: now - rangeMs,
    to: now,
    intervalMs,
    variables: { tier: ['web', 'halo'], host: ['web-1', 'halo-1', 'old-1'] },
  });
  const sqlOf = (id: number) => json.panels.find((p) => p.id === id)!.targets![0]!.rawSql;

  describe.each([
    ['30 minutes', 30 * 60_000, 10_000],
    ['24 hours', 24 * HOUR, 300_000],
  ] as const)('over %s', (_, rangeMs, intervalMs) => {
    it.each(targetsOf(json))('%s', async (_label, panel, target) => {
      expectShape(panel, await runSql(store, database, target.rawSql, ctx(rangeMs, intervalMs)));
    });
    it.each(queryVariables(json).map((v) => [v.name, v] as const))(
      'variable %s lists values',
      async (_name, v) => {
        const { data } = await runSql(store, database, String(v.query), ctx(rangeMs, intervalMs));
        expect(data.length).toBeGreaterThan(0);
      },
    );
  });

  it('counts agents reporting, silent, and sources down', async () => {
    const c = ctx(24 * HOUR, 300_000);
    const value = async (id: number) =>
      Number((await runSql(store, database, sqlOf(id), c)).data[0]?.['value']);
    expect(await value(1)).toBe(2);
    expect(await value(2)).toBe(1);
    expect(await value(3)).toBe(1);
    expect(await value(7)).toBe(1);
    expect(await value(8)).toBe(2);
  });

  it('the sources table puts down and silent sources first', async () => {
    const { data } = await runSql(store, database, sqlOf(11), ctx(24 * HOUR, 300_000));
    expect(data.map((r) => [r['host'], r['source'], r['state']])).toEqual([
      ['old-1', 'nginx', 'silent'],
      ['web-1', 'redis', 'down'],
      ['halo-1', 'halo', 'up'],
      ['web-1', 'nginx', 'up'],
    ]);
  });

  it('the last notifications come newest first with their outcome', async () => {
    const { data } = await runSql(store, database, sqlOf(54), ctx(HOUR, 60_000));
    expect(data.map((r) => [r['outcome'], r['error']])).toEqual([
      ['sent', ''],
      ['failed', 'HTTP 503'],
      ['sent', ''],
    ]);
  });
});
