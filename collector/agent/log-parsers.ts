// Pure parsers that turn one log line (plain, JSON, syslog, nginx, haproxy) into the fields of a
// log record, plus the time and severity helpers they share. No I/O, no clock: `now` is passed in.

import type { Severity } from '../../core/conventions.ts';

export const LOG_FORMATS = [
  'plain',
  'json',
  'syslog',
  'nginx',
  'nginx_json',
  'haproxy',
  'auto',
] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Formats whose lines are HTTP requests and so also feed the request metrics. */
export const ACCESS_FORMATS: ReadonlySet<LogFormat> = new Set(['nginx', 'nginx_json', 'haproxy']);

/** What an access-log line says about its request, for the request metrics. */
export interface AccessInfo {
  method: string;
  path: string;
  status: number;
  /** Seconds, when the format carries it. */
  requestTime?: number;
}

export interface ParsedLine {
  /** Milliseconds, when the line carries a time. */
  ts?: number;
  severity: Severity;
  body: string;
  attributes: Record<string, string>;
  traceId?: string;
  access?: AccessInfo;
}

export interface ParseOptions {
  /** JSON keys tried first for the level and the message. */
  severityField: string;
  messageField: string;
  /** The agent's clock, to give a year to syslog times that have none. */
  now: number;
}

/**
 * A record's attributes travel like labels (core/batch.ts): names [a-zA-Z_][a-zA-Z0-9_]*, at
 * most 32 of them (4 are left for the source's own: log_file_path, truncated, …), values of at
 * most 2048 characters.
 */
export const MAX_PARSED_ATTRIBUTES = 28;
export const MAX_ATTRIBUTE_LENGTH = 2048;

/** Parses a line in the given format; a line the format does not fit becomes a plain record. */
export function parseLine(format: LogFormat, line: string, options: ParseOptions): ParsedLine {
  const parsed = tryParse(format, line, options);
  if (parsed) return parsed;
  const plain = parsePlain(line);
  if (format !== 'plain' && format !== 'auto') plain.attributes['parse_failed'] = 'true';
  return plain;
}

function tryParse(format: LogFormat, line: string, options: ParseOptions): ParsedLine | undefined {
  switch (format) {
    case 'plain':
      return parsePlain(line);
    case 'json':
      return parseJsonLine(line, options);
    case 'syslog':
      return parseSyslog(line, options.now);
    case 'nginx':
      return parseNginxCombined(line);
    case 'nginx_json':
      return parseNginxJson(line);
    case 'haproxy':
      return parseHaproxy(line);
    case 'auto':
      return (
        (line.startsWith('{') ? parseJsonLine(line, options) : undefined) ??
        (line.startsWith('<') ? parseSyslog(line, options.now) : undefined) ??
        parseNginxCombined(line) ??
        parseHaproxy(line)
      );
  }
}

// ---------------------------------------------------------------- severities

const SEVERITY_NAMES: Record<string, Severity> = {
  trace: 'trace',
  finest: 'trace',
  debug: 'debug',
  fine: 'debug',
  info: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  severe: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  panic: 'fatal',
};

/** Syslog severities 0–7 (emerg … debug). */
const SYSLOG_SEVERITIES: Severity[] = [
  'fatal',
  'fatal',
  'fatal',
  'error',
  'warn',
  'info',
  'info',
  'debug',
];

/** A severity name as loggers write it (warning, ERR, critical…), any case. */
export function severityFromName(name: string): Severity | undefined {
  return SEVERITY_NAMES[name.trim().toLowerCase()];
}

/** A level as logging libraries write it: a name, a syslog number 0–7 or a pino number 10–60. */
export function severityFromLevel(level: unknown): Severity | undefined {
  if (typeof level === 'string') {
    const byName = severityFromName(level);
    if (byName) return byName;
    if (/^\d+$/.test(level.trim())) return severityFromLevel(Number(level));
    return undefined;
  }
  if (typeof level !== 'number' || !Number.isInteger(level) || level < 0) return undefined;
  if (level <= 7) return SYSLOG_SEVERITIES[level];
  if (level < 10) return undefined;
  if (level < 20) return 'trace';
  if (level < 30) return 'debug';
  if (level < 40) return 'info';
  if (level < 50) return 'warn';
  if (level < 60) return 'error';
  return 'fatal';
}

export function severityFromStatus(status: number): Severity {
  if (status >= 500) return 'error';
  if (status >= 400) return 'warn';
  return 'info';
}

