// The OTLP/HTTP wire formats: the opentelemetry-proto v1 messages Halo reads (metrics and logs
// export requests and responses), decoding of protobuf and JSON bodies into one plain shape, and
// the readers that check that shape and turn its values (int64s, nanoseconds, AnyValues) into ours.

import protobuf from 'protobufjs';
import { isPlain } from './otlp-plain.ts';
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
