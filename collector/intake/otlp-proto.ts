// The OTLP/HTTP wire formats: the opentelemetry-proto v1 messages Halo reads (metrics and logs
// export requests and responses), decoding of protobuf and JSON bodies into one plain shape, and
// the readers that check that shape and turn its values (int64s, nanoseconds, AnyValues) into ours.

import protobuf from 'protobufjs';
import { IntakeError } from './types.ts';

export type OtlpEncoding = 'protobuf' | 'json';
export type OtlpKind = 'metrics' | 'logs';

// Field numbers as in opentelemetry-proto (common/v1, resource/v1, metrics/v1, logs/v1,
// collector/*/v1). Only the fields Halo reads are declared: protobufjs skips the others. The
// field names are the OTLP/JSON ones, so both encodings decode to the same keys. Enums are
// declared as int32 (same wire type) because OTLP/JSON sends them as integers too.
type FieldJson = { type: string; id: number; rule?: 'repeated' };
const message = (fields: Record<string, FieldJson>, oneofs: Record<string, string[]> = {}) => ({
  edition: 'proto3',
  fields,
  oneofs: Object.fromEntries(Object.entries(oneofs).map(([name, oneof]) => [name, { oneof }])),
});
/** `optional double sum`: proto3 optional is a oneof of one, so a sum of 0 is still sent. */
const OPTIONAL_SUM = { _sum: ['sum'] };
const f = (type: string, id: number): FieldJson => ({ type, id });
const many = (type: string, id: number): FieldJson => ({ type, id, rule: 'repeated' });

const ANY_VALUE_FIELDS = {
  stringValue: f('string', 1),
  boolValue: f('bool', 2),
  intValue: f('int64', 3),
  doubleValue: f('double', 4),
  arrayValue: f('ArrayValue', 5),
  kvlistValue: f('KeyValueList', 6),
  bytesValue: f('bytes', 7),
};

const ROOT = protobuf.Root.fromJSON({
  nested: {
    otlp: {
      nested: {
        AnyValue: message(ANY_VALUE_FIELDS, { value: Object.keys(ANY_VALUE_FIELDS) }),
        ArrayValue: message({ values: many('AnyValue', 1) }),
        KeyValueList: message({ values: many('KeyValue', 1) }),
        KeyValue: message({ key: f('string', 1), value: f('AnyValue', 2) }),
        Resource: message({ attributes: many('KeyValue', 1) }),
        ExportMetricsServiceRequest: message({ resourceMetrics: many('ResourceMetrics', 1) }),
        ResourceMetrics: message({
          resource: f('Resource', 1),
          scopeMetrics: many('ScopeMetrics', 2),
        }),
        ScopeMetrics: message({ metrics: many('Metric', 2) }),
        Metric: message({
          name: f('string', 1),
          gauge: f('Gauge', 5),
          sum: f('Sum', 7),
          histogram: f('Histogram', 9),
          exponentialHistogram: f('ExponentialHistogram', 10),
          summary: f('Summary', 11),
        }),
        Gauge: message({ dataPoints: many('NumberDataPoint', 1) }),
        Sum: message({
          dataPoints: many('NumberDataPoint', 1),
          aggregationTemporality: f('int32', 2),
          isMonotonic: f('bool', 3),
        }),
        Histogram: message({
          dataPoints: many('HistogramDataPoint', 1),
          aggregationTemporality: f('int32', 2),
        }),
        // Only counted (as rejected), so its points are skipped unread.
        ExponentialHistogram: message({ dataPoints: many('Skipped', 1) }),
        Skipped: message({}),
        Summary: message({ dataPoints: many('SummaryDataPoint', 1) }),
        NumberDataPoint: message(
          {
            startTimeUnixNano: f('fixed64', 2),
            timeUnixNano: f('fixed64', 3),
            asDouble: f('double', 4),
            asInt: f('sfixed64', 6),
            attributes: many('KeyValue', 7),
            flags: f('uint32', 8),
          },
          { value: ['asDouble', 'asInt'] },
        ),
        HistogramDataPoint: message(
          {
            startTimeUnixNano: f('fixed64', 2),
            timeUnixNano: f('fixed64', 3),
            count: f('fixed64', 4),
            sum: f('double', 5),
            bucketCounts: many('fixed64', 6),
            explicitBounds: many('double', 7),
            attributes: many('KeyValue', 9),
            flags: f('uint32', 10),
          },
          OPTIONAL_SUM,
        ),
        SummaryDataPoint: message({
          startTimeUnixNano: f('fixed64', 2),
          timeUnixNano: f('fixed64', 3),
          count: f('fixed64', 4),
          sum: f('double', 5),
          quantileValues: many('ValueAtQuantile', 6),
          attributes: many('KeyValue', 7),
          flags: f('uint32', 8),
        }),
        ValueAtQuantile: message({ quantile: f('double', 1), value: f('double', 2) }),
        ExportLogsServiceRequest: message({ resourceLogs: many('ResourceLogs', 1) }),
        ResourceLogs: message({ resource: f('Resource', 1), scopeLogs: many('ScopeLogs', 2) }),
        ScopeLogs: message({ logRecords: many('LogRecord', 2) }),
        LogRecord: message({
          timeUnixNano: f('fixed64', 1),
          severityNumber: f('int32', 2),
          severityText: f('string', 3),
          body: f('AnyValue', 5),
          attributes: many('KeyValue', 6),
          traceId: f('bytes', 9),
          observedTimeUnixNano: f('fixed64', 11),
        }),
        ExportMetricsServiceResponse: message({
          partialSuccess: f('ExportMetricsPartialSuccess', 1),
        }),
        ExportMetricsPartialSuccess: message({
          rejectedDataPoints: f('int64', 1),
          errorMessage: f('string', 2),
        }),
        ExportLogsServiceResponse: message({ partialSuccess: f('ExportLogsPartialSuccess', 1) }),
        ExportLogsPartialSuccess: message({
          rejectedLogRecords: f('int64', 1),
          errorMessage: f('string', 2),
        }),
      },
    },
  },
});