// Upper case words or bracketed lower case ones only: "error" in prose is not a level.
const LEVEL_WORD_RE =
  /\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|FATAL|CRITICAL|CRIT|PANIC)\b|\[(trace|debug|info|notice|warn|warning|error|crit|alert|emerg)\]/;

/** The first level word near the start of a free-text line. */
export function severityFromText(text: string): Severity | undefined {
  const match = LEVEL_WORD_RE.exec(text.slice(0, 200));
  if (!match) return undefined;
  return SEVERITY_NAMES[(match[1] ?? match[2] ?? '').toLowerCase()];
}

// ---------------------------------------------------------------- times

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const monthIndex = (name: string) => MONTHS.indexOf(name.toLowerCase());

/** Milliseconds from a fraction of a second written with any number of digits. */
const fractionMs = (digits: string | undefined) =>
  digits ? Math.floor(Number(`0.${digits}`) * 1000) : 0;

/** A zone like Z, +0200 or -07:00 as minutes east of UTC; undefined means local time. */
function zoneMinutes(zone: string | undefined): number | undefined {
  if (!zone) return undefined;
  if (zone === 'Z' || zone === 'z') return 0;
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!match) return undefined;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}

function makeTime(
  parts: [number, number, number, number, number, number, number],
  zone: number | undefined,
): number | undefined {
  const [year, month, day, hour, minute, second, ms] = parts;
  if (month < 0 || month > 11 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return undefined;
  const ts =
    zone === undefined
      ? new Date(year, month, day, hour, minute, second, ms).getTime()
      : Date.UTC(year, month, day, hour, minute, second, ms) - zone * 60_000;
  return Number.isFinite(ts) ? ts : undefined;
}

const ISO_RE =
  /^(\d{4})[-/](\d{2})[-/](\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})?/;

/** An ISO 8601 / RFC 3339 time at the start of the text (also "2024/01/15 10:00:00"). */
export function parseIsoTime(text: string): number | undefined {
  const m = ISO_RE.exec(text);
  if (!m) return undefined;
  return makeTime(
    [
      Number(m[1]),
      Number(m[2]) - 1,
      Number(m[3]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
      fractionMs(m[7]),
    ],
    zoneMinutes(m[8]),
  );
}

const CLF_TIME_RE =
  /^(\d{2})\/([A-Za-z]{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?: ([+-]\d{4}))?$/;

/** The common log format time, "10/Oct/2000:13:55:36 -0700" (haproxy: ".655", no zone). */
export function parseClfTime(text: string): number | undefined {
  const m = CLF_TIME_RE.exec(text);
  if (!m) return undefined;
  return makeTime(
    [
      Number(m[3]),
      monthIndex(m[2]!),
      Number(m[1]),
      Number(m[4]),
      Number(m[5]),
      Number(m[6]),
      fractionMs(m[7]),
    ],
    zoneMinutes(m[8]),
  );
}

/** Epoch numbers as loggers write them: seconds (zap, nginx $msec) or milliseconds (pino). */
export function parseEpoch(value: number): number | undefined {
  if (!Number.isFinite(value) || value <= 0) return undefined;
  const ms = Math.round(value < 1e11 ? value * 1000 : value);
  // Past year 9999 it is not a time (microseconds, nanoseconds, or garbage).
  return ms < 253_402_300_800_000 ? ms : undefined;
}

function parseTimeValue(value: unknown): number | undefined {
  if (typeof value === 'number') return parseEpoch(value);
  if (typeof value !== 'string') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return parseEpoch(Number(value));
  return parseIsoTime(value) ?? parseClfTime(value);
}

/** "Jan  5 10:00:00": local time; the year is the one that puts it closest before `now`. */
export function parseRfc3164Time(text: string, now: number): number | undefined {
  const m = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m) return undefined;
  const year = new Date(now).getFullYear();
  const at = (y: number) =>
    makeTime(
      [y, monthIndex(m[1]!), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), 0],
      undefined,
    );
  const ts = at(year);
  // A December line read in January belongs to last year.
  if (ts !== undefined && ts > now + 86_400_000) return at(year - 1);
  return ts;
}

// ---------------------------------------------------------------- attributes

/** tier, host and service belong to the agent: a line's own fields of those names are renamed. */
const RESERVED = new Set(['tier', 'host', 'service']);

/** Makes a JSON key a valid attribute name: other characters become `_`. */
export function attributeName(key: string): string {
  const name = key.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 120);
  if (RESERVED.has(name)) return `log_${name}`;
  return /^[A-Za-z_]/.test(name) ? name : `_${name}`;
}

