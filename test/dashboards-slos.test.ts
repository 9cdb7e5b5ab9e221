// The SLO dashboard: golden JSON, structural checks, and every panel's SQL run on chDB.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../core/store/store.ts';
import type { MacroContext } from '../dashboards/macros.ts';
import { sloDashboard } from '../dashboards/slos.ts';
import { checkDashboard, type DashboardJson } from '../dashboards/structure.ts';
import { isNumber, isString, isTime, runSql } from './helpers/dashboard-queries.ts';
import { openTestStore } from './helpers/store.ts';

// The JSON Grafana receives: builder output without functions or undefined fields.
const built = (): DashboardJson & Record<string, unknown> =>
  JSON.parse(JSON.stringify(sloDashboard().build())) as DashboardJson & Record<string, unknown>;

interface Target {
  refId: string;
  rawSql: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  targets: Target[];
  gridPos: { x: number; y: number; w: number; h: number };
}

describe('sloDashboard', () => {
  it('has uid, title, the slo variable and a panel of each kind', () => {
    const json = built();
    expect(json).toMatchObject({ uid: 'halo-slos', title: 'Halo / SLOs' });
    expect(json.templating?.list?.map((v) => v.name)).toEqual(['slo']);
    const types = (json.panels as Panel[]).map((p) => p.type);
    expect(types).toEqual(['timeseries', 'stat', 'timeseries', 'timeseries', 'table']);
  });

  it('draws the burn-rate factors 14.4, 6, 3 and 1 as dashed lines', () => {
    interface FieldDefaults {
      thresholds: { steps: Array<{ value: number | null }> };
      custom: { thresholdsStyle: unknown };
    }
    const panels = built().panels as Array<{
      id: number;
      fieldConfig: { defaults: FieldDefaults };
    }>;
    const defaults = panels.find((p) => p.id === 4)?.fieldConfig.defaults;
    expect(defaults?.thresholds.steps.map((s) => s.value)).toEqual([null, 1, 3, 6, 14.4]);
    expect(defaults?.custom.thresholdsStyle).toEqual({ mode: 'dashed' });
  });
});

describe('checkDashboard', () => {
  it('finds no problem in the SLO dashboard', () => {
    expect(checkDashboard(built())).toEqual([]);
  });

  const broken: Array<[string, (d: DashboardJson & { panels: Panel[] }) => void, RegExp]> = [
    ['a duplicated panel id is reported', (d) => (d.panels[1]!.id = 1), /id 1 is not unique/],
    [
      'a panel past the 24th column is reported',
      (d) => (d.panels[4]!.gridPos.x = 4),
      /exceeds 24 columns/,
    ],
    [
      'overlapping panels are reported',
      (d) => (d.panels[2]!.gridPos = { ...d.panels[1]!.gridPos }),
      /overlaps/,
    ],
    [
      'a target without datasource is reported',
      (d) => delete (d.panels[0]!.targets[0] as { datasource?: unknown }).datasource,
      /has no datasource/,
    ],
    [
      'an undefined variable is reported',
      (d) => (d.panels[0]!.targets[0]!.rawSql += ' AND host IN (${host:singlequote})'),
      /undefined variable \$host/,
    ],
    [
      'a variable with a custom all value used outside inSelection() is reported',
      (d) => (d.panels[0]!.targets[0]!.rawSql += ' AND slo = ${slo:singlequote}'),
      /uses \$slo outside inSelection\(\), so "All" matches nothing/,
    ],
    [
      'a variable query that filters on such a variable bare is reported',
      (d) => {
        const slo = d.templating!.list!.find((v) => v.name === 'slo') as { query: string };
        slo.query = slo.query.replace('ORDER BY', 'WHERE slo IN (${slo:singlequote}) ORDER BY');
      },
      /variable \$slo uses \$slo outside inSelection/,
    ],
  ];
  it.each(broken)('%s', (_, breakIt, problem) => {
    const json = built() as DashboardJson & { panels: Panel[] };
    breakIt(json);
    expect(checkDashboard(json)).toEqual([expect.stringMatching(problem)]);
  });
});

// The last six hours of evaluations every five minutes, for two SLOs, so the filter on $slo
// matters. Recent, because the tables' TTL drops rows older than the retention.
const STEP = 5 * 60_000;
const to = Math.floor(Date.now() / STEP) * STEP;
const from = to - 6 * 3_600_000;
const WINDOWS = [
  ['5m', 300],
  ['1h', 3600],
  ['6h', 21_600],
  ['1d', 86_400],
  ['3d', 259_200],
  ['period', 2_592_000],
] as const;
const chTime = (ms: number): string =>
  new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