/** A message type of the OTLP subset above, e.g. `otlpType('ExportLogsServiceRequest')`. */
export function otlpType(name: string): protobuf.Type {
  return ROOT.lookupType(`otlp.${name}`);
}

const REQUEST = { metrics: 'ExportMetricsServiceRequest', logs: 'ExportLogsServiceRequest' };

/** A plain object as JSON.parse or protobufjs' toObject made it: every field still to be checked. */
export type Plain = Record<string, unknown>;

/**
 * Decodes an export request into plain objects with the OTLP/JSON field names. From protobuf,
 * 64-bit integers are decimal strings and bytes are Uint8Arrays; from JSON, they are whatever the
 * sender wrote (numbers or strings; hex or base64 strings): the readers below take both.
 */
export function decodeOtlpRequest(kind: OtlpKind, body: Uint8Array, encoding: OtlpEncoding): Plain {
  const name = REQUEST[kind];
  if (encoding === 'json') return parseJsonBody(name, body);
  // Field 15 as a group start: never valid OTLP, but how every JSON body begins.
  if (body[0] === 0x7b) {
    throw new IntakeError(
      400,
      `OTLP: not an ${name} protobuf: the body looks like JSON (send Content-Type: application/json)`,
    );
  }
  const type = otlpType(name);
  try {
    return type.toObject(type.decode(body), { longs: String, defaults: false });
  } catch (err) {
    throw new IntakeError(400, `OTLP: not an ${name} protobuf: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function parseJsonBody(name: string, body: Uint8Array): Plain {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch (err) {
    throw new IntakeError(400, `OTLP: not an ${name} in JSON: not UTF-8`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8's messages quote the body around the error and do not always give the position.
    throw new IntakeError(400, `OTLP: not an ${name} in JSON: ${jsonSyntaxError(text)}`, {
      cause: err,
    });
  }
  if (!isPlain(value))
    throw new IntakeError(400, `OTLP: not an ${name} in JSON: expected an object`);
  return value;
}

/** Where JSON.parse failed, as "unexpected ',' at line 3, column 9 (offset 41)". */
function jsonSyntaxError(text: string): string {
  let at = 0;
  // JSON strings may not hold raw control characters: matching them is the point here.
  // eslint-disable-next-line no-control-regex
  const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const LITERAL = /true|false|null/y;
  const space = () => {
    while (at < text.length && ' \t\r\n'.includes(text[at]!)) at++;
  };
  const fail = (): never => {
    throw new Error('syntax');
  };
  const token = (re: RegExp) => {
    re.lastIndex = at;
    if (!re.test(text)) fail();
    at = re.lastIndex;
  };
  const expect = (ch: string) => (text[at] === ch ? at++ : fail());
  const value = (): void => {
    space();
    const ch = text[at];
    if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      at++;
      space();
      if (text[at] === close) return void at++;
      for (;;) {
        if (ch === '{') {
          space();
          token(STRING);
          space();
          expect(':');
        }
        value();
        space();
        if (text[at] === close) return void at++;
        expect(',');
      }
    }
    token(
      ch === '"'
        ? STRING
        : ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')
          ? NUMBER
          : LITERAL,
    );
  };
  try {
    value();
    space();
    if (at < text.length) fail();
    return 'invalid JSON';
  } catch (err) {
    if (err instanceof RangeError) return 'nested too deeply';
    const before = text.slice(0, at).split('\n');
    const line = before.length;
    const column = before[before.length - 1]!.length + 1;
    const what = at < text.length ? `unexpected ${JSON.stringify(text[at])}` : 'unexpected end';
    return `${what} at line ${line}, column ${column} (offset ${at})`;
  }
}

/** The export response: empty on full success, else partial_success with the count and why. */
export function encodeOtlpResponse(
  kind: OtlpKind,
  encoding: OtlpEncoding,
  rejected: number,
  message?: string,
): Uint8Array {
  const count = kind === 'metrics' ? 'rejectedDataPoints' : 'rejectedLogRecords';
  const partial =
    rejected > 0 || message
      ? { [count]: String(rejected), errorMessage: message ?? '' }
      : undefined;
  const response = partial ? { partialSuccess: partial } : {};
  if (encoding === 'json') return new TextEncoder().encode(JSON.stringify(response));
  const type = otlpType(
    kind === 'metrics' ? 'ExportMetricsServiceResponse' : 'ExportLogsServiceResponse',
  );
  return type.encode(type.fromObject(response)).finish();
}

// --- readers of the plain shape: each names the path of what it refuses ---

export function isPlain(value: unknown): value is Plain {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  );
}

const bad = (path: string, what: string) => new IntakeError(400, `${path}: ${what}`);

/** A repeated field: absent or null is empty. */
export function list(parent: Plain, key: string, path: string): unknown[] {
  const value = parent[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw bad(`${path}${path ? '.' : ''}${key}`, 'expected an array');
  return value;
}

/** A message: absent or null is undefined. */
export function plainAt(parent: Plain, key: string, path: string): Plain | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (!isPlain(value)) throw bad(`${path}.${key}`, 'expected an object');
  return value;
}

export function asPlain(value: unknown, path: string): Plain {
  if (!isPlain(value)) throw bad(path, 'expected an object');
  return value;
}

export function stringAt(parent: Plain, key: string, path: string): string | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw bad(`${path}.${key}`, 'expected a string');
  return value;
}

/** A 64-bit integer (a decimal string or a number) as a BigInt. */
export function bigintOf(value: unknown, path: string, signed = true): bigint {
  if (typeof value === 'string' && (signed ? /^-?\d+$/ : /^\d+$/).test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isInteger(value) && (signed || value >= 0)) {
    return BigInt(value);
  }
  throw bad(path, `expected ${signed ? 'an' : 'a non-negative'} integer, got ${short(value)}`);
}

/** A uint64 or int32 field as a number (counts, flags, enums): 0 when absent. */
export function countAt(parent: Plain, key: string, path: string): number {
  const value = parent[key];
  return value === undefined || value === null
    ? 0
    : Number(bigintOf(value, `${path}.${key}`, false));
}

/** A double field: a number, or (OTLP/JSON) "NaN", "Infinity", "-Infinity" or a numeric string. */
export function doubleOf(value: unknown, path: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (value === 'NaN') return NaN;
    const n = Number(value);
    if (value.trim() !== '' && !Number.isNaN(n)) return n;
  }
  throw bad(path, `expected a number, got ${short(value)}`);
}

/** A fixed64 nanosecond timestamp in whole milliseconds (BigInt: 1.7e18 ns is past 2^53). */
export function msAt(parent: Plain, key: string, path: string): number | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  const ns = bigintOf(value, `${path}.${key}`, false);
  return ns === 0n ? undefined : Number(ns / 1_000_000n);
}

function short(value: unknown): string {
  const text = value instanceof Uint8Array ? 'bytes' : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

// --- AnyValue ---

/** Arrays and kvlists nested deeper are refused (and cannot exhaust the stack). */
export const MAX_DEPTH = 32;

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** An AnyValue as a JSON-able value: int64s past 2^53 and bytes (base64) become strings. */
export function anyToJson(any: unknown, path: string, depth = 0): JsonValue {
  if (depth > MAX_DEPTH) throw bad(path, `nested deeper than ${MAX_DEPTH} levels`);
  const v = asPlain(any, path);
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  if (v.intValue !== undefined && v.intValue !== null) {
    const n = bigintOf(v.intValue, `${path}.intValue`);
    const small = Number(n);
    return Number.isSafeInteger(small) ? small : n.toString();
  }
  if (v.doubleValue !== undefined && v.doubleValue !== null) {
    const d = doubleOf(v.doubleValue, `${path}.doubleValue`);
    return Number.isFinite(d) ? d : String(d);
  }
  const array = plainAt(v, 'arrayValue', path);
  if (array)
    return list(array, 'values', `${path}.arrayValue`).map((x, i) =>
      anyToJson(x, `${path}.arrayValue.values[${i}]`, depth + 1),
    );
  const kvlist = plainAt(v, 'kvlistValue', path);
  if (kvlist) {
    const out: { [key: string]: JsonValue } = {};
    keyValues(kvlist, 'values', `${path}.kvlistValue`, (key, value, at) => {
      out[key] = value === undefined ? null : anyToJson(value, at, depth + 1);
    });
    return out;
  }
  if (v.bytesValue instanceof Uint8Array) return Buffer.from(v.bytesValue).toString('base64');
  if (typeof v.bytesValue === 'string') return v.bytesValue;
  for (const key of ['stringValue', 'boolValue']) {
    if (v[key] !== undefined && v[key] !== null)
      throw bad(`${path}.${key}`, `unexpected ${short(v[key])}`);
  }
  return null;
}

/**
 * An AnyValue as a label or attribute value: strings as they are, bools 'true'/'false', ints in
 * decimal, doubles as JavaScript prints them, bytes in base64, arrays and kvlists as JSON, empty ''.
 */
export function anyToString(any: unknown, path: string): string {
  const json = anyToJson(any, path);
  if (json === null) return '';
  if (typeof json === 'object') return JSON.stringify(json);
  return String(json);
}

/** Calls `each` for every {key, value} of a repeated KeyValue field (value undefined when unset). */
export function keyValues(
  parent: Plain,
  field: string,
  path: string,
  each: (key: string, value: unknown, valuePath: string) => void,
): void {
  list(parent, field, path).forEach((item, i) => {
    const at = `${path}.${field}[${i}]`;
    const kv = asPlain(item, at);
    const key = stringAt(kv, 'key', at) ?? '';
    const value = kv.value === null ? undefined : kv.value;
    each(key, value, `${at}.value`);
  });
}

/** Resource attributes with their dotted names, values as anyToString makes them. */
export function resourceAttributes(parent: Plain, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  const resource = plainAt(parent, 'resource', path);
  if (resource) {
    keyValues(resource, 'attributes', `${path}.resource`, (key, value, at) => {
      if (key) out[key] = value === undefined ? '' : anyToString(value, at);
    });
  }
  return out;
}
