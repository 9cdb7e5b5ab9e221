// OTLP metrics (POST /v1/metrics, protobuf or JSON) into intake series, translated the way
// Prometheus' OTLP receiver does without unit suffixes: sanitized names, `_total` on monotonic
// sums, histograms as cumulative `le` buckets with _count and _sum, summaries as quantile gauges.

import { sanitizeLabelName } from './mapping.ts';
import { decodeOtlpRequest, type OtlpEncoding, type Plain } from './otlp-proto.ts';
import {
  anyToString,
  asPlain,
  countAt,
  doubleOf,
  keyValues,
  bigintOf,
  list,
  msAt,
  plainAt,
  resourceAttributes,
  stringAt,
} from './otlp-plain.ts';
import {
  IntakeError,
  type IntakePoint,
  type IntakeSeries,
  type IntakeTemporality,
} from './types.ts';

export type { OtlpEncoding } from './otlp-proto.ts';
export { encodeOtlpResponse } from './otlp-proto.ts';
export { sanitizeLabelName };

export interface OtlpMetricsResult {
  series: IntakeSeries[];
  /** OTLP data points refused one by one (no value, unsupported type): partial success. */
  rejected: number;
  /** Why the first of them was refused, with its path. */
  firstRejected?: string;
}

const AGGREGATION_TEMPORALITY: Record<string, number> = {
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};
const DELTA = 1;
const CUMULATIVE = 2;
/** DataPointFlags.FLAG_NO_RECORDED_VALUE: a staleness marker, which Halo has no use for. */
const NO_RECORDED_VALUE = 1;

/** Like otlptranslator without suffixes: runs of other characters become one `_`. */
export function sanitizeMetricName(name: string): string {
  const joined = name
    .split(/[^a-zA-Z0-9_:]+/)
    .filter(Boolean)
    .join('_');
  return /^[0-9]/.test(joined) ? `_${joined}` : joined;
}

/** A bucket bound or quantile as Go's strconv.FormatFloat(v, 'g', -1, 64) prints it. */
export function formatFloat(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mantissa = '', exp = '0'] = v.toExponential().split('e');
  const e = Number(exp);
  if (e >= -4 && e < 6) return String(v);
  return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** A resourceMetrics entry: its index keeps series of different resources apart. */
type Resource = { key: number; attributes: Record<string, string> };

class SeriesSet {
  readonly series = new Map<string, IntakeSeries>();
  rejected = 0;
  firstRejected: string | undefined;

  add(
    name: string,
    labels: Record<string, string>,
    resource: Resource,
    temporality: IntakeTemporality,
    point: IntakePoint,
  ): void {
    const labelKey = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
    const key = `${resource.key}\u0000${temporality}\u0000${name}\u0000${labelKey}`;
    let series = this.series.get(key);
    if (!series) {
      series = { name, labels, resource: resource.attributes, temporality, points: [] };
      this.series.set(key, series);
    }
    series.points.push(point);
  }

  reject(count: number, why: string): void {
    this.rejected += count;
    this.firstRejected ??= why;
  }
}

/**
 * Decodes an ExportMetricsServiceRequest. Throws IntakeError(400) naming the first malformed
 * field; counts the data points it cannot use as rejected.
 */
export function decodeOtlpMetrics(body: Uint8Array, encoding: OtlpEncoding): OtlpMetricsResult {
  const request = decodeOtlpRequest('metrics', body, encoding);
  const set = new SeriesSet();
  list(request, 'resourceMetrics', '').forEach((item, r) => {
    const rPath = `resourceMetrics[${r}]`;
    const rm = asPlain(item, rPath);
    const resource = { key: r, attributes: resourceAttributes(rm, rPath) };
    list(rm, 'scopeMetrics', rPath).forEach((scopeItem, s) => {
      const sPath = `${rPath}.scopeMetrics[${s}]`;
      list(asPlain(scopeItem, sPath), 'metrics', sPath).forEach((metric, m) => {
        const mPath = `${sPath}.metrics[${m}]`;
        convertMetric(asPlain(metric, mPath), mPath, resource, set);
      });
    });
  });
  const result: OtlpMetricsResult = {
    series: [...set.series.values()],
    rejected: set.rejected,
  };
  if (set.firstRejected !== undefined) result.firstRejected = set.firstRejected;
  return result;
}

