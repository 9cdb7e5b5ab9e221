// Encodes sample rows into insert payloads as bytes (TabSeparated and RowBinary), exactly:
// NaN, ±Inf, -0, any label text and millisecond UTC timestamps survive the trip.

import type { SampleRow } from './write.ts';

/** The columns every payload carries, in order; fingerprint is left to its DEFAULT. */
export const SAMPLE_COLUMNS = ['name', 'tier', 'host', 'service', 'labels', 'ts', 'value'] as const;

/**
 * The payload's structure as ClickHouse reads it. Plain String rather than the table's
 * LowCardinality: the engine turns a whole column into LowCardinality in one cast, far cheaper
 * than building the dictionary value by value while it parses.
 */
export const SAMPLE_STRUCTURE =
  "name String, tier String, host String, service String, labels Map(String, String), ts DateTime64(3, 'UTC'), value Float64";

/** Names the row and the kind of bad value, never its text: a label may hold anything. */
function fail(index: number, what: string, got: unknown): never {
  const kind = got === null ? 'null' : typeof got === 'number' ? String(got) : typeof got;
  throw new TypeError(`sample ${index}: ${what} (got ${kind})`);
}

/** Throws a TypeError naming the first row that is not a well-formed sample. */
export function checkSampleRows(rows: readonly SampleRow[]): void {
  for (let i = 0; i < rows.length; i++) checkRow(rows[i]!, i);
}

function checkRow(row: SampleRow, index: number): void {
  checkSeriesFields(row, index);
  checkPoint(row, index);
}

/** Name, tier, host, service and labels: what rows of one series share. */
function checkSeriesFields(row: SampleRow, index: number): void {
  for (const field of ['name', 'tier', 'host', 'service'] as const) {
    if (typeof row[field] !== 'string') fail(index, `${field} must be a string`, row[field]);
  }
  if (typeof row.labels !== 'object' || row.labels === null) {
    fail(index, 'labels must be an object', row.labels);
  }
  for (const key of Object.keys(row.labels)) {
    if (typeof row.labels[key] !== 'string')
      fail(index, 'a label must be a string', row.labels[key]);
  }
}

function checkPoint(row: SampleRow, index: number): void {
  if (typeof row.value !== 'number') fail(index, 'value must be a number', row.value);
  if (!Number.isSafeInteger(row.ts)) fail(index, 'ts must be integer milliseconds', row.ts);
}

// ---------------------------------------------------------------------------------------------
// TabSeparated: the portable text payload. Plain fields escape backslash, tab, line breaks and
// NUL (a statement can travel as a C string); map keys and values are quoted strings inside the
// field, which also escape the quote.

