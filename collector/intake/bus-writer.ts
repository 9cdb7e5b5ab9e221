// Gathers one request's samples and log records into Halo batches per tier and host, and
// publishes them to JetStream with a window of acks in flight. A batch's id is a hash of its
// content, so a request sent again (after a timeout, say) is dropped by the duplicate window.

import { createHash } from 'node:crypto';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { BATCH_VERSION, logsSubject, metricsSubject } from '../../core/conventions.ts';
import { toWireNumber, type WireLogRecord, type WireSeries } from '../../core/batch.ts';
import { errorMessage } from '../../core/errors.ts';
import { IntakeError } from './types.ts';

const encoder = new TextEncoder();

export interface BusWriterOptions {
  js: JetStreamClient;
  maxItems: number;
  /** Items held over all groups before the largest group is sent early. */
  maxBuffered?: number;
  maxBytes: number;
  /** Publishes awaiting their ack at once. */
  window?: number;
  ackTimeoutMs?: number;
  /** Seconds a client is told to wait when the bus refuses or times out. */
  retryAfterSeconds: number;
}

/** One series' points in a group, in two number arrays (unboxed doubles, no object per point). */
interface SeriesBuffer {
  group: Group;
  head: string;
  ts: number[];
  values: number[];
}

/**
 * What the writer needs of a series, and where it keeps the series' buffer between samples (so a
 * sample costs two pushes, not a lookup).
 */
export interface WriterSeries {
  tier: string;
  host: string;
  /** The series' identity within its tier and host. */
  key: string;
  wire: Omit<WireSeries, 'points'>;
  /** @internal The buffer of the group this series was last written to. */
  buffer?: SeriesBuffer | undefined;
}

interface Group {
  /** Its key among the writer's groups: kind, tier and host. */
  id: string;
  kind: 'metrics' | 'logs';
  tier: string;
  host: string;
  series: Map<string, SeriesBuffer>;
  records: WireLogRecord[];
  items: number;
  bytes: number;
  /** Sent: buffers that point here start a new group. */
  flushed: boolean;
}

export class BusWriter {
  readonly #options: Required<BusWriterOptions>;
  readonly #groups = new Map<string, Group>();
  readonly #inFlight: Array<Promise<PubAck>> = [];
  #buffered = 0;
  #failure: unknown;
  /** Items in batches the bus acked so far (a duplicate batch counts too: it is stored). */
  items = 0;

  constructor(options: BusWriterOptions) {
    this.#options = { window: 64, ackTimeoutMs: 10_000, maxBuffered: 1_000_000, ...options };
  }

  /**
   * One sample of a series. Returns a promise only when a batch went out and the window is
   * full: await it before adding more.
   */
  addSample(series: WriterSeries, ts: number, value: number): Promise<void> | undefined {
    let buffer = series.buffer;
    if (buffer === undefined || buffer.group.flushed) {
      const group = this.#group('metrics', series.tier, series.host);
      buffer = group.series.get(series.key);
      if (buffer === undefined) {
        const head = JSON.stringify(series.wire);
        buffer = { group, head: `${head.slice(0, -1)},"points":[`, ts: [], values: [] };
        group.series.set(series.key, buffer);
        // Escapes can at most double a string.
        group.bytes += 2 * head.length + 16;
      }
      series.buffer = buffer;
    }
    buffer.ts.push(ts);
    buffer.values.push(value);
    const group = buffer.group;
    group.bytes += 40; // [13-digit ts, value up to 24 characters]
    return this.#added(group);
  }

  addLog(tier: string, host: string, record: WireLogRecord): Promise<void> | undefined {
    const group = this.#group('logs', tier, host);
    group.records.push(record);
    group.bytes += 2 * (record.body.length + record.service.length) + 96;
    for (const [k, v] of Object.entries(record.attributes))
      group.bytes += 2 * (k.length + v.length) + 8;
    return this.#added(group);
  }

  #added(group: Group): Promise<void> | undefined {
    group.items++;
    this.#buffered++;
    if (group.items >= this.#options.maxItems || group.bytes >= this.#options.maxBytes) {
      return this.#flush(group);
    }
    if (this.#buffered >= this.#options.maxBuffered) {
      // Many hosts at once (an import): send the fullest group rather than hold them all.
      let fullest = group;
      for (const other of this.#groups.values()) if (other.items > fullest.items) fullest = other;
      return this.#flush(fullest);
    }
    return undefined;
  }

  /** Publishes what is gathered and waits for every ack; throws IntakeError(503) if the bus refused. */
  async finish(): Promise<void> {
    for (const group of [...this.#groups.values()]) await this.#flush(group);
    while (this.#inFlight.length > 0) await this.#settleOldest();
    this.#throwIfFailed();
  }

  #group(kind: Group['kind'], tier: string, host: string): Group {
    const id = `${kind}\u0000${tier}\u0000${host}`;
    let group = this.#groups.get(id);
    if (group === undefined) {
      group = {
        id,
        kind,
        tier,
        host,
        series: new Map(),
        records: [],
        items: 0,
        bytes: 256,
        flushed: false,
      };
      this.#groups.set(id, group);
    }
    return group;
  }

  async #flush(group: Group): Promise<void> {
    this.#groups.delete(group.id);
    group.flushed = true;
    if (group.items === 0) return;
    this.#throwIfFailed();
    this.#buffered -= group.items;
    const body =
      group.kind === 'metrics'
        ? `"series":[${[...group.series.values()].map(seriesJson).join(',')}]`
        : `"records":${JSON.stringify(group.records)}`;
    const head = `"tier":${JSON.stringify(group.tier)},"host":${JSON.stringify(group.host)}`;
    const id = createHash('sha256')
      .update(group.kind)
      .update(head)
      .update(body)
      .digest('base64url')
      .slice(0, 32);
    const payload = `{"v":${BATCH_VERSION},"kind":"${group.kind}","id":"${id}",${head},${body}}`;
    const subject =
      group.kind === 'metrics'
        ? metricsSubject(group.tier, group.host)
        : logsSubject(group.tier, group.host);
    const ack = this.#options.js.publish(subject, encoder.encode(payload), {
      msgID: id,
      timeout: this.#options.ackTimeoutMs,
    });
    const items = group.items;
    // Awaited in order below; this only keeps an early rejection from being unhandled.
    ack.then(
      () => {
        this.items += items;
      },
      (err: unknown) => {
        this.#failure ??= err;
      },
    );
    this.#inFlight.push(ack);
    while (this.#inFlight.length >= this.#options.window) await this.#settleOldest();
  }

  async #settleOldest(): Promise<void> {
    const oldest = this.#inFlight.shift();
    await oldest?.catch(() => undefined);
  }

  #throwIfFailed(): void {
    if (this.#failure === undefined) return;
    throw new IntakeError(
      503,
      `the bus did not take the data (${errorMessage(this.#failure)}); send it again later`,
      { retryAfterSeconds: this.#options.retryAfterSeconds, cause: this.#failure },
    );
  }
}

/** A buffered series as the wire's JSON: its head, then [ts, value] pairs (see WireNumber). */
function seriesJson(buffer: SeriesBuffer): string {
  const { ts, values } = buffer;
  let out = buffer.head;
  for (let i = 0; i < ts.length; i++) {
    const wire = toWireNumber(values[i]!);
    const value = typeof wire === 'number' ? String(wire) : `"${wire}"`;
    out += `${i === 0 ? '' : ','}[${ts[i]},${value}]`;
  }
  return `${out}]}`;
}
