// OTLP/HTTP intake: the metrics and logs decoders on hand-built protobuf and JSON bodies, and
// (with a real Halo) the OpenTelemetry JS SDK's exporters sending to /v1/metrics and /v1/logs.

import protobuf from 'protobufjs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeOtlpLogs, severityOf } from '../collector/intake/otlp-logs.ts';
import {
  decodeOtlpMetrics,
  formatFloat,
  sanitizeLabelName,
  sanitizeMetricName,
} from '../collector/intake/otlp-metrics.ts';
import { encodeOtlpResponse, otlpType, type OtlpEncoding } from '../collector/intake/otlp-proto.ts';
import { IntakeError, type IntakeSeries } from '../collector/intake/types.ts';
import { samplesIn, startIntakeHalo, type IntakeHarness } from './helpers/intake.ts';
import { until } from './helpers/wait.ts';

const ENCODINGS: OtlpEncoding[] = ['protobuf', 'json'];
const T0 = '1700000000123999999'; // ns: 1700000000123 ms, past 2^53 as a number
const T0_MS = 1_700_000_000_123;
const START = '1699999990000000000';
const START_MS = 1_699_999_990_000;

/** One request in both encodings: int64s as strings suit protobufjs' fromObject and OTLP/JSON. */
function encode(kind: 'metrics' | 'logs', request: object, encoding: OtlpEncoding): Uint8Array {
  if (encoding === 'json') return Buffer.from(JSON.stringify(request, jsonBytes));
  const type = otlpType(
    kind === 'metrics' ? 'ExportMetricsServiceRequest' : 'ExportLogsServiceRequest',
  );
  return type.encode(type.fromObject(request)).finish();
}

/** OTLP/JSON writes trace ids in hex (not protobuf JSON's base64). */
function jsonBytes(_key: string, value: unknown): unknown {
  const v = value as { type?: string; data?: number[] } | undefined;
  return v?.type === 'Buffer' && Array.isArray(v.data)
    ? Buffer.from(v.data).toString('hex')
    : value;
}

const attr = (key: string, value: object) => ({ key, value });
const str = (key: string, value: string) => attr(key, { stringValue: value });

function metrics(list: object[], resource: object[] = [str('service.name', 'checkout')]) {
  return {
    resourceMetrics: [
      {
        resource: { attributes: resource },
        scopeMetrics: [{ scope: { name: 'test' }, metrics: list }],
      },
    ],
  };
}

function byName(series: IntakeSeries[], name: string): IntakeSeries[] {
  return series.filter((s) => s.name === name);
}

function error(fn: () => unknown): IntakeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof IntakeError) return err;
    throw err;
  }
  throw new Error('expected an IntakeError');
}

