// Prometheus remote_write 1.0 bodies (snappy block format around a prometheus.WriteRequest) as
// intake series and family metadata, within the size and series limits, refusing a bad body
// with the path of its first bad field.

import snappy from 'snappyjs';
import { LABEL_NAME_RE, METRIC_NAME_RE } from '../../core/batch.ts';
import { readWriteRequest } from './remote-write-proto.ts';
import { IntakeError, type FamilyMetadataType, type IntakeSeries } from './types.ts';

export interface RemoteWriteLimits {
  /** The largest decompressed WriteRequest; a larger one declared in the preamble is a 413. */
  maxDecodedBytes: number;
  /** The most timeseries in one request; more is a 413. */
  maxSeries: number;
}

export interface RemoteWriteRequest {
  /** One per timeseries that has samples, `untyped`: the sink types them from the metadata. */
  series: IntakeSeries[];
  metadata: Array<{ family: string; type: FamilyMetadataType }>;
  /** Native histogram samples, which Halo does not store: skipped, only counted. */
  skippedHistograms: number;
}

const NAME_LABEL = '__name__';

export function decodeRemoteWrite(body: Uint8Array, limits: RemoteWriteLimits): RemoteWriteRequest {
  const bytes = uncompressBlock(body, limits.maxDecodedBytes);
  const out: RemoteWriteRequest = { series: [], metadata: [], skippedHistograms: 0 };
  readWriteRequest(bytes, {
    maxSeries: limits.maxSeries,
    series(index, labels, points, histograms) {
      const series = toSeries(index, labels, points);
      out.skippedHistograms += histograms;
      if (points.length === 0) return;
      out.series.push(series);
    },
    metadata(index, type, family) {
      if (!METRIC_NAME_RE.test(family)) {
        throw refused(`metadata[${index}]: invalid metric family name ${quote(family)}`);
      }
      out.metadata.push({ family, type });
    },
  });
  return out;
}

/**
 * One timeseries, checked. As Prometheus does, a label with an empty value is no label;
 * labels named __… other than __name__ are Prometheus' internal ones (a sender drops them after
 * relabeling), so they are dropped here too.
 */
function toSeries(
  index: number,
  labels: readonly string[],
  points: IntakeSeries['points'],
): IntakeSeries {
  let name: string | undefined;
  const kept: Record<string, string> = {};
  for (let i = 0; i < labels.length; i += 2) {
    const label = labels[i]!;
    const value = labels[i + 1]!;
    const path = `timeseries[${index}].labels[${i / 2}]`;
    if (!LABEL_NAME_RE.test(label)) throw refused(`${path}: invalid label name ${quote(label)}`);
    if (label === NAME_LABEL) {
      if (name !== undefined) throw refused(`${path}: a second __name__ label`);
      if (value !== '' && !METRIC_NAME_RE.test(value)) {
        throw refused(`${path}: invalid metric name ${quote(value)}`);
      }
      name = value;
      continue;
    }
    if (value === '' || label.startsWith('__')) continue;
    if (Object.hasOwn(kept, label)) throw refused(`${path}: duplicate label name ${quote(label)}`);
    kept[label] = value;
  }
  if (name === undefined || name === '') throw refused(`timeseries[${index}]: no __name__ label`);
  return { name, labels: kept, temporality: 'untyped', points };
}

const FRAMED_STREAM = [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59];

/**
 * A snappy block's content. The block is checked whole before snappyjs copies it: snappyjs does
 * not check that the elements add up to the length the preamble declares, and a literal length
 * with its top bit set sends it backwards through the input for minutes.
 */
function uncompressBlock(body: Uint8Array, maxBytes: number): Buffer {
  const input = Buffer.isBuffer(body)
    ? body
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const fail = (why: string, cause?: unknown) =>
    new IntakeError(400, `remote_write: body is not snappy-compressed (block format): ${why}`, {
      cause,
    });
  if (FRAMED_STREAM.every((b, i) => input[i] === b)) {
    throw fail('it is in the framed (stream) format, remote_write sends the block format');
  }
  const preamble = readPreamble(input);
  if (preamble === undefined) throw fail('no valid length preamble');
  const { length, start } = preamble;
  if (length > maxBytes) {
    throw new IntakeError(
      413,
      `remote_write: the body decompresses to ${length} bytes, more than intake.limits.max_decoded (${maxBytes} bytes)`,
    );
  }
  const problem = checkBlock(input, start, length);
  if (problem !== undefined) throw fail(problem);
  try {
    return snappy.uncompress(input, maxBytes);
  } catch (err) {
    throw fail((err as Error).message, err);
  }
}

/** The varint (at most 32 bits) a block starts with: the length of its content. */
function readPreamble(input: Buffer): { length: number; start: number } | undefined {
  let length = 0;
  for (let i = 0; i < 5 && i < input.length; i++) {
    const b = input[i]!;
    length += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return length < 2 ** 32 ? { length, start: i + 1 } : undefined;
  }
  return undefined;
}

/** Why the elements of a block do not make exactly `length` bytes, or undefined if they do. */
function checkBlock(input: Buffer, start: number, length: number): string | undefined {
  const n = input.length;
  let pos = start;
  let out = 0;
  while (pos < n) {
    const tag = input[pos++]!;
    let size: number;
    if ((tag & 3) === 0) {
      size = (tag >>> 2) + 1;
      if (size > 60) {
        const bytes = size - 60;
        if (pos + bytes > n) return `literal length at offset ${pos - 1} is cut off`;
        size = 1;
        for (let k = 0; k < bytes; k++) size += input[pos + k]! * 2 ** (8 * k);
        pos += bytes;
      }
      if (pos + size > n) return `literal at offset ${pos} runs past the end of the body`;
      pos += size;
    } else {
      const offsetBytes = [0, 1, 2, 4][tag & 3]!;
      if (pos + offsetBytes > n) return `copy at offset ${pos - 1} is cut off`;
      let offset: number;
      if (offsetBytes === 1) {
        size = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) | input[pos]!;
      } else {
        size = (tag >>> 2) + 1;
        offset = 0;
        for (let k = 0; k < offsetBytes; k++) offset += input[pos + k]! * 2 ** (8 * k);
      }
      pos += offsetBytes;
      if (offset === 0 || offset > out) return `copy at offset ${pos} reaches before the start`;
    }
    out += size;
    if (out > length) return `more than the ${length} bytes its preamble declares`;
  }
  return out === length ? undefined : `${out} bytes where its preamble declares ${length}`;
}

function refused(message: string): IntakeError {
  return new IntakeError(400, `remote_write: ${message}`);
}

function quote(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}
