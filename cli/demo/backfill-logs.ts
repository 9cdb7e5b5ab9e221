// The backfill's shop log lines: about one a second, shaped like the live ones, generated inside
// ClickHouse within the logs' retention.

import { ident, param, sql, type BoundQuery } from '../../core/store/sql.ts';
import { type Store } from '../../core/store/store.ts';
import { createRandom } from './random.ts';
import { ROUTES } from './routes.ts';
import {
  DAY,
  DEFAULT_LOGS_RETENTION_MS,
  MINUTE,
  bytes,
  floats,
  strings,
  type Chunk,
} from './backfill-plan.ts';
import { instant } from './backfill-series.ts';

export interface LogTarget {
  tier: string;
  host: string;
  service: string;
  file: string;
}

/** Where the shop's lines go: as its live lines do, or app-1 when there are none yet. */
export async function logTarget(
  store: Store,
  hosts: readonly string[],
  to: number,
): Promise<LogTarget | undefined> {
  const [row] = await store.query<{ tier: string; host: string; file: string; n: string }>(
    sql`SELECT any(l.tier) AS tier, any(l.host) AS host, count() AS n,
          anyIf(l.attributes['log_file_path'], l.attributes['log_file_path'] != '') AS file
        FROM ${ident(store.table('logs'))} AS l
        WHERE l.service = 'shop' AND l.host IN ${strings(hosts)} AND l.ts >= ${instant(to)}`,
  );
  if (row && Number(row.n) > 0)
    return { tier: row.tier, host: row.host, service: 'shop', file: row.file };
  return hosts.includes('app-1')
    ? { tier: 'app', host: 'app-1', service: 'shop', file: '' }
    : undefined;
}

/** The logs table's TTL (clickhouse.retention.logs as migrated), or 14 days if it cannot be read. */
export async function logsRetentionMs(store: Store): Promise<number> {
  const rows = await store.query<{ engine_full: string }>(
    sql`SELECT engine_full FROM system.tables
      WHERE database = ${store.database} AND name IN ('logs', 'logs_local')`,
  );
  for (const row of rows) {
    const ttl = /\bTTL\b.*?toIntervalSecond\((\d+)\)/.exec(row.engine_full);
    if (ttl) return Number(ttl[1]) * 1000;
  }
  return DEFAULT_LOGS_RETENTION_MS;
}

/** The shop's failures, as its log lines word them. */
const FAILURES = [
  { status: 500, text: 'upstream request timeout: payments' },
  { status: 503, text: 'database unavailable: connect ECONNREFUSED db-1:5432' },
  { status: 500, text: 'database error: could not extend file: No space left on device' },
  { status: 500, text: 'publish order: nats: insufficient resources' },
];

function routeParams(seed: number) {
  const random = createRandom(seed);
  const weight = ROUTES.reduce((sum, r) => sum + r.weight, 0);
  let cumulative = 0;
  return {
    routes: ROUTES.map((r) => r.route),
    methods: ROUTES.map((r) => r.method),
    ok: ROUTES.map((r) => r.okStatus),
    client: ROUTES.map((r) => r.clientError.status),
    clientRate: ROUTES.map((r) => r.clientError.rate),
    cached: ROUTES.map((r) => (r.cached ? 1 : 0)),
    upTo: ROUTES.map((r, i) => (i === ROUTES.length - 1 ? 1 : (cumulative += r.weight) / weight)),
    paths: ROUTES.map((r) => Array.from({ length: 32 }, () => r.path(random))),
  };
}

/**
 * Shop log lines per minute of a chunk: following the traffic, one a second on average over the
 * logged range (`mean` is the range's mean traffic), a reduced rate of the demo's live lines. A
 * minute cut short by `to` gets its share.
 */