describe.each(ENCODINGS)('OTLP metrics in %s', (encoding) => {
  const decode = (request: object) =>
    decodeOtlpMetrics(encode('metrics', request, encoding), encoding);

  it('takes gauges with int and double values, attributes as labels and resource attributes as sent', () => {
    const result = decode(
      metrics(
        [
          {
            name: 'queue.depth',
            gauge: {
              dataPoints: [
                {
                  timeUnixNano: T0,
                  asInt: '-7',
                  attributes: [
                    str('http.method', 'GET'),
                    attr('1st', { boolValue: true }),
                    attr('_private', { intValue: '9007199254740993' }),
                    attr('ratio', { doubleValue: 0.25 }),
                    attr('tags', {
                      arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] },
                    }),
                    attr('map', { kvlistValue: { values: [str('k', 'v')] } }),
                  ],
                },
              ],
            },
          },
          { name: 'cpu-usage%', gauge: { dataPoints: [{ timeUnixNano: T0, asDouble: 0.5 }] } },
        ],
        [
          str('service.name', 'checkout'),
          str('host.name', 'web-1'),
          attr('process.pid', { intValue: '42' }),
        ],
      ),
    );
    expect(result).toMatchObject({ rejected: 0 });
    expect(samplesIn(result.series)).toBe(2);
    expect(result.firstRejected).toBeUndefined();
    expect(result.series).toEqual([
      {
        name: 'queue_depth',
        labels: {
          http_method: 'GET',
          key_1st: 'true',
          key_private: '9007199254740993',
          ratio: '0.25',
          tags: '["a",2]',
          map: '{"k":"v"}',
        },
        resource: { 'service.name': 'checkout', 'host.name': 'web-1', 'process.pid': '42' },
        temporality: 'gauge',
        points: [{ ts: T0_MS, value: -7 }],
      },
      {
        name: 'cpu_usage',
        labels: {},
        resource: { 'service.name': 'checkout', 'host.name': 'web-1', 'process.pid': '42' },
        temporality: 'gauge',
        points: [{ ts: T0_MS, value: 0.5 }],
      },
    ]);
  });

  it('maps sums by temporality and monotonicity, adding _total to monotonic ones only', () => {
    const point = (value: number) => ({
      startTimeUnixNano: START,
      timeUnixNano: T0,
      asDouble: value,
    });
    const result = decode(
      metrics([
        {
          name: 'http.requests',
          sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [point(3)] },
        },
        {
          name: 'jobs_total',
          sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [point(40)] },
        },
        {
          name: 'inflight',
          sum: { aggregationTemporality: 2, isMonotonic: false, dataPoints: [point(-2)] },
        },
        {
          name: 'queue.change',
          sum: { aggregationTemporality: 1, isMonotonic: false, dataPoints: [point(-1)] },
        },
      ]),
    );
    expect(
      result.series.map(({ name, temporality, points }) => ({ name, temporality, points })),
    ).toEqual([
      { name: 'http_requests_total', temporality: 'delta', points: [{ ts: T0_MS, value: 3 }] },
      {
        name: 'jobs_total',
        temporality: 'cumulative',
        points: [{ ts: T0_MS, value: 40, startTs: START_MS }],
      },
      { name: 'inflight', temporality: 'gauge', points: [{ ts: T0_MS, value: -2 }] },
      { name: 'queue_change', temporality: 'delta', points: [{ ts: T0_MS, value: -1 }] },
    ]);
  });

  it('turns an explicit-bucket histogram into cumulative le buckets, _count and _sum', () => {
    const result = decode(
      metrics([
        {
          name: 'http.server.duration',
          histogram: {
            aggregationTemporality: 2,
            dataPoints: [
              {
                startTimeUnixNano: START,
                timeUnixNano: T0,
                count: '10',
                sum: 12.5,
                bucketCounts: ['1', '2', '3', '4'],
                explicitBounds: [0.5, 1, 1e6],
                attributes: [str('route', '/pay')],
              },
            ],
          },
        },
        {
          name: 'batch.size',
          histogram: {
            aggregationTemporality: 1,
            dataPoints: [
              { timeUnixNano: T0, count: '2', bucketCounts: ['0', '2'], explicitBounds: [10] },
            ],
          },
        },
      ]),
    );
    const buckets = byName(result.series, 'http_server_duration_bucket');
    expect(buckets.map((s) => [s.labels.le, s.points[0]!.value])).toEqual([
      ['0.5', 1],
      ['1', 3],
      ['1e+06', 6],
      ['+Inf', 10],
    ]);
    expect(buckets.every((s) => s.temporality === 'cumulative' && s.labels.route === '/pay')).toBe(
      true,
    );
    expect(buckets[0]!.points[0]).toEqual({ ts: T0_MS, value: 1, startTs: START_MS });
    expect(byName(result.series, 'http_server_duration_count')[0]!.points[0]!.value).toBe(10);
    expect(byName(result.series, 'http_server_duration_sum')[0]!.points[0]!.value).toBe(12.5);
    // No sum sent: no _sum series; delta histograms stay delta, without startTs.
    expect(byName(result.series, 'batch_size_sum')).toEqual([]);
    expect(
      byName(result.series, 'batch_size_bucket').map((s) => [
        s.labels.le,
        s.temporality,
        s.points[0],
      ]),
    ).toEqual([
      ['10', 'delta', { ts: T0_MS, value: 0 }],
      ['+Inf', 'delta', { ts: T0_MS, value: 2 }],
    ]);
    expect(samplesIn(result.series)).toBe(6 + 3);
  });

  it('sends summaries as quantile gauges with cumulative _count and _sum', () => {
    const result = decode(
      metrics([
        {
          name: 'rpc.latency',
          summary: {
            dataPoints: [
              {
                timeUnixNano: T0,
                count: '4',
                sum: 2,
                quantileValues: [
                  { quantile: 0.5, value: 0.4 },
                  { quantile: 0.99, value: 0.9 },
                ],
              },
            ],
          },
        },
      ]),
    );
    expect(
      result.series.map((s) => [s.name, s.labels.quantile, s.temporality, s.points[0]!.value]),
    ).toEqual([
      ['rpc_latency', '0.5', 'gauge', 0.4],
      ['rpc_latency', '0.99', 'gauge', 0.9],
      ['rpc_latency_count', undefined, 'cumulative', 4],
      ['rpc_latency_sum', undefined, 'cumulative', 2],
    ]);
  });

  it('counts unusable points as rejected, naming the first, and skips no-recorded-value points', () => {
    const result = decode(
      metrics([
        { name: 'ok', gauge: { dataPoints: [{ timeUnixNano: T0, asInt: '1' }] } },
        { name: 'stale', gauge: { dataPoints: [{ timeUnixNano: T0, asInt: '1', flags: 1 }] } },
        {
          name: 'novalue',
          gauge: { dataPoints: [{ timeUnixNano: T0 }, { timeUnixNano: T0, asInt: '2' }] },
        },
        {
          name: 'latency',
          exponentialHistogram: {
            aggregationTemporality: 2,
            dataPoints: [{ timeUnixNano: T0, count: '1' }, {}],
          },
        },
        {
          name: 'unspecified',
          sum: { isMonotonic: true, dataPoints: [{ timeUnixNano: T0, asInt: '1' }] },
        },
      ]),
    );
    expect(result.series.map((s) => s.name)).toEqual(['ok', 'novalue']);
    expect(result.rejected).toBe(1 + 2 + 1);
    expect(result.firstRejected).toBe(
      'resourceMetrics[0].scopeMetrics[0].metrics[2].gauge.dataPoints[0]: no value (asInt or asDouble)',
    );
  });

  it('refuses a point without timeUnixNano, naming its path', () => {
    const request = metrics([
      { name: 'a', gauge: { dataPoints: [{ timeUnixNano: T0, asInt: '1' }] } },
    ]);
    request.resourceMetrics[0]!.scopeMetrics.push({
      scope: { name: 'second' },
      metrics: [
        { name: 'b', gauge: { dataPoints: [] } },
        { name: 'c', gauge: { dataPoints: [] } },
        {
          name: 'd',
          sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [{ asInt: '1' }] },
        },
      ],
    });
    const err = error(() => decode(request));
    expect(err.status).toBe(400);
    expect(err.message).toBe(
      'resourceMetrics[0].scopeMetrics[1].metrics[2].sum.dataPoints[0]: no timeUnixNano',
    );
  });
});

