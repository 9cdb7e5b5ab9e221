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

interface Group {
  kind: 'metrics' | 'logs';
  tier: string;
  host: string;
  series: Map<string, WireSeries>;
  records: WireLogRecord[];
  items: number;
  bytes: number;
}

export class BusWriter {
  readonly #options: Required<BusWriterOptions>;
  readonly #groups = new Map<string, Group>();
  readonly #inFlight: Array<Promise<PubAck>> = [];
  #buffered = 0;
  #failure: unknown;
  /** Batches and items published (acked) so far, duplicates included. */
  batches = 0;
  items = 0;
  duplicates = 0;

  constructor(options: BusWriterOptions) {
    this.#options = { window: 64, ackTimeoutMs: 10_000, maxBuffered: 200_000, ...options };
  }

  /**
   * One sample of a series; `key` identifies the series within its tier and host. Returns a
   * promise only when a batch went out and the window is full: await it before adding more.
   */
  addSample(
    tier: string,
    host: string,
    key: string,
    make: () => Omit<WireSeries, 'points'>,
    ts: number,
    value: number,
  ): Promise<void> | undefined {
    const group = this.#group('metrics', tier, host);
    let series = group.series.get(key);
    if (series === undefined) {
      series = { ...make(), points: [] };
      group.series.set(key, series);
      // Key text plus JSON punctuation; escapes can at most double a string.
      group.bytes += 2 * key.length + 64;
    }
    series.points.push([ts, toWireNumber(value)]);
    group.bytes += 40;
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
      group = { kind, tier, host, series: new Map(), records: [], items: 0, bytes: 256 };
      this.#groups.set(id, group);
    }
    return group;
  }

  async #flush(group: Group): Promise<void> {
    this.#groups.delete(`${group.kind}\u0000${group.tier}\u0000${group.host}`);
    if (group.items === 0) return;
    this.#throwIfFailed();
    this.#buffered -= group.items;
    const body =
      group.kind === 'metrics'
        ? `"series":${JSON.stringify([...group.series.values()])}`
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
      (result) => {
        this.batches++;
        this.items += items;
        if (result.duplicate) this.duplicates++;
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
