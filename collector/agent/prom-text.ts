// A hand-written scanner for the Prometheus text format 0.0.4 and OpenMetrics 1.0 text: it sits
// on the ingest path, so it walks the body once with charCodeAt and slices, never a regex a line.

export type FamilyType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'gaugehistogram'
  | 'summary'
  | 'info'
  | 'stateset'
  | 'untyped'
  | 'unknown';

export interface PromSample {
  name: string;
  /** Without empty values: as in Prometheus, `a=""` is the same as no label a. */
  labels: Record<string, string>;
  value: number;
  /** The sample's own timestamp in ms, when it has one. */
  ts: number | undefined;
  /** The type declared by `# TYPE` for the family, else untyped (unknown in OpenMetrics). */
  type: FamilyType;
  /** The family the sample belongs to: `x` for `x_bucket`, `x_sum`, …; else the name itself. */
  family: string;
}

export type SampleVisitor = (
  name: string,
  labels: Record<string, string>,
  value: number,
  ts: number | undefined,
  type: FamilyType,
  family: string,
) => void;

export interface BadLine {
  /** 1-based. */
  line: number;
  reason: string;
}

export interface ScanStats {
  /** Samples passed to the visitor (not counting dropped `_created` ones). */
  sampleCount: number;
  /** Lines that did not parse and were left out. */
  skipped: number;
  firstBad: BadLine | undefined;
  openMetrics: boolean;
}

export interface ScanOptions {
  /** OpenMetrics (float-second timestamps, `# EOF`); detected from a final `# EOF` when unset. */
  openMetrics?: boolean;
}

/** Longer lines are skipped unread (measured in UTF-16 code units, as JS strings are). */
export const MAX_LINE_LENGTH = 64 * 1024;

const NAME_START = 1;
const NAME_CHAR = 2;
const LABEL_START = 4;
const LABEL_CHAR = 8;

const CHAR_CLASS = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    const digit = c >= 48 && c <= 57;
    if (letter || c === 95) table[c]! |= NAME_START | NAME_CHAR | LABEL_START | LABEL_CHAR;
    if (digit) table[c]! |= NAME_CHAR | LABEL_CHAR;
    if (c === 58) table[c]! |= NAME_START | NAME_CHAR;
  }
  return table;
})();

const is = (c: number, cls: number) => c < 128 && (CHAR_CLASS[c]! & cls) !== 0;

const SPACE = 32;
const TAB = 9;
const HASH = 35;
const QUOTE = 34;
const BACKSLASH = 92;

/** Sample suffixes of each family type; `_created` samples are dropped (a start time, not data). */
const SUFFIXES: Record<FamilyType, readonly string[]> = {
  counter: ['_total', '_created'],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
  summary: ['_sum', '_count', '_created'],
  info: ['_info'],
  gauge: [],
  stateset: [],
  untyped: [],
  unknown: [],
};

const FAMILY_TYPES = new Set<string>(Object.keys(SUFFIXES));

/** A Map, not an object: a value written `__proto__` must not find Object.prototype. */
const SPECIAL_VALUES = new Map<string, number>([
  ['nan', NaN],
  ['+nan', NaN],
  ['-nan', NaN],
  ['inf', Infinity],
  ['+inf', Infinity],
  ['-inf', -Infinity],
  ['infinity', Infinity],
  ['+infinity', Infinity],
  ['-infinity', -Infinity],
]);

/** Sets a label even when it is named __proto__ (a plain assignment would set the prototype). */
export function putLabel(labels: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') {
    Object.defineProperty(labels, name, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else labels[name] = value;
}

/** True when the body ends with the OpenMetrics `# EOF` line. */
export function endsWithEof(text: string): boolean {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) <= SPACE) end--;
  return (
    end >= 5 && text.startsWith('# EOF', end - 5) && (end === 5 || text.charCodeAt(end - 6) === 10)
  );
}