describe('OTLP metrics in JSON only', () => {
  const decodeJson = (text: string) => decodeOtlpMetrics(Buffer.from(text), 'json');

  it('takes the OTLP/JSON of the spec examples: int64s as numbers, a nanosecond time as a number', () => {
    const result = decodeJson(`{
      "resourceMetrics": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "my.service" } }] },
        "scopeMetrics": [{
          "scope": { "name": "my.library", "version": "1.0.0" },
          "metrics": [{
            "name": "my.counter", "unit": "1", "description": "I am a Counter",
            "sum": {
              "aggregationTemporality": 1, "isMonotonic": true,
              "dataPoints": [{ "asDouble": 5, "startTimeUnixNano": 1544712660300000000,
                "timeUnixNano": 1544712660300000000,
                "attributes": [{ "key": "my.counter.attr", "value": { "stringValue": "some value" } }] }]
            }
          }, {
            "name": "my.histogram", "unit": "1",
            "histogram": {
              "aggregationTemporality": 1,
              "dataPoints": [{ "startTimeUnixNano": "1544712660300000000", "timeUnixNano": "1544712660300000000",
                "count": 2, "sum": 2, "bucketCounts": [1, 1], "explicitBounds": [1], "min": 0, "max": 2 }]
            }
          }]
        }]
      }]
    }`);
    expect(result.series[0]).toEqual({
      name: 'my_counter_total',
      labels: { my_counter_attr: 'some value' },
      resource: { 'service.name': 'my.service' },
      temporality: 'delta',
      points: [{ ts: 1_544_712_660_300, value: 5 }],
    });
    expect(byName(result.series, 'my_histogram_bucket').map((s) => s.points[0]!.value)).toEqual([
      1, 2,
    ]);
  });

  it('names the position of a JSON syntax error without quoting the body', () => {
    const err = error(() => decodeJson('{"resourceMetrics": [\n  {"resource": }\n]}'));
    expect(err.status).toBe(400);
    expect(err.message).toBe(
      'OTLP: not an ExportMetricsServiceRequest in JSON: unexpected "}" at line 2, column 16 (offset 37)',
    );
  });

  it('names the field of a wrongly typed value', () => {
    const bad = (text: string) => error(() => decodeJson(text)).message;
    expect(bad('{"resourceMetrics": {}}')).toBe('resourceMetrics: expected an array');
    expect(bad('[]')).toBe('OTLP: not an ExportMetricsServiceRequest in JSON: expected an object');
    expect(
      bad(
        '{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "x", "gauge": {"dataPoints": [{"timeUnixNano": "soon", "asInt": 1}]}}]}]}]}',
      ),
    ).toBe(
      'resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].timeUnixNano: expected a non-negative integer, got "soon"',
    );
  });
});

describe('OTLP protobuf bodies that are not OTLP', () => {
  it('refuses garbage with the decoder error', () => {
    const err = error(() =>
      decodeOtlpMetrics(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), 'protobuf'),
    );
    expect(err.status).toBe(400);
    expect(err.message).toMatch(
      /^OTLP: not an ExportMetricsServiceRequest protobuf: index out of range/,
    );
  });

  it('says when a JSON body came as protobuf', () => {
    const err = error(() => decodeOtlpLogs(Buffer.from('{"resourceLogs": []}'), 'protobuf'));
    expect(err.message).toBe(
      'OTLP: not an ExportLogsServiceRequest protobuf: the body looks like JSON (send Content-Type: application/json)',
    );
  });
});

