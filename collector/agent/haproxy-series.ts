// Maps haproxy stats rows to samples: up and status, sessions, bytes, responses, checks.

import type { Kind, StatsRow } from './haproxy-csv.ts';
import type { RawSample, SampleType } from './types.ts';

/**
 * Up means the proxy or server takes new traffic: OPEN, UP and UP going down ("UP 1/2"), FULL
 * (a frontend at its limit still serves), "no check" (haproxy sends it traffic). DOWN, going up
 * ("DOWN 1/2"), NOLB, DRAIN, MAINT and STOP take none.
 */
export function isUp(status: string): boolean {
  const state = status.trim().toUpperCase();
  return /^(UP|OPEN|FULL|NO CHECK)\b/.test(state);
}

interface Column {
  column: string;
  metric: string;
  type: SampleType;
  scale?: number;
  kinds?: Kind[];
}

const COLUMNS: Column[] = [
  { column: 'scur', metric: 'current_sessions', type: 'gauge' },
  { column: 'stot', metric: 'sessions_total', type: 'counter' },
  { column: 'bin', metric: 'bytes_in_total', type: 'counter' },
  { column: 'bout', metric: 'bytes_out_total', type: 'counter' },
  { column: 'req_tot', metric: 'http_requests_total', type: 'counter' },
  { column: 'qcur', metric: 'current_queue', type: 'gauge' },
  { column: 'rate', metric: 'current_session_rate', type: 'gauge' },
  { column: 'req_rate', metric: 'http_requests_rate', type: 'gauge' },
  { column: 'ereq', metric: 'request_errors_total', type: 'counter' },
  { column: 'econ', metric: 'connection_errors_total', type: 'counter' },
  { column: 'eresp', metric: 'response_errors_total', type: 'counter' },
  { column: 'downtime', metric: 'downtime_seconds_total', type: 'counter' },
  { column: 'weight', metric: 'weight', type: 'gauge' },
  { column: 'act', metric: 'active_servers', type: 'gauge', kinds: ['backend'] },
  { column: 'bck', metric: 'backup_servers', type: 'gauge', kinds: ['backend'] },
  {
    column: 'check_duration',
    metric: 'check_duration_seconds',
    type: 'gauge',
    scale: 0.001,
    kinds: ['server'],
  },
];

const RESPONSE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'];

export const READ = new Set([
  'pxname',
  'svname',
  'type',
  'status',
  'check_status',
  ...COLUMNS.map((c) => c.column),
  ...RESPONSE_CLASSES.map((code) => `hrsp_${code}`),
]);

/** A count or a rate: anything else (a "-", a negative "unknown") is absent. */
function numberOf(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
}

export function toSamples(rows: StatsRow[]): RawSample[] {
  const samples: RawSample[] = [];
  const serversUp = new Map<string, number>();
  for (const row of rows) {
    if (row.kind !== 'server') continue;
    const up = isUp(row.fields.get('status') ?? '') ? 1 : 0;
    serversUp.set(row.proxy, (serversUp.get(row.proxy) ?? 0) + up);
  }
  for (const row of rows) {
    const labels: Record<string, string> =
      row.kind === 'server' ? { proxy: row.proxy, server: row.server } : { proxy: row.proxy };
    const add = (metric: string, value: number, type: SampleType, extra = {}) =>
      samples.push({
        name: `haproxy_${row.kind}_${metric}`,
        labels: { ...labels, ...extra },
        value,
        type,
      });
    const status = row.fields.get('status');
    if (status !== undefined) {
      add('up', isUp(status) ? 1 : 0, 'gauge');
      add('status', 1, 'gauge', { state: status });
    }
    for (const { column, metric, type, scale, kinds } of COLUMNS) {
      const value = numberOf(row.fields.get(column));
      if (value !== undefined && (!kinds || kinds.includes(row.kind))) {
        add(metric, value * (scale ?? 1), type);
      }
    }
    for (const code of RESPONSE_CLASSES) {
      const value = numberOf(row.fields.get(`hrsp_${code}`));
      if (value !== undefined) add('http_responses_total', value, 'counter', { code });
    }
    const check = row.fields.get('check_status')?.replace(/^\*\s*/, '');
    if (row.kind === 'server' && check) add('check_status', 1, 'gauge', { status: check });
    if (row.kind === 'backend') add('servers_up', serversUp.get(row.proxy) ?? 0, 'gauge');
  }
  return samples;
}
