// Generates bench/dashboards' day of fleet data inside ClickHouse: samples (and through the views
// their rollups), series, logs, SLO evaluations, alert history and notification log.

import { formatTimestamp } from '../core/store/sql.ts';
import type { Store } from '../core/store/store.ts';
import { fleet, fleetSeries } from './dashboards-fleet.ts';
import type { SeriesSpec } from './dashboards-series.ts';

const HOUR = 3600;
const DAY = 86_400;
/** Where the value models live while samples are made; not a Halo table. */
const CATALOG = 'halo_bench.catalog';

export interface Window {
  /** Seconds since the epoch, minute-aligned. */
  now: number;
  from: number;
  incidentFrom: number;
  incidentTo: number;
}

/** The day ending at `nowMs`, with the incident hour six hours before its end. */
export function dayEnding(nowMs: number): Window {
  const now = Math.floor(nowMs / 1000);
  return { now, from: now - DAY, incidentFrom: now - 7 * HOUR, incidentTo: now - 6 * HOUR };
}

/** A 53-bit FNV-1a: noise keys as plain JSON numbers. */
function hash(text: string): number {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h >> 11n);
}

const catalogRow = (s: SeriesSpec) => ({
  name: s.name,
  tier: s.tier,
  host: s.host,
  service: s.service,
  labels: s.labels,
  base: s.base,
  amp: s.amp,
  trend: s.trend,
  noise: s.noise,
  noise_key: hash(s.group || `${s.host}\u0000${s.name}\u0000${JSON.stringify(s.labels)}`),
  integer: s.integer ? 1 : 0,
  flap: s.flap,
  incident: s.incident,
  during: s.during,
});

/** The value of a catalog series at `t` (UInt32 seconds), as SQL. */
function valueSql(w: Window): string {
  const inIncident = `(t >= ${w.incidentFrom} AND t < ${w.incidentTo})`;
  // Traffic peaks at 19:00 UTC; u1, u2, u3 are uniform in [0, 1).
  const v =
    `base * (1 + amp * cos(2 * pi() * (t - 68400) / 86400) + trend * (t - ${w.from}) / 86400` +
    ` + noise * (2 * (cityHash64(noise_key, t) % 100000) / 100000 - 1))` +
    ` * if(${inIncident}, incident, 1)`;
  const flapped = `if(flap > 0 AND cityHash64(noise_key, t, 1) % 1000000 < flap * 1000000, 0, ${v})`;
  return `if(integer = 1, floor(greatest(${flapped}, 0) + (cityHash64(noise_key, t, 2) % 1000) / 1000), greatest(${flapped}, 0))`;
}

async function fillSamples(store: Store, w: Window, hosts: number): Promise<number> {
  const series = fleetSeries(hosts);
  await store.command('CREATE DATABASE IF NOT EXISTS halo_bench');
  await store.command(`DROP TABLE IF EXISTS ${CATALOG}`);
  await store.command(
    `CREATE TABLE ${CATALOG} (name String, tier String, host String, service String,
      labels Map(String, String), base Float64, amp Float64, trend Float64, noise Float64,
      noise_key UInt64, integer UInt8, flap Float64, incident Float64, during Int8)
     ENGINE = MergeTree ORDER BY (name, tier, host)`,
  );
  await store.client.insert({
    table: CATALOG,
    values: series.map(catalogRow),
    format: 'JSONEachRow',
  });
  const db = store.database;
  await store.command(
    `INSERT INTO ${db}.series (name, tier, host, service, labels, first_seen, last_seen)
     SELECT name, tier, host, service, labels,
       toDateTime(if(during = 1, ${w.incidentFrom}, ${w.from}), 'UTC'),
       toDateTime(if(during = 1, ${w.incidentTo - 10}, ${w.now - 10}), 'UTC')
     FROM ${CATALOG}`,
  );
  // An hour at a time: the views roll each insert up, and memory stays bounded.
  for (let start = w.from; start < w.now; start += HOUR) {
    const steps = Math.min(HOUR, w.now - start) / 10;
    await store.command(
      `INSERT INTO ${db}.samples (name, tier, host, service, labels, ts, value)
       SELECT name, tier, host, service, labels, toDateTime64(t, 3, 'UTC'), ${valueSql(w)}
       FROM ${CATALOG}
       CROSS JOIN (SELECT toUInt32(${start} + number * 10) AS t FROM numbers(${steps})) AS r
       WHERE during = 0 OR (during = 1) = (t >= ${w.incidentFrom} AND t < ${w.incidentTo})`,
    );
    process.stdout.write('.');
  }
  process.stdout.write('\n');
  await store.command('DROP DATABASE halo_bench');
  return series.length;
}