describe.each(ENCODINGS)('OTLP logs in %s', (encoding) => {
  const decode = (request: object) => decodeOtlpLogs(encode('logs', request, encoding), encoding);
  const traceBytes = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex');
  const logs = (records: object[]) => ({
    resourceLogs: [
      {
        resource: { attributes: [str('service.name', 'api'), str('host.name', 'web-2')] },
        scopeLogs: [{ scope: { name: 'app' }, logRecords: records }],
      },
    ],
  });

  it('takes body, severity, flattened attributes, resource and trace id', () => {
    const result = decode(
      logs([
        {
          timeUnixNano: T0,
          observedTimeUnixNano: START,
          severityNumber: 17,
          severityText: 'ERROR',
          body: { stringValue: 'payment failed' },
          attributes: [
            str('http.route', '/pay'),
            attr('retry', { intValue: '3' }),
            attr('user', {
              kvlistValue: {
                values: [
                  str('id', 'u1'),
                  attr('geo', { kvlistValue: { values: [str('cc', 'DE')] } }),
                ],
              },
            }),
            attr('ids', { arrayValue: { values: [{ intValue: '1' }, { boolValue: false }] } }),
          ],
          traceId: traceBytes,
          spanId: Buffer.from('eee19b7ec3c1b174', 'hex'),
        },
        {
          observedTimeUnixNano: START,
          severityText: 'Warning',
          body: { kvlistValue: { values: [str('msg', 'hi')] } },
        },
      ]),
    );
    expect(result).toEqual({
      rejected: 0,
      records: [
        {
          ts: T0_MS,
          severity: 'error',
          body: 'payment failed',
          attributes: {
            'http.route': '/pay',
            retry: '3',
            'user.id': 'u1',
            'user.geo.cc': 'DE',
            ids: '[1,false]',
          },
          resource: { 'service.name': 'api', 'host.name': 'web-2' },
          traceId: '5b8efff798038103d269b633813fc60c',
        },
        {
          ts: START_MS,
          severity: 'warn',
          body: '{"msg":"hi"}',
          attributes: {},
          resource: { 'service.name': 'api', 'host.name': 'web-2' },
        },
      ],
    });
  });

  it('counts records without a timestamp as rejected, and treats an all-zero trace id as none', () => {
    const result = decode(
      logs([
        { severityNumber: 9, body: { stringValue: 'when?' } },
        { timeUnixNano: T0, body: { intValue: '5' }, traceId: Buffer.alloc(16) },
      ]),
    );
    expect(result.rejected).toBe(1);
    expect(result.firstRejected).toBe(
      'resourceLogs[0].scopeLogs[0].logRecords[0]: no timeUnixNano or observedTimeUnixNano',
    );
    expect(result.records).toEqual([
      { ts: T0_MS, severity: 'info', body: '5', attributes: {}, resource: expect.any(Object) },
    ]);
  });

  it('refuses a trace id that is not 16 bytes', () => {
    const err = error(() =>
      decode(logs([{ timeUnixNano: T0, traceId: Buffer.from('abcd', 'hex') }])),
    );
    expect(err.message).toMatch(
      /^resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]\.traceId: expected 16 bytes/,
    );
  });
});

describe('OTLP logs in JSON only', () => {
  it('takes upper-case hex trace ids and severity numbers by name', () => {
    const body = JSON.stringify({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: 1544712660300000000,
                  severityNumber: 'SEVERITY_NUMBER_WARN2',
                  traceId: '5B8EFFF798038103D269B633813FC60C',
                },
              ],
            },
          ],
        },
      ],
    });
    const [record] = decodeOtlpLogs(Buffer.from(body), 'json').records;
    expect(record).toMatchObject({
      ts: 1_544_712_660_300,
      severity: 'warn',
      traceId: '5b8efff798038103d269b633813fc60c',
      resource: {},
    });
  });
  it('refuses values nested deeper than it reads, rather than running out of stack', () => {
    // Written out: JSON.stringify itself would run out of stack on this.
    const levels = 100_000;
    const value = `${'{"arrayValue":{"values":['.repeat(levels)}{"stringValue":"deep"}${']}}'.repeat(levels)}`;
    const record = `{"timeUnixNano":"${T0}","attributes":[{"key":"deep","value":${value}}]}`;
    const body = `{"resourceLogs":[{"scopeLogs":[{"logRecords":[${record}]}]}]}`;
    const err = error(() => decodeOtlpLogs(Buffer.from(body), 'json'));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(
      /^resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]\.attributes\[0\]\.value(\.arrayValue\.values\[0\]){33}: nested deeper than 32 levels$/,
    );
  });
});

