// A pace per key: sends on one key start at least an interval apart, in the order they asked, so
// that a Slack webhook gets at most one message a second however many groups notify at once.

export interface PacerOptions {
  intervalMs: number;
  clock: () => number;
  sleep: (ms: number) => Promise<void>;
}

export class Pacer {
  readonly #options: PacerOptions;
  /** The earliest start of the next send, per key. */
  readonly #next = new Map<string, number>();

  constructor(options: PacerOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError('pacer: intervalMs must be above 0');
    this.#options = options;
  }

  /** Resolves when the caller may send on `key`; the slot is booked at once, so order holds. */
  async wait(key: string): Promise<void> {
    const { clock, intervalMs, sleep } = this.#options;
    const now = clock();
    this.#forgetPast(now);
    const at = Math.max(now, this.#next.get(key) ?? now);
    this.#next.set(key, at + intervalMs);
    if (at > now) await sleep(at - now);
  }

  #forgetPast(now: number): void {
    for (const [key, at] of this.#next) if (at <= now) this.#next.delete(key);
  }
}
