// Turns cumulative counters into per-interval deltas: a reset counts from zero, the first sight
// of a series publishes nothing, and series that vanish from a source are forgotten.

import type { RawSample } from './types.ts';

export function seriesKey(name: string, labels: Record<string, string>): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return name;
  keys.sort();
  let key = name;
  for (const k of keys) key += `\u0000${k}\u0001${labels[k]}`;
  return key;
}

/** One tracker per source: what it saw last, and only that. */
export class DeltaTracker {
  #last = new Map<string, number>();

  /**
   * Returns the samples to publish from one collection: gauges as they are, counters as the
   * increase since the last collection. Series the collection no longer has are forgotten, so
   * a counter that comes back starts over (publishes nothing the first time).
   */
  apply(samples: readonly RawSample[]): RawSample[] {
    const out: RawSample[] = [];
    const seen = new Map<string, number>();
    for (const sample of samples) {
      if (sample.type === 'gauge') {
        out.push(sample);
        continue;
      }
      // A counter that is not a finite number cannot make a delta; keep the last good value.
      if (!Number.isFinite(sample.value)) continue;
      const key = seriesKey(sample.name, sample.labels);
      const previous = this.#last.get(key);
      seen.set(key, sample.value);
      if (previous === undefined) continue;
      const delta = sample.value >= previous ? sample.value - previous : sample.value;
      out.push({ ...sample, value: delta });
    }
    for (const key of this.#last.keys()) {
      if (!seen.has(key)) this.#last.delete(key);
    }
    for (const [key, value] of seen) this.#last.set(key, value);
    return out;
  }

  get size(): number {
    return this.#last.size;
  }
}
