// The Hosts dashboard: structure, and every panel and variable query on a seeded fleet in chDB.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../core/store/store.ts';
import { hostsDashboard } from '../dashboards/hosts.ts';
import type { MacroContext } from '../dashboards/macros.ts';
import { checkDashboard, type DashboardJson } from '../dashboards/structure.ts';
import {
  HOUR,
  expectShape,
  queryVariables,
  runSql,
  targetsOf,
  toJson,
} from './helpers/dashboard-queries.ts';
import { HOST_NAMES, TIER_NAMES, seedFleet } from './helpers/fleet-rows.ts';
import { openTestStore } from './helpers/store.ts';

const now = Math.floor(Date.now() / 60_000) * 60_000;
const json = toJson(hostsDashboard());

let store: Store;
let database: string;
beforeAll(async () => {
  const opened = await openTestStore();
  store = opened.store;
  database = opened.config.clickhouse.database;
  await seedFleet(store, now);
}, 120_000);
afterAll(async () => {
  await store?.close();
});

const ctx = (rangeMs: number, intervalMs: number, host = HOST_NAMES): MacroContext => ({
  from: now - rangeMs,
  to: now,
  intervalMs,
  variables: { tier: TIER_NAMES, host },
});
const sqlOf = (id: number) => json.panels.find((p) => p.id === id)?.targets?.[0]?.rawSql ?? '';

describe('hostsDashboard', () => {
  it('has no structural problem, its variables and links', () => {
    expect(checkDashboard(json as unknown as DashboardJson)).toEqual([]);
    expect(json).toMatchObject({ uid: 'halo-hosts', title: 'Halo / Hosts' });
    expect(json.templating.list.map((v) => v.name)).toEqual(['tier', 'host']);
    expect(json.links?.map((l) => l.url)).toEqual(
      expect.arrayContaining(['/d/halo-overview', '/d/halo-containers']),
    );
  });
});

const RANGES = [
  ['30 minutes (raw samples)', 30 * 60_000, 30_000],
  ['24 hours (minute rollup)', 24 * HOUR, 300_000],
] as const;

describe.each(RANGES)('every query over %s', (_, rangeMs, intervalMs) => {
  it.each(targetsOf(json))('%s fits its panel and has data', async (_, p, target) => {
    expectShape(p, await runSql(store, database, target.rawSql, ctx(rangeMs, intervalMs)));
  });

  it('the variables list the tiers and hosts with node_* series', async () => {
    const [tier, host] = queryVariables(json);
    const c = ctx(rangeMs, intervalMs);
    const tiers = await runSql(store, database, String(tier?.query), c);
    expect(tiers.data.map((r) => r['tier'])).toEqual([...TIER_NAMES].sort());
    const hosts = await runSql(store, database, String(host?.query), c);
    expect(hosts.data.map((r) => r['host'])).toEqual([...HOST_NAMES].sort());
  });
});

describe('current state tables', () => {
  it('gives each host its CPU busy, memory, fullest filesystem, load and source state', async () => {
    const { data } = await runSql(store, database, sqlOf(2), ctx(30 * 60_000, 30_000));
    expect(data).toHaveLength(HOST_NAMES.length);
    // Two CPUs: 14 s of 30 s per step neither idle nor iowait; node-1 also runs node_exporter.
    for (const row of data) {
      expect(Number(row['cpu_busy'])).toBeCloseTo(14 / 30, 6);
      expect(Number(row['mem_used'])).toBeCloseTo(1 - 5 / 8, 6);
      expect(Number(row['fs_max_used'])).toBeCloseTo(0.85, 6);
      expect(row).toMatchObject({ load1: 0.7, up: 1 });
    }
  });

  it('filters the host table on $host', async () => {
    const { data } = await runSql(store, database, sqlOf(2), ctx(30 * 60_000, 30_000, ['db-1']));
    expect(data.map((r) => [r['host'], r['tier']])).toEqual([['db-1', 'db']]);
  });

  it('lists each filesystem, fullest first', async () => {
    const { data } = await runSql(store, database, sqlOf(42), ctx(30 * 60_000, 30_000, ['db-1']));
    expect(data.map((r) => r['mountpoint'])).toEqual(['/', '/data']);
    expect(Number(data[0]?.['used_ratio'])).toBeCloseTo(0.85, 6);
    expect(Number(data[0]?.['used'])).toBe(85 * 1024 ** 3);
  });

  it('shares CPU time by mode, idle left out', async () => {
    const { data } = await runSql(store, database, sqlOf(11), ctx(30 * 60_000, 60_000));
    const user = data.filter((r) => r['mode'] === 'user').map((r) => Number(r['value']));
    expect(user.length).toBeGreaterThan(10);
    for (const v of user) expect(v).toBeCloseTo(9 / 30, 6);
    expect(data.some((r) => r['mode'] === 'idle')).toBe(false);
  });
});
