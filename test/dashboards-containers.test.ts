// The Containers dashboard: structure, and every panel and variable query on a seeded fleet in chDB.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../core/store/store.ts';
import { containersDashboard } from '../dashboards/containers.ts';
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
import { CGROUPS, HOST_NAMES, TIER_NAMES, seedFleet } from './helpers/fleet-rows.ts';
import { openTestStore } from './helpers/store.ts';

const now = Math.floor(Date.now() / 60_000) * 60_000;
const json = toJson(containersDashboard());
/** Hosts whose host source reports cgroups in the fleet. */
const CGROUP_HOSTS = ['app-1', 'app-2', 'node-1'];

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

const ctx = (rangeMs: number, intervalMs: number, cgroup = CGROUPS): MacroContext => ({
  from: now - rangeMs,
  to: now,
  intervalMs,
  variables: { tier: TIER_NAMES, host: HOST_NAMES, cgroup },
});
const sqlOf = (id: number) => json.panels.find((p) => p.id === id)?.targets?.[0]?.rawSql ?? '';

describe('containersDashboard', () => {
  it('has no structural problem, its variables and links', () => {
    expect(checkDashboard(json as unknown as DashboardJson)).toEqual([]);
    expect(json).toMatchObject({ uid: 'halo-containers', title: 'Halo / Containers' });
    expect(json.templating.list.map((v) => v.name)).toEqual(['tier', 'host', 'cgroup']);
    expect(json.links?.map((l) => l.url)).toEqual(
      expect.arrayContaining(['/d/halo-overview', '/d/halo-hosts']),
    );
  });

  it('filters every panel on $cgroup, in each resolution', () => {
    for (const [label, , target] of targetsOf(json)) {
      const sql = target.rawSql;
      expect(sql, label).toContain("labels['cgroup'] IN (${cgroup:singlequote})");
      if (sql.includes('halo.samples_1m')) {
        expect(sql, label).toContain('label_cgroup IN (${cgroup:singlequote})');
      }
    }
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

  it('the variables list the tiers, hosts and cgroups with container_* series', async () => {
    const [tier, host, cgroup] = queryVariables(json);
    const c = ctx(rangeMs, intervalMs);
    const tiers = await runSql(store, database, String(tier?.query), c);
    expect(tiers.data.map((r) => r['tier'])).toEqual(['app', 'host']);
    const hosts = await runSql(store, database, String(host?.query), c);
    expect(hosts.data.map((r) => r['host'])).toEqual(CGROUP_HOSTS);
    const cgroups = await runSql(store, database, String(cgroup?.query), c);
    expect(cgroups.data.map((r) => r['cgroup'])).toEqual([...CGROUPS].sort());
  });
});

describe('cgroup figures', () => {
  const docker = CGROUPS.filter((c) => c.includes('docker'));

  it('keeps only the selected cgroups', async () => {
    const { data } = await runSql(store, database, sqlOf(11), ctx(30 * 60_000, 30_000, docker));
    expect(new Set(data.map((r) => r['cgroup']))).toEqual(new Set(docker));
    // 12 s of CPU every 30 s.
    for (const r of data.slice(1, -1)) expect(Number(r['cores'])).toBeCloseTo(0.4, 6);
  });

  it('gives the throttled share of periods and the working set of the limit', async () => {
    const throttled = await runSql(store, database, sqlOf(12), ctx(30 * 60_000, 60_000, docker));
    for (const r of throttled.data) expect(Number(r['throttled'])).toBeCloseTo(0.1, 6);
    const used = await runSql(store, database, sqlOf(22), ctx(30 * 60_000, 60_000));
    expect(new Set(used.data.map((r) => r['cgroup']))).toEqual(new Set(docker));
    for (const r of used.data) expect(Number(r['used'])).toBeCloseTo(700e6 / 1024 ** 3, 6);
  });

  it('ranks cgroups by working set, with no limit left empty', async () => {
    const { data } = await runSql(store, database, sqlOf(41), ctx(30 * 60_000, 30_000));
    expect(data).toHaveLength(CGROUP_HOSTS.length * CGROUPS.length);
    expect(data[0]).toMatchObject({ cgroup: docker[0], working_set: 700e6, mem_limit: 1024 ** 3 });
    const halo = data.find((r) => r['cgroup'] === '/system.slice/halo-agent.service');
    expect(halo).toMatchObject({ mem_limit: null, used_of_limit: null });
    expect(Number(data[0]?.['cpu_cores'])).toBeCloseTo(0.4, 6);
  });
});