/** Parses a whole body into a flat list of samples, with the count of skipped lines. */
export function parsePromText(
  text: string,
  options: ScanOptions = {},
): ScanStats & { samples: PromSample[] } {
  const samples: PromSample[] = [];
  const stats = scanPromText(
    text,
    (name, labels, value, ts, type, family) => {
      samples.push({ name, labels, value, ts, type, family });
    },
    options,
  );
  return { ...stats, samples };
}

/** Calls visit for each sample of the body, in order; returns what was read and skipped. */
export function scanPromText(
  text: string,
  visit: SampleVisitor,
  options: ScanOptions = {},
): ScanStats {
  const scanner = new Scanner(text, options.openMetrics ?? endsWithEof(text));
  return scanner.run(visit);
}

class Scanner {
  private readonly text: string;
  private readonly openMetrics: boolean;
  private familyName = '';
  private familyType: FamilyType | undefined;
  private readonly names: Recall;
  private readonly labelNames: Recall;
  private readonly labelValues: Recall;
  private readonly lineLabelNames: string[] = [];
  // The sample being read, kept in fields so that reading a line allocates only its results.
  private name = '';
  private family = '';
  private type: FamilyType = 'untyped';
  private labels: Record<string, string> = {};
  private value = 0;
  private ts: number | undefined;
  private dropped = false;
  private eof = false;

  constructor(text: string, openMetrics: boolean) {
    this.text = text;
    this.openMetrics = openMetrics;
    this.names = new Recall(text);
    this.labelNames = new Recall(text);
    this.labelValues = new Recall(text);
  }

  run(visit: SampleVisitor): ScanStats {
    const text = this.text;
    const length = text.length;
    const stats: ScanStats = {
      sampleCount: 0,
      skipped: 0,
      firstBad: undefined,
      openMetrics: this.openMetrics,
    };
    let pos = 0;
    let lineNumber = 0;
    while (pos < length && !this.eof) {
      let next = text.indexOf('\n', pos);
      if (next < 0) next = length;
      lineNumber++;
      let end = next;
      if (end > pos && text.charCodeAt(end - 1) === 13) end--;
      let start = pos;
      pos = next + 1;
      let reason: string | undefined;
      if (end - start > MAX_LINE_LENGTH) reason = 'line longer than 64 KiB';
      else {
        start = skipBlanks(text, start, end);
        if (start === end) continue;
        if (text.charCodeAt(start) === HASH) reason = this.comment(start + 1, end);
        else {
          reason = this.sample(start, end);
          if (reason === undefined && !this.dropped) {
            stats.sampleCount++;
            visit(this.name, this.labels, this.value, this.ts, this.type, this.family);
          }
        }
      }
      if (reason !== undefined) {
        stats.skipped++;
        stats.firstBad ??= { line: lineNumber, reason };
      }
    }
    return stats;
  }

  /** A `#` line: HELP and UNIT are not kept, TYPE starts a family, EOF ends the body. */
  private comment(pos: number, end: number): string | undefined {
    const text = this.text;
    if (pos >= end || !isBlank(text.charCodeAt(pos))) return undefined;
    pos = skipBlanks(text, pos, end);
    const keywordEnd = tokenEnd(text, pos, end);
    const keyword = text.slice(pos, keywordEnd);
    if (keyword === 'EOF') {
      if (skipBlanks(text, keywordEnd, end) === end) this.eof = this.openMetrics;
      return undefined;
    }
    if (keyword !== 'TYPE') return undefined;
    const nameStart = skipBlanks(text, keywordEnd, end);
    const nameEnd = tokenEnd(text, nameStart, end);
    const typeStart = skipBlanks(text, nameEnd, end);
    const typeEnd = tokenEnd(text, typeStart, end);
    this.familyType = undefined;
    this.names.clear();
    if (nameStart === nameEnd || !isMetricName(text, nameStart, nameEnd)) {
      return 'expected a metric name after # TYPE';
    }
    const type = text.slice(typeStart, typeEnd);
    if (!FAMILY_TYPES.has(type) || skipBlanks(text, typeEnd, end) !== end) {
      return `unknown metric type "${text.slice(typeStart, Math.min(end, typeStart + 40))}"`;
    }
    this.familyName = text.slice(nameStart, nameEnd);
    this.familyType = type as FamilyType;
    return undefined;
  }

