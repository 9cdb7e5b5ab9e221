// Tells the intake when the pipeline behind it is behind: the ingesters' durable consumers hold
// more batches than allowed, or the stream's unconsumed bytes near its limit (the stream drops
// its oldest messages when full, so the intake must stop before that). Read from JetStream,
// which every ingester shares, at most every interval.

import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { consumerBacklog } from '../../core/bus/streams.ts';
import { STREAMS } from '../../core/conventions.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';

export interface BackpressureOptions {
  nc: NatsConnection;
  consumer: string;
  maxPendingBatches: number;
  /** Stream byte limits: unconsumed bytes past half of them count as behind. */
  maxStreamBytes: { metrics: number; logs: number };
  logger: Logger;
  intervalMs?: number;
}

export interface Lag {
  behind: boolean;
  /** Why, for the 429's message. */
  reason?: string;
}

export class Backpressure {
  readonly #options: BackpressureOptions;
  #jsm: JetStreamManager | undefined;
  #checked = 0;
  #last: Lag = { behind: false };
  #inFlight: Promise<Lag> | undefined;

  constructor(options: BackpressureOptions) {
    this.#options = options;
  }

  /** The pipeline's state, read again when the last reading is older than the interval. */
  async lag(): Promise<Lag> {
    if (Date.now() - this.#checked < (this.#options.intervalMs ?? 500)) return this.#last;
    this.#inFlight ??= this.#read().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #read(): Promise<Lag> {
    const { nc, consumer, maxPendingBatches, maxStreamBytes } = this.#options;
    try {
      this.#jsm ??= await jetstreamManager(nc);
      let lag: Lag = { behind: false };
      for (const kind of ['metrics', 'logs'] as const) {
        const stream = STREAMS[kind];
        const pending = await consumerBacklog(this.#jsm, stream, consumer);
        // No consumer yet: no ingester has started, nothing can be behind it.
        if (pending === undefined) continue;
        if (pending > maxPendingBatches) {
          lag = { behind: true, reason: `${pending} ${kind} batches wait for the ingesters` };
          break;
        }
        const state = (await this.#jsm.streams.info(stream)).state;
        const average = state.messages > 0 ? state.bytes / state.messages : 0;
        if (pending * average > maxStreamBytes[kind] / 2) {
          lag = { behind: true, reason: `the ${kind} stream is half full of unconsumed batches` };
          break;
        }
      }
      this.#last = lag;
    } catch (err) {
      this.#options.logger.warn({ err: errorMessage(err) }, 'intake: cannot read the ingest lag');
      this.#last = { behind: true, reason: 'the bus does not answer' };
    }
    this.#checked = Date.now();
    return this.#last;
  }
}
