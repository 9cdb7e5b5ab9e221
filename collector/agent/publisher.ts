// Sends the spool to JetStream in order: a window of publishes in flight, each acked
// asynchronously, removed from the spool once acked; on failure it backs off and starts again
// from the oldest unacked batch (Nats-Msg-Id makes the repeats harmless).

import { jetstream, JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Spool, SpoolEntry } from './spool.ts';
import { sleep } from '../../core/sleep.ts';

export interface PublisherOptions {
  spool: Spool;
  /** The current connection, or undefined while there is none. */
  connection: () => NatsConnection | undefined;
  logger: Logger;
  /** Publishes awaiting their ack at once. */
  window?: number;
  ackTimeoutMs?: number;
  onPublished?: (entry: SpoolEntry, duplicate: boolean) => void;
  onError?: (err: unknown) => void;
  /** A batch the server refused for good (too large, …), dropped from the spool. */
  onRejected?: (entry: SpoolEntry, err: unknown) => void;
}

/** Errors that sending again cannot cure; everything else (timeouts, no connection) is retried. */
function isPermanent(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code !== 503 && err.status !== 503;
  return /max(imum)? payload|message size/i.test(errorMessage(err));
}

export class Publisher {
  readonly #options: Required<Omit<PublisherOptions, 'onPublished' | 'onError' | 'onRejected'>> &
    Pick<PublisherOptions, 'onPublished' | 'onError' | 'onRejected'>;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #js: { nc: NatsConnection; client: JetStreamClient } | undefined;

  constructor(options: PublisherOptions) {
    this.#options = { window: 32, ackTimeoutMs: 5000, ...options };
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops after the current window; what is not acked stays in the spool for the next run. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  /** Resolves when the spool is empty or the deadline passes. */
  async drain(deadlineMs: number): Promise<boolean> {
    const until = Date.now() + deadlineMs;
    while (this.#options.spool.length > 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.#options.spool.length === 0;
  }

  #client(): JetStreamClient | undefined {
    const nc = this.#options.connection();
    if (!nc || nc.isClosed()) return undefined;
    if (this.#js?.nc !== nc) this.#js = { nc, client: jetstream(nc) };
    return this.#js.client;
  }

  async #run(): Promise<void> {
    const { spool, logger } = this.#options;
    let backoff = 250;
    while (!this.#stop.signal.aborted) {
      await spool.waitForData(this.#stop.signal);
      if (this.#stop.signal.aborted) break;
      const js = this.#client();
      if (!js) {
        await sleep(250, this.#stop.signal);
        continue;
      }
      const window = spool.head(this.#options.window);
      let payloads: Uint8Array[];
      try {
        payloads = await Promise.all(window.map((entry) => spool.payload(entry)));
      } catch (err) {
        // An entry dropped for space while we read it: take the window again.
        logger.debug({ err: errorMessage(err) }, 'spool entry vanished; retrying');
        continue;
      }
      // Issued one after another, synchronously, on one connection: the stream stores them in
      // spool order. (Reading each payload inside its own async publish would let them overtake.)
      const pending = window.map((entry, i) =>
        js.publish(entry.subject, payloads[i]!, {
          msgID: entry.id,
          timeout: this.#options.ackTimeoutMs,
        }),
      );
      // Each is awaited below; this only keeps a rejection we are not yet waiting for from
      // being reported as unhandled.
      for (const ack of pending) ack.catch(() => undefined);
      let failed = false;
      for (const [i, ack] of pending.entries()) {
        const entry = window[i]!;
        try {
          const result = await ack;
          // After a failure the later ones are left in the spool and sent again behind it
          // (duplicates are dropped by Nats-Msg-Id), so the stream keeps the spool's order.
          if (failed) continue;
          await spool.remove(entry);
          this.#options.onPublished?.(entry, result.duplicate);
        } catch (err) {
          if (failed) continue;
          if (isPermanent(err)) {
            // The server will never take this batch: keeping it would block every later one.
            await spool.remove(entry);
            this.#options.onRejected?.(entry, err);
            logger.error(
              { err: errorMessage(err), batch: entry.id },
              'batch refused by the server; dropped',
            );
            continue;
          }
          failed = true;
          this.#options.onError?.(err);
          logger.warn(
            { err: errorMessage(err), batch: entry.id, spooled: spool.length },
            'publish failed; batches stay in the spool',
          );
        }
      }
      if (failed) {
        await sleep(backoff, this.#stop.signal);
        backoff = Math.min(backoff * 2, 10_000);
      } else {
        backoff = 250;
      }
    }
  }
}