  /** One sample line: name, optional {labels}, value, optional timestamp, optional exemplar. */
  private sample(start: number, end: number): string | undefined {
    const text = this.text;
    let pos = this.readName(start, end);
    if (pos === start) return 'expected a metric name';
    this.labels = {};
    if (pos < end && text.charCodeAt(pos) === 123) {
      const after = this.readLabels(pos + 1, end);
      if (typeof after === 'string') return after;
      pos = after;
    }
    if (pos >= end) return 'expected a value';
    if (!isBlank(text.charCodeAt(pos))) return 'unexpected character after the metric name';
    pos = skipBlanks(text, pos, end);
    const valueEnd = tokenEnd(text, pos, end);
    const value = parseNumber(text, pos, valueEnd);
    if (value === undefined) return 'expected a number as the value';
    this.value = value;
    this.ts = undefined;
    pos = skipBlanks(text, valueEnd, end);
    if (pos < end && text.charCodeAt(pos) !== HASH) {
      const tsEnd = tokenEnd(text, pos, end);
      const ts = this.openMetrics ? parseSeconds(text, pos, tsEnd) : parseMillis(text, pos, tsEnd);
      if (ts === undefined) {
        return this.openMetrics
          ? 'expected a timestamp in seconds'
          : 'expected a timestamp in integer milliseconds';
      }
      this.ts = ts;
      pos = skipBlanks(text, tsEnd, end);
    }
    // What follows `#` is an OpenMetrics exemplar: not kept, so not checked either.
    if (pos < end && text.charCodeAt(pos) !== HASH) return 'unexpected text after the value';
    return undefined;
  }

  /**
   * Reads the metric name at start and sets name, family, type and dropped; returns where the
   * name ends (start when there is none). Series of a family come in runs, so the last name is
   * tried first, and reused with its family. (A TYPE line forgets it, so that family is current.)
   */
  private readName(start: number, end: number): number {
    const text = this.text;
    const repeated = this.names.repeatAt(0, start, end);
    if (repeated > 0 && !is(text.charCodeAt(start + repeated), NAME_CHAR)) return start + repeated;
    if (!is(text.charCodeAt(start), NAME_START)) return start;
    let pos = start + 1;
    while (pos < end && is(text.charCodeAt(pos), NAME_CHAR)) pos++;
    const name = text.slice(start, pos);
    this.names.remember(0, start, pos, name);
    this.resolveFamily(name);
    return pos;
  }

  private resolveFamily(name: string): void {
    this.name = name;
    this.dropped = false;
    const family = this.familyName;
    const type = this.familyType;
    if (type !== undefined && name.startsWith(family)) {
      if (name.length === family.length) {
        this.family = family;
        this.type = type;
        return;
      }
      for (const suffix of SUFFIXES[type]) {
        if (name.length === family.length + suffix.length && name.endsWith(suffix)) {
          this.family = family;
          this.type = type;
          this.dropped = suffix === '_created';
          return;
        }
      }
    }
    this.family = name;
    this.type = this.openMetrics ? 'unknown' : 'untyped';
  }