describe('severities', () => {
  it.each([
    [1, undefined, 'trace'],
    [8, undefined, 'debug'],
    [9, 'ERROR', 'info'],
    [12, undefined, 'info'],
    [13, undefined, 'warn'],
    [20, undefined, 'error'],
    [24, undefined, 'fatal'],
    [0, 'Information', 'info'],
    [0, 'WARNING', 'warn'],
    [0, ' critical ', 'fatal'],
    [0, 'verbose', 'info'],
    [25, 'debug', 'debug'],
    [0, undefined, 'info'],
  ] as const)('severity number %s with text %s is %s', (number, text, expected) => {
    expect(severityOf(number, text)).toBe(expected);
  });
});

describe('names and numbers as Prometheus prints them', () => {
  it.each([
    ['http.server.duration', 'http_server_duration'],
    ['a..b--c', 'a_b_c'],
    ['.leading.and.trailing.', 'leading_and_trailing'],
    ['2xx.count', '_2xx_count'],
    ['ns:metric_name', 'ns:metric_name'],
  ])('metric name %s becomes %s', (name, expected) => {
    expect(sanitizeMetricName(name)).toBe(expected);
  });

  it.each([
    ['http.method', 'http_method'],
    ['1st', 'key_1st'],
    ['_x', 'key_x'],
    ['__x', '__x'],
    ['a:b', 'a_b'],
  ])('label name %s becomes %s', (name, expected) => {
    expect(sanitizeLabelName(name)).toBe(expected);
  });

  it.each([
    [0.5, '0.5'],
    [1, '1'],
    [100000, '100000'],
    [1e6, '1e+06'],
    [2.5e6, '2.5e+06'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [1e21, '1e+21'],
    [-3, '-3'],
    [Infinity, '+Inf'],
  ])('%s is formatted %s', (value, expected) => {
    expect(formatFloat(value)).toBe(expected);
  });
});

describe('OTLP export responses', () => {
  it('is empty on full success and carries partial_success otherwise', () => {
    expect(encodeOtlpResponse('metrics', 'protobuf', 0)).toHaveLength(0);
    expect(Buffer.from(encodeOtlpResponse('logs', 'json', 0)).toString()).toBe('{}');
    const proto = encodeOtlpResponse('metrics', 'protobuf', 3, 'no value');
    expect(
      otlpType('ExportMetricsServiceResponse').toObject(
        otlpType('ExportMetricsServiceResponse').decode(proto),
        { longs: Number },
      ),
    ).toEqual({
      partialSuccess: { rejectedDataPoints: 3, errorMessage: 'no value' },
    });
    const logs = encodeOtlpResponse('logs', 'protobuf', 2, 'no time');
    expect(
      otlpType('ExportLogsServiceResponse').toObject(
        otlpType('ExportLogsServiceResponse').decode(logs),
        { longs: Number },
      ),
    ).toEqual({
      partialSuccess: { rejectedLogRecords: 2, errorMessage: 'no time' },
    });
    expect(
      JSON.parse(Buffer.from(encodeOtlpResponse('logs', 'json', 2, 'no time')).toString()),
    ).toEqual({
      partialSuccess: { rejectedLogRecords: '2', errorMessage: 'no time' },
    });
  });
});

// --- real senders: the OpenTelemetry JS SDK's OTLP exporters ---

/** What an SDK exporter reports for each export (ExportResult: code 0 is success). */
interface ExportOutcome {
  code: number;
  error?: Error;
}

type Send = (items: unknown, done: (result: ExportOutcome) => void) => void;

/** Records every export's outcome: the SDK's forceFlush swallows failures. */
function recorded<E extends object>(exporter: E, outcomes: ExportOutcome[]): E {
  const target = exporter as unknown as { export: Send };
  const send = target.export.bind(exporter);
  target.export = (items, done) =>
    send(items, (result) => {
      outcomes.push(result);
      done(result);
    });
  return exporter;
}

interface Captured {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A local OTLP receiver that keeps the raw requests and answers like Halo does. */
async function startCapture(): Promise<{
  url: string;
  requests: Captured[];
  close(): Promise<void>;
}> {
  const requests: Captured[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      const json = (req.headers['content-type'] ?? '').includes('json');
      const kind = req.url === '/v1/logs' ? 'logs' : 'metrics';
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(encodeOtlpResponse(kind, json ? 'json' : 'protobuf', 0));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const traced = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: TRACE_ID,
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
});

type MetricExporterOptions = ConstructorParameters<typeof ProtoMetricExporter>[0];
/** CompressionAlgorithm.GZIP, whose package (otlp-exporter-base) Halo does not depend on. */
const GZIP = 'gzip' as NonNullable<MetricExporterOptions>['compression'];

function meterProvider(
  encoding: OtlpEncoding,
  options: MetricExporterOptions,
  attributes: Record<string, string>,
  outcomes: ExportOutcome[],
): MeterProvider {
  const exporter =
    encoding === 'protobuf' ? new ProtoMetricExporter(options) : new JsonMetricExporter(options);
  return new MeterProvider({
    resource: resourceFromAttributes(attributes),
    // Exports only when flushed: each flush is one request, so the test knows what was sent.
    readers: [
      new PeriodicExportingMetricReader({
        exporter: recorded(exporter, outcomes),
        exportIntervalMillis: 3_600_000,
      }),
    ],
  });
}

function loggerProvider(
  encoding: OtlpEncoding,
  options: ConstructorParameters<typeof ProtoLogExporter>[0],
  attributes: Record<string, string>,
  outcomes: ExportOutcome[],
): LoggerProvider {
  const exporter = recorded(
    encoding === 'protobuf' ? new ProtoLogExporter(options) : new JsonLogExporter(options),
    outcomes,
  );
  return new LoggerProvider({
    resource: resourceFromAttributes(attributes),
    processors: [
      encoding === 'protobuf'
        ? new SimpleLogRecordProcessor({ exporter })
        : new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 3_600_000 }),
    ],
  });
}