const clip = (text: string) =>
  text.length > MAX_ATTRIBUTE_LENGTH ? text.slice(0, MAX_ATTRIBUTE_LENGTH) : text;

function setAttribute(attributes: Record<string, string>, key: string, value: unknown): void {
  if (value === undefined || value === null || value === '' || value === '-') return;
  if (Object.keys(attributes).length >= MAX_PARSED_ATTRIBUTES) return;
  let text: string;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    return; // nested too deep to print: the body still has the whole line
  }
  attributes[attributeName(key)] = clip(text);
}

// ---------------------------------------------------------------- plain

/** A free-text line: the whole line is the body; a leading ISO time and a level word are used. */
export function parsePlain(line: string): ParsedLine {
  const parsed: ParsedLine = {
    severity: severityFromText(line) ?? 'info',
    body: line,
    attributes: {},
  };
  const ts = parseIsoTime(line);
  if (ts !== undefined) parsed.ts = ts;
  return parsed;
}

// ---------------------------------------------------------------- JSON lines

const LEVEL_KEYS = ['level', 'severity', 'lvl', 'loglevel', 'log_level', 'levelname', 'log.level'];
const MESSAGE_KEYS = ['msg', 'message', 'log', '@message'];
const TIME_KEYS = ['@timestamp', 'timestamp', 'time', 'ts', 't'];
const TRACE_KEYS = ['trace_id', 'traceId', 'traceid', 'trace.id'];

function parseObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The first of the keys the object has, and its value. */
function pick(object: Record<string, unknown>, keys: string[]): [string, unknown] | undefined {
  for (const key of keys) {
    if (Object.hasOwn(object, key) && object[key] !== null && object[key] !== undefined)
      return [key, object[key]];
  }
  return undefined;
}

/** A JSON object per line (pino, zap, logrus, ECS, …): level, message, time and trace id. */
export function parseJsonLine(line: string, options: ParseOptions): ParsedLine | undefined {
  const object = parseObject(line);
  if (!object) return undefined;
  const used = new Set<string>();
  const level = pick(object, [options.severityField, ...LEVEL_KEYS]);
  const message = pick(object, [options.messageField, ...MESSAGE_KEYS]);
  const time = pick(object, TIME_KEYS);
  const trace = pick(object, TRACE_KEYS);
  const parsed: ParsedLine = {
    severity: (level && severityFromLevel(level[1])) ?? 'info',
    body: line,
    attributes: {},
  };
  if (level) used.add(level[0]);
  if (message && typeof message[1] === 'string') {
    parsed.body = message[1];
    used.add(message[0]);
  }
  const ts = time ? parseTimeValue(time[1]) : undefined;
  if (time && ts !== undefined) {
    parsed.ts = ts;
    used.add(time[0]);
  }
  if (trace && typeof trace[1] === 'string' && trace[1] !== '' && trace[1].length <= 64) {
    parsed.traceId = trace[1];
    used.add(trace[0]);
  }
  for (const [key, value] of Object.entries(object)) {
    if (!used.has(key)) setAttribute(parsed.attributes, key, value);
  }
  return parsed;
}

// ---------------------------------------------------------------- syslog

const FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'security',
  'console',
  'solaris-cron',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
];

const RFC5424_RE = /^1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (.*))?$/s;
const RFC3164_RE =
  /^([A-Z][a-z]{2} {1,2}\d{1,2} \d{2}:\d{2}:\d{2}|\d{4}-\d{2}-\d{2}T\S+) (\S+) (?:([^\s:[]+)(?:\[([^\]\s]*)\])?: ?)?(.*)$/s;

/**
 * RFC 5424 ("<165>1 2003-10-11T22:14:15.003Z host app 1234 ID47 [sd] msg") and RFC 3164
 * ("<34>Oct 11 22:14:15 host su[12]: msg"), with or without the <PRI> (files written by rsyslog
 * have none, and may carry an RFC 3339 time instead).
 */
export function parseSyslog(line: string, now: number): ParsedLine | undefined {
  const pri = /^<(\d{1,3})>/.exec(line);
  const rest = pri ? line.slice(pri[0].length) : line;
  const priority = pri ? Number(pri[1]) : undefined;
  if (priority !== undefined && priority > 191) return undefined;
  const parsed = parse5424(rest) ?? parse3164(rest, now);
  if (!parsed) return undefined;
  if (priority !== undefined) {
    parsed.severity = SYSLOG_SEVERITIES[priority & 7]!;
    setAttribute(parsed.attributes, 'facility', FACILITIES[priority >> 3]);
  } else {
    parsed.severity = severityFromText(parsed.body) ?? 'info';
  }
  return parsed;
}

