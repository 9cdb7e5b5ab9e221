// The Prometheus remote_write 1.0 wire format: the prometheus.WriteRequest messages (prompb
// remote.proto and types.proto) declared once with protobufjs reflection, and a reader that walks
// a request's bytes straight into IntakePoints, with the path of the first bad field.

import protobuf from 'protobufjs';
import { IntakeError, type FamilyMetadataType, type IntakePoint } from './types.ts';

/** prometheus.MetricMetadata.MetricType, in the order of its numbers. */
export const METRIC_TYPES: readonly FamilyMetadataType[] = [
  'unknown',
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
];

const f = (type: string, id: number) => ({ type, id });
const many = (type: string, id: number) => ({ type, id, rule: 'repeated' });

/**
 * Field numbers as in prometheus/prompb. Histogram declares only what a test needs to send one:
 * the reader skips histograms unread. Exemplars are skipped too.
 */
export const REMOTE_WRITE_ROOT = protobuf.Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        WriteRequest: {
          fields: { timeseries: many('TimeSeries', 1), metadata: many('MetricMetadata', 3) },
          reserved: [[2, 2]],
        },
        TimeSeries: {
          fields: {
            labels: many('Label', 1),
            samples: many('Sample', 2),
            exemplars: many('Exemplar', 3),
            histograms: many('Histogram', 4),
          },
        },
        Label: { fields: { name: f('string', 1), value: f('string', 2) } },
        Sample: { fields: { value: f('double', 1), timestamp: f('int64', 2) } },
        Exemplar: {
          fields: { labels: many('Label', 1), value: f('double', 2), timestamp: f('int64', 3) },
        },
        Histogram: {
          fields: {
            countInt: f('uint64', 1),
            sum: f('double', 3),
            schema: f('sint32', 4),
            timestamp: f('int64', 15),
          },
        },
        MetricMetadata: {
          nested: {
            MetricType: {
              values: Object.fromEntries(METRIC_TYPES.map((t, i) => [t.toUpperCase(), i])),
            },
          },
          fields: {
            type: f('MetricType', 1),
            metricFamilyName: f('string', 2),
            help: f('string', 4),
            unit: f('string', 5),
          },
        },
      },
    },
  },
});

/** For senders (and tests): `WRITE_REQUEST.encode(WRITE_REQUEST.fromObject({...})).finish()`. */
export const WRITE_REQUEST = REMOTE_WRITE_ROOT.lookupType('prometheus.WriteRequest');

/** The tag (field number and wire type) a field of the schema above is sent with. */
function tagOf(typeName: string, field: string): number {
  const declared = REMOTE_WRITE_ROOT.lookupType(`prometheus.${typeName}`).fields[field]!.resolve();
  const wire =
    declared.resolvedType instanceof protobuf.Enum
      ? 0
      : declared.resolvedType instanceof protobuf.Type || declared.type === 'string'
        ? 2
        : protobuf.types.basic[declared.type as keyof typeof protobuf.types.basic];
  return (declared.id << 3) | wire;
}

const TAG = {
  timeseries: tagOf('WriteRequest', 'timeseries'),
  metadata: tagOf('WriteRequest', 'metadata'),
  labels: tagOf('TimeSeries', 'labels'),
  samples: tagOf('TimeSeries', 'samples'),
  histograms: tagOf('TimeSeries', 'histograms'),
  labelName: tagOf('Label', 'name'),
  labelValue: tagOf('Label', 'value'),
  sampleValue: tagOf('Sample', 'value'),
  sampleTimestamp: tagOf('Sample', 'timestamp'),
  metadataType: tagOf('MetricMetadata', 'type'),
  metadataFamily: tagOf('MetricMetadata', 'metricFamilyName'),
};

export interface WriteRequestVisitor {
  /** More timeseries than this is a 413 before the one past the limit is read. */
  maxSeries: number;
  /**
   * One timeseries: `labels` is [name, value, name, value, …] as sent (reused for the next
   * series: copy what you keep); `points` is the caller's to keep.
   */
  series(index: number, labels: readonly string[], points: IntakePoint[], histograms: number): void;
  metadata(index: number, type: FamilyMetadataType, family: string): void;
}

/** Where the reader is; made into a path for the message only when something is wrong. */
interface Position {
  part: 'timeseries' | 'metadata';
  index: number;
  field: 'labels' | 'samples' | 'histograms' | undefined;
  fieldIndex: number;
}