describe('what the SDK exporters send', () => {
  it.each(ENCODINGS)(
    '%s: content type, gzip and one resource per request, decoded without loss',
    async (encoding) => {
      const capture = await startCapture();
      try {
        const outcomes: ExportOutcome[] = [];
        const options = {
          url: `${capture.url}/v1/metrics`,
          headers: { Authorization: 'Bearer t' },
          compression: GZIP,
        };
        const meters = meterProvider(encoding, options, { 'service.name': 'probe' }, outcomes);
        meters.getMeter('probe').createCounter('probe.count').add(2, { k: 'v' });
        await meters.forceFlush();
        await meters.shutdown();
        const logs = loggerProvider(
          encoding,
          { url: `${capture.url}/v1/logs` },
          { 'service.name': 'probe' },
          outcomes,
        );
        logs
          .getLogger('probe')
          .emit({ body: 'hello', severityNumber: SeverityNumber.INFO, context: traced });
        await logs.forceFlush();
        await logs.shutdown();

        // shutdown() exports the meter once more: two metrics requests, then the logs.
        expect(outcomes.map((o) => o.code)).toEqual([0, 0, 0]);
        expect(capture.requests.map((r) => r.path)).toEqual([
          '/v1/metrics',
          '/v1/metrics',
          '/v1/logs',
        ]);
        const [metricsRequest, , logsRequest] = capture.requests;
        const type = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
        expect(metricsRequest).toMatchObject({
          path: '/v1/metrics',
          headers: { 'content-type': type, 'content-encoding': 'gzip', authorization: 'Bearer t' },
        });
        expect(logsRequest).toMatchObject({ path: '/v1/logs', headers: { 'content-type': type } });
        expect(logsRequest!.headers['content-encoding']).toBeUndefined();

        const decoded = decodeOtlpMetrics(gunzipSync(metricsRequest!.body), encoding);
        expect(decoded.rejected).toBe(0);
        expect(decoded.series).toEqual([
          {
            name: 'probe_count_total',
            labels: { k: 'v' },
            resource: { 'service.name': 'probe' },
            temporality: 'cumulative',
            points: [{ ts: expect.any(Number), value: 2, startTs: expect.any(Number) }],
          },
        ]);
        const [record] = decodeOtlpLogs(logsRequest!.body, encoding).records;
        expect(record).toMatchObject({ body: 'hello', severity: 'info', traceId: TRACE_ID });
      } finally {
        await capture.close();
      }
    },
  );
});

