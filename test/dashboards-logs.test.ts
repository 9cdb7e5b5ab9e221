// The logs dashboard: structure, every panel and variable query on log lines in chDB, and search
// text with quotes and backslashes reaching SQL intact.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEVERITIES, type Severity } from '../core/conventions.ts';
import type { Store } from '../core/store/store.ts';
import { writeLogs, type LogRow } from '../core/store/write.ts';
import { LINE_LIMIT, logsDashboard } from '../dashboards/logs.ts';
import type { MacroContext } from '../dashboards/macros.ts';
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
const TRICKY = "cannot open it's C:\\tmp\\ (quote and backslashes)";
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

/** Every minute on two hosts: info and warn lines, an error with ids, and now and then a fatal. */
function rows(): LogRow[] {
  const out: LogRow[] = [];
  let i = 0;
  for (let ts = start; ts <= now; ts += STEP, i++) {
    for (const [tier, host, service] of [
      ['web', 'web-1', 'nginx'],
      ['app', 'app-1', 'shop'],
    ] as const) {
      const add = (severity: Severity, body: string, attributes: Record<string, string> = {}) =>
        out.push({ ts, tier, host, service, severity, body, attributes });
      add('info', `GET /cart 200 in ${i % 90} ms`, { path: '/cart', status: '200' });
      add('warn', `slow query took ${1000 + i} ms`);
      add('error', `payment ${10_000 + i} failed for order ${(0xdeadbeef00 + i).toString(16)}`, {
        path: '/checkout',
      });
      if (i % 60 === 0) add('fatal', 'out of memory');
      if (i % 3 === 0) add('debug', 'cache hit');
    }
  }
  // Within the last half hour, for the 30-minute range.
  out.push(
    {
      ts: now - 5 * STEP,
      tier: 'app',
      host: 'app-1',
      service: 'shop',
      severity: 'error',
      body: TRICKY,
      attributes: { path: "/it's" },
      traceId: TRACE,
    },
    {
      ts: now - 4 * STEP,
      tier: 'web',
      host: 'web-1',
      service: 'nginx',
      severity: 'info',
      body: 'GET /cart 500 upstream',
      attributes: {},
      traceId: TRACE,
    },
  );
  return out;
}

const json = toJson(logsDashboard());

describe('logsDashboard', () => {
  it('is sound: ids, grid, datasources, variables', () => {
    expect(checkDashboard(json)).toEqual([]);
    expect(json).toMatchObject({ uid: 'halo-logs', title: 'Halo / Logs' });
    expect(json.templating.list.map((v) => [v.name, v.type])).toEqual([
      ['tier', 'query'],
      ['host', 'query'],
      ['service', 'query'],
      ['severity', 'custom'],
      ['search', 'textbox'],
      ['attribute', 'textbox'],
      ['attribute_value', 'textbox'],
      ['trace_id', 'textbox'],
    ]);
  });

  it('the severity variable offers every severity, all by default', () => {
    const v = json.templating.list.find((x) => x.name === 'severity') as unknown as {
      query: string;
      multi: boolean;
      includeAll: boolean;
    };
    expect(v.query.split(',')).toEqual([...SEVERITIES]);
    expect(v).toMatchObject({ multi: true, includeAll: true });
  });

  it('every line panel is limited and text reaches SQL only percent-encoded', () => {
    for (const p of json.panels.filter((x) => x.type === 'logs')) {
      const sql = p.targets![0]!.rawSql;
      expect(sql).toContain(`LIMIT ${LINE_LIMIT}`);
      expect(sql).not.toMatch(/\$\{(search|attribute|attribute_value|trace_id)\}/);
    }
  });
});