/** Reads a decompressed WriteRequest; throws an IntakeError naming the first bad field. */
export function readWriteRequest(bytes: Buffer, visit: WriteRequestVisitor): void {
  const r = protobuf.Reader.create(bytes);
  const at: Position = { part: 'timeseries', index: -1, field: undefined, fieldIndex: 0 };
  const labels: string[] = [];
  let series = 0;
  let metadata = 0;
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === TAG.timeseries) {
        if (series === visit.maxSeries) {
          throw new IntakeError(
            413,
            `remote_write: more than ${visit.maxSeries} timeseries in one request (intake.limits.max_series_per_request)`,
          );
        }
        at.part = 'timeseries';
        at.index = series;
        const end = open(r, r.len);
        labels.length = 0;
        const points: IntakePoint[] = [];
        let histograms = 0;
        while (r.pos < end) {
          const t = r.uint32();
          if (t === TAG.labels) {
            at.field = 'labels';
            at.fieldIndex = labels.length / 2;
            readLabel(r, open(r, end), labels);
          } else if (t === TAG.samples) {
            at.field = 'samples';
            at.fieldIndex = points.length;
            points.push(readSample(r, open(r, end), at));
          } else if (t === TAG.histograms) {
            at.field = 'histograms';
            at.fieldIndex = histograms++;
            r.skip(r.uint32());
          } else skip(r, t);
          at.field = undefined;
        }
        close(r, end);
        at.index = -1;
        visit.series(series++, labels, points, histograms);
      } else if (tag === TAG.metadata) {
        at.part = 'metadata';
        at.index = metadata;
        const end = open(r, r.len);
        let type: FamilyMetadataType = 'unknown';
        let family = '';
        while (r.pos < end) {
          const t = r.uint32();
          // A type newer than this list is taken as unknown.
          if (t === TAG.metadataType) type = METRIC_TYPES[r.uint32()] ?? 'unknown';
          else if (t === TAG.metadataFamily) family = r.string();
          else skip(r, t);
        }
        close(r, end);
        at.index = -1;
        visit.metadata(metadata++, type, family);
      } else skip(r, tag);
    }
  } catch (err) {
    if (err instanceof IntakeError) throw err;
    throw new IntakeError(
      400,
      `remote_write: not a prometheus.WriteRequest protobuf: ${where(at)}${(err as Error).message}`,
      { cause: err },
    );
  }
}

function positionPath(at: Position): string {
  const field = at.field === undefined ? '' : `.${at.field}[${at.fieldIndex}]`;
  return `${at.part}[${at.index}]${field}`;
}

function where(at: Position): string {
  return at.index < 0 ? '' : `${positionPath(at)}: `;
}

/** The end of the embedded message starting here, checked against its parent's end. */
function open(r: protobuf.Reader, parentEnd: number): number {
  const end = r.uint32() + r.pos;
  if (end > parentEnd) throw new Error(`message of ${end - r.pos} bytes runs past its parent`);
  return end;
}

function close(r: protobuf.Reader, end: number): void {
  if (r.pos !== end)
    throw new Error(`a field runs ${r.pos - end} bytes past the end of its message`);
}

function skip(r: protobuf.Reader, tag: number): void {
  if (tag >>> 3 === 0) throw new Error('field number 0');
  r.skipType(tag & 7);
}

function readLabel(r: protobuf.Reader, end: number, into: string[]): void {
  let name = '';
  let value = '';
  while (r.pos < end) {
    const t = r.uint32();
    if (t === TAG.labelName) name = r.string();
    else if (t === TAG.labelValue) value = r.string();
    else skip(r, t);
  }
  close(r, end);
  into.push(name, value);
}

function readSample(r: protobuf.Reader, end: number, at: Position): IntakePoint {
  let value = 0;
  let ts = 0;
  while (r.pos < end) {
    const t = r.uint32();
    if (t === TAG.sampleValue) value = r.double();
    else if (t === TAG.sampleTimestamp) {
      ts = readInt64(r);
      if (!Number.isSafeInteger(ts)) {
        throw new IntakeError(
          400,
          `remote_write: ${positionPath(at)}: timestamp is not a safe integer (ms within ±2^53)`,
        );
      }
    } else skip(r, t);
  }
  close(r, end);
  return { ts, value };
}

/**
 * An int64 varint as a number (inexact beyond 2^53, which the caller refuses). protobufjs would
 * make a Long of every timestamp; this reads the bytes in place.
 */
function readInt64(r: protobuf.Reader): number {
  const { buf, len } = r;
  let pos = r.pos;
  let lo = 0;
  let hi = 0;
  for (let shift = 0; shift < 64; shift += 7) {
    if (pos >= len) throw new RangeError(`index out of range: ${pos} + 1 > ${len}`);
    const b = buf[pos++]!;
    if (shift < 28) lo |= (b & 0x7f) << shift;
    else if (shift === 28) {
      lo |= (b & 0x0f) << 28;
      hi = (b & 0x7f) >>> 4;
    } else hi |= (b & 0x7f) << (shift - 32);
    if (b < 0x80) {
      r.pos = pos;
      return (hi | 0) * 4294967296 + (lo >>> 0);
    }
  }
  throw new Error(`invalid varint encoding at offset ${pos}`);
}