/** Access lines of the web hosts and app log lines, one a second a host on average. */
async function fillLogs(store: Store, w: Window, hosts: number): Promise<void> {
  const counts = new Map(fleet(hosts).map(([t, n]) => [t.tier, n]));
  const web = counts.get('web') ?? 0;
  const app = counts.get('app') ?? 0;
  const db = store.database;
  const inIncident = `(s >= ${w.incidentFrom} AND s < ${w.incidentTo})`;
  for (let start = w.from; start < w.now; start += HOUR) {
    const seconds = Math.min(HOUR, w.now - start);
    const rows = (n: number) => `SELECT number AS n, toUInt32(${start} + intDiv(number, ${n})) AS s,
      toDateTime64(s, 3, 'UTC') + toIntervalMillisecond(cityHash64(n, ${start}) % 1000) AS ts,
      concat('%s-', leftPad(toString(number % ${n} + 1), 2, '0')) AS host_fmt,
      cityHash64(n, ${start}, 7) AS h
      FROM numbers(${n * seconds})`;
    await store.command(
      `INSERT INTO ${db}.logs (ts, tier, host, service, severity, body, attributes, trace_id)
       SELECT ts, 'web', replaceOne(host_fmt, '%s', 'web'), 'storefront',
         multiIf(status >= 500, 'error', status >= 400, 'warn', 'info'),
         concat(ip, ' - - [', formatDateTime(ts, '%d/%b/%Y:%H:%i:%S +0000', 'UTC'), '] "', method, ' ', path,
           ' HTTP/1.1" ', toString(status), ' ', toString(bytes), ' "-" "', ua, '" ', rt),
         map('log_file_path', '/var/log/nginx/access.log', 'remote_addr', ip, 'method', method,
           'path', path, 'protocol', 'HTTP/1.1', 'status', toString(status), 'bytes', toString(bytes),
           'user_agent', ua, 'request_time', rt),
         ''
       FROM (
         SELECT *, concat('10.', toString(h % 7), '.', toString(intDiv(h, 7) % 250), '.', toString(intDiv(h, 1750) % 250)) AS ip,
           ['GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'HEAD'][1 + intDiv(h, 3) % 10] AS method,
           ['/', '/products/', '/api/cart', '/api/checkout', '/static/app.js', '/search?q=', '/account'][1 + intDiv(h, 11) % 7] AS path,
           multiIf(h % 10000 < if(${inIncident}, 400, 40), 502, h % 10000 < 400, 404, h % 10000 < 1000, 304, 200) AS status,
           200 + intDiv(h, 13) % 40000 AS bytes,
           ['Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Safari/604.1', 'curl/8.5.0'][1 + intDiv(h, 17) % 3] AS ua,
           toString(round((intDiv(h, 19) % 400) / 1000 * if(${inIncident}, 4, 1), 3)) AS rt
         FROM (${rows(web)}))`,
    );
    await store.command(
      `INSERT INTO ${db}.logs (ts, tier, host, service, severity, body, attributes, trace_id)
       SELECT ts, 'app', host, service, severity,
         multiIf(severity = 'error', concat('ERROR request failed route=', route, ' status=503 err="upstream orders-db: timeout after 2000ms" trace_id=', trace),
           severity = 'warn', concat('WARN slow request route=', route, ' duration_ms=', toString(900 + h % 2000), ' trace_id=', trace),
           severity = 'debug', concat('DEBUG cache lookup key=session:', toString(h % 100000), ' hit=', if(h % 3 = 0, 'false', 'true')),
           concat('INFO request done method=GET route=', route, ' status=200 duration_ms=', toString(h % 120), ' trace_id=', trace)),
         map('log_file_path', concat('/var/log/', service, '/app.log'), 'route', route),
         trace
       FROM (
         SELECT ts, replaceOne(host_fmt, '%s', 'app') AS host, h,
           ['checkout', 'catalog', 'accounts'][1 + (toUInt32(substring(host, 5)) - 1) % 3] AS service,
           multiIf(h % 1000 < if(${inIncident} AND service = 'checkout', 250, 4), 'error',
             h % 1000 < 60, 'warn', h % 1000 < 160, 'debug', 'info') AS severity,
           ['/api/orders', '/api/cart', '/api/products', '/api/login'][1 + intDiv(h, 5) % 4] AS route,
           concat(lower(hex(cityHash64(h, 1))), lower(hex(cityHash64(h, 2)))) AS trace
         FROM (${rows(app)}))`,
    );
  }
}