describe('a real Halo taking OTLP from the SDK', () => {
  let halo: IntakeHarness;

  beforeAll(async () => {
    halo = await startIntakeHalo();
  }, 120_000);

  afterAll(async () => {
    await halo?.stop();
  });

  /** Polls until `check` holds for the rows of `sql`, then returns them. */
  async function rows<T>(sql: string, check: (rows: T[]) => boolean, what: string): Promise<T[]> {
    let last: T[] = [];
    await until(async () => check((last = await halo.query<T>(sql))), what, 30_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}; last rows: ${JSON.stringify(last)}`);
      },
    );
    return last;
  }

  type Sample = {
    name: string;
    tier: string;
    host: string;
    service: string;
    labels: Record<string, string>;
    value: number;
  };

  it('stores counters, up-down counters, gauges and histograms from the protobuf exporter (gzip, cumulative)', async () => {
    const outcomes: ExportOutcome[] = [];
    const provider = meterProvider(
      'protobuf',
      {
        url: `${halo.url}/v1/metrics`,
        headers: { Authorization: `Bearer ${halo.token}` },
        compression: GZIP,
      },
      { 'service.name': 'checkout', 'host.name': 'web-1' },
      outcomes,
    );
    const meter = provider.getMeter('shop');
    const orders = meter.createCounter('shop.orders');
    const depth = meter.createUpDownCounter('shop.queue.depth');
    const temperature = meter.createGauge('shop.temperature');
    const latency = meter.createHistogram('shop.latency', {
      advice: { explicitBucketBoundaries: [0.1, 0.5, 1] },
    });
    orders.add(3, { method: 'card' });
    depth.add(5);
    temperature.record(21.5, { room: 'a' });
    latency.record(0.05);
    latency.record(0.3);
    await provider.forceFlush();
    orders.add(4, { method: 'card' });
    depth.add(-2);
    latency.record(0.3);
    latency.record(2);
    await provider.forceFlush();
    await provider.shutdown();
    expect(outcomes.length).toBeGreaterThanOrEqual(2);
    expect(outcomes.filter((o) => o.code !== 0)).toEqual([]);

    const names = `'shop_orders_total', 'shop_queue_depth', 'shop_temperature', 'shop_latency_bucket', 'shop_latency_count', 'shop_latency_sum'`;
    const sql = `SELECT name, tier, host, service, labels, sum(value) AS value FROM samples WHERE name IN (${names}) GROUP BY name, tier, host, service, labels ORDER BY name, labels['le']`;
    const got = await rows<Sample>(
      sql,
      (r) => r.find((s) => s.name === 'shop_orders_total')?.value === 7 && r.length === 9,
      'the cumulative metrics',
    );
    const placed = got.map(({ tier, host, service }) => `${tier}/${host}/${service}`);
    expect(new Set(placed)).toEqual(new Set(['external/web-1/checkout']));
    // Cumulative counters arrive as deltas from zero (the SDK sends startTimeUnixNano): 3 + 4.
    expect(got.find((s) => s.name === 'shop_orders_total')).toMatchObject({
      labels: { method: 'card' },
      value: 7,
    });
    const bucket = (le: string) =>
      got.find((s) => s.name === 'shop_latency_bucket' && s.labels.le === le)?.value;
    expect([bucket('0.1'), bucket('0.5'), bucket('1'), bucket('+Inf')]).toEqual([1, 3, 3, 4]);
    expect(got.find((s) => s.name === 'shop_latency_count')?.value).toBe(4);
    expect(got.find((s) => s.name === 'shop_latency_sum')?.value).toBeCloseTo(2.65, 9);

    // Gauges (and the up-down counter, a non-monotonic sum) are stored as sent, at each flush.
    const last = await halo.query<{ name: string; value: number }>(
      `SELECT name, argMax(value, ts) AS value FROM samples WHERE name IN ('shop_queue_depth', 'shop_temperature') GROUP BY name ORDER BY name`,
    );
    expect(last).toEqual([
      { name: 'shop_queue_depth', value: 3 },
      { name: 'shop_temperature', value: 21.5 },
    ]);
  });

  it('stores delta counters and histograms from the JSON exporter, in the tier of the token', async () => {
    const outcomes: ExportOutcome[] = [];
    const provider = meterProvider(
      'json',
      {
        url: `${halo.url}/v1/metrics`,
        headers: { Authorization: `Bearer ${halo.tierToken}` },
        temporalityPreference: AggregationTemporality.DELTA,
      },
      { 'service.name': 'billing', 'host.name': 'web-2' },
      outcomes,
    );
    const meter = provider.getMeter('billing');
    const payments = meter.createCounter('billing.payments_total');
    const size = meter.createHistogram('billing.batch.size', {
      advice: { explicitBucketBoundaries: [10, 100] },
    });
    payments.add(2, { currency: 'EUR' });
    size.record(5);
    await provider.forceFlush();
    payments.add(5, { currency: 'EUR' });
    size.record(50);
    size.record(500);
    await provider.forceFlush();
    await provider.shutdown();
    expect(outcomes.filter((o) => o.code !== 0)).toEqual([]);

    const sql = `SELECT name, tier, host, service, labels, sum(value) AS value FROM samples WHERE name LIKE 'billing_%' GROUP BY name, tier, host, service, labels ORDER BY name, labels['le']`;
    const got = await rows<Sample>(
      sql,
      (r) => r.find((s) => s.name === 'billing_payments_total')?.value === 7 && r.length === 6,
      'the delta metrics',
    );
    expect(got.map((s) => [s.name, s.labels.le ?? s.labels.currency, s.value])).toEqual([
      ['billing_batch_size_bucket', '+Inf', 3],
      ['billing_batch_size_bucket', '10', 1],
      ['billing_batch_size_bucket', '100', 2],
      ['billing_batch_size_count', undefined, 3],
      ['billing_batch_size_sum', undefined, 555],
      ['billing_payments_total', 'EUR', 7],
    ]);
    expect(new Set(got.map((s) => `${s.tier}/${s.host}/${s.service}`))).toEqual(
      new Set(['web/web-2/billing']),
    );
  });

  it.each(ENCODINGS)(
    'stores log records from the %s exporter with severity, attributes and trace id',
    async (encoding) => {
      const outcomes: ExportOutcome[] = [];
      const service = `logger-${encoding}`;
      const provider = loggerProvider(
        encoding,
        { url: `${halo.url}/v1/logs`, headers: { Authorization: `Bearer ${halo.token}` } },
        { 'service.name': service, 'host.name': 'web-3' },
        outcomes,
      );
      const logger = provider.getLogger('app');
      logger.emit({
        body: 'disk almost full',
        severityNumber: SeverityNumber.WARN,
        severityText: 'WARN',
        attributes: { 'disk.path': '/var', used: 91 },
        context: traced,
      });
      logger.emit({ body: { code: 5, reason: 'declined' }, severityNumber: SeverityNumber.ERROR2 });
      logger.emit({ body: 'no number', severityText: 'debug' });
      await provider.forceFlush();
      await provider.shutdown();
      expect(outcomes.filter((o) => o.code !== 0)).toEqual([]);

      type Log = {
        tier: string;
        host: string;
        service: string;
        severity: string;
        body: string;
        attributes: Record<string, string>;
        trace_id: string;
      };
      const got = await rows<Log>(
        `SELECT tier, host, service, severity, body, attributes, trace_id FROM logs WHERE service = '${service}' ORDER BY body`,
        (r) => r.length === 3,
        `the ${encoding} log records`,
      );
      expect(got).toEqual([
        {
          tier: 'external',
          host: 'web-3',
          service,
          severity: 'warn',
          body: 'disk almost full',
          attributes: { disk_path: '/var', used: '91' },
          trace_id: TRACE_ID,
        },
        {
          tier: 'external',
          host: 'web-3',
          service,
          severity: 'debug',
          body: 'no number',
          attributes: {},
          trace_id: '',
        },
        {
          tier: 'external',
          host: 'web-3',
          service,
          severity: 'error',
          body: '{"code":5,"reason":"declined"}',
          attributes: {},
          trace_id: '',
        },
      ]);
    },
  );

  it('answers garbage with 400 and its reason, a wrong token with 401, and unusable points with partial success', async () => {
    const post = (path: string, body: Uint8Array | string, type: string, token = halo.token) =>
      halo.post(path, body, token, { 'Content-Type': type });

    const garbage = await post(
      '/v1/metrics',
      new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]),
      'application/x-protobuf',
    );
    expect(garbage.status).toBe(400);
    // OTLP/HTTP: a google.rpc.Status in the request's encoding (code 1, message 2).
    expect(garbage.headers.get('content-type')).toBe('application/x-protobuf');
    const status = new protobuf.Reader(new Uint8Array(await garbage.arrayBuffer()));
    expect(status.uint32()).toBe(8);
    expect(status.int32()).toBe(3);
    expect(status.uint32()).toBe(18);
    expect(status.string()).toContain(
      'OTLP: not an ExportMetricsServiceRequest protobuf: index out of range',
    );

    const badJson = await post('/v1/logs', '{"resourceLogs": [}', 'application/json');
    expect(badJson.status).toBe(400);
    const jsonStatus = (await badJson.json()) as { code: number; message: string };
    expect(jsonStatus.code).toBe(3);
    expect(jsonStatus.message).toContain('unexpected "}" at line 1, column 19');

    const wrongToken = await post(
      '/v1/metrics',
      new Uint8Array(),
      'application/x-protobuf',
      'not-a-token',
    );
    expect(wrongToken.status).toBe(401);

    const now = `${BigInt(Date.now()) * 1_000_000n}`;
    const partial = await post(
      '/v1/metrics',
      JSON.stringify(
        metrics([
          {
            name: 'partial.gauge',
            gauge: { dataPoints: [{ timeUnixNano: now, asInt: '1' }, { timeUnixNano: now }] },
          },
        ]),
      ),
      'application/json',
    );
    expect(partial.status).toBe(200);
    expect(await partial.json()).toEqual({
      partialSuccess: {
        rejectedDataPoints: '1',
        errorMessage:
          'resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[1]: no value (asInt or asDouble)',
      },
    });
    await rows<Sample>(
      `SELECT name, value FROM samples WHERE name = 'partial_gauge'`,
      (r) => r.length === 1,
      'the usable point',
    );
  });
});