  /** Reads `name="value", …}` from just after `{`; returns the position after `}` or a reason. */
  private readLabels(pos: number, end: number): number | string {
    const text = this.text;
    const labels = this.labels;
    for (let index = 0; ; index++) {
      pos = skipBlanks(text, pos, end);
      if (pos >= end) return 'unterminated label set';
      let c = text.charCodeAt(pos);
      if (c === 125) return pos + 1;
      let name: string;
      const repeatedName = this.labelNames.repeatAt(index, pos, end);
      if (repeatedName > 0 && !is(text.charCodeAt(pos + repeatedName), LABEL_CHAR)) {
        name = this.labelNames.last(index);
        pos += repeatedName;
      } else {
        const nameStart = pos;
        if (!is(c, LABEL_START)) return 'expected a label name';
        pos++;
        while (pos < end && is(text.charCodeAt(pos), LABEL_CHAR)) pos++;
        name = text.slice(nameStart, pos);
        this.labelNames.remember(index, nameStart, pos, name);
      }
      pos = skipBlanks(text, pos, end);
      if (pos >= end || text.charCodeAt(pos) !== 61) return `expected = after label ${name}`;
      pos = skipBlanks(text, pos + 1, end);
      if (pos >= end || text.charCodeAt(pos) !== QUOTE) {
        return `expected a quoted value for label ${name}`;
      }
      const valueStart = ++pos;
      let value: string;
      const repeatedValue = this.labelValues.repeatAt(index, pos, end);
      if (repeatedValue >= 0 && text.charCodeAt(pos + repeatedValue) === QUOTE) {
        // The raw text repeats up to a quote: escapes included, it is the same value.
        value = this.labelValues.last(index);
        pos += repeatedValue;
      } else {
        let escaped = false;
        while (pos < end) {
          c = text.charCodeAt(pos);
          if (c === QUOTE) break;
          if (c === BACKSLASH) {
            escaped = true;
            pos++;
          }
          pos++;
        }
        if (pos >= end) return `unterminated value for label ${name}`;
        value = escaped ? unescape(text, valueStart, pos) : text.slice(valueStart, pos);
        this.labelValues.remember(index, valueStart, pos, value);
      }
      if (name === '__name__') return 'label __name__ is reserved';
      // Comparing with the line's earlier names is cheaper than a keyed lookup on the object.
      const names = this.lineLabelNames;
      for (let i = 0; i < index; i++) if (names[i] === name) return `duplicate label ${name}`;
      names[index] = name;
      if (value !== '') putLabel(labels, name, value);
      pos = skipBlanks(text, pos + 1, end);
      if (pos >= end) return 'unterminated label set';
      c = text.charCodeAt(pos);
      if (c === 44) pos++;
      else if (c !== 125) return 'expected , or } after a label value';
    }
  }
}

/**
 * Strings read from the body, one per slot (a label's index in its line). Lines of a family
 * repeat their names and most label values: a repeat is recognised with one slice and a native
 * comparison instead of a scan character by character, and its string is shared by the samples.
 */
class Recall {
  private readonly text: string;
  private readonly strings: string[] = [];
  private readonly raws: string[] = [];

  constructor(text: string) {
    this.text = text;
  }

  /** The length of the slot's raw text when the body repeats it at start, else -1. */
  repeatAt(slot: number, start: number, end: number): number {
    const raw = this.raws[slot];
    if (raw === undefined) return -1;
    const length = raw.length;
    if (start + length > end || this.text.slice(start, start + length) !== raw) return -1;
    return length;
  }

  /** The string of the slot (after repeatAt found it). */
  last(slot: number): string {
    return this.strings[slot]!;
  }

  /** Keeps value, read from the raw text at [start, end), as the slot's string. */
  remember(slot: number, start: number, end: number, value: string): void {
    if (slot >= 64) return;
    this.strings[slot] = value;
    this.raws[slot] = value.length === end - start ? value : this.text.slice(start, end);
  }

  clear(): void {
    this.raws.length = 0;
  }
}

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

function skipBlanks(text: string, pos: number, end: number): number {
  while (pos < end && isBlank(text.charCodeAt(pos))) pos++;
  return pos;
}

function tokenEnd(text: string, pos: number, end: number): number {
  while (pos < end && !isBlank(text.charCodeAt(pos))) pos++;
  return pos;
}

function isMetricName(text: string, start: number, end: number): boolean {
  if (!is(text.charCodeAt(start), NAME_START)) return false;
  for (let i = start + 1; i < end; i++) if (!is(text.charCodeAt(i), NAME_CHAR)) return false;
  return true;
}

