// A NATS connection that is made in the background and retried until it succeeds, for roles that
// must start and keep working while NATS is down (the agent spools meanwhile).

import type { NatsConnection } from '@nats-io/nats-core';
import type { HaloConfig } from '../config/schema.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { connectBus } from './connect.ts';
import { sleep } from '../sleep.ts';

export interface BusLinkOptions {
  config: HaloConfig;
  logger: Logger;
  servers?: string[];
  /** Longest wait between two attempts. */
  maxBackoffMs?: number;
}

export class BusLink {
  readonly #options: BusLinkOptions;
  readonly #stop = new AbortController();
  #nc: NatsConnection | undefined;
  #waiters: Array<(nc: NatsConnection) => void> = [];
  #loop: Promise<void>;

  constructor(options: BusLinkOptions) {
    this.#options = options;
    this.#loop = this.#run();
  }

  /** The connection when there is one (it may be reconnecting underneath). */
  current(): NatsConnection | undefined {
    return this.#nc && !this.#nc.isClosed() ? this.#nc : undefined;
  }

  /** Resolves with the connection once made. */
  ready(): Promise<NatsConnection> {
    const nc = this.current();
    if (nc) return Promise.resolve(nc);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async close(): Promise<void> {
    this.#stop.abort();
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc && !nc.isClosed()) {
      // Drain needs the server; while it is away, give up after a moment and just close.
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
      await Promise.race([nc.drain().catch(() => undefined), timeout]);
      if (!nc.isClosed()) await nc.close();
    }
    await this.#loop;
  }

  async #run(): Promise<void> {
    const log = this.#options.logger.child({ module: 'bus' });
    let backoff = 500;
    let lastError = '';
    while (!this.#stop.signal.aborted) {
      try {
        const nc = await connectBus({
          config: this.#options.config,
          logger: this.#options.logger,
          ...(this.#options.servers ? { servers: this.#options.servers } : {}),
        });
        if (this.#stop.signal.aborted) {
          await nc.close();
          return;
        }
        this.#nc = nc;
        backoff = 500;
        lastError = '';
        for (const wake of this.#waiters.splice(0)) wake(nc);
        // The client reconnects by itself; only a closed connection needs a new one.
        await nc.closed();
        if (this.#stop.signal.aborted) return;
        log.warn('nats connection closed; connecting again');
      } catch (err) {
        const message = errorMessage(err);
        if (message !== lastError) log.warn({ err: message }, 'nats not reachable yet; retrying');
        lastError = message;
        await sleep(backoff, this.#stop.signal);
        backoff = Math.min(backoff * 2, this.#options.maxBackoffMs ?? 10_000);
      }
    }
  }
}