const nil = (value: string | undefined) => (value === '-' ? undefined : value);

function parse5424(rest: string): ParsedLine | undefined {
  const m = RFC5424_RE.exec(rest);
  if (!m) return undefined;
  const parsed: ParsedLine = {
    severity: 'info',
    body: (m[7] ?? '').replace(/^\uFEFF/, ''),
    attributes: {},
  };
  const ts = parseIsoTime(m[1]!);
  if (ts !== undefined) parsed.ts = ts;
  setAttribute(parsed.attributes, 'hostname', nil(m[2]));
  setAttribute(parsed.attributes, 'app_name', nil(m[3]));
  setAttribute(parsed.attributes, 'proc_id', nil(m[4]));
  setAttribute(parsed.attributes, 'msg_id', nil(m[5]));
  setAttribute(parsed.attributes, 'structured_data', nil(m[6]));
  return parsed;
}

function parse3164(rest: string, now: number): ParsedLine | undefined {
  const m = RFC3164_RE.exec(rest);
  if (!m) return undefined;
  const parsed: ParsedLine = { severity: 'info', body: m[5] ?? '', attributes: {} };
  const ts = /^\d/.test(m[1]!) ? parseIsoTime(m[1]!) : parseRfc3164Time(m[1]!, now);
  if (ts !== undefined) parsed.ts = ts;
  setAttribute(parsed.attributes, 'hostname', m[2]);
  setAttribute(parsed.attributes, 'app_name', m[3]);
  setAttribute(parsed.attributes, 'proc_id', m[4]);
  return parsed;
}

// ---------------------------------------------------------------- access logs

const QUOTED = '"((?:[^"\\\\]|\\\\.)*)"';
const NGINX_RE = new RegExp(
  `^(\\S+) \\S+ (\\S+) \\[([^\\]]+)\\] ${QUOTED} (\\d{3}) (\\d+|-)(?: ${QUOTED} ${QUOTED})?(?: (.*))?$`,
);

/** "GET /path HTTP/1.1" into its parts; garbage (a TLS hello on a plain port) gives none. */
function splitRequest(request: string): { method: string; path: string; protocol?: string } {
  const m = /^([A-Za-z]+) (\S+)(?: (HTTP\/[\d.]+))?$/.exec(request);
  if (!m) return { method: '', path: '' };
  return { method: m[1]!.toUpperCase(), path: m[2]!, ...(m[3] ? { protocol: m[3] } : {}) };
}

/** The request time after the user agent: a bare number, or rt= / request_time=. */
function trailingRequestTime(trailer: string | undefined): number | undefined {
  if (!trailer) return undefined;
  const m =
    /^\s*"?(\d+(?:\.\d+)?)"?(?:\s|$)/.exec(trailer) ??
    /(?:^|\s)(?:rt|request_time)="?(\d+(?:\.\d+)?)/.exec(trailer);
  return m ? Number(m[1]) : undefined;
}

function accessRecord(
  line: string,
  fields: {
    remoteAddr?: string | undefined;
    user?: string | undefined;
    request: { method: string; path: string; protocol?: string };
    status: number;
    bytes?: string | undefined;
    referer?: string | undefined;
    userAgent?: string | undefined;
    requestTime?: number | undefined;
  },
  ts: number | undefined,
): ParsedLine {
  const { request, status, requestTime } = fields;
  const parsed: ParsedLine = { severity: severityFromStatus(status), body: line, attributes: {} };
  if (ts !== undefined) parsed.ts = ts;
  const a = parsed.attributes;
  setAttribute(a, 'remote_addr', fields.remoteAddr);
  setAttribute(a, 'remote_user', fields.user);
  setAttribute(a, 'method', request.method);
  setAttribute(a, 'path', request.path);
  setAttribute(a, 'protocol', request.protocol);
  setAttribute(a, 'status', String(status));
  setAttribute(a, 'bytes', fields.bytes);
  setAttribute(a, 'referer', fields.referer);
  setAttribute(a, 'user_agent', fields.userAgent);
  if (requestTime !== undefined) setAttribute(a, 'request_time', String(requestTime));
  parsed.access = {
    method: request.method,
    path: request.path,
    status,
    ...(requestTime !== undefined ? { requestTime } : {}),
  };
  return parsed;
}