/** The SLOs evaluated every 15 s, the incident hurting checkout and the storefront. */
const SLOS: Array<[slo: string, service: string, objective: number, base: number, spike: number]> =
  [
    ['checkout-availability', 'checkout', 99.9, 0.0004, 0.06],
    ['checkout-latency', 'checkout', 99, 0.004, 0.3],
    ['catalog-availability', 'catalog', 99.9, 0.0003, 0],
    ['accounts-availability', 'accounts', 99.5, 0.001, 0],
    ['storefront-availability', 'storefront', 99.9, 0.0005, 0.008],
    ['api-probe', 'edge', 99.9, 0.0002, 1],
  ];
const WINDOWS: Array<[string, number]> = [
  ['5m', 300],
  ['30m', 1800],
  ['1h', 3600],
  ['2h', 7200],
  ['6h', 21600],
  ['1d', 86400],
  ['3d', 259200],
  ['period', 30 * 86400],
];

async function fillSloEvaluations(store: Store, w: Window): Promise<void> {
  const literal = (v: string | number) => (typeof v === 'string' ? `'${v}'` : String(v));
  const slos = `[${SLOS.map((s) => `(${s.map(literal).join(', ')})`).join(', ')}]`;
  const windows = `[${WINDOWS.map(([n, s]) => `('${n}', ${s})`).join(', ')}]`;
  // A window's error ratio: the base, plus the spike in proportion to its overlap with the incident.
  const overlap = (seconds: string) =>
    `greatest(0, least(t, ${w.incidentTo}) - greatest(t - ${seconds}, ${w.incidentFrom})) / ${seconds}`;
  await store.command(
    `INSERT INTO ${store.database}.slo_evaluations (ts, slo, service, instance, objective, window,
       window_seconds, good, total, error_ratio, burn_rate, budget_remaining)
     SELECT toDateTime64(t, 3, 'UTC'), s.1, s.2, '', s.3, win.1, win.2, total * (1 - ratio), total,
       ratio, ratio / budget, 1 - (s.4 + s.5 * ${overlap('2592000')}) / budget
     FROM (
       SELECT t, s, win, 1 - s.3 / 100 AS budget, 1500 * win.2 AS total,
         s.4 * (0.8 + 0.4 * (cityHash64(t, s.1, win.1) % 1000) / 1000) + s.5 * ${overlap('win.2')} AS ratio
       FROM (SELECT toUInt32(${w.from} + number * 15) AS t FROM numbers(${DAY / 15}))
       ARRAY JOIN ${slos} AS s
       ARRAY JOIN ${windows} AS win)`,
  );
}

const stamp = (seconds: number) => formatTimestamp(new Date(seconds * 1000));

