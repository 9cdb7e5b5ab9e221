// Turns cumulative series from intake senders into deltas per interval, as Halo stores counters.
// State changes of a request are held until its batches are on the bus (commit), so a request
// that failed and is sent again makes the same deltas. A reset counts from zero; the first point
// of a series is its baseline, unless the sender says it started counting after this process did.

interface Last {
  ts: number;
  value: number;
  startTs: number | undefined;
  /** Wall-clock time of the last update, for forgetting series that went away. */
  seen: number;
}

export interface CumulativePoint {
  ts: number;
  value: number;
  startTs?: number | undefined;
}

export class CounterState {
  readonly #last = new Map<string, Last>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** Counters that started after this moment count from zero on their first point. */
  readonly #since: number;
  #nextSweep: number;

  constructor(options: { ttlMs: number; now?: () => number }) {
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    this.#since = this.#now();
    this.#nextSweep = this.#since + options.ttlMs;
  }

  get size(): number {
    return this.#last.size;
  }

  begin(): CounterTransaction {
    return new CounterTransaction(this);
  }

  /** @internal */
  get(key: string): Last | undefined {
    return this.#last.get(key);
  }

  /** @internal */
  startedAfterUs(startTs: number | undefined): boolean {
    return startTs !== undefined && startTs >= this.#since;
  }

  /** @internal */
  apply(pending: Map<string, Last>): void {
    const now = this.#now();
    for (const [key, last] of pending) {
      const current = this.#last.get(key);
      // A request that committed later may carry older points (out of order): keep the newest.
      if (current === undefined || current.ts < last.ts)
        this.#last.set(key, { ...last, seen: now });
      else current.seen = now;
    }
    if (now >= this.#nextSweep) {
      this.#nextSweep = now + this.#ttlMs / 4;
      for (const [key, last] of this.#last) {
        if (last.seen < now - this.#ttlMs) this.#last.delete(key);
      }
    }
  }
}

export class CounterTransaction {
  readonly #state: CounterState;
  readonly #pending = new Map<string, Last>();

  constructor(state: CounterState) {
    this.#state = state;
  }

  /**
   * The increase since the series' previous point, or undefined when there is none to give: the
   * first point (a baseline), a point not newer than the last one (a repeat), or not a number.
   */
  delta(key: string, point: CumulativePoint): number | undefined {
    const { ts, value } = point;
    if (!Number.isFinite(value)) return undefined;
    const previous = this.#pending.get(key) ?? this.#state.get(key);
    const startTs = point.startTs === 0 ? undefined : point.startTs;
    if (previous === undefined) {
      this.#pending.set(key, { ts, value, startTs, seen: 0 });
      return this.#state.startedAfterUs(startTs) ? value : undefined;
    }
    if (ts <= previous.ts) return undefined;
    this.#pending.set(key, { ts, value, startTs, seen: 0 });
    const restarted =
      value < previous.value ||
      (startTs !== undefined && previous.startTs !== undefined && startTs > previous.startTs);
    return restarted ? value : value - previous.value;
  }

  /** The request's points are on the bus: later requests continue from them. */
  commit(): void {
    this.#state.apply(this.#pending);
    this.#pending.clear();
  }
}