/** Undoes `\\`, `\"` and `\n`; any other escape is kept as written, as Prometheus does. */
function unescape(text: string, start: number, end: number): string {
  let out = '';
  let from = start;
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) !== BACKSLASH || i + 1 >= end) continue;
    const next = text.charCodeAt(i + 1);
    const replacement =
      next === BACKSLASH ? '\\' : next === QUOTE ? '"' : next === 110 ? '\n' : undefined;
    if (replacement !== undefined) {
      out += text.slice(from, i) + replacement;
      from = i + 2;
    }
    i++;
  }
  return out + text.slice(from, end);
}

/** Exact powers of ten: a double holds 10^0 … 10^22 without rounding. */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** A float as Go's ParseFloat reads it: decimal, scientific, NaN and Inf in any case and sign. */
function parseNumber(text: string, start: number, end: number): number | undefined {
  if (start === end) return undefined;
  const fast = parseSimpleDecimal(text, start, end);
  if (fast === fast) return fast;
  const c = text.charCodeAt(start);
  // Number() also reads "0x1f", "0b1" and "0o7": fine for the rare target that writes them.
  if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46) {
    const n = Number(text.slice(start, end));
    if (n === n) return n;
  }
  if (end - start > 9) return undefined;
  return SPECIAL_VALUES.get(text.slice(start, end).toLowerCase());
}

/**
 * Most values are short decimals: with at most 15 digits and a power of ten up to 22 both are
 * exact doubles, so one multiplication or division gives the correctly rounded result (Clinger's
 * fast path) without slicing a string for Number(). NaN means "not that simple, ask Number()".
 */
function parseSimpleDecimal(text: string, start: number, end: number): number {
  let pos = start;
  let c = text.charCodeAt(pos);
  const negative = c === 45;
  if (negative || c === 43) pos++;
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  for (; pos < end; pos++) {
    c = text.charCodeAt(pos) - 48;
    if (c < 0 || c > 9) break;
    mantissa = mantissa * 10 + c;
    digits++;
  }
  if (pos < end && text.charCodeAt(pos) === 46) {
    for (pos++; pos < end; pos++) {
      c = text.charCodeAt(pos) - 48;
      if (c < 0 || c > 9) break;
      mantissa = mantissa * 10 + c;
      digits++;
      scale--;
    }
  }
  if (digits === 0 || digits > 15) return NaN;
  if (pos < end) {
    c = text.charCodeAt(pos);
    if (c !== 101 && c !== 69) return NaN;
    pos++;
    const expNegative = text.charCodeAt(pos) === 45;
    if (expNegative || text.charCodeAt(pos) === 43) pos++;
    if (pos === end || end - pos > 3) return NaN;
    let exponent = 0;
    for (; pos < end; pos++) {
      c = text.charCodeAt(pos) - 48;
      if (c < 0 || c > 9) return NaN;
      exponent = exponent * 10 + c;
    }
    scale += expNegative ? -exponent : exponent;
  }
  if (scale < -22 || scale > 22) return NaN;
  const value = scale < 0 ? mantissa / POW10[-scale]! : mantissa * POW10[scale]!;
  return negative ? -value : value;
}

/** A Prometheus text timestamp: an integer of milliseconds (Go's ParseInt, so no exponent). */
function parseMillis(text: string, start: number, end: number): number | undefined {
  let pos = start;
  const negative = text.charCodeAt(pos) === 45;
  if (negative || text.charCodeAt(pos) === 43) pos++;
  // Past 15 digits the value is no longer exact in a double (and no clock is there yet).
  if (pos === end || end - pos > 15) return undefined;
  let value = 0;
  for (; pos < end; pos++) {
    const digit = text.charCodeAt(pos) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

/** An OpenMetrics timestamp: seconds as a float, returned in whole milliseconds. */
function parseSeconds(text: string, start: number, end: number): number | undefined {
  const seconds = parseNumber(text, start, end);
  if (seconds === undefined || !Number.isFinite(seconds)) return undefined;
  return Math.round(seconds * 1000);
}