/** The transitions the incident caused, and a few host alerts through the day. */
function alertTransitions(w: Window): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const add = (
    alertname: string,
    severity: string,
    slo: string,
    labels: Record<string, string>,
    pending: number,
    resolved: number,
  ) => {
    const fingerprint = hash(`${alertname}\u0000${JSON.stringify(labels)}`);
    const all = { ...labels, alertname, severity, ...(slo ? { slo } : {}) };
    const annotations = { summary: `${alertname} on ${labels['host'] ?? labels['service']}` };
    const firing = pending + 120;
    for (const [state, at] of [
      ['pending', pending],
      ['firing', firing],
      ['resolved', resolved],
    ] as const)
      out.push({
        at,
        ts: stamp(at),
        fingerprint,
        alertname,
        state,
        severity,
        slo,
        labels: all,
        annotations,
        value: state === 'resolved' ? 0.5 : 14.4 + (fingerprint % 40),
        active_since: stamp(pending),
      });
  };
  const { incidentFrom: from, incidentTo: to } = w;
  for (const [slo, service, , , spike] of SLOS) {
    if (spike === 0) continue;
    add(slo, 'page', slo, { service, burn_tier: 'page-fast' }, from + 240, to + 300);
    add(slo, 'page', slo, { service, burn_tier: 'page-slow' }, from + 1500, to + 1800);
    add(slo, 'ticket', slo, { service, burn_tier: 'ticket-fast' }, from + 2400, to + 5400);
  }
  for (let i = 0; i < 40; i++) {
    const at = w.from + ((i * 2083) % (DAY - 2 * HOUR));
    const host = `app-${String((i % 30) + 1).padStart(2, '0')}`;
    const alertname = ['HostHighCpu', 'DiskWillFillIn4h', 'SourceDown'][i % 3]!;
    add(alertname, 'ticket', '', { host, tier: 'app' }, at, at + 600 + (i % 5) * 300);
  }
  return out;
}

function notifications(
  transitions: Array<Record<string, unknown>>,
): Array<Record<string, unknown>> {
  return transitions
    .filter((t) => t['state'] !== 'pending')
    .flatMap((t, i) => {
      const page = t['severity'] === 'page';
      const firing = t['state'] === 'firing';
      const fp = t['fingerprint'] as number;
      const receivers: Array<[string, string]> = page
        ? [
            ['oncall', 'pagerduty'],
            ['team-slack', 'slack'],
          ]
        : [['team-slack', 'slack']];
      return receivers.map(([receiver, integration], j) => {
        const failed = (i + j) % 17 === 0;
        return {
          ts: stamp(Number(t['at']) + 30),
          receiver,
          integration,
          group_key: `{}:{alertname="${String(t['alertname'])}"}`,
          firing_alerts: firing ? [fp] : [],
          resolved_alerts: firing ? [] : [fp],
          outcome: failed ? 'failed' : 'sent',
          attempts: failed ? 3 : 1,
          error: failed ? 'slack: HTTP 503 (retryable)' : '',
          expires_at: stamp(Number(t['at']) + 5 * DAY),
        };
      });
    });
}

async function fillAlerts(store: Store, w: Window): Promise<void> {
  const transitions = alertTransitions(w);
  await store.client.insert({
    table: `${store.database}.alert_history`,
    values: transitions.map(({ at: _at, ...row }) => row),
    format: 'JSONEachRow',
  });
  await store.client.insert({
    table: `${store.database}.notification_log`,
    values: notifications(transitions),
    format: 'JSONEachRow',
  });
}

export interface Generated {
  series: number;
  /** Seconds spent on samples (their rollups included), logs, and the rest. */
  samplesSeconds: number;
  logsSeconds: number;
  otherSeconds: number;
}

/** Everything a dashboard reads, for `hosts` hosts over the day of `w`. */
export async function generate(store: Store, w: Window, hosts: number): Promise<Generated> {
  const t0 = performance.now();
  const series = await fillSamples(store, w, hosts);
  const t1 = performance.now();
  await fillLogs(store, w, hosts);
  const t2 = performance.now();
  await fillSloEvaluations(store, w);
  await fillAlerts(store, w);
  const t3 = performance.now();
  return {
    series,
    samplesSeconds: (t1 - t0) / 1000,
    logsSeconds: (t2 - t1) / 1000,
    otherSeconds: (t3 - t2) / 1000,
  };
}
