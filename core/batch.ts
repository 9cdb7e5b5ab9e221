// The batch on the wire between agents (and other intakes) and the ingester: versioned JSON,
// with a decoder that validates and says why a batch is refused. Samples travel grouped by series.

import { BATCH_VERSION, SEVERITIES, type Severity } from './conventions.ts';

/** A number on the wire: JSON has no NaN or infinities, so those travel as strings. */
export type WireNumber = number | 'NaN' | '+Inf' | '-Inf';

export interface WireSeries {
  name: string;
  service: string;
  /** Every label but tier, host and service. */
  labels: Record<string, string>;
  /** [milliseconds since the epoch, value]; counters are deltas over the interval before ts. */
  points: Array<[number, WireNumber]>;
}

export interface MetricBatch {
  v: typeof BATCH_VERSION;
  kind: 'metrics';
  /** Unique and stable: sent as Nats-Msg-Id, so a republished batch is dropped. */
  id: string;
  tier: string;
  host: string;
  series: WireSeries[];
}

export interface WireLogRecord {
  ts: number;
  service: string;
  severity: Severity;
  body: string;
  attributes: Record<string, string>;
  traceId?: string;
}

export interface LogBatch {
  v: typeof BATCH_VERSION;
  kind: 'logs';
  id: string;
  tier: string;
  host: string;
  records: WireLogRecord[];
}

export type Batch = MetricBatch | LogBatch;

export function toWireNumber(value: number): WireNumber {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

export function fromWireNumber(value: WireNumber): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  return value === '+Inf' ? Infinity : -Infinity;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeBatch(batch: Batch): Uint8Array {
  return encoder.encode(JSON.stringify(batch));
}

/** Bounds a batch must keep; the ingester sets them from config. */
export interface BatchLimits {
  maxLabels: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  maxNameLength: number;
  /** Oldest and newest acceptable timestamps, in ms, relative to now. */
  maxAgeMs: number;
  maxFutureMs: number;
  maxBodyLength: number;
}

export const DEFAULT_BATCH_LIMITS: BatchLimits = {
  maxLabels: 32,
  maxLabelNameLength: 128,
  maxLabelValueLength: 2048,
  maxNameLength: 256,
  maxAgeMs: 7 * 86_400_000,
  maxFutureMs: 10 * 60_000,
  maxBodyLength: 64 * 1024,
};

export type DecodeResult = { ok: true; batch: Batch } | { ok: false; reason: string };

/** A Prometheus metric name, and a label name: what every batch's series must have. */
export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED_LABELS = new Set(['tier', 'host', 'service']);

class Invalid extends Error {}

function fail(reason: string): never {
  throw new Invalid(reason);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, where: string, max: number): string {
  if (typeof value !== 'string') fail(`${where}: expected a string`);
  if (value.length > max) fail(`${where}: longer than ${max} characters`);
  return value;
}

function labelMap(value: unknown, where: string, limits: BatchLimits): Record<string, string> {
  if (!isObject(value)) fail(`${where}: expected an object of label names to strings`);
  const entries = Object.entries(value);
  if (entries.length > limits.maxLabels)
    fail(`${where}: ${entries.length} labels, more than ${limits.maxLabels}`);
  for (const [key, v] of entries) {
    if (!LABEL_NAME_RE.test(key) || key.length > limits.maxLabelNameLength)
      fail(`${where}: invalid label name ${JSON.stringify(key.slice(0, 64))}`);
    text(v, `${where}.${key}`, limits.maxLabelValueLength);
  }
  return value as Record<string, string>;
}

function timestamp(value: unknown, where: string, now: number, limits: BatchLimits): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    fail(`${where}: expected a timestamp in integer milliseconds`);
  if (value < now - limits.maxAgeMs)
    fail(`${where}: timestamp ${new Date(value).toISOString()} is older than allowed`);
  if (value > now + limits.maxFutureMs)
    fail(`${where}: timestamp ${new Date(value).toISOString()} is too far in the future`);
  return value;
}

