// A seeded pseudo-random source for the demo stack: one seed, the same traffic, so tests are exact.

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** A value drawn by weight. */
  weighted<T>(items: ReadonlyArray<{ value: T; weight: number }>): T;
  /** A right-skewed positive value (log-normal) with the given median and 99th percentile. */
  skewed(median: number, p99: number): number;
  /** `bytes` random bytes as lowercase hex (trace ids). */
  hex(bytes: number): string;
}

/** The z-score of the 99th percentile of the standard normal distribution. */
const Z99 = 2.3263;

/** mulberry32: tiny, fast and good enough for simulated traffic (not for anything secret). */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    // Box–Muller; 1 - next() keeps the logarithm's argument above zero.
    const u = 1 - next();
    const v = next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const random: Random = {
    next,
    chance: (p) => next() < p,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)] as T;
    },
    weighted: <T>(items: ReadonlyArray<{ value: T; weight: number }>): T => {
      const total = items.reduce((sum, item) => sum + item.weight, 0);
      let left = next() * total;
      for (const item of items) {
        left -= item.weight;
        if (left < 0) return item.value;
      }
      const last = items[items.length - 1];
      if (!last) throw new Error('weighted pick from an empty list');
      return last.value;
    },
    skewed: (median, p99) => median * Math.exp((Math.log(p99 / median) / Z99) * normal()),
    hex: (bytes) => {
      let out = '';
      for (let i = 0; i < bytes; i++)
        out += Math.floor(next() * 256)
          .toString(16)
          .padStart(2, '0');
      return out;
    },
  };
  return random;
}
