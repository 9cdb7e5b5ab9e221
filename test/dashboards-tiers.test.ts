// The tier dashboards (load balancers, web, caches, databases): structure, and every panel and
// variable query run on chDB over samples named and labelled as the agent's sources emit them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import type { Store } from '../core/store/store.ts';
import { writeSamples, type SampleRow } from '../core/store/write.ts';
import { cacheDashboard } from '../dashboards/cache.ts';
import { dbDashboard } from '../dashboards/db.ts';
import { lbDashboard } from '../dashboards/lb.ts';
import { checkDashboard, type DashboardJson } from '../dashboards/structure.ts';
import { webDashboard } from '../dashboards/web.ts';
import { isNumber, isString, isTime, runSql } from './helpers/dashboard-queries.ts';
import { openTestStore } from './helpers/store.ts';
import { SOURCES, sampleRows, type Labels } from './helpers/tier-samples.ts';
import { parseStats } from '../collector/agent/haproxy-csv.ts';
import {
  READ as HAPROXY_READ,
  toSamples as haproxySamples,
} from '../collector/agent/haproxy-series.ts';
import { AccessMetrics } from '../collector/agent/logs/access-metrics.ts';
import { parseStubStatus, toSamples as nginxSamples } from '../collector/agent/sources/nginx.ts';
import {
  connectionSamples,
  databaseSamples,
  primarySamples,
  replicaSamples,
} from '../collector/agent/sources/postgres.ts';
import { infoSamples } from '../collector/agent/sources/redis.ts';

const STEP = 30_000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const to = Math.floor(Date.now() / MINUTE) * MINUTE;
const from = to - 2 * HOUR;
/** The last ten minutes: a server goes down, a replica loses its link. */
const incident = to - 10 * MINUTE;
const rows = (): SampleRow[] => sampleRows(SOURCES, { from, incident }, to, STEP);

const DASHBOARDS: ReadonlyArray<readonly [string, () => dashboard.DashboardBuilder]> = [
  ['halo-lb', lbDashboard],
  ['halo-web', webDashboard],
  ['halo-cache', cacheDashboard],
  ['halo-db', dbDashboard],
];

interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  targets?: Array<{ refId: string; rawSql: string }>;
  fieldConfig?: { defaults?: { unit?: string } };
}
type Json = Omit<DashboardJson, 'panels' | 'templating'> & {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: string }> };
};
const built = (build: () => dashboard.DashboardBuilder): Json =>
  JSON.parse(JSON.stringify(build().build())) as Json;

describe.each(DASHBOARDS)('%s structure', (uid, build) => {
  it('passes the structural checks', () => {
    expect(checkDashboard(built(build))).toEqual([]);
  });

  it('has the uid, the tier and host variables, and links to its neighbours', () => {
    const json = built(build) as Json & { links: Array<{ url?: string }> };
    expect(json.uid).toBe(uid);
    expect(json.templating.list.map((v) => v.name)).toEqual(['tier', 'host']);
    expect(json.links.map((l) => l.url)).toContain('/d/halo-hosts');
  });

  it('gives every panel a description and a unit', () => {
    const json = built(build);
    for (const p of json.panels.filter((p) => p.type !== 'row')) {
      expect(p.description, p.title).toBeTruthy();
      expect(p.fieldConfig?.defaults?.unit, p.title).toBeTruthy();
    }
  });
});

interface Result {
  meta: Array<{ name: string; type: string }>;
  data: Array<Record<string, unknown>>;
}

/** 30 minutes reads raw samples, 24 hours the minute rollup. */
const RANGES = [
  ['30 minutes', 30 * MINUTE, 15_000],
  ['24 hours', 24 * HOUR, 60_000],
] as const;
const VARIABLES = {
  tier: ['lb', 'web', 'cache', 'db'],
  host: SOURCES.map((s) => s.host).filter((h, i, all) => all.indexOf(h) === i),
};

