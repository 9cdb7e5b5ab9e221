// The HA stack overview: structure, and every panel and variable query on a seeded fleet in chDB.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MacroContext } from '../dashboards/macros.ts';
import { overviewDashboard } from '../dashboards/overview.ts';
import { checkDashboard, type DashboardJson } from '../dashboards/structure.ts';
import type { Store } from '../core/store/store.ts';
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
const json = toJson(overviewDashboard());

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

const ctx = (rangeMs: number, intervalMs: number, tier = TIER_NAMES): MacroContext => ({
  from: now - rangeMs,
  to: now,
  intervalMs,
  variables: { tier, host: HOST_NAMES },
});
const panel = (id: number) => {
  const found = json.panels.find((p) => p.id === id);
  if (!found) throw new Error(`no panel ${id}`);
  return found;
};
const query = (id: number, c = ctx(30 * 60_000, 30_000)) =>
  runSql(store, database, panel(id).targets?.[0]?.rawSql ?? '', c);

describe('overviewDashboard', () => {
  it('has no structural problem', () => {
    expect(checkDashboard(json as unknown as DashboardJson)).toEqual([]);
    expect(json).toMatchObject({ uid: 'halo-overview', title: 'Halo / HA stack overview' });
    expect(json.templating.list.map((v) => v.name)).toEqual(['tier']);
  });

  it('has the alerts row, then one row per tier kind in order', () => {
    const rows = json.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual([
      'Alerts and SLOs',
      'Load balancers',
      'Web',
      'Caches',
      'Databases',
      'Queues',
      'Applications',
      'Hosts',
    ]);
  });

  it('links every tier graph to its tier dashboard', () => {
    const graphs = json.panels.filter((p) => p.type === 'timeseries');
    for (const g of graphs) {
      const url = g.fieldConfig?.defaults?.links?.[0]?.url ?? '';
      expect(url, g.title).toMatch(/^\/d\/halo-(lb|web|cache|db|mq|app|hosts)\?var-tier=/);
    }
    expect(graphs).toHaveLength(7 * 4);
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

  it.each(queryVariables(json).map((v) => [v.name, v] as const))(
    'variable %s lists every tier',
    async (_, variable) => {
      const { data } = await runSql(
        store,
        database,
        String(variable.query),
        ctx(rangeMs, intervalMs),
      );
      expect(data.map((r) => r['tier'])).toEqual([...TIER_NAMES].sort());
    },
  );
});

describe('members and redundancy', () => {
  const cases: Array<[string, number, { up: number; total: number }, number]> = [
    ['two haproxy hosts up are redundant', 100, { up: 2, total: 2 }, 5],
    ['two nginx hosts up are redundant', 200, { up: 2, total: 2 }, 5],
    ['the only postgres host has no redundancy', 400, { up: 1, total: 1 }, 2],
    ['one nats host of two failing leaves a single point of failure', 500, { up: 1, total: 2 }, 3],
    ['apps count prometheus sources exporting http metrics only', 600, { up: 2, total: 2 }, 5],
    ['every host with a host source is a host member', 700, { up: 12, total: 12 }, 5],
  ];
  it.each(cases)('%s', async (_, base, members, state) => {
    expect((await query(base + 1)).data).toEqual([members]);
    expect((await query(base + 2)).data).toEqual([{ state }]);
  });

  it('counts no members in tiers not selected', async () => {
    const { data } = await query(101, ctx(30 * 60_000, 30_000, ['web']));
    expect(data).toEqual([{ up: 0, total: 0 }]);
    expect((await query(102, ctx(30 * 60_000, 30_000, ['web']))).data).toEqual([{ state: 0 }]);
  });
});

describe('alerts and SLOs', () => {
  it('lists the alerts still firing, not the resolved one', async () => {
    const { data } = await query(3);
    expect(data.map((r) => r['alertname']).sort()).toEqual(['ErrorBudgetBurn', 'SourceDown']);
    const down = data.find((r) => r['alertname'] === 'SourceDown');
    expect(down).toMatchObject({ labels: 'tier=mq', summary: 'SourceDown on mq' });
    expect((await query(2)).data).toEqual([{ firing: 2 }]);
  });

  it('keeps alerts without a tier when the tier filter leaves theirs out', async () => {
    expect((await query(2, ctx(30 * 60_000, 30_000, ['web']))).data).toEqual([{ firing: 1 }]);
  });

  it('summarises each SLO from its latest period evaluation', async () => {
    const { data } = await query(4);
    expect(data.map((r) => r['slo']).sort()).toEqual(['checkout-availability', 'search-latency']);
    for (const r of data) {
      expect(Number(r['objective'])).toBeCloseTo(0.999, 9);
      expect(Number(r['sli'])).toBeGreaterThan(0.999);
      expect(Number(r['sli'])).toBeLessThan(1);
      expect(Number(r['budget_remaining'])).toBeCloseTo(0.8 - 17 / 100, 6);
    }
  });
});

describe('each tier kind reads its own families', () => {
  const ratios: Array<[string, number, string[], number]> = [
    ['haproxy 5xx responses over all responses', 104, ['lb'], 5 / 300],
    ['access-log 5xx over access-log requests', 204, ['web'], 10 / 300],
    ['redis misses over hits and misses', 304, ['cache'], 20 / 100],
    ['postgres rollbacks over transactions', 404, ['db'], 6 / 606],
    ['JetStream API errors over requests', 504, ['mq'], 1 / 100],
    ['app 5xx codes over app requests, access logs left out', 604, ['app'], 8 / 300],
    ['network errors and drops over packets, on every tier', 704, TIER_NAMES, 3 / 5000],
  ];
  it.each(ratios)('%s', async (_, id, tiers, expected) => {
    const { data } = await query(id, ctx(30 * 60_000, 60_000));
    const values = data
      .slice(1, -1)
      .map((r) => Number(r['errors'] ?? r['misses'] ?? r['rollbacks']));
    expect(values.length).toBeGreaterThan(5);
    expect(new Set(data.map((r) => r['tier']))).toEqual(new Set(tiers));
    for (const v of values) expect(v).toBeCloseTo(expected, 9);
  });

  it('interpolates the request duration quantiles inside their buckets', async () => {
    for (const id of [205, 605]) {
      const { data } = await query(id, ctx(30 * 60_000, 60_000));
      // Rank 150 of 300 falls half-way through (0.005, 0.01]; rank 297 in (0.1, 0.5].
      for (const r of data) {
        expect(Number(r['p50'])).toBeCloseTo(0.0075, 9);
        expect(Number(r['p99'])).toBeCloseTo(0.1 + (0.4 * 7) / 8, 9);
      }
    }
  });

  it('takes the fullest host, without a limit of 0', async () => {
    const { data } = await query(406, ctx(30 * 60_000, 60_000));
    for (const r of data) expect(Number(r['connections'])).toBeCloseTo(20 / 100, 9);
  });
});
