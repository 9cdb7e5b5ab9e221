// The applications dashboard: structure, and every panel and variable query on request series of
// both conventions (access-log `status_class`, Prometheus-client `code`) in chDB.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { appDashboard } from '../dashboards/app.ts';
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
const HOSTS = ['app-1', 'app-2'];
const BOUNDS = ['0.1', '0.5', '1', '+Inf'];

/**
 * Per host and minute: `shop` from access logs (route, method, status_class; 1000 requests, 20
 * of them 5xx), `api` from a prom-client /metrics (method, code; 1000 requests, 50 of them 503).
 * Both histograms put half the requests under 0.1 s, 90% under 0.5 s, all under 1 s.
 */
function rows(): SampleRow[] {
  const out: SampleRow[] = [];
  for (let ts = start; ts <= now; ts += STEP) {
    for (const host of HOSTS) {
      const add = (service: string, name: string, labels: Record<string, string>, v: number) =>
        out.push({ name, tier: 'app', host, service, labels, ts, value: v });
      const shop = { source: 'shop-access' };
      add(
        'shop',
        'http_requests_total',
        { ...shop, route: '/cart', method: 'GET', status_class: '2xx' },
        980,
      );
      add(
        'shop',
        'http_requests_total',
        { ...shop, route: '/cart', method: 'POST', status_class: '5xx' },
        20,
      );
      add(
        'shop',
        'http_requests_total',
        { ...shop, route: '/cart', method: 'GET', status_class: '4xx' },
        0,
      );
      const api = { source: 'api' };
      add('api', 'http_requests_total', { ...api, method: 'GET', code: '200' }, 950);
      add('api', 'http_requests_total', { ...api, method: 'GET', code: '503' }, 50);
      BOUNDS.forEach((le, i) => {
        const n = [500, 900, 1000, 1000][i]!;
        add('shop', 'http_request_duration_seconds_bucket', { ...shop, route: '/cart', le }, n);
        add('api', 'http_request_duration_seconds_bucket', { ...api, le }, n);
      });
      add('api', 'http_request_duration_seconds_sum', api, 150);
      add('api', 'http_request_duration_seconds_count', api, 1000);
    }
  }
  return out;
}

const json = toJson(appDashboard());

describe('appDashboard', () => {
  it('is sound: ids, grid, datasources, variables', () => {
    expect(checkDashboard(json)).toEqual([]);
    expect(json).toMatchObject({ uid: 'halo-app', title: 'Halo / Applications' });
    expect(json.templating.list.map((v) => v.name)).toEqual(['tier', 'service', 'host']);
  });

  it('the services table links to the service’s logs and the tier’s hosts', () => {
    const urls = json.panels
      .find((p) => p.id === 31)
      ?.fieldConfig?.defaults?.links?.map((l) => l.url);
    expect(urls).toEqual([
      '/d/halo-logs?var-service=${__data.fields.service}&${__url_time_range}',
      '/d/halo-hosts?var-tier=${__data.fields.tier}&${__url_time_range}',
    ]);
  });
});

describe('every applications panel on chDB', () => {
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

  const ctx = (rangeMs: number, intervalMs: number): MacroContext => ({
    from: now - rangeMs,
    to: now,
    intervalMs,
    variables: { tier: ['app'], service: ['shop', 'api'], host: HOSTS },
  });
  const ranges = [
    ['30 minutes', 30 * 60_000, 10_000],
    ['24 hours', 24 * HOUR, 300_000],
  ] as const;

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

    it('the 5xx ratio counts both conventions: 2% for shop, 5% for api', async () => {
      const sql = json.panels.find((p) => p.id === 12)!.targets![0]!.rawSql;
      const { data } = await runSql(store, database, sql, ctx(rangeMs, intervalMs));
      const of = (service: string) =>
        new Set(
          data.filter((r) => r['service'] === service).map((r) => Number(r['ratio']).toFixed(4)),
        );
      expect(of('shop')).toEqual(new Set(['0.0200']));
      expect(of('api')).toEqual(new Set(['0.0500']));
    });

    it('the services table has req/s, error ratio and p99 per service', async () => {
      const sql = json.panels.find((p) => p.id === 31)!.targets![0]!.rawSql;
      const { data } = await runSql(store, database, sql, ctx(rangeMs, intervalMs));
      const byService = Object.fromEntries(data.map((r) => [r['service'], r]));
      // Two hosts at 1000 a minute each; the range holds both ends' minutes.
      expect(Number(byService['api']?.['req_per_s'])).toBeGreaterThan(33);
      expect(Number(byService['api']?.['req_per_s'])).toBeLessThan(34.5);
      expect(Number(byService['api']?.['error_ratio'])).toBeCloseTo(0.05, 6);
      expect(Number(byService['shop']?.['error_ratio'])).toBeCloseTo(0.02, 6);
      // rank 990 of 1000: 90% of the way through (0.5, 1].
      expect(Number(byService['shop']?.['p99'])).toBeCloseTo(0.95, 6);
    });
  });
});
