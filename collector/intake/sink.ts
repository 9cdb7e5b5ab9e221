// The intake's one path onto the bus: decoded series and log records are placed (tier, host,
// service), checked against the bounds the ingester enforces, counters turned into deltas, and
// published as Halo batches. What cannot be taken is counted and the first reason kept, so a
// request answers with what was wrong while the rest of it is stored.

import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { checkSeries, type BatchLimits } from '../../core/batch.ts';
import { seriesKey } from '../../core/store/series.ts';
import { BusWriter, type WriterSeries } from './bus-writer.ts';
import type { IntakeConfig, IntakeToken } from './config.ts';
import { CounterState, type CounterTransaction } from './counters.ts';
import { Mapper, sanitizeLabelName } from './mapping.ts';
import { FamilyTypes } from './temporality.ts';
import type { IntakeLogRecord, IntakePoint, IntakeSeries, IntakeTemporality } from './types.ts';

/** A series ready to take points (key: name, tier, host, service and labels). */
export interface PreparedSeries extends WriterSeries {
  name: string;
  temporality: 'cumulative' | 'delta' | 'gauge';
}

export interface SinkResult {
  /** Samples or records published (counter baselines are taken but publish nothing). */
  accepted: number;
  refused: number;
  /** The first refusal, naming the series or record and why. */
  firstRefused?: string;
}

export interface IntakeSinkOptions {
  nc: NatsConnection;
  config: IntakeConfig;
  limits: BatchLimits;
  now?: () => number;
}

/** One request's work: its bus writer, its counter transaction and its refusals. */
export class SinkRequest {
  readonly writer: BusWriter;
  readonly counters: CounterTransaction;
  refused = 0;
  firstRefused: string | undefined;

  constructor(writer: BusWriter, counters: CounterTransaction) {
    this.writer = writer;
    this.counters = counters;
  }

  refuse(count: number, reason: string): void {
    this.refused += count;
    this.firstRefused ??= reason;
  }
}

export class IntakeSink {
  readonly mapper: Mapper;
  readonly families = new FamilyTypes();
  readonly counters: CounterState;
  readonly limits: BatchLimits;
  /** What a client is told to wait (Retry-After) when the bus or the ingesters are behind. */
  readonly retryAfterSeconds: number;
  readonly #config: IntakeConfig;
  readonly #now: () => number;
  readonly #nc: NatsConnection;
  #js: JetStreamClient | undefined;

