// Prometheus remote_write 1.0: the decoder on WriteRequests built here (round trips, refused
// bodies naming the bad field, limits), then a real Halo taking them over HTTP and a real
// Prometheus 2.42 scraping a test server and remote-writing to it.

import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeRemoteWrite,
  type RemoteWriteLimits,
  type RemoteWriteRequest,
} from '../collector/intake/remote-write.ts';
import { METRIC_TYPES, WRITE_REQUEST } from '../collector/intake/remote-write-proto.ts';
import { IntakeError } from '../collector/intake/types.ts';
import { alive } from './helpers/halo-process.ts';
import { samplesIn, startIntakeHalo, type IntakeHarness } from './helpers/intake.ts';
import { freePort } from './helpers/ports.ts';
import { startProcess, type Started } from './helpers/process.ts';
import { tempDir } from './helpers/temp.ts';
import { until } from './helpers/wait.ts';

const LIMITS: RemoteWriteLimits = { maxDecodedBytes: 1 << 20, maxSeries: 1000 };
/** Prometheus' stale marker: a NaN with its own bit pattern (model/value.StaleNaN). */
const STALE_NAN_BITS = 0x7ff0000000000002n;

type Labels = Record<string, string>;
type Sample = { value: number; timestamp: number | string };

function series(name: string | undefined, labels: Labels, samples: Sample[], more = {}) {
  const all = name === undefined ? labels : { __name__: name, ...labels };
  return {
    labels: Object.entries(all).map(([n, value]) => ({ name: n, value })),
    samples,
    ...more,
  };
}

function protobufBytes(request: Record<string, unknown>): Buffer {
  return Buffer.from(WRITE_REQUEST.encode(WRITE_REQUEST.fromObject(request)).finish());
}

const compressed = (bytes: Uint8Array) => snappy.compress(Buffer.from(bytes));
const body = (request: Record<string, unknown>) => compressed(protobufBytes(request));

/** The IntakeError decoding throws (fails the test if it decodes). */
function refusal(bytes: Uint8Array, limits = LIMITS): IntakeError {
  try {
    decodeRemoteWrite(bytes, limits);
  } catch (err) {
    if (err instanceof IntakeError) return err;
    throw err;
  }
  throw new Error('the body was decoded, expected a refusal');
}

