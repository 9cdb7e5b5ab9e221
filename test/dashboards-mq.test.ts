// The queues dashboard: structure, and every panel and variable query on NATS series in chDB.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import type { MacroContext } from '../dashboards/macros.ts';
import { mqDashboard } from '../dashboards/mq.ts';
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
const HOSTS = ['nats-1', 'nats-2'];

/** What the nats source sends every minute, counters as deltas, with the agent's `source`. */
function rows(): SampleRow[] {
  const out: SampleRow[] = [];
  for (let ts = start; ts <= now; ts += STEP) {
    HOSTS.forEach((host, h) => {
      const add = (name: string, value: number, labels: Record<string, string> = {}) =>
        out.push({
          name,
          tier: 'mq',
          host,
          service: 'nats',
          labels: { ...labels, source: 'nats' },
          ts,
          value,
        });
      add('halo_source_up', 1, { type: 'nats' });
      add('nats_connections', 40 + h);
      add('nats_connections_total', 2);
      add('nats_in_messages_total', 6000);
      add('nats_out_messages_total', 12_000);
      add('nats_in_bytes_total', 600_000);
      add('nats_out_bytes_total', 1_200_000);
      add('nats_slow_consumers_total', ts % (10 * STEP) === 0 ? 1 : 0);
      add('nats_subscriptions', 300);
      add('nats_memory_bytes', 64e6);
      add('nats_routes', 2);
      add('nats_leafnodes', 0);
      add('nats_cpu_ratio', 0.12);
      add('nats_jetstream_memory_used_bytes', 1e6);
      add('nats_jetstream_storage_used_bytes', 4e9);
      add('nats_jetstream_memory_max_bytes', 1e9);
      add('nats_jetstream_storage_max_bytes', 10e9);
      add('nats_jetstream_api_requests_total', 120);
      add('nats_jetstream_api_errors_total', 1);
      // Each server leads one stream and its consumer.
      const stream = h === 0 ? 'HALO_METRICS' : 'HALO_LOGS';
      const s = { account: '$G', stream };
      add('nats_stream_messages', 1000 + h, s);
      add('nats_stream_bytes', 1e6, s);
      add('nats_stream_consumers', 1, s);
      const c = { ...s, consumer: 'ingest' };
      add('nats_consumer_pending_messages', 12, c);
      add('nats_consumer_ack_pending_messages', 3, c);
      add('nats_consumer_redelivered_messages', 0, c);
      add('nats_consumer_waiting_pulls', 1, c);
    });
  }
  return out;
}

const json = toJson(mqDashboard());

describe('mqDashboard', () => {
  it('is sound: ids, grid, datasources, variables', () => {
    expect(checkDashboard(json)).toEqual([]);
    expect(json).toMatchObject({ uid: 'halo-mq', title: 'Halo / Queues' });
    expect(json.templating.list.map((v) => v.name)).toEqual(['tier', 'host']);
  });
});

describe('every queues panel on chDB', () => {
  let store: Store;
  let database: string;
  beforeAll(async () => {
    const opened = await openTestStore();
    store = opened.store;
    database = opened.config.clickhouse.database;
    const all = rows();
    for (let i = 0; i < all.length; i += 100_000)
      await writeSamples(store, all.slice(i, i + 100_000));
  }, 120_000);
  afterAll(async () => {
    await store?.close();
  });

  const ranges = [
    ['30 minutes', 30 * 60_000, 10_000],
    ['24 hours', 24 * HOUR, 300_000],
  ] as const;
  const ctx = (rangeMs: number, intervalMs: number): MacroContext => ({
    from: now - rangeMs,
    to: now,
    intervalMs,
    variables: { tier: ['mq'], host: HOSTS },
  });

  describe.each(ranges)('over %s', (_, rangeMs, intervalMs) => {
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

  it('the streams table shows each stream once, from its leader', async () => {
    const panel = json.panels.find((p) => p.id === 41)!;
    const { data } = await runSql(store, database, panel.targets![0]!.rawSql, ctx(HOUR, 10_000));
    expect(data.map((r) => [r['stream'], r['leader'], r['messages']]).sort()).toEqual([
      ['HALO_LOGS', 'nats-2', 1001],
      ['HALO_METRICS', 'nats-1', 1000],
    ]);
  });

  it('messages in per second are the deltas over the range', async () => {
    const panel = json.panels.find((p) => p.id === 1)!;
    const { data } = await runSql(store, database, panel.targets![0]!.rawSql, ctx(HOUR, 10_000));
    // 6000 a minute on each of two servers; the range holds both ends' minutes.
    expect(Number(data[0]?.['value'])).toBeGreaterThan(199);
    expect(Number(data[0]?.['value'])).toBeLessThan(204);
  });
});
