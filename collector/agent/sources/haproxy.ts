// The haproxy source: reads the stats CSV (from the stats page over HTTP or from the stats
// socket) and reports each frontend, backend and server: state, sessions, bytes, responses by
// class, errors, queue, health checks, and how many servers of each backend are up.

import { connect } from 'node:net';
import { z } from 'zod';
import { byteSize, httpUrl, secret } from '../../../core/config/schema.ts';
import { redactUrl } from '../../../core/config/secret.ts';
import { fetchText } from '../http.ts';
import type { RawSample, SampleType, Source, SourceContext, SourceDefinition } from '../types.ts';

type Kind = 'frontend' | 'backend' | 'server';

export class HaproxyStatsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HaproxyStatsError';
  }
}

export const haproxyOptions = z
  .strictObject({
    /** The stats page; `;csv` is appended to the path unless the path already holds it. */
    url: httpUrl('use username and password').optional(),
    /** The stats socket (`stats socket …` in haproxy's global section), any level. */
    socket: z
      .string({ error: 'expected a unix socket path' })
      .min(1, { error: 'expected a unix socket path' })
      .optional(),
    username: z
      .string({ error: 'expected a user name' })
      .min(1, { error: 'expected a user name' })
      .optional(),
    password: secret(),
    max_bytes: byteSize('10MiB'),
  })
  .superRefine((options, ctx) => {
    if ((options.url === undefined) === (options.socket === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of url and socket' });
    }
    if ((options.username === undefined) !== (options.password === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [options.username === undefined ? 'username' : 'password'],
        message: 'expected username and password together',
      });
    }
    if (options.socket !== undefined && options.username !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['username'],
        message: 'expected username and password only with url (the socket has no login)',
      });
    }
  });

type HaproxyOptions = z.output<typeof haproxyOptions>;

/**
 * The CSV export of the stats page. haproxy looks for `;csv` anywhere after its `stats uri`,
 * which may hold a query (`stats uri /haproxy?stats`), so it goes at the very end.
 */
export function csvUrl(url: string): string {
  const parsed = new URL(url);
  parsed.hash = '';
  if ((parsed.pathname + parsed.search).includes(';csv')) return parsed.toString();
  if (parsed.search !== '') parsed.search += ';csv';
  else parsed.pathname += ';csv';
  return parsed.toString();
}

export const haproxySource: SourceDefinition<typeof haproxyOptions> = {
  type: 'haproxy',
  options: haproxyOptions,
  create(options, deps): Source {
    const target = options.url ? redactUrl(csvUrl(options.url)) : `socket ${options.socket}`;
    return {
      name: deps.name,
      type: 'haproxy',
      async collect(ctx) {
        const text = await readStats(options, ctx).catch((err: unknown) => {
          throw new HaproxyStatsError(`read haproxy stats from ${target}: ${message(err)}`, {
            cause: err,
          });
        });
        let table: StatsTable;
        try {
          table = parseStats(text);
        } catch (err) {
          throw new HaproxyStatsError(`parse haproxy stats from ${target}: ${message(err)}`, {
            cause: err,
          });
        }
        if (table.skipped > 0) {
          ctx.logger.warn({ module: 'source-haproxy', skipped: table.skipped }, 'skipped rows');
        }
        return { samples: toSamples(table.rows) };
      },
    };
  },
};

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function readStats(options: HaproxyOptions, ctx: SourceContext): Promise<string> {
  if (options.socket !== undefined) {
    return readSocket(options.socket, 'show stat\n', ctx.signal, options.max_bytes.bytes);
  }
  return readPage(options, ctx);
}