/** A WriteRequest of one timeseries whose samples are written byte by byte (exact NaN bits). */
function withRawSamples(name: string, samples: Array<{ bits: bigint; timestamp: number }>): Buffer {
  const seriesBytes = protobuf.Writer.create();
  for (const label of series(name, {}, []).labels) {
    seriesBytes
      .uint32((1 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 2)
      .string(label.name);
    seriesBytes
      .uint32((2 << 3) | 2)
      .string(label.value)
      .ldelim();
  }
  for (const { bits, timestamp } of samples) {
    const value = Buffer.alloc(8);
    value.writeBigUInt64LE(bits);
    seriesBytes.uint32((2 << 3) | 2).fork();
    seriesBytes.uint32((1 << 3) | 1).raw(value);
    seriesBytes
      .uint32((2 << 3) | 0)
      .int64(timestamp)
      .ldelim();
  }
  const request = protobuf.Writer.create()
    .uint32((1 << 3) | 2)
    .bytes(seriesBytes.finish());
  return compressed(request.finish());
}

describe('decodeRemoteWrite', () => {
  it('gives one untyped series per timeseries with its name, labels and samples in order', () => {
    const decoded = decodeRemoteWrite(
      body({
        timeseries: [
          series('http_requests_total', { job: 'shop', instance: 'web-1:9100', code: '200' }, [
            { value: 10, timestamp: 1_700_000_000_000 },
            { value: 12.5, timestamp: 1_700_000_015_000 },
          ]),
          series('node_load1', { instance: 'db-1:9100', empty: '' }, [
            { value: -0.25, timestamp: 1_700_000_000_123 },
          ]),
        ],
      }),
      LIMITS,
    );
    expect(decoded).toEqual<RemoteWriteRequest>({
      series: [
        {
          name: 'http_requests_total',
          labels: { job: 'shop', instance: 'web-1:9100', code: '200' },
          temporality: 'untyped',
          points: [
            { ts: 1_700_000_000_000, value: 10 },
            { ts: 1_700_000_015_000, value: 12.5 },
          ],
        },
        {
          name: 'node_load1',
          labels: { instance: 'db-1:9100' },
          temporality: 'untyped',
          points: [{ ts: 1_700_000_000_123, value: -0.25 }],
        },
      ],
      metadata: [],
      skippedHistograms: 0,
    });
  });

  it('takes a request of metadata only, each MetricType by its number', () => {
    const metadata = METRIC_TYPES.map((_t, i) => ({
      type: i,
      metricFamilyName: `family_${i}`,
      help: 'Some help.',
      unit: 'seconds',
    }));
    const decoded = decodeRemoteWrite(body({ metadata }), LIMITS);
    expect(decoded.series).toEqual([]);
    expect(decoded.metadata).toEqual([
      { family: 'family_0', type: 'unknown' },
      { family: 'family_1', type: 'counter' },
      { family: 'family_2', type: 'gauge' },
      { family: 'family_3', type: 'histogram' },
      { family: 'family_4', type: 'gaugehistogram' },
      { family: 'family_5', type: 'summary' },
      { family: 'family_6', type: 'info' },
      { family: 'family_7', type: 'stateset' },
    ]);
  });

  it('takes an empty request (a snappy block of nothing)', () => {
    expect(decodeRemoteWrite(compressed(new Uint8Array(0)), LIMITS)).toEqual({
      series: [],
      metadata: [],
      skippedHistograms: 0,
    });
  });

  it('keeps NaN values, the stale marker included, and the timestamps around them', () => {
    const decoded = decodeRemoteWrite(
      withRawSamples('up', [
        { bits: 0x3ff0000000000000n, timestamp: 1000 },
        { bits: STALE_NAN_BITS, timestamp: 2000 },
        { bits: 0x7ff8000000000001n, timestamp: 3000 },
      ]),
      LIMITS,
    );
    expect(decoded.series).toHaveLength(1);
    const points = decoded.series[0]!.points;
    expect(points.map((p) => p.ts)).toEqual([1000, 2000, 3000]);
    expect(points[0]!.value).toBe(1);
    expect(Number.isNaN(points[1]!.value)).toBe(true);
    expect(Number.isNaN(points[2]!.value)).toBe(true);
  });

  it('reads negative and large timestamps exactly', () => {
    const decoded = decodeRemoteWrite(
      body({
        timeseries: [
          series('t', {}, [
            { value: 1, timestamp: -1 },
            { value: 2, timestamp: Number.MAX_SAFE_INTEGER },
            { value: 3, timestamp: -Number.MAX_SAFE_INTEGER },
            { value: 4, timestamp: 0 },
          ]),
        ],
      }),
      LIMITS,
    );
    expect(decoded.series[0]!.points.map((p) => p.ts)).toEqual([
      -1,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
      0,
    ]);
  });

  it('skips native histograms and exemplars, counting the histograms', () => {
    const histogram = { countInt: 3, sum: 1.5, schema: 3, timestamp: 1000 };
    const exemplar = { labels: [{ name: 'trace_id', value: 'abc' }], value: 1, timestamp: 1000 };
    const decoded = decodeRemoteWrite(
      body({
        timeseries: [
          series('native_seconds', { job: 'a' }, [], { histograms: [histogram, histogram] }),
          series('mixed_total', { job: 'a' }, [{ value: 7, timestamp: 1000 }], {
            histograms: [histogram],
            exemplars: [exemplar],
          }),
        ],
      }),
      LIMITS,
    );
    expect(decoded.skippedHistograms).toBe(3);
    expect(samplesIn(decoded.series)).toBe(1);
    expect(decoded.series).toEqual([
      {
        name: 'mixed_total',
        labels: { job: 'a' },
        temporality: 'untyped',
        points: [{ ts: 1000, value: 7 }],
      },
    ]);
  });

  it('drops Prometheus-internal __ labels but keeps the rest', () => {
    const decoded = decodeRemoteWrite(
      body({ timeseries: [series('up', { __scheme__: 'http', __proto__x: 'y', a: 'b' }, [])] }),
      LIMITS,
    );
    // No samples: nothing to store, but the labels were still read and checked.
    expect(decoded.series).toEqual([]);
    const kept = decodeRemoteWrite(
      body({
        timeseries: [series('up', { __scheme__: 'http', a: 'b' }, [{ value: 1, timestamp: 1 }])],
      }),
      LIMITS,
    );
    expect(kept.series[0]!.labels).toEqual({ a: 'b' });
  });

  const framed = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59, 0, 0]);
  const good = protobufBytes({ timeseries: [series('up', {}, [{ value: 1, timestamp: 5 }])] });
  const cases: Array<[string, () => Uint8Array, 400 | 413, string | RegExp]> = [
    [
      'an empty body is not snappy',
      () => new Uint8Array(0),
      400,
      'remote_write: body is not snappy-compressed (block format): no valid length preamble',
    ],
    [
      'an uncompressed protobuf is not snappy',
      () => good,
      400,
      /^remote_write: body is not snappy-compressed \(block format\): /,
    ],
    [
      'the framed snappy format is named as such',
      () => framed,
      400,
      'remote_write: body is not snappy-compressed (block format): it is in the framed (stream) format, remote_write sends the block format',
    ],
    [
      'a block cut short is refused by its declared length',
      () => compressed(good).subarray(0, 10),
      400,
      /^remote_write: body is not snappy-compressed \(block format\): .*runs past the end/,
    ],
    [
      'a literal length with its top bit set is refused at once (snappyjs would spin on it)',
      () => Uint8Array.from([10, 0xfc, 0x00, 0x00, 0x00, 0x80, 1, 2, 3]),
      400,
      /^remote_write: body is not snappy-compressed \(block format\): literal/,
    ],
    [
      'a copy reaching before the start is refused',
      () => Uint8Array.from([8, 0x00, 0x61, 0x05, 0x09]),
      400,
      /copy at offset \d+ reaches before the start/,
    ],
    [
      'valid snappy of text is not a WriteRequest',
      () => compressed(Buffer.from('this is not a protobuf message at all')),
      400,
      /^remote_write: not a prometheus\.WriteRequest protobuf: /,
    ],
    [
      'a WriteRequest cut inside its second timeseries names it',
      () => {
        const two = protobufBytes({
          timeseries: [series('a', {}, []), series('bb', { x: 'y' }, [{ value: 1, timestamp: 2 }])],
        });
        return compressed(two.subarray(0, two.length - 3));
      },
      400,
      /^remote_write: not a prometheus\.WriteRequest protobuf: timeseries\[1\]: message of \d+ bytes runs past its parent$/,
    ],
    [
      'a sample cut inside its timestamp names the sample',
      () => {
        const bytes = Buffer.from(good);
        // The last byte of the timestamp varint now says "more follows".
        bytes[bytes.length - 1] = 0x85;
        return compressed(bytes);
      },
      400,
      /^remote_write: not a prometheus\.WriteRequest protobuf: timeseries\[0\]\.samples\[0\]: /,
    ],
    [
      'a preamble larger than max_decoded is a 413 before anything is decompressed',
      () => Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x04]),
      413,
      'remote_write: the body decompresses to 1073741824 bytes, more than intake.limits.max_decoded (1048576 bytes)',
    ],
    [
      'more timeseries than maxSeries is a 413 naming the limit',
      () =>
        body({
          timeseries: Array.from({ length: 1001 }, (_x, i) =>
            series(`s${i}`, {}, [{ value: i, timestamp: 1 }]),
          ),
        }),
      413,
      'remote_write: more than 1000 timeseries in one request (intake.limits.max_series_per_request)',
    ],
    [
      'a timeseries without __name__ is named by its index',
      () => body({ timeseries: [series('a', {}, []), series(undefined, { job: 'x' }, [])] }),
      400,
      'remote_write: timeseries[1]: no __name__ label',
    ],
    [
      'an empty __name__ is no name',
      () => body({ timeseries: [series('', { job: 'x' }, [])] }),
      400,
      'remote_write: timeseries[0]: no __name__ label',
    ],
    [
      'an invalid label name names the label',
      () => body({ timeseries: [series('a', { ok: '1', 'a-b': '2' }, [])] }),
      400,
      'remote_write: timeseries[0].labels[2]: invalid label name "a-b"',
    ],
    [
      'an invalid metric name names the label that carries it',
      () => body({ timeseries: [series('a', {}, []), series('9lives', {}, [])] }),
      400,
      'remote_write: timeseries[1].labels[0]: invalid metric name "9lives"',
    ],
    [
      'a label given twice is refused',
      () =>
        body({
          timeseries: [
            {
              labels: [
                { name: '__name__', value: 'a' },
                { name: 'x', value: '1' },
                { name: 'x', value: '2' },
              ],
            },
          ],
        }),
      400,
      'remote_write: timeseries[0].labels[2]: duplicate label name "x"',
    ],
    [
      'a timestamp beyond 2^53 names the sample',
      () =>
        body({
          timeseries: [
            series('a', {}, [
              { value: 1, timestamp: 1 },
              { value: 2, timestamp: '1152921504606846976' },
            ]),
          ],
        }),
      400,
      'remote_write: timeseries[0].samples[1]: timestamp is not a safe integer (ms within ±2^53)',
    ],
    [
      'an invalid metadata family name names the metadata entry',
      () =>
        body({
          metadata: [
            { type: 1, metricFamilyName: 'ok' },
            { type: 2, metricFamilyName: 'a.b' },
          ],
        }),
      400,
      'remote_write: metadata[1]: invalid metric family name "a.b"',
    ],
  ];

  it.each(cases)('refuses: %s', (_name, make, status, message) => {
    const err = refusal(make());
    expect(err.status).toBe(status);
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });

  it('takes exactly maxSeries timeseries', () => {
    const request = body({
      timeseries: Array.from({ length: 3 }, (_x, i) =>
        series(`s${i}`, {}, [{ value: i, timestamp: 1 }]),
      ),
    });
    expect(decodeRemoteWrite(request, { ...LIMITS, maxSeries: 3 }).series).toHaveLength(3);
    expect(refusal(request, { ...LIMITS, maxSeries: 2 }).status).toBe(413);
  });

  it('refuses a body whose declared size is one byte over maxDecodedBytes', () => {
    const request = body({ timeseries: [series('up', {}, [{ value: 1, timestamp: 5 }])] });
    const size = protobufBytes({
      timeseries: [series('up', {}, [{ value: 1, timestamp: 5 }])],
    }).length;
    expect(samplesIn(decodeRemoteWrite(request, { ...LIMITS, maxDecodedBytes: size }).series)).toBe(
      1,
    );
    expect(refusal(request, { ...LIMITS, maxDecodedBytes: size - 1 }).status).toBe(413);
  });
});