function evaluations(): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (const slo of ['checkout', 'search']) {
    for (let t = from, i = 0; t < to; t += STEP, i++) {
      for (const [window, seconds] of WINDOWS) {
        const errorRatio = 0.0005 + (i % 12) * 0.0002;
        rows.push({
          ts: chTime(t),
          slo,
          service: slo,
          instance: `${slo}-1`,
          objective: 99.9,
          window,
          window_seconds: seconds,
          good: 10_000 * (1 - errorRatio),
          total: 10_000,
          error_ratio: errorRatio,
          burn_rate: errorRatio / 0.001,
          budget_remaining: 1 - i / 100,
        });
      }
    }
  }
  return rows;
}

const alerts = (): Record<string, unknown>[] =>
  (['pending', 'firing', 'resolved'] as const).flatMap((state, i) =>
    ['checkout', 'search'].map((slo) => ({
      ts: chTime(from + (i + 1) * 30 * 60_000),
      fingerprint: slo === 'checkout' ? 1 : 2,
      alertname: 'SLOErrorBudgetBurn',
      state,
      severity: 'page',
      slo,
      labels: { slo, window: '1h' },
      annotations: {},
      value: 15,
      active_since: chTime(from + 30 * 60_000),
    })),
  );

interface Result {
  meta: Array<{ name: string; type: string }>;
  data: Array<Record<string, unknown>>;
}

describe('every SLO panel query on chDB', () => {
  let store: Store;
  let database: string;
  const ctx: MacroContext = { from, to, intervalMs: 60_000, variables: { slo: ['checkout'] } };

  beforeAll(async () => {
    const opened = await openTestStore();
    store = opened.store;
    database = opened.config.clickhouse.database;
    await store.client.insert({
      table: store.table('sloEvaluations'),
      values: evaluations(),
      format: 'JSONEachRow',
    });
    await store.client.insert({
      table: store.table('alerts'),
      values: alerts(),
      format: 'JSONEachRow',
    });
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  const run = (sql: string): Promise<Result> => runSql(store, database, sql, ctx);

  const panels = built().panels as Panel[];
  const targets = panels.flatMap((p) =>
    p.targets.map((t) => [`${p.title} (${p.type}) ${t.refId}`, p, t] as const),
  );

  it.each(targets)('%s returns what the panel type needs', async (_, panel, target) => {
    const { meta, data } = await run(target.rawSql);
    if (panel.type === 'timeseries') {
      // Long format: the plugin turns label columns (slo, window) into one series each.
      const [first, ...rest] = meta;
      expect(isTime(first?.type ?? '')).toBe(true);
      expect(rest.some((c) => isNumber(c.type))).toBe(true);
      for (const c of rest) expect(isNumber(c.type) || isString(c.type)).toBe(true);
      expect(data.length).toBeGreaterThan(0);
      expect(new Set(data.map((r) => r['slo']))).toEqual(new Set(['checkout']));
    } else if (panel.type === 'stat') {
      expect(data).toHaveLength(1);
      expect(meta).toHaveLength(1);
      expect(isNumber(meta[0]?.type ?? '')).toBe(true);
      expect(typeof Object.values(data[0] ?? {})[0]).toBe('number');
    } else {
      expect(panel.type).toBe('table');
      expect(meta.every((c) => /^[a-z_]+$/.test(c.name))).toBe(true);
      expect(data.length).toBeGreaterThan(0);
      expect(new Set(data.map((r) => r['slo']))).toEqual(new Set(['checkout']));
    }
  });

  it('draws the SLI and its objective on one scale (objectives are stored in percent)', async () => {
    const sli = panels.find((p) => p.title === 'SLI vs objective')!;
    const { data } = await run(sli.targets[0]!.rawSql);
    for (const row of data) {
      expect(Number(row['objective'])).toBeCloseTo(0.999, 9);
      expect(Number(row['sli'])).toBeGreaterThan(0);
      expect(Number(row['sli'])).toBeLessThanOrEqual(1);
    }
  });

  it('the slo variable lists every SLO with evaluations', async () => {
    const variable = built().templating?.list?.[0] as { query: string };
    const { data } = await run(variable.query);
    expect(data.map((r) => r['slo'])).toEqual(['checkout', 'search']);
  });

  it('covers every panel of the dashboard', () => {
    expect(targets).toHaveLength(panels.length);
  });
});
