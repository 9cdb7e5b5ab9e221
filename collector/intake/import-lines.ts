// Reads the lines of a Prometheus text import (optional millisecond timestamps per sample) into
// the intake sink. Each distinct series text is parsed and placed once per import; after that a
// line costs a lookup and two numbers. `# TYPE` lines type the samples after them.

import { parseMillis, parseNumber } from '../agent/prom-text-numbers.ts';
import { parsePromText } from '../agent/prom-text.ts';
import { FAMILY_TYPES, SUFFIXES, type FamilyType } from '../agent/prom-text-types.ts';
import { isBlank, skipBlanks, tokenEnd } from '../agent/prom-text-lex.ts';
import { sampleType } from '../agent/sources/prometheus.ts';
import type { IntakeToken } from './config.ts';
import type { IntakeSink, PreparedSeries, SinkRequest } from './sink.ts';
import type { FamilyMetadataType } from './types.ts';

const HASH = 35;
const OPEN = 123;
const CLOSE = 125;
const QUOTE = 34;
const BACKSLASH = 92;
/** Series remembered per import before the cache starts over (a label explosion must not grow it). */
const MAX_CACHED = 1_000_000;

/**
 * A series text and what it reads as: ready, why not, or null for `_created` samples (a start
 * time, not data).
 */
interface SeriesEntry {
  text: string;
  series: PreparedSeries | string | null;
  next: SeriesEntry | undefined;
}

export interface BadLine {
  line: number;
  reason: string;
}

/** The state of one import across the chunks of its body. */
export class ImportLines {
  readonly #sink: IntakeSink;
  readonly #request: SinkRequest;
  readonly #token: IntakeToken | undefined;
  /** Stamp of samples without a timestamp: when the import began. */
  readonly #now: number;
  /** Per series text (`name{labels}`): what it reads as, and the series seen after it last. */
  readonly #series = new Map<string, SeriesEntry>();
  #previous: SeriesEntry | undefined;
  #wait: Promise<void> | undefined;
  #family = '';
  #familyType: FamilyType | undefined;
  lines = 0;
  samples = 0;
  badLines = 0;
  firstBad: BadLine | undefined;

  constructor(sink: IntakeSink, request: SinkRequest, token: IntakeToken | undefined) {
    this.#sink = sink;
    this.#request = request;
    this.#token = token;
    this.#now = sink.now();
  }

  /** A line that could not be read at all (too long): counted where it is. */
  bad(reason: string): void {
    this.lines++;
    this.#bad(reason);
  }

  /** Reads the whole lines of text[start, end) (end just after a newline, or the body's end). */
  async read(text: string, start: number, end: number): Promise<void> {
    let pos = start;
    while (pos < end) {
      let next = text.indexOf('\n', pos);
      if (next < 0 || next >= end) next = end;
      let lineEnd = next;
      if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
      this.lines++;
      const from = skipBlanks(text, pos, lineEnd);
      pos = next + 1;
      if (from === lineEnd) continue;
      if (text.charCodeAt(from) === HASH) {
        this.#comment(text, from + 1, lineEnd);
        continue;
      }
      const reason = this.#sample(text, from, lineEnd);
      if (reason !== undefined) this.#bad(reason);
      if (this.#wait !== undefined) {
        const wait = this.#wait;
        this.#wait = undefined;
        await wait;
      }
    }
  }