describe('every logs panel on chDB', () => {
  let store: Store;
  let database: string;
  beforeAll(async () => {
    const opened = await openTestStore();
    store = opened.store;
    database = opened.config.clickhouse.database;
    const all = rows();
    for (let i = 0; i < all.length; i += 50_000) await writeLogs(store, all.slice(i, i + 50_000));
  }, 120_000);
  afterAll(async () => {
    await store?.close();
  });

  const ctx = (rangeMs: number, intervalMs: number): MacroContext => ({
    from: now - rangeMs,
    to: now,
    intervalMs,
    variables: {
      tier: ['web', 'app'],
      host: ['web-1', 'app-1'],
      service: ['nginx', 'shop'],
      severity: [...SEVERITIES],
    },
  });
  const noText = { search: '', attribute: '', attribute_value: '', trace_id: TRACE };
  const sqlOf = (id: number) => json.panels.find((p) => p.id === id)!.targets![0]!.rawSql;

  describe.each([
    ['30 minutes', 30 * 60_000, 10_000],
    ['24 hours', 24 * HOUR, 300_000],
  ] as const)('over %s', (_, rangeMs, intervalMs) => {
    it.each(targetsOf(json))('%s', async (_label, panel, target) => {
      const result = await runSql(store, database, target.rawSql, ctx(rangeMs, intervalMs), noText);
      expectShape(panel, result);
      if (panel.type === 'logs') expect(result.data.length).toBeLessThanOrEqual(LINE_LIMIT);
    });
    it.each(queryVariables(json).map((v) => [v.name, v] as const))(
      'variable %s lists what the logs hold',
      async (name, v) => {
        const { data } = await runSql(store, database, String(v.query), ctx(rangeMs, intervalMs));
        expect(data.map((r) => r[name]).sort()).toEqual(
          { tier: ['app', 'web'], host: ['app-1', 'web-1'], service: ['nginx', 'shop'] }[name],
        );
      },
    );
  });

  it.each([
    ['30 minutes (lines)', 30 * 60_000, 60_000, {}],
    ['24 hours (volume projection)', 24 * HOUR, 300_000, {}],
    ['24 hours with a search (lines)', 24 * HOUR, 300_000, { search: 'PAYMENT' }],
  ] as const)('the volume over %s counts every line once', async (_, rangeMs, intervalMs, text) => {
    const c = ctx(rangeMs, intervalMs);
    const { data } = await runSql(store, database, sqlOf(1), c, { ...noText, ...text });
    const counted = data.reduce((n, r) => n + Number(r['lines']), 0);
    const search = 'search' in text ? text.search.toLowerCase() : '';
    const lines = rows().filter(
      (r) => r.ts >= c.from && r.ts <= c.to && r.body.toLowerCase().includes(search),
    );
    expect(counted).toBe(lines.length);
    const errors = await runSql(store, database, sqlOf(3), c, { ...noText, ...text });
    expect(errors.data.reduce((n, r) => n + Number(r['lines']), 0)).toBe(
      lines.filter((r) => r.severity === 'error' || r.severity === 'fatal').length,
    );
  });

  it('over a day without a search, the lines are the newest ones, cut at the minute the volume gives', async () => {
    const c = ctx(24 * HOUR, 300_000);
    const { data } = await runSql(store, database, sqlOf(12), c, noText);
    const newest = rows()
      .filter((r) => r.ts >= c.from && r.ts <= c.to)
      .sort((a, b) => b.ts - a.ts);
    // More lines than the limit in the range, so the cut matters; ties at the limit's edge aside.
    expect(newest.length).toBeGreaterThan(LINE_LIMIT * 5);
    expect(data).toHaveLength(LINE_LIMIT);
    const times = data.map((r) => Date.parse(`${String(r['timestamp']).replace(' ', 'T')}Z`));
    expect(times[0]).toBe(newest[0]!.ts);
    expect(times.at(-1)).toBe(newest[LINE_LIMIT - 1]!.ts);
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  const matching = async (text: Partial<typeof noText>, severity = [...SEVERITIES]) => {
    const c = ctx(HOUR, 60_000);
    c.variables = { ...c.variables, severity };
    const { data } = await runSql(store, database, sqlOf(12), c, { ...noText, ...text });
    return data;
  };

  it('a search with a quote and backslashes finds its line and breaks nothing', async () => {
    const data = await matching({ search: "IT'S c:\\tmp\\" });
    expect(data.map((r) => r['body'])).toEqual([TRICKY]);
    expect(await matching({ search: "x' OR 1=1 --\\" })).toEqual([]);
  });

  it('an empty search matches every line of the selected severities, newest first', async () => {
    const data = await matching({}, ['fatal', 'error']);
    expect(new Set(data.map((r) => r['level']))).toEqual(new Set(['error', 'fatal']));
    const times = data.map((r) => String(r['timestamp']));
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('the label filter matches an attribute value, quotes included', async () => {
    const data = await matching({ attribute: 'path', attribute_value: "/IT'" });
    expect(data.map((r) => r['body'])).toEqual([TRICKY]);
    const checkout = await matching({ attribute: 'path', attribute_value: 'checkout' });
    expect(new Set(checkout.map((r) => r['level']))).toEqual(new Set(['error']));
  });

  it('the trace panel shows the lines of one trace, oldest first', async () => {
    const { data } = await runSql(store, database, sqlOf(13), ctx(HOUR, 60_000), noText);
    expect(data.map((r) => r['service'])).toEqual(['shop', 'nginx']);
  });

  it('top errors count one message with different ids once', async () => {
    const { data } = await runSql(store, database, sqlOf(4), ctx(HOUR, 60_000), noText);
    const top = data[0]!;
    expect(top['message']).toBe('payment # failed for order #');
    // Sixty-one minutes of it on app-1 (the range holds both ends).
    expect(data.filter((r) => r['message'] === top['message']).map((r) => r['lines'])).toEqual([
      expect.any(String),
      expect.any(String),
    ]);
  });
});
