// Reads haproxy's `show stat` CSV into rows by column name: frontends, backends and servers.

import { READ } from './haproxy-series.ts';

export type Kind = 'frontend' | 'backend' | 'server';

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