describe('every tier dashboard query on chDB', () => {
  let store: Store;
  let database: string;

  beforeAll(async () => {
    const opened = await openTestStore();
    store = opened.store;
    database = opened.config.clickhouse.database;
    await writeSamples(store, rows());
  }, 120_000);
  afterAll(async () => {
    await store?.close();
  });

  const run = (sql: string, rangeMs: number, intervalMs: number): Promise<Result> =>
    runSql(store, database, sql, { from: to - rangeMs, to, intervalMs, variables: VARIABLES });

  const targets = DASHBOARDS.flatMap(([uid, build]) =>
    built(build)
      .panels.filter((p) => p.type !== 'row')
      .flatMap((p) =>
        (p.targets ?? []).flatMap((t) =>
          RANGES.map(
            ([range, rangeMs, intervalMs]) =>
              [
                `${uid} ${p.id} ${p.title} (${p.type}) over ${range}`,
                p,
                t.rawSql,
                rangeMs,
                intervalMs,
              ] as const,
          ),
        ),
      ),
  );

  it.each(targets)(
    '%s returns data shaped for the panel',
    async (_, panel, sql, rangeMs, interval) => {
      const { meta, data } = await run(sql, rangeMs, interval);
      expect(data.length).toBeGreaterThan(0);
      if (panel.type === 'timeseries') {
        const [first, ...rest] = meta;
        expect(isTime(first?.type ?? '')).toBe(true);
        expect(rest.some((c) => isNumber(c.type))).toBe(true);
        for (const c of rest) expect(isNumber(c.type) || isString(c.type), c.name).toBe(true);
        // Some value is there: a series of NULLs draws nothing.
        const values = rest.filter((c) => isNumber(c.type)).map((c) => c.name);
        expect(data.some((r) => values.some((v) => r[v] !== null))).toBe(true);
      } else if (panel.type === 'stat') {
        expect(data).toHaveLength(1);
        for (const c of meta) expect(isNumber(c.type), c.name).toBe(true);
        expect(Object.values(data[0] ?? {}).some((v) => typeof v === 'number')).toBe(true);
      } else {
        expect(panel.type).toBe('table');
        expect(meta.every((c) => /^[a-z_0-9]+$/.test(c.name))).toBe(true);
      }
    },
  );

  it.each(DASHBOARDS)('%s variables list the tier and its hosts', async (uid, build) => {
    const [tier, host] = built(build).templating.list;
    const tiers = (await run(tier!.query, 6 * HOUR, 60_000)).data.map((r) => r['tier']);
    const hosts = (await run(host!.query, 6 * HOUR, 60_000)).data.map((r) => r['host']);
    const expected = { 'halo-lb': 'lb', 'halo-web': 'web', 'halo-cache': 'cache', 'halo-db': 'db' }[
      uid
    ];
    expect(tiers).toEqual([expected]);
    expect(hosts).toEqual(
      SOURCES.filter((s) => s.tier === expected && s.source !== 'probe-public')
        .map((s) => s.host)
        .filter((h, i, all) => all.indexOf(h) === i),
    );
  });

  const tableOf = async (build: () => dashboard.DashboardBuilder, id: number) => {
    const panel = built(build).panels.find((p) => p.id === id)!;
    return (await run(panel.targets![0]!.rawSql, 24 * HOUR, 60_000)).data;
  };

  it('the Servers table shows the down server first, with its state, check and 5xx', async () => {
    const data = await tableOf(lbDashboard, 17);
    expect(data).toHaveLength(4);
    expect(data[0]).toMatchObject({
      proxy: 'be_app',
      server: 'app-2',
      up: 0,
      state: 'DOWN',
      check: 'L4TOUT',
      weight: 100,
    });
    expect(data[2]).toMatchObject({ server: 'app-1', up: 1, state: 'UP', check: 'L7OK' });
    expect(Number(data[2]?.['ratio_5xx'])).toBeCloseTo(10 / 600, 6);
    expect(Number(data[0]?.['downtime'])).toBeGreaterThan(0);
  });

  it('the Web hosts table puts the host with most 5xx first', async () => {
    const data = await tableOf(webDashboard, 16);
    expect(data.map((r) => r['host'])).toEqual(['web-2', 'web-1']);
    expect(Number(data[0]?.['ratio_5xx'])).toBeCloseTo(40 / (2 * 550 + 40 + 200), 6);
    expect(Number(data[0]?.['requests_per_s'])).toBeGreaterThan(0);
    expect(Number(data[0]?.['p99'])).toBeGreaterThan(2.5);
    expect(data[0]?.['active_connections']).toBe(120);
  });

  it('the redis Instances table shows roles, the broken link and the hit ratio', async () => {
    const data = await tableOf(cacheDashboard, 24);
    const byHost = Object.fromEntries(data.map((r) => [r['host'], r]));
    expect(byHost['cache-1']).toMatchObject({ role: 'master', replicas: 1, master_link: null });
    expect(byHost['cache-2']).toMatchObject({ role: 'replica', master_link: 0 });
    expect(Number(byHost['cache-1']?.['memory_pct'])).toBeCloseTo(0.6, 6);
    expect(Number(byHost['cache-1']?.['hit_ratio'])).toBeCloseTo(0.9, 6);
  });

  it('the postgres Instances table shows roles, connections and lag', async () => {
    const data = await tableOf(dbDashboard, 23);
    const byHost = Object.fromEntries(data.map((r) => [r['host'], r]));
    expect(byHost['db-1']).toMatchObject({ role: 'primary', connections: 40, replicas: 1 });
    expect(byHost['db-2']).toMatchObject({ role: 'replica', wal_receiver: 1, lag_seconds: 0.5 });
    expect(Number(byHost['db-1']?.['connections_pct'])).toBeCloseTo(0.4, 6);
    expect(Number(byHost['db-1']?.['cache_hit'])).toBeCloseTo(0.99, 6);
  });
});