const TSV_SPECIAL = /[\\\t\n\r\0]/;
const QUOTED_SPECIAL = /[\\'\t\n\r\0]/;

function escapeChar(c: string): string {
  switch (c) {
    case '\t':
      return '\\t';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\0':
      return '\\0';
    default:
      return `\\${c}`;
  }
}

function tsvField(value: unknown, index: number, what: string): string {
  if (typeof value !== 'string') fail(index, `${what} must be a string`, value);
  return TSV_SPECIAL.test(value) ? value.replace(/[\\\t\n\r\0]/g, escapeChar) : value;
}

function quoted(value: unknown, index: number): string {
  if (typeof value !== 'string') fail(index, 'a label must be a string', value);
  return QUOTED_SPECIAL.test(value)
    ? `'${value.replace(/[\\'\t\n\r\0]/g, escapeChar)}'`
    : `'${value}'`;
}

function tsvLabels(labels: Record<string, string>, index: number): string {
  let out = '{';
  let first = true;
  for (const key of Object.keys(labels)) {
    out += `${first ? '' : ','}${quoted(key, index)}:${quoted(labels[key], index)}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * Text floats: the shortest form that reads back to the same double, and the names ClickHouse
 * reads for the values JSON has none for. String(-0) is "0", hence the sign check.
 */
function tsvFloat(value: number): string {
  if (Number.isFinite(value)) return value === 0 && 1 / value < 0 ? '-0' : String(value);
  if (Number.isNaN(value)) return 'nan';
  return value > 0 ? 'inf' : '-inf';
}

/**
 * 'YYYY-MM-DD hh:mm:ss.mmm' in UTC. A bare number is no good: ClickHouse takes a short one such
 * as 0.001 for the start of a date. Rows of a batch share their seconds, so the prefix is cached.
 */
function tsvTimestamper(): (ms: number) => string {
  let second = NaN;
  let prefix = '';
  return (ms) => {
    const s = Math.floor(ms / 1000);
    if (s !== second) {
      second = s;
      const iso = new Date(s * 1000).toISOString();
      prefix = `${iso.slice(0, 10)} ${iso.slice(11, 19)}.`;
    }
    const frac = ms - s * 1000;
    return prefix + (frac < 10 ? `00${frac}` : frac < 100 ? `0${frac}` : `${frac}`);
  };
}

/** One TabSeparated line per row, columns as SAMPLE_COLUMNS, UTF-8. */
export function encodeSamplesTsv(rows: readonly SampleRow[]): Buffer {
  const timestamp = tsvTimestamper();
  // Series fields repeat across a batch: escape each distinct one once.
  const seen = new Map<string, string>();
  const field = (value: unknown, index: number, what: string): string => {
    if (typeof value === 'string') {
      const hit = seen.get(value);
      if (hit !== undefined) return hit;
    }
    const out = tsvField(value, index, what);
    seen.set(value as string, out);
    return out;
  };
  // Short strings joined by chunk: one long += chain makes a deep rope that is slow to flatten.
  const chunks: Buffer[] = [];
  let out = '';
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    checkRow(row, i);
    out +=
      `${field(row.name, i, 'name')}\t${field(row.tier, i, 'tier')}\t${field(row.host, i, 'host')}\t` +
      `${field(row.service, i, 'service')}\t${tsvLabels(row.labels, i)}\t${timestamp(row.ts)}\t` +
      `${tsvFloat(row.value)}\n`;
    if (out.length > 65_536) {
      chunks.push(Buffer.from(out, 'utf8'));
      out = '';
    }
  }
  chunks.push(Buffer.from(out, 'utf8'));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------------
// RowBinary: length-prefixed UTF-8 strings, the map as a count and pairs, the timestamp as
// Int64 milliseconds and the value as its eight IEEE bytes. Nothing to escape, nothing to parse.

class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(capacity, 64));
  }

  ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  string(s: string): void {
    const n = s.length;
    this.ensure(5 + n * 3);
    // Short ASCII, the common case: one length byte, then the code units as bytes.
    if (n < 0x80) {
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.varint(bytes);
    this.pos += this.buf.write(s, this.pos, bytes, 'utf8');
  }

  int64(n: number): void {
    this.ensure(8);
    const high = Math.floor(n / 0x1_0000_0000);
    this.buf.writeUInt32LE(n - high * 0x1_0000_0000, this.pos);
    this.buf.writeInt32LE(high, this.pos + 4);
    this.pos += 8;
  }

  float64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }
}

function binaryString(w: ByteWriter, value: unknown, index: number, what: string): void {
  if (typeof value !== 'string') fail(index, `${what} must be a string`, value);
  w.string(value);
}

/**
 * RowBinary rows in the order and types of SAMPLE_COLUMNS / SAMPLE_STRUCTURE. Consecutive rows of
 * one series (same name, tier, host, service and labels object, as a batch's points come) copy
 * the series' bytes from the row before instead of encoding them again.
 */
export function encodeSamplesRowBinary(rows: readonly SampleRow[]): Buffer {
  const w = new ByteWriter(rows.length * 96);
  let previous: SampleRow | undefined;
  let seriesStart = 0;
  let seriesEnd = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (
      previous !== undefined &&
      row.labels === previous.labels &&
      row.name === previous.name &&
      row.host === previous.host &&
      row.tier === previous.tier &&
      row.service === previous.service
    ) {
      checkPoint(row, i);
      const length = seriesEnd - seriesStart;
      w.ensure(length + 16);
      w.buf.copy(w.buf, w.pos, seriesStart, seriesEnd);
      seriesStart = w.pos;
      w.pos += length;
      seriesEnd = w.pos;
    } else {
      checkRow(row, i);
      seriesStart = w.pos;
      binaryString(w, row.name, i, 'name');
      binaryString(w, row.tier, i, 'tier');
      binaryString(w, row.host, i, 'host');
      binaryString(w, row.service, i, 'service');
      const labels = row.labels;
      const keys = Object.keys(labels);
      w.ensure(5);
      w.varint(keys.length);
      for (const key of keys) {
        binaryString(w, key, i, 'a label');
        binaryString(w, labels[key], i, 'a label');
      }
      seriesEnd = w.pos;
      previous = row;
    }
    w.int64(row.ts);
    w.float64(row.value);
  }
  return w.buf.subarray(0, w.pos);
}