async function readPage(options: HaproxyOptions, ctx: SourceContext): Promise<string> {
  const headers: Record<string, string> = {};
  if (options.username !== undefined && options.password !== undefined) {
    const pair = `${options.username}:${options.password.reveal()}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  }
  const response = await fetchText(csvUrl(options.url!), {
    signal: ctx.signal,
    maxBytes: options.max_bytes.bytes,
    headers,
  });
  if (response.status === 401) {
    throw new Error(
      options.username === undefined
        ? 'HTTP 401: the stats page asks for a login (set username and password)'
        : 'HTTP 401: the stats page refused the username and password',
    );
  }
  if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
  return response.text;
}

/** Sends one command to a unix socket and reads the answer until haproxy closes it. */
export function readSocket(
  path: string,
  command: string,
  signal: AbortSignal,
  maxBytes: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('timed out'));
    const chunks: Buffer[] = [];
    let size = 0;
    const socket = connect({ path });
    const fail = (err: Error) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(new Error('timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => socket.write(command));
    socket.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes)
        return fail(new Error(`answer is larger than the limit of ${maxBytes} bytes`));
      chunks.push(chunk);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => fail(new Error(err.code ?? err.message)));
    socket.once('end', () => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/**
 * Splits CSV into rows of fields. A last line without its line break was cut short: it is
 * dropped rather than reported as half a row.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    if (end < 0) break;
    const line = text.slice(start, text[end - 1] === '\r' ? end - 1 : end);
    // haproxy quotes only fields holding a comma or a quote: most lines take the fast path.
    const row = line.includes('"')
      ? readQuotedRow(text, start)
      : { fields: line.split(','), next: end + 1 };
    if (!row) break;
    rows.push(row.fields);
    start = row.next;
  }
  return rows;
}

/** One row from start, where a quoted field may hold commas, "" and line breaks. */
function readQuotedRow(
  text: string,
  start: number,
): { fields: string[]; next: number } | undefined {
  const fields: string[] = [];
  let field = '';
  let i = start;
  while (i < text.length) {
    const c = text[i++];
    if (c === '"' && field === '') {
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) return undefined;
        field += text.slice(i, close);
        i = close + 1;
        if (text[i] !== '"') break;
        field += '"';
        i++;
      }
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n') {
      fields.push(field.endsWith('\r') ? field.slice(0, -1) : field);
      return { fields, next: i };
    } else field += c;
  }
  return undefined;
}

export interface StatsRow {
  kind: Kind;
  proxy: string;
  server: string;
  /** Non-empty fields by column name: an empty field is an absent value, not zero. */
  fields: Map<string, string>;
}

export interface StatsTable {
  rows: StatsRow[];
  /** Rows dropped as malformed, cut short or repeated. */
  skipped: number;
}

const KINDS: Record<string, Kind | undefined> = { '0': 'frontend', '1': 'backend', '2': 'server' };

/** Reads `show stat` CSV by column name, since each haproxy version adds columns. */
export function parseStats(text: string): StatsTable {
  const rows = parseCsv(text.replace(/^\uFEFF/, '').replace(/^\s*\n/, ''));
  const header = rows.shift();
  if (!header && text.trimStart().startsWith('#')) {
    throw new Error('the answer ends inside its header line');
  }
  if (!header || !header[0]?.startsWith('#')) {
    throw new Error(`expected CSV starting with "# pxname,svname,…", got ${preview(text)}`);
  }
  const columns = header.map((name, i) => (i === 0 ? name.replace(/^#\s*/, '') : name).trim());
  if (!columns.includes('pxname') || !columns.includes('svname')) {
    throw new Error(`expected CSV starting with "# pxname,svname,…", got ${preview(text)}`);
  }
  const table: StatsTable = { rows: [], skipped: 0 };
  const seen = new Set<string>();
  const type = columns.indexOf('type');
  const wanted = wantedColumns(columns);
  for (const values of rows) {
    if (values.length === 1 && values[0] === '') continue;
    // Listeners repeat what their frontend row already counts.
    if (type >= 0 && values[type] === '3') continue;
    const row = values.length === columns.length ? toRow(wanted, values) : undefined;
    const key = row && JSON.stringify([row.kind, row.proxy, row.server]);
    if (!row || !key || seen.has(key)) {
      table.skipped++;
      continue;
    }
    seen.add(key);
    table.rows.push(row);
  }
  if (table.rows.length === 0 && table.skipped > 0) {
    throw new Error(`none of the ${table.skipped} rows could be read`);
  }
  return table;
}

/** The positions of the columns this source reads (the first, should a name repeat). */
function wantedColumns(columns: string[]): Array<[string, number]> {
  const wanted = new Map<string, number>();
  columns.forEach((name, i) => {
    if (READ.has(name) && !wanted.has(name)) wanted.set(name, i);
  });
  return [...wanted];
}

function toRow(wanted: Array<[string, number]>, values: string[]): StatsRow | undefined {
  const fields = new Map<string, string>();
  for (const [name, i] of wanted) {
    const value = values[i];
    if (value !== undefined && value !== '') fields.set(name, value);
  }
  const proxy = fields.get('pxname');
  const server = fields.get('svname');
  if (proxy === undefined || server === undefined) return undefined;
  const type = fields.get('type');
  // Without a type column (haproxy before 1.3.14) the svname tells the kind.
  const kind =
    type !== undefined
      ? KINDS[type]
      : server === 'FRONTEND'
        ? 'frontend'
        : server === 'BACKEND'
          ? 'backend'
          : 'server';
  return kind ? { kind, proxy, server, fields } : undefined;
}

const preview = (text: string) =>
  JSON.stringify(text.slice(0, 40).replace(/[^\x20-\x7e]/g, '?') + (text.length > 40 ? '…' : ''));

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

const READ = new Set([
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