type MetricType = 'gauge' | 'sum' | 'histogram' | 'summary' | 'exponentialHistogram';
const METRIC_TYPES: readonly MetricType[] = [
  'gauge',
  'sum',
  'histogram',
  'summary',
  'exponentialHistogram',
];

/** Adds one sample of a data point's series: `extra` labels (le, quantile) on top of its own. */
type Emit = (
  name: string,
  extra: Record<string, string> | undefined,
  temporality: IntakeTemporality,
  value: number,
) => void;

function convertMetric(metric: Plain, path: string, resource: Resource, set: SeriesSet): void {
  const type = METRIC_TYPES.find((t) => metric[t] !== undefined && metric[t] !== null);
  if (!type) return set.reject(1, `${path}: no gauge, sum, histogram or summary`);
  const dPath = `${path}.${type}`;
  const data = plainAt(metric, type, path)!;
  const points = list(data, 'dataPoints', dPath);
  const kind = metricKind(metric, type, data, path);
  if (typeof kind === 'string') return set.reject(points.length, kind);
  const { name, temporality } = kind;

  points.forEach((item, i) => {
    const pPath = `${dPath}.dataPoints[${i}]`;
    const dp = asPlain(item, pPath);
    if ((countAt(dp, 'flags', pPath) & NO_RECORDED_VALUE) !== 0) return;
    const ts = msAt(dp, 'timeUnixNano', pPath);
    if (ts === undefined) throw new IntakeError(400, `${pPath}: no timeUnixNano`);
    const start = msAt(dp, 'startTimeUnixNano', pPath);
    const labels = labelsOf(dp, pPath);
    const emit: Emit = (series, extra, temp, value) =>
      set.add(series, extra ? { ...labels, ...extra } : labels, resource, temp, {
        ts,
        value,
        // Every cumulative series of the point (buckets, _count, _sum too) says where it began.
        ...(temp === 'cumulative' && start !== undefined ? { startTs: start } : {}),
      });
    const refused =
      type === 'histogram'
        ? histogramPoint(dp, pPath, name, temporality, emit)
        : type === 'summary'
          ? summaryPoint(dp, pPath, name, emit)
          : numberPoint(dp, pPath, name, temporality, emit);
    if (refused !== undefined) set.reject(1, `${pPath}: ${refused}`);
  });
}

/** The series name and temporality of a metric's points, or why none of them can be taken. */
function metricKind(
  metric: Plain,
  type: MetricType,
  data: Plain,
  path: string,
): { name: string; temporality: IntakeTemporality } | string {
  if (type === 'exponentialHistogram')
    return `${path}.${type}: exponential histograms are not supported`;
  const raw = stringAt(metric, 'name', path) ?? '';
  const name = sanitizeMetricName(raw);
  if (!name) return `${path}.name: ${JSON.stringify(raw)} is not a metric name`;
  if (type === 'gauge') return { name, temporality: 'gauge' };
  if (type === 'summary') return { name, temporality: 'cumulative' };
  const t = temporalityOf(data, `${path}.${type}`);
  if (t !== DELTA && t !== CUMULATIVE) {
    return `${path}.${type}.aggregationTemporality: expected 1 (delta) or 2 (cumulative), got ${t}`;
  }
  if (type === 'histogram') return { name, temporality: t === DELTA ? 'delta' : 'cumulative' };
  // Like Prometheus: a non-monotonic cumulative sum (an up-down counter) is a gauge.
  const monotonic = data.isMonotonic === true;
  return {
    name: monotonic && !name.endsWith('_total') ? `${name}_total` : name,
    temporality: t === DELTA ? 'delta' : monotonic ? 'cumulative' : 'gauge',
  };
}