// ------------------------------------------------------------------------------ a real Halo

let halo: IntakeHarness;

beforeAll(async () => {
  halo = await startIntakeHalo({ limits: { max_body: '128KiB', max_decoded: '1MiB' } });
}, 60_000);

afterAll(async () => {
  await halo?.stop();
});

function post(bytes: Uint8Array, token: string | null = halo.token): Promise<Response> {
  return halo.post('/api/v1/write', bytes, token, {
    'Content-Type': 'application/x-protobuf',
    'Content-Encoding': 'snappy',
    'X-Prometheus-Remote-Write-Version': '0.1.0',
  });
}

async function refusedWith(response: Response): Promise<{ status: number; error: string }> {
  const json = (await response.json()) as { error: string };
  return { status: response.status, error: json.error };
}

describe('POST /api/v1/write', () => {
  it('stores the samples of a request, counters as deltas, typed by its metadata, placed by instance, job and token', async () => {
    const base = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
    const request = body({
      metadata: [{ type: 2, metricFamilyName: 'rwh_backlog_total' }],
      timeseries: [
        series(
          'rwh_requests_total',
          { instance: 'web-7:9100', job: 'shop', code: '200' },
          [0, 1, 2, 3].map((i) => ({ value: 100 + i * i, timestamp: base + i * 15_000 })),
        ),
        series('rwh_backlog_total', { instance: 'web-7:9100', job: 'shop' }, [
          { value: 4, timestamp: base },
          { value: 2, timestamp: base + 15_000 },
        ]),
      ],
    });
    const response = await post(request, halo.tierToken);
    expect(response.status).toBe(204);
    const rows = () =>
      halo.query<{
        name: string;
        tier: string;
        host: string;
        service: string;
        labels: Labels;
        ts: string;
        value: number;
      }>(
        `SELECT name, tier, host, service, labels, toUnixTimestamp64Milli(ts) AS ts, value
         FROM samples WHERE name LIKE 'rwh_%' ORDER BY name, ts`,
      );
    await until(async () => (await rows()).length === 5, 'rwh rows');
    const stored = await rows();
    const place = { tier: 'web', host: 'web-7:9100', service: 'shop' };
    expect(stored).toEqual([
      // A gauge by its metadata, whatever its name says.
      { name: 'rwh_backlog_total', ...place, labels: {}, ts: String(base), value: 4 },
      { name: 'rwh_backlog_total', ...place, labels: {}, ts: String(base + 15_000), value: 2 },
      // The first counter sample (100) is the baseline; then the increase since the one before.
      ...[1, 2, 3].map((i) => ({
        name: 'rwh_requests_total',
        ...place,
        labels: { code: '200' },
        ts: String(base + i * 15_000),
        value: 2 * i - 1,
      })),
    ]);
  });

  it('answers 400 with the reason for a body that is not snappy', async () => {
    expect(await refusedWith(await post(Buffer.from('plain text, not snappy')))).toEqual({
      status: 400,
      error: expect.stringMatching(
        /^remote_write: body is not snappy-compressed \(block format\): /,
      ),
    });
  });

  it('answers 400 for snappy around something that is not a WriteRequest', async () => {
    const garbage = compressed(Buffer.from([0x0a, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect(await refusedWith(await post(garbage))).toEqual({
      status: 400,
      error: expect.stringMatching(/^remote_write: not a prometheus\.WriteRequest protobuf: /),
    });
  });

  it('answers 400 naming the bad field of a well-formed request', async () => {
    const bad = body({ timeseries: [series('ok', {}, []), series('ok', { 'a-b': '1' }, [])] });
    expect(await refusedWith(await post(bad))).toEqual({
      status: 400,
      error: 'remote_write: timeseries[1].labels[1]: invalid label name "a-b"',
    });
  });

  it('answers 401 without a token and with a wrong one', async () => {
    const request = body({
      timeseries: [series('rwh_unauthorized', {}, [{ value: 1, timestamp: Date.now() }])],
    });
    expect((await post(request, null)).status).toBe(401);
    expect((await post(request, 'not-the-token')).status).toBe(401);
  });

  it('answers 413 for a body over max_body and for one that decompresses past max_decoded', async () => {
    const big = Buffer.alloc(200 * 1024, 1);
    expect((await post(big)).status).toBe(413);
    // 2 MiB of one byte compresses to under 100 KiB: only the preamble tells its size.
    const bomb = compressed(Buffer.alloc(2 * 1024 * 1024, 0x0a));
    expect(bomb.length).toBeLessThan(128 * 1024);
    expect(await refusedWith(await post(bomb))).toEqual({
      status: 413,
      error: expect.stringMatching(/more than intake\.limits\.max_decoded \(1048576 bytes\)/),
    });
  });
});

// ------------------------------------------------------------------------ a real Prometheus

/** What the test target exposes: a counter, a gauge, a histogram and a gauge that goes away. */
const target = { jobs: 1000, observations: [] as number[], withFlag: true };
const BUCKETS = [0.01, 0.1, 0.5];

function exposition(): string {
  const lines = [
    '# HELP rwt_jobs_total Jobs done.',
    '# TYPE rwt_jobs_total counter',
    `rwt_jobs_total{queue="mail"} ${target.jobs}`,
    '# HELP rwt_temperature_celsius Temperature.',
    '# TYPE rwt_temperature_celsius gauge',
    'rwt_temperature_celsius{room="lab"} 21.5',
    '# HELP rwt_latency_seconds Latency.',
    '# TYPE rwt_latency_seconds histogram',
  ];
  for (const le of [...BUCKETS, Infinity]) {
    const n = target.observations.filter((o) => o <= le).length;
    lines.push(`rwt_latency_seconds_bucket{le="${le === Infinity ? '+Inf' : le}"} ${n}`);
  }
  const sum = target.observations.reduce((a, b) => a + b, 0);
  lines.push(
    `rwt_latency_seconds_sum ${sum}`,
    `rwt_latency_seconds_count ${target.observations.length}`,
  );
  if (target.withFlag) lines.push('# TYPE rwt_flag gauge', 'rwt_flag 1');
  return lines.join('\n') + '\n';
}

const SENDER_HEADERS = [
  'content-encoding',
  'content-type',
  'x-prometheus-remote-write-version',
  'user-agent',
  'authorization',
];

/** One remote_write request as Prometheus sent it, seen on its way to Halo. */
interface Seen {
  headers: Record<string, string | undefined>;
  status: number;
  series: number;
  samples: number;
  metadata: RemoteWriteRequest['metadata'];
  /** Names of series with a NaN sample (stale markers). */
  nan: string[];
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

describe('a real Prometheus 2.42 remote-writing to Halo', () => {
  const seen: Seen[] = [];
  let app: Server;
  let proxy: Server;
  let prometheus: Started;
  let appPort: number;

  beforeAll(async () => {
    app = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
      res.end(exposition());
    });
    appPort = await listen(app);
    // Between Prometheus and Halo, to see what Prometheus sends.
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        void fetch(`${halo.url}${req.url}`, {
          method: 'POST',
          body: raw,
          headers: Object.fromEntries(
            Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length'),
          ) as Record<string, string>,
        }).then(async (answer) => {
          const decoded = decodeRemoteWrite(raw, { maxDecodedBytes: 1 << 26, maxSeries: 1e6 });
          seen.push({
            headers: Object.fromEntries(
              SENDER_HEADERS.map((name) => [name, req.headers[name]?.toString()]),
            ),
            status: answer.status,
            series: decoded.series.length,
            samples: samplesIn(decoded.series),
            metadata: decoded.metadata,
            nan: decoded.series
              .filter((s) => s.points.some((p) => Number.isNaN(p.value)))
              .map((s) => s.name),
          });
          res.writeHead(answer.status, Object.fromEntries(answer.headers));
          res.end(Buffer.from(await answer.arrayBuffer()));
        });
      });
    });
    const proxyPort = await listen(proxy);
    const dir = tempDir('halo-prometheus-');
    const webPort = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels: { region: eu-west }
scrape_configs:
  - job_name: rwt-app
    static_configs: [{ targets: ['127.0.0.1:${appPort}'] }]
remote_write:
  - url: http://127.0.0.1:${proxyPort}/api/v1/write
    authorization: { credentials: ${halo.tierToken} }
    queue_config: { batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s }
    metadata_config: { send: true, send_interval: 2s }
`,
    );
    prometheus = await startProcess(
      '/usr/bin/prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${webPort}`,
      ],
      {
        ready: async () => (await fetch(`http://127.0.0.1:${webPort}/-/ready`)).ok,
        timeoutMs: 30_000,
      },
    );
  }, 60_000);

  afterAll(async () => {
    if (prometheus) {
      await prometheus.stop();
      // Gone, not just signalled.
      expect(alive(prometheus.pid)).toBe(false);
    }
    await Promise.all(
      [proxy, app].map((s) => s && new Promise<void>((resolve) => s.close(() => resolve()))),
    );
  });

  const sum = async (where: string) =>
    Number(
      (
        await halo.query<{ v: number | null }>(`SELECT sum(value) AS v FROM samples WHERE ${where}`)
      )[0]?.v ?? 0,
    );
  const rows = (where: string) =>
    halo.query<{ tier: string; host: string; service: string; labels: Labels; value: number }>(
      `SELECT tier, host, service, labels, value FROM samples WHERE ${where} ORDER BY ts`,
    );

  it('delivers scraped samples with their labels, counters and histograms as deltas', async () => {
    // Wait for a counter row (a delta of 0 after the baseline), so every increase below counts.
    await until(
      async () => (await rows(`name = 'rwt_jobs_total'`)).length > 0,
      'the first counter delta',
      30_000,
    );
    for (let i = 0; i < 3; i++) {
      target.jobs += 5;
      target.observations.push(0.05);
      await new Promise((resolve) => setTimeout(resolve, 1200));
    }
    await until(
      async () => (await sum(`name = 'rwt_jobs_total'`)) === 15,
      'the counter to add up to 15',
      30_000,
    );
    await until(
      async () => (await sum(`name = 'rwt_latency_seconds_count'`)) === 3,
      'three observations',
      30_000,
    );

    const place = { tier: 'web', host: `127.0.0.1:${appPort}`, service: 'rwt-app' };
    const jobs = await rows(`name = 'rwt_jobs_total'`);
    for (const row of jobs) {
      expect(row).toMatchObject({ ...place, labels: { queue: 'mail', region: 'eu-west' } });
      expect(row.value % 5).toBe(0);
    }
    const temperature = await rows(`name = 'rwt_temperature_celsius'`);
    expect(temperature.length).toBeGreaterThan(2);
    for (const row of temperature) {
      expect(row).toEqual({ ...place, labels: { room: 'lab', region: 'eu-west' }, value: 21.5 });
    }
    const bucket = (le: string) =>
      sum(`name = 'rwt_latency_seconds_bucket' AND labels['le'] = '${le}'`);
    expect(await bucket('0.01')).toBe(0);
    expect(await bucket('0.1')).toBe(3);
    expect(await bucket('+Inf')).toBe(3);
    expect(await sum(`name = 'rwt_latency_seconds_sum'`)).toBeCloseTo(0.15, 9);
    // Prometheus' own series for the scrape arrive too, placed the same way.
    const up = await rows(`name = 'up'`);
    expect(up.some((r) => r.value === 1)).toBe(true);
    for (const row of up) expect(row).toMatchObject({ ...place, labels: { region: 'eu-west' } });
  }, 120_000);

  it('sends metadata in requests of their own, which Halo takes', async () => {
    await until(async () => seen.some((s) => s.metadata.length > 0), 'a metadata request', 20_000);
    const withMetadata = seen.filter((s) => s.metadata.length > 0);
    for (const request of withMetadata) {
      expect(request).toMatchObject({ series: 0, samples: 0, status: 204 });
    }
    const types = new Map(withMetadata.flatMap((s) => s.metadata.map((m) => [m.family, m.type])));
    expect(types.get('rwt_jobs_total')).toBe('counter');
    expect(types.get('rwt_temperature_celsius')).toBe('gauge');
    expect(types.get('rwt_latency_seconds')).toBe('histogram');
  });

  it('sends a stale marker NaN when a series goes away, which Halo takes without storing', async () => {
    await until(async () => (await rows(`name = 'rwt_flag'`)).length > 0, 'rwt_flag rows', 30_000);
    target.withFlag = false;
    await until(
      async () => seen.some((s) => s.nan.includes('rwt_flag')),
      'a stale marker for rwt_flag',
      20_000,
    );
    const stale = seen.filter((s) => s.nan.includes('rwt_flag'));
    expect(stale.every((s) => s.status === 204)).toBe(true);
    expect((await rows(`name = 'rwt_flag'`)).every((r) => r.value === 1)).toBe(true);
  });

  it('sends the remote_write 1.0 headers and the bearer token, every request taken', async () => {
    await until(async () => seen.length > 3, 'a few requests', 20_000);
    for (const request of seen) {
      expect(request.headers).toEqual({
        'content-encoding': 'snappy',
        'content-type': 'application/x-protobuf',
        'x-prometheus-remote-write-version': '0.1.0',
        'user-agent': expect.stringMatching(/^Prometheus\/2\.42\./),
        authorization: `Bearer ${halo.tierToken}`,
      });
      expect(request.status).toBe(204);
    }
  });
});