  #bad(reason: string): void {
    this.badLines++;
    this.firstBad ??= { line: this.lines, reason };
  }

  #comment(text: string, pos: number, end: number): void {
    if (pos >= end || !isBlank(text.charCodeAt(pos))) return;
    pos = skipBlanks(text, pos, end);
    const keywordEnd = tokenEnd(text, pos, end);
    if (text.slice(pos, keywordEnd) !== 'TYPE') return;
    const nameStart = skipBlanks(text, keywordEnd, end);
    const nameEnd = tokenEnd(text, nameStart, end);
    const typeStart = skipBlanks(text, nameEnd, end);
    const type = text.slice(typeStart, tokenEnd(text, typeStart, end));
    this.#family = text.slice(nameStart, nameEnd);
    this.#familyType = FAMILY_TYPES.has(type) ? (type as FamilyType) : undefined;
    if (this.#familyType !== undefined && this.#family !== '') {
      const known = this.#familyType === 'untyped' ? 'unknown' : this.#familyType;
      this.#sink.families.learn(this.#family, known as FamilyMetadataType);
    }
  }

  /** Reads one sample line; a wait for the bus, if any, is left in #wait. */
  #sample(text: string, start: number, end: number): string | undefined {
    // Scrapes repeat their series in the same order: the one that followed this line's
    // predecessor last time is compared in place, with no slice to hash and look up.
    let entry = this.#previous?.next;
    let seriesEnd: number | string;
    if (
      entry !== undefined &&
      // A slice compared whole is a memcmp; startsWith walks the characters (4× slower here).
      text.slice(start, start + entry.text.length) === entry.text &&
      (start + entry.text.length >= end || isBlank(text.charCodeAt(start + entry.text.length)))
    ) {
      seriesEnd = start + entry.text.length;
    } else {
      seriesEnd = seriesTextEnd(text, start, end);
      if (typeof seriesEnd === 'string') return seriesEnd;
      entry = this.#entry(text.slice(start, seriesEnd));
      if (this.#previous !== undefined) this.#previous.next = entry;
    }
    this.#previous = entry;
    const series = entry.series;
    if (seriesEnd >= end || !isBlank(text.charCodeAt(seriesEnd))) {
      return seriesEnd >= end ? 'expected a value' : 'unexpected character after the metric name';
    }
    const valueStart = skipBlanks(text, seriesEnd, end);
    const valueEnd = tokenEnd(text, valueStart, end);
    const value = parseNumber(text, valueStart, valueEnd);
    if (value === undefined) return 'expected a number as the value';
    let ts = this.#now;
    const tsStart = skipBlanks(text, valueEnd, end);
    if (tsStart < end) {
      const tsEnd = tokenEnd(text, tsStart, end);
      const stamp = parseMillis(text, tsStart, tsEnd);
      if (stamp === undefined) return 'expected a timestamp in integer milliseconds';
      if (skipBlanks(text, tsEnd, end) !== end) return 'unexpected text after the timestamp';
      ts = stamp;
    }
    if (typeof series === 'string') return series;
    if (series === null) return undefined;
    this.samples++;
    const before = this.#request.refused;
    this.#wait = this.#sink.addPoint(this.#request, series, { ts, value }, this.#now);
    // A refused point (too old, …) is this line's fault: name it.
    if (this.#request.refused !== before) return this.#request.firstRefused ?? 'refused';
    return undefined;
  }

  #entry(seriesText: string): SeriesEntry {
    let entry = this.#series.get(seriesText);
    if (entry === undefined) {
      entry = { text: seriesText, series: this.#prepare(seriesText), next: undefined };
      if (this.#series.size >= MAX_CACHED) this.#series.clear();
      this.#series.set(seriesText, entry);
    }
    return entry;
  }

  /** A series text (`name{labels}`) parsed, typed by the TYPE line before it, and placed. */
  #prepare(seriesText: string): PreparedSeries | string | null {
    const parsed = parsePromText(`${seriesText} 0`, { openMetrics: false });
    const sample = parsed.samples[0];
    if (sample === undefined) return parsed.firstBad?.reason ?? 'expected a sample';
    const type = this.#typeOf(sample.name);
    if (type === null) return null;
    return this.#sink.prepare(sample.name, sample.labels, undefined, type, this.#token);
  }

  #typeOf(name: string): 'cumulative' | 'gauge' | 'untyped' | null {
    const type = this.#familyType;
    const family = this.#family;
    if (type === undefined || type === 'untyped' || !name.startsWith(family)) return 'untyped';
    if (name.length === family.length) {
      return sampleType(type, true) === 'counter' ? 'cumulative' : 'gauge';
    }
    const suffix = name.slice(family.length);
    if (!SUFFIXES[type].includes(suffix)) return 'untyped';
    if (suffix === '_created') return null;
    return sampleType(type, false) === 'counter' ? 'cumulative' : 'gauge';
  }
}

/** Where a sample line's series text ends (after the name, or after `}`), or why it cannot. */
function seriesTextEnd(text: string, start: number, end: number): number | string {
  let pos = start;
  while (pos < end) {
    const c = text.charCodeAt(pos);
    if (c === OPEN || isBlank(c)) break;
    pos++;
  }
  if (pos === start) return 'expected a metric name';
  if (pos >= end || text.charCodeAt(pos) !== OPEN) return pos;
  let quoted = false;
  for (pos++; pos < end; pos++) {
    const c = text.charCodeAt(pos);
    if (quoted) {
      if (c === BACKSLASH) pos++;
      else if (c === QUOTE) quoted = false;
    } else if (c === QUOTE) quoted = true;
    else if (c === CLOSE) return pos + 1;
  }
  return 'unterminated label set';
}