/** Why a metric name and label set would be refused by the ingester, or undefined when fine. */
export function checkSeries(
  name: string,
  labels: Record<string, string>,
  limits: BatchLimits = DEFAULT_BATCH_LIMITS,
): string | undefined {
  if (name.length > limits.maxNameLength || !METRIC_NAME_RE.test(name))
    return `invalid metric name ${JSON.stringify(name.slice(0, 64))}`;
  const keys = Object.keys(labels);
  if (keys.length > limits.maxLabels) return `${keys.length} labels, more than ${limits.maxLabels}`;
  for (const key of keys) {
    if (!LABEL_NAME_RE.test(key) || key.length > limits.maxLabelNameLength)
      return `invalid label name ${JSON.stringify(key.slice(0, 64))}`;
    if (RESERVED_LABELS.has(key)) return `label ${key} is reserved`;
    const value = labels[key];
    if (typeof value !== 'string') return `label ${key} is not a string`;
    if (value.length > limits.maxLabelValueLength)
      return `label ${key} is longer than ${limits.maxLabelValueLength} characters`;
  }
  return undefined;
}

function validateMetrics(batch: Record<string, unknown>, now: number, limits: BatchLimits): void {
  if (!Array.isArray(batch['series'])) fail('series: expected an array');
  batch['series'].forEach((series: unknown, i: number) => {
    const where = `series[${i}]`;
    if (!isObject(series)) fail(`${where}: expected an object`);
    const name = text(series['name'], `${where}.name`, limits.maxNameLength);
    if (!METRIC_NAME_RE.test(name))
      fail(`${where}.name: invalid metric name ${JSON.stringify(name.slice(0, 64))}`);
    text(series['service'], `${where}.service`, limits.maxLabelValueLength);
    const labels = labelMap(series['labels'], `${where}.labels`, limits);
    for (const key of Object.keys(labels)) {
      if (RESERVED_LABELS.has(key))
        fail(`${where}.labels: ${key} belongs to the batch or series, not the labels`);
    }
    if (!Array.isArray(series['points']) || series['points'].length === 0)
      fail(`${where}.points: expected a non-empty array`);
    series['points'].forEach((point: unknown, j: number) => {
      if (!Array.isArray(point) || point.length !== 2)
        fail(`${where}.points[${j}]: expected [timestamp, value]`);
      timestamp(point[0], `${where}.points[${j}]`, now, limits);
      const value: unknown = point[1];
      if (typeof value !== 'number' && value !== 'NaN' && value !== '+Inf' && value !== '-Inf') {
        fail(`${where}.points[${j}]: expected a number, "NaN", "+Inf" or "-Inf"`);
      }
    });
  });
}

function validateLogs(batch: Record<string, unknown>, now: number, limits: BatchLimits): void {
  if (!Array.isArray(batch['records'])) fail('records: expected an array');
  batch['records'].forEach((record: unknown, i: number) => {
    const where = `records[${i}]`;
    if (!isObject(record)) fail(`${where}: expected an object`);
    timestamp(record['ts'], `${where}.ts`, now, limits);
    text(record['service'], `${where}.service`, limits.maxLabelValueLength);
    if (!SEVERITIES.includes(record['severity'] as Severity))
      fail(`${where}.severity: expected one of ${SEVERITIES.join(', ')}`);
    text(record['body'], `${where}.body`, limits.maxBodyLength);
    labelMap(record['attributes'], `${where}.attributes`, limits);
    if (record['traceId'] !== undefined) text(record['traceId'], `${where}.traceId`, 64);
  });
}

/** Parses and validates one batch; a refusal says what is wrong, for the dead-letter stream. */
export function decodeBatch(
  data: Uint8Array,
  now: number = Date.now(),
  limits: BatchLimits = DEFAULT_BATCH_LIMITS,
): DecodeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch (err) {
    return {
      ok: false,
      reason: `not a JSON batch: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  try {
    if (!isObject(parsed)) fail('expected a JSON object');
    if (parsed['v'] !== BATCH_VERSION)
      fail(`unsupported batch version ${JSON.stringify(parsed['v'])} (expected ${BATCH_VERSION})`);
    text(parsed['id'], 'id', 512);
    text(parsed['tier'], 'tier', limits.maxLabelValueLength);
    text(parsed['host'], 'host', limits.maxLabelValueLength);
    if (parsed['kind'] === 'metrics') validateMetrics(parsed, now, limits);
    else if (parsed['kind'] === 'logs') validateLogs(parsed, now, limits);
    else fail(`unknown batch kind ${JSON.stringify(parsed['kind'])}`);
    return { ok: true, batch: parsed as unknown as Batch };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, reason: err.message };
    throw err;
  }
}