  constructor(options: IntakeSinkOptions) {
    this.#config = options.config;
    this.limits = options.limits;
    this.retryAfterSeconds = Math.ceil(options.config.backpressure.retry_after.ms / 1000);
    this.#now = options.now ?? Date.now;
    this.#nc = options.nc;
    this.mapper = new Mapper(options.config);
    this.counters = new CounterState({ ttlMs: options.config.counter_ttl.ms, now: this.#now });
  }

  now(): number {
    return this.#now();
  }

  /** A request's writer and counter transaction. */
  begin(): SinkRequest {
    this.#js ??= jetstream(this.#nc);
    const writer = new BusWriter({
      js: this.#js,
      maxItems: this.#config.batch.max_items,
      maxBytes: this.#config.batch.max_bytes.bytes,
      retryAfterSeconds: this.retryAfterSeconds,
    });
    return new SinkRequest(writer, this.counters.begin());
  }

  /** Publishes what the request gathered; its counters continue from it once it is on the bus. */
  async end(request: SinkRequest): Promise<SinkResult> {
    await request.writer.finish();
    request.counters.commit();
    return {
      accepted: request.writer.items,
      refused: request.refused,
      ...(request.firstRefused !== undefined ? { firstRefused: request.firstRefused } : {}),
    };
  }

  /** Why a timestamp cannot be stored, or undefined. */
  checkTime(ts: number, now: number): string | undefined {
    if (!Number.isSafeInteger(ts)) return 'timestamp is not a whole number of milliseconds';
    // An hour's margin (a tenth of a short max_age): the ingester checks again later, and a
    // point it found too old would send its whole batch to the dead letters.
    const margin = Math.min(3_600_000, this.limits.maxAgeMs / 10);
    if (ts < now - this.limits.maxAgeMs + margin)
      return `timestamp ${new Date(ts).toISOString()} is older than ingest.limits.max_age`;
    if (ts > now + this.limits.maxFutureMs)
      return `timestamp ${new Date(ts).toISOString()} is too far in the future`;
    return undefined;
  }

  /**
   * One series made ready for its points: placed, checked, typed and keyed; or why it cannot be
   * stored. `labels` is not changed.
   */
  prepare(
    name: string,
    labels: Record<string, string>,
    resource: Record<string, string> | undefined,
    temporality: IntakeTemporality,
    token: IntakeToken | undefined,
  ): PreparedSeries | string {
    const placed = this.mapper.place({ ...labels }, resource, token);
    if (typeof placed === 'string') return `${name}: ${placed}`;
    const bad = checkSeries(name, placed.labels, this.limits);
    if (bad !== undefined) return `${name}: ${bad}`;
    const { tier, host, service } = placed;
    return {
      name,
      tier,
      host,
      key: seriesKey(name, tier, host, service, placed.labels),
      wire: { name, service, labels: placed.labels },
      temporality:
        temporality === 'untyped' ? this.families.resolve(name, placed.labels) : temporality,
    };
  }

  /**
   * One point of a prepared series: checked, a counter made a delta, then gathered. Returns a
   * promise only when the request must wait for the bus before adding more.
   */
  addPoint(
    request: SinkRequest,
    series: PreparedSeries,
    point: IntakePoint,
    now: number,
  ): Promise<void> | undefined {
    const late = this.checkTime(point.ts, now);
    if (late !== undefined) {
      request.refuse(1, `${series.name}: ${late}`);
      return undefined;
    }
    let value = point.value;
    if (series.temporality === 'cumulative') {
      const delta = request.counters.delta(series.key, point);
      if (delta === undefined) return undefined;
      value = delta;
    } else if (Number.isNaN(value)) {
      // Prometheus marks a series gone stale with a NaN: nothing to store.
      return undefined;
    }
    return request.writer.addSample(series, point.ts, value);
  }

  async addSeries(
    request: SinkRequest,
    series: readonly IntakeSeries[],
    token: IntakeToken | undefined,
  ): Promise<void> {
    this.families.observe(series);
    const now = this.#now();
    for (const s of series) {
      const prepared = this.prepare(s.name, s.labels, s.resource, s.temporality, token);
      if (typeof prepared === 'string') {
        request.refuse(s.points.length, prepared);
        continue;
      }
      for (const point of s.points) {
        const wait = this.addPoint(request, prepared, point, now);
        if (wait) await wait;
      }
    }
  }

  async addLogs(
    request: SinkRequest,
    records: readonly IntakeLogRecord[],
    token: IntakeToken | undefined,
  ): Promise<void> {
    const now = this.#now();
    const { maxLabels, maxLabelNameLength, maxLabelValueLength, maxBodyLength } = this.limits;
    for (const [i, record] of records.entries()) {
      const attributes: Record<string, string> = {};
      let kept = 0;
      for (const [name, value] of Object.entries(record.attributes)) {
        if (kept >= maxLabels) break;
        const label = sanitizeLabelName(name);
        // What the ingester would refuse the whole batch for is left out here.
        if (label === '' || label.length > maxLabelNameLength || attributes[label] !== undefined)
          continue;
        attributes[label] =
          value.length > maxLabelValueLength ? value.slice(0, maxLabelValueLength) : value;
        kept++;
      }
      const placed = this.mapper.place(attributes, record.resource, token);
      if (typeof placed === 'string') {
        request.refuse(1, `log record ${i}: ${placed}`);
        continue;
      }
      const late = this.checkTime(record.ts, now);
      if (late !== undefined) {
        request.refuse(1, `log record ${i}: ${late}`);
        continue;
      }
      const wait = request.writer.addLog(placed.tier, placed.host, {
        ts: record.ts,
        service: placed.service,
        severity: record.severity,
        body:
          record.body.length > maxBodyLength ? record.body.slice(0, maxBodyLength) : record.body,
        attributes: atMost(placed.labels, maxLabels),
        ...(record.traceId !== undefined ? { traceId: record.traceId } : {}),
      });
      if (wait) await wait;
    }
  }
}

/** The first `max` labels (promoted resource attributes may have added some past the bound). */
function atMost(labels: Record<string, string>, max: number): Record<string, string> {
  const keys = Object.keys(labels);
  if (keys.length <= max) return labels;
  return Object.fromEntries(keys.slice(0, max).map((key) => [key, labels[key]!]));
}