export function logCounts(chunk: Chunk, to: number, mean: number, seed: number): number[] {
  const random = createRandom(seed * 17 + Math.floor(chunk.start / DAY));
  return chunk.traffic.map((t, m) => {
    const span = Math.min(MINUTE, to - (chunk.start + m * MINUTE)) / MINUTE;
    return Math.max(0, Math.round(((60 * span * t) / mean) * (0.9 + 0.2 * random.next())));
  });
}

const shorts = (values: readonly number[]) => param([...values], 'Array(UInt16)');

/**
 * `counts` lines per minute of the chunk, spread over the minute (never reaching `to`): `error`
 * lines (5xx) at each minute's failure share, `warn` lines at the routes' 4xx rates, fields as the
 * agent reads the shop's JSON lines (collector/agent/log-parsers.ts): body, severity, trace id,
 * the other fields as attributes.
 */
export function logSelect(
  target: LogTarget,
  chunk: Chunk,
  counts: number[],
  o: { seed: number; to: number },
): BoundQuery {
  const r = routeParams(o.seed);
  const minute0 = Math.round(chunk.start / MINUTE);
  const u = (salt: number) =>
    sql`((cityHash64(${o.seed}, ${salt}, minute, k) % 1000000) / 1000000)`;
  const hex = (salt: number) =>
    sql`leftPad(lower(hex(cityHash64(${o.seed}, ${salt}, minute, k))), 16, '0')`;
  // A right-skewed duration (log-normal) with this median and 99th percentile, as the demo's.
  const skewed = (median: number, p99: number) =>
    sql`${median} * exp(${Math.log(p99 / median) / 2.3263} * sqrt(-2 * log(1 - ${u(6)})) * cos(2 * pi() * ${u(7)}))`;
  return sql`SELECT
      fromUnixTimestamp64Milli(toInt64(start + floor((k + ${u(1)}) * span / c)), 'UTC') AS ts,
      arrayFirstIndex(x -> x > ${u(2)}, ${floats(r.upTo)}) AS route_i,
      ${u(3)} < ${floats(chunk.share)}[m + 1] AS failed,
      1 + cityHash64(${o.seed}, 5, minute, k) % ${FAILURES.length} AS failure_i,
      ${strings(r.methods)}[route_i] AS method,
      ${param(r.paths, 'Array(Array(String))')}[route_i] AS paths,
      paths[1 + cityHash64(${o.seed}, 8, minute, k) % length(paths)] AS path,
      multiIf(failed, ${shorts(FAILURES.map((f) => f.status))}[failure_i],
        ${u(4)} < ${floats(r.clientRate)}[route_i], ${shorts(r.client)}[route_i],
        ${shorts(r.ok)}[route_i]) AS status,
      multiIf(failed, ${skewed(0.003, 0.02)}, status >= 400, ${skewed(0.004, 0.03)},
        ${skewed(0.04, 0.3)}) AS seconds,
      if(${bytes(r.cached)}[route_i] = 1 AND status < 400, if(${u(9)} < 0.9, 'hit', 'miss'), '') AS cache,
      multiIf(status >= 500, 'error', status >= 400, 'warn', 'info') AS severity,
      concat(method, ' ', path, ' ', toString(status),
        if(failed, concat(': ', ${strings(FAILURES.map((f) => f.text))}[failure_i]), '')) AS body,
      mapFilter((key, value) -> value != '', map('method', method, 'path', path,
        'route', ${strings(r.routes)}[route_i], 'status', toString(status),
        'duration_ms', toString(round(seconds * 10000) / 10), 'cache', cache,
        'log_file_path', ${target.file})) AS attributes,
      concat(${hex(10)}, ${hex(11)}) AS trace_id
    FROM (SELECT number AS m, ${minute0} + number AS minute, ${chunk.start} + number * 60000 AS start,
            least(60000, ${o.to} - start) AS span, ${param(counts, 'Array(UInt32)')}[number + 1] AS c
          FROM numbers(${chunk.minutes}) WHERE c > 0)
    ARRAY JOIN range(c) AS k`;
}