/** Every series the collectors' own functions emit for small inputs: `name{label,…}`. */
function emitted(): Set<string> {
  const keys = new Set<string>();
  const add = (samples: Array<{ name: string; labels: Labels }>) => {
    for (const s of samples) keys.add(seriesShape(s.name, s.labels));
  };
  const columns = [...HAPROXY_READ].filter((c) => !['pxname', 'svname', 'type'].includes(c));
  const line = (px: string, sv: string, type: number, status: string, check: string) =>
    [
      px,
      sv,
      String(type),
      ...columns.map((c) => (c === 'status' ? status : c === 'check_status' ? check : '1')),
    ].join(',');
  const csv =
    `# pxname,svname,type,${columns.join(',')}\n` +
    `${line('fe_https', 'FRONTEND', 0, 'OPEN', '')}\n` +
    `${line('be_app', 'BACKEND', 1, 'UP', '')}\n` +
    `${line('be_app', 'app-1', 2, 'UP', 'L7OK')}\n`;
  add(haproxySamples(parseStats(csv).rows));
  add(nginxSamples(parseStubStatus(STUB_STATUS)!));
  add(infoSamples(REDIS_MASTER));
  add(infoSamples(REDIS_REPLICA));
  const access = new AccessMetrics(['/api'], [0.05, 0.1]);
  add(access.samples());
  add(
    databaseSamples([
      { datname: 'app', size_bytes: '1', ...Object.fromEntries(PG_COLUMNS.map((c) => [c, '1'])) },
    ]),
  );
  add(connectionSamples([{ datname: 'app', state: 'idle', count: 1 }], ['app']));
  add(
    primarySamples([
      {
        application_name: 'r',
        client_addr: '10.0.0.1',
        state: 'streaming',
        lag_bytes: '1',
        lag_seconds: 1,
      },
    ]),
  );
  add(replicaSamples({ caught_up: false, lag_seconds: 1, receivers: 1 }));
  // Gauges the postgres and probe sources build inline, around network calls.
  for (const name of [
    'pg_in_recovery',
    'pg_max_connections',
    'probe_success',
    'probe_duration_seconds',
    'probe_http_status_code',
  ])
    keys.add(seriesShape(name, {}));
  return keys;
}

const seriesShape = (name: string, labels: Labels): string =>
  `${name}{${Object.keys(labels)
    .filter((k) => k !== 'source')
    .sort()
    .join(',')}}`;

const STUB_STATUS =
  'Active connections: 3\nserver accepts handled requests\n 10 10 20\nReading: 0 Writing: 1 Waiting: 2\n';
const REDIS_COMMON = [
  'uptime_in_seconds:1',
  'connected_clients:1',
  'blocked_clients:0',
  'used_memory:1',
  'maxmemory:1',
  'mem_fragmentation_ratio:1.1',
  'rdb_changes_since_last_save:1',
  'aof_enabled:0',
  'total_connections_received:1',
  'total_commands_processed:1',
  'instantaneous_ops_per_sec:1',
  'total_net_input_bytes:1',
  'total_net_output_bytes:1',
  'rejected_connections:0',
  'expired_keys:1',
  'evicted_keys:1',
  'keyspace_hits:1',
  'keyspace_misses:1',
  'master_repl_offset:100',
  'rdb_last_bgsave_status:ok',
  'db0:keys=1,expires=0,avg_ttl=0',
];
const REDIS_MASTER = [
  ...REDIS_COMMON,
  'role:master',
  'connected_slaves:1',
  'slave0:ip=10.0.3.2,port=6379,state=online,offset=90,lag=0',
].join('\r\n');
const REDIS_REPLICA = [
  ...REDIS_COMMON,
  'role:slave',
  'connected_slaves:0',
  'master_link_status:up',
  'slave_repl_offset:90',
  'master_last_io_seconds_ago:1',
].join('\r\n');
const PG_COLUMNS = [
  'xact_commit',
  'xact_rollback',
  'deadlocks',
  'conflicts',
  'temp_bytes',
  'temp_files',
  'blks_read',
  'blks_hit',
  'tup_returned',
  'tup_fetched',
  'tup_inserted',
  'tup_updated',
  'tup_deleted',
];

describe('the test data', () => {
  it('holds only series the collectors emit, with their exact labels', () => {
    const known = emitted();
    expect(known).toContain('haproxy_server_check_status{proxy,server,status}');
    expect(known).toContain('http_request_duration_seconds_bucket{le,route}');
    const unknown = new Set(
      rows()
        .map((r) => seriesShape(r.name, r.labels))
        .filter((k) => !known.has(k)),
    );
    expect([...unknown]).toEqual([]);
  });
});