/** nginx's combined format (or the common one), optionally followed by $request_time. */
export function parseNginxCombined(line: string): ParsedLine | undefined {
  const m = NGINX_RE.exec(line);
  if (!m) return undefined;
  return accessRecord(
    line,
    {
      remoteAddr: m[1],
      user: m[2],
      request: splitRequest(m[4]!),
      status: Number(m[5]),
      bytes: m[6],
      referer: m[7],
      userAgent: m[8],
      requestTime: trailingRequestTime(m[9]),
    },
    parseClfTime(m[3]!),
  );
}

const numberOf = (value: unknown): number | undefined => {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) && value !== '' ? n : undefined;
};

const stringOf = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;

const NGINX_JSON_KNOWN = new Set([
  'remote_addr',
  'remote_user',
  'request',
  'request_method',
  'method',
  'request_uri',
  'uri',
  'path',
  'server_protocol',
  'status',
  'body_bytes_sent',
  'bytes_sent',
  'http_referer',
  'http_user_agent',
  'request_time',
  'time_iso8601',
  'time_local',
  'msec',
  '@timestamp',
  'timestamp',
  'time',
]);

/** nginx with `log_format … escape=json '{"status":$status,…}'`: nginx's variable names. */
export function parseNginxJson(line: string): ParsedLine | undefined {
  const o = parseObject(line);
  const status = o ? numberOf(o['status']) : undefined;
  if (!o || status === undefined) return undefined;
  const fromLine = splitRequest(stringOf(o['request']) ?? '');
  const method = stringOf(o['request_method'] ?? o['method'])?.toUpperCase() ?? fromLine.method;
  const path = stringOf(o['request_uri'] ?? o['uri'] ?? o['path']) ?? fromLine.path;
  const protocol = stringOf(o['server_protocol']) ?? fromLine.protocol;
  const time = pick(o, ['time_iso8601', 'time_local', 'msec', '@timestamp', 'timestamp', 'time']);
  const parsed = accessRecord(
    line,
    {
      remoteAddr: stringOf(o['remote_addr']),
      user: stringOf(o['remote_user']),
      request: { method, path, ...(protocol ? { protocol } : {}) },
      status,
      bytes: stringOf(o['body_bytes_sent'] ?? o['bytes_sent']),
      referer: stringOf(o['http_referer']),
      userAgent: stringOf(o['http_user_agent']),
      requestTime: numberOf(o['request_time']),
    },
    time ? parseTimeValue(time[1]) : undefined,
  );
  for (const [key, value] of Object.entries(o)) {
    if (!NGINX_JSON_KNOWN.has(key)) setAttribute(parsed.attributes, key, value);
  }
  const trace = pick(o, TRACE_KEYS);
  if (trace && typeof trace[1] === 'string' && trace[1] !== '' && trace[1].length <= 64)
    parsed.traceId = trace[1];
  return parsed;
}

const HAPROXY_RE = new RegExp(
  [
    '(?:^|\\s)(\\S+):(\\d+) \\[(\\d{2}/\\w{3}/\\d{4}:\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?)\\]',
    ' (\\S+) ([^\\s/]+)/(\\S+)',
    ' (-?\\d+)/(-?\\d+)/(-?\\d+)/(-?\\d+)/\\+?(-?\\d+)',
    ' (-?\\d+) \\+?(\\d+) \\S+ \\S+ (\\S+)',
    ' \\d+/\\d+/\\d+/\\d+/\\+?\\d+ \\d+/\\d+',
    '(?: \\{[^}]*\\})* "((?:[^"\\\\]|\\\\.)*)"?',
  ].join(''),
);

/** HAProxy's httplog format, after any syslog prefix the line was written with. */
export function parseHaproxy(line: string): ParsedLine | undefined {
  const m = HAPROXY_RE.exec(line);
  if (!m) return undefined;
  const totalMs = Number(m[11]);
  const parsed = accessRecord(
    line,
    {
      remoteAddr: m[1],
      request: splitRequest(m[15]!),
      status: Number(m[12]),
      bytes: m[13],
      requestTime: totalMs >= 0 ? totalMs / 1000 : undefined,
    },
    parseClfTime(m[3]!),
  );
  setAttribute(parsed.attributes, 'frontend', m[4]);
  setAttribute(parsed.attributes, 'backend', m[5]);
  setAttribute(parsed.attributes, 'server', m[6]);
  setAttribute(parsed.attributes, 'termination_state', m[14]);
  return parsed;
}