function numberPoint(
  dp: Plain,
  path: string,
  name: string,
  temporality: IntakeTemporality,
  emit: Emit,
): string | undefined {
  let value: number;
  if (dp.asInt !== undefined && dp.asInt !== null)
    value = Number(bigintOf(dp.asInt, `${path}.asInt`));
  else if (dp.asDouble !== undefined && dp.asDouble !== null)
    value = doubleOf(dp.asDouble, `${path}.asDouble`);
  else return 'no value (asInt or asDouble)';
  emit(name, undefined, temporality, value);
  return undefined;
}

/** Buckets counted up over le, like Prometheus; +Inf holds the point's count. */
function histogramPoint(
  dp: Plain,
  path: string,
  name: string,
  temporality: IntakeTemporality,
  emit: Emit,
): string | undefined {
  const counts = list(dp, 'bucketCounts', path).map((c, b) =>
    Number(bigintOf(c, `${path}.bucketCounts[${b}]`, false)),
  );
  const bounds = list(dp, 'explicitBounds', path).map((b, k) =>
    doubleOf(b, `${path}.explicitBounds[${k}]`),
  );
  if (counts.length > 0 && counts.length !== bounds.length + 1) {
    return `${counts.length} bucketCounts for ${bounds.length} explicitBounds (expected one more)`;
  }
  const count = countAt(dp, 'count', path);
  let below = 0;
  bounds.forEach((bound, b) => {
    below += counts[b] ?? 0;
    emit(`${name}_bucket`, { le: formatFloat(bound) }, temporality, below);
  });
  emit(`${name}_bucket`, { le: '+Inf' }, temporality, count);
  emit(`${name}_count`, undefined, temporality, count);
  // Optional in OTLP (no sum when negative values were recorded): no _sum then.
  if (dp.sum !== undefined && dp.sum !== null) {
    emit(`${name}_sum`, undefined, temporality, doubleOf(dp.sum, `${path}.sum`));
  }
  return undefined;
}

/** Quantiles as gauges with a `quantile` label; _count and _sum are cumulative. */
function summaryPoint(dp: Plain, path: string, name: string, emit: Emit): undefined {
  list(dp, 'quantileValues', path).forEach((item, k) => {
    const qPath = `${path}.quantileValues[${k}]`;
    const q = asPlain(item, qPath);
    const quantile = q.quantile == null ? 0 : doubleOf(q.quantile, `${qPath}.quantile`);
    const value = q.value == null ? 0 : doubleOf(q.value, `${qPath}.value`);
    emit(name, { quantile: formatFloat(quantile) }, 'gauge', value);
  });
  emit(`${name}_count`, undefined, 'cumulative', countAt(dp, 'count', path));
  emit(
    `${name}_sum`,
    undefined,
    'cumulative',
    dp.sum == null ? 0 : doubleOf(dp.sum, `${path}.sum`),
  );
  return undefined;
}

function temporalityOf(data: Plain, path: string): number {
  const value = data.aggregationTemporality;
  if (typeof value === 'string' && value in AGGREGATION_TEMPORALITY)
    return AGGREGATION_TEMPORALITY[value]!;
  return countAt(data, 'aggregationTemporality', path);
}

/** Data point attributes as labels; names that sanitize alike are joined with ';' like Prometheus. */
function labelsOf(dp: Plain, path: string): Record<string, string> {
  const labels: Record<string, string> = {};
  keyValues(dp, 'attributes', path, (key, value, at) => {
    const name = sanitizeLabelName(key);
    if (!name) return;
    const text = value === undefined ? '' : anyToString(value, at);
    labels[name] = labels[name] === undefined ? text : `${labels[name]};${text}`;
  });
  return labels;
}
