// What the HTTP intake's decoders (remote_write, OTLP) hand to the intake sink: samples and log
// records with every label the sender gave, before tier/host/service are mapped, counters are
// turned into deltas and batches are published. Also the error a decoder throws for bad input.

import type { Severity } from '../../core/conventions.ts';
import type { FamilyType } from '../agent/prom-text-types.ts';

/**
 * cumulative: a running total as the sender counts it (Prometheus counters, histogram buckets,
 * _sum and _count; OTLP cumulative sums and histograms); the intake turns it into deltas.
 * delta: already the increase over the interval ending at the point's ts (OTLP delta).
 * gauge: a value as it is.
 * untyped: a Prometheus sample whose type the request does not say; the intake decides from the
 * metadata it has seen for the family, else from the name (_total, _bucket, _sum, _count).
 */
export type IntakeTemporality = 'cumulative' | 'delta' | 'gauge' | 'untyped';

export interface IntakePoint {
  /** Milliseconds since the epoch. */
  ts: number;
  value: number;
  /** cumulative only: when the counter started counting from zero, in ms, if the sender says. */
  startTs?: number;
}

export interface IntakeSeries {
  /** A Prometheus-style metric name, [a-zA-Z_:][a-zA-Z0-9_:]* (decoders sanitize OTLP names). */
  name: string;
  /**
   * Labels as sent, with names sanitized to [a-zA-Z_][a-zA-Z0-9_]*, tier/host/service candidates
   * (tier, host, instance, job, service, …) included: the intake maps them.
   */
  labels: Record<string, string>;
  /** OTLP resource attributes as sent (dotted names): the intake maps tier/host/service from them. */
  resource?: Record<string, string>;
  temporality: IntakeTemporality;
  points: IntakePoint[];
}

export interface IntakeLogRecord {
  ts: number;
  severity: Severity;
  body: string;
  /** Record attributes flattened to strings, names as sent (the sink makes them label names). */
  attributes: Record<string, string>;
  /** OTLP resource attributes as sent: the intake maps tier/host/service from them. */
  resource: Record<string, string>;
  /** 32 lowercase hex digits when the record has one. */
  traceId?: string;
}

/** The Prometheus metric types a remote_write request's metadata may declare for a family. */
export type FamilyMetadataType = Exclude<FamilyType, 'untyped'>;

/**
 * Refused input, with the HTTP status to answer and a message naming the first bad thing
 * (a line, a field path such as `timeseries[3].labels[1].name`, or the encoding). Never holds a
 * token, a URL's secret or a whole body.
 */
export class IntakeError extends Error {
  readonly status: 400 | 401 | 403 | 413 | 415 | 429 | 503;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: IntakeError['status'],
    message: string,
    options: { retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IntakeError';
    this.status = status;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
