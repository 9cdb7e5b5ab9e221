// A hand-written scanner for the Prometheus text format 0.0.4 and OpenMetrics 1.0 text: it sits
// on the ingest path, so it walks the body once with charCodeAt and slices, never a regex a line.

import * as lex from './prom-text-lex.ts';
import * as numbers from './prom-text-numbers.ts';
import { Recall } from './prom-text-recall.ts';
import {
  FAMILY_TYPES,
  SUFFIXES,
  type BadLine,
  type FamilyType,
  type PromSample,
  type SampleVisitor,
  type ScanOptions,
  type ScanStats,
} from './prom-text-types.ts';

// Module constants, not import bindings: V8 inlines these calls in the scan loop only then
// (through the imports, parsing 100k lines took twice as long).
const {
  BACKSLASH,
  endsWithEof,
  HASH,
  is,
  isBlank,
  isMetricName,
  LABEL_CHAR,
  LABEL_START,
  NAME_CHAR,
  NAME_START,
  putLabel,
  QUOTE,
  skipBlanks,
  tokenEnd,
  unescape,
} = lex;
const { parseMillis, parseNumber, parseSeconds } = numbers;

export type { BadLine, FamilyType, PromSample, SampleVisitor, ScanOptions, ScanStats };
export { endsWithEof, putLabel };

/** Longer lines are skipped unread (measured in UTF-16 code units, as JS strings are). */
export const MAX_LINE_LENGTH = 64 * 1024;

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
