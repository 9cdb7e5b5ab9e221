// Parses and prints the duration ("1h30m", "7d") and byte-size ("512MiB", "1GB") strings of the config.

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const DURATION_RE = /^(?:(\d+)(ms|s|m|h|d|w|y))+$/;
const DURATION_PART_RE = /(\d+)(ms|s|m|h|d|w|y)/g;

/**
 * Parses a Prometheus-style duration ("30s", "1h30m", "7d") into milliseconds. Units from
 * largest to smallest, each at most once, as Prometheus requires. Returns undefined when the
 * string is not a duration.
 */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!DURATION_RE.test(text)) return undefined;
  const order = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  let last = -1;
  let total = 0;
  for (const match of text.matchAll(DURATION_PART_RE)) {
    const [, amount, unit] = match;
    const rank = order.indexOf(unit!);
    if (rank <= last) return undefined;
    last = rank;
    total += Number(amount) * DURATION_UNITS[unit!]!;
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** Prints milliseconds as the shortest Prometheus-style duration ("90000" → "1m30s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const order: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let rest = ms;
  let out = '';
  for (const [unit, size] of order) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
  TIB: 2 ** 40,
};

/** Parses a byte size ("512MiB", "1GB", "1048576") into bytes; undefined when it is not one. */
export function parseByteSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?$/i.exec(text.trim());
  if (!match) return undefined;
  const factor = SIZE_UNITS[(match[2] ?? 'B').toUpperCase()];
  if (factor === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
