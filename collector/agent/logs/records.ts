// Records: groups lines into records (multiline), then parses each into a log record.

import { DEFAULT_BATCH_LIMITS } from '../../../core/batch.ts';
import {
  MAX_ATTRIBUTE_LENGTH,
  parseLine,
  type AccessInfo,
  type LogFormat,
  type ParsedLine,
} from '../log-parsers.ts';
import type { RawLogRecord } from '../types.ts';
import type { RawLine } from './line-splitter.ts';

const MAX_BODY = DEFAULT_BATCH_LIMITS.maxBodyLength;

/** The lines of one record and the bytes they cover. */
export interface Group {
  start: number;
  end: number;
  lines: string[];
  count: number;
  chars: number;
  truncated: boolean;
  lastAt: number;
}

export interface Multiline {
  pattern: RegExp;
  maxLines: number;
  timeoutMs: number;
}

const blank = (text: string) => text.trim() === '';

/** Groups lines into records: one line each, or a start line and its continuation lines. */
export class RecordAssembler {
  #open: Group | undefined;

  constructor(private readonly multiline: Multiline | undefined) {}

  push(line: RawLine, now: number): Group[] {
    const open = this.#open;
    if (this.multiline && open && !this.multiline.pattern.test(line.text)) {
      if (open.count < this.multiline.maxLines) {
        append(open, line, now);
        return [];
      }
    }
    const done = open ? [open] : [];
    this.#open = undefined;
    if (blank(line.text)) return done;
    const group = newGroup(line, now);
    if (this.multiline) this.#open = group;
    else done.push(group);
    return done;
  }

  flush(): Group | undefined {
    const open = this.#open;
    this.#open = undefined;
    return open;
  }

  expired(now: number): boolean {
    return this.#open !== undefined && now - this.#open.lastAt >= this.multiline!.timeoutMs;
  }

  clear(): void {
    this.#open = undefined;
  }
}

function newGroup(line: RawLine, now: number): Group {
  const text = line.text.length > MAX_BODY ? line.text.slice(0, MAX_BODY) : line.text;
  return {
    start: line.start,
    end: line.end,
    lines: [text],
    count: 1,
    chars: text.length,
    truncated: line.truncated || text.length < line.text.length,
    lastAt: now,
  };
}

function append(group: Group, line: RawLine, now: number): void {
  group.end = line.end;
  group.count++;
  group.lastAt = now;
  group.truncated ||= line.truncated;
  // Past the body limit the lines still count for the byte range but are not kept.
  const room = MAX_BODY - group.chars - 1;
  if (room <= 0) {
    group.truncated = true;
    return;
  }
  const text = line.text.length > room ? line.text.slice(0, room) : line.text;
  if (text.length < line.text.length) group.truncated = true;
  group.lines.push(text);
  group.chars += text.length + 1;
}

/** Line times outside what the ingester accepts (7 days old, 10 minutes ahead), with margin. */
const MAX_RECORD_AGE_MS = DEFAULT_BATCH_LIMITS.maxAgeMs - 3_600_000;
const MAX_RECORD_AHEAD_MS = DEFAULT_BATCH_LIMITS.maxFutureMs - 60_000;

/** The options that decide how a record's first line is parsed. */
export interface RecordOptions {
  format: LogFormat;
  severity_field: string;
  message_field: string;
}

export function toRecord(
  path: string,
  group: Group,
  pass: { now: number; requests: AccessInfo[] },
  options: RecordOptions,
): RawLogRecord {
  const now = pass.now;
  const parsed = parse(options, group.lines[0]!, now);
  if (parsed.access) pass.requests.push(parsed.access);
  const attributes = { ...parsed.attributes };
  attributes['log_file_path'] = path.slice(0, MAX_ATTRIBUTE_LENGTH);
  let body =
    group.lines.length > 1 ? [parsed.body, ...group.lines.slice(1)].join('\n') : parsed.body;
  if (group.truncated || body.length > MAX_BODY) {
    body = body.slice(0, MAX_BODY);
    attributes['truncated'] = 'true';
  }
  let ts = parsed.ts === undefined ? now : Math.floor(parsed.ts);
  if (!(ts >= now - MAX_RECORD_AGE_MS && ts <= now + MAX_RECORD_AHEAD_MS)) {
    // The ingester refuses such times; keep the line, at the time it was read.
    const original = new Date(ts);
    if (Number.isFinite(original.getTime())) attributes['original_time'] = original.toISOString();
    ts = now;
  }
  const record: RawLogRecord = { ts, severity: parsed.severity, body, attributes };
  if (parsed.traceId !== undefined) record.traceId = parsed.traceId;
  return record;
}

/** Never throws: by now the line's bytes are in a chunk range, so it must become a record. */
function parse(options: RecordOptions, line: string, now: number): ParsedLine {
  try {
    return parseLine(options.format, line, {
      severityField: options.severity_field,
      messageField: options.message_field,
      now,
    });
  } catch {
    return { severity: 'info', body: line, attributes: { parse_failed: 'true' } };
  }
}
