// Splits a time range into the pieces each store table answers best: raw samples for the ragged
// edges, 1-minute rollups for whole minutes, 1-hour rollups for whole hours of long ranges.

export type Source = 'raw' | 'minute' | 'hour';

export interface Segment {
  source: Source;
  /** Milliseconds, from inclusive, to exclusive; rollup segments are aligned to their bucket. */
  from: number;
  to: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const ceilTo = (t: number, unit: number) => Math.ceil(t / unit) * unit;
const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;

export interface SegmentPolicy {
  /** Ranges at least this long read 1-minute rollups (default 1 h). */
  minuteFromMs: number;
  /** Ranges at least this long read 1-hour rollups too (default 1 d). */
  hourFromMs: number;
}

export const DEFAULT_POLICY: SegmentPolicy = { minuteFromMs: HOUR, hourFromMs: DAY };

/**
 * The segments of [from, to) for a window of `windowMs` (the window's length picks the sources,
 * so a window cut by exclusions keeps them). Rollup buckets are counted whole and only when they
 * lie inside the range; what is left at the edges comes from raw samples.
 */
export function segmentsOf(
  from: number,
  to: number,
  windowMs: number,
  policy: SegmentPolicy = DEFAULT_POLICY,
): Segment[] {
  if (to <= from) return [];
  if (windowMs < policy.minuteFromMs) return [{ source: 'raw', from, to }];
  const a = ceilTo(from, MINUTE);
  const b = floorTo(to, MINUTE);
  if (a >= b) return [{ source: 'raw', from, to }];
  const out: Segment[] = [];
  const push = (source: Source, f: number, t: number) => {
    if (t > f) out.push({ source, from: f, to: t });
  };
  push('raw', from, a);
  if (windowMs >= policy.hourFromMs) {
    const c = ceilTo(a, HOUR);
    const d = floorTo(b, HOUR);
    if (c < d) {
      push('minute', a, c);
      push('hour', c, d);
      push('minute', d, b);
    } else push('minute', a, b);
  } else push('minute', a, b);
  push('raw', b, to);
  return out;
}

/** [from, to) without the given intervals (sorted or not), as disjoint ranges in order. */
export function subtract(
  from: number,
  to: number,
  holes: ReadonlyArray<{ from: number; to: number }>,
): Array<{ from: number; to: number }> {
  let pieces = [{ from, to }];
  for (const hole of holes) {
    const next: Array<{ from: number; to: number }> = [];
    for (const p of pieces) {
      if (hole.to <= p.from || hole.from >= p.to) next.push(p);
      else {
        if (hole.from > p.from) next.push({ from: p.from, to: hole.from });
        if (hole.to < p.to) next.push({ from: hole.to, to: p.to });
      }
    }
    pieces = next;
  }
  return pieces.sort((x, y) => x.from - y.from);
}
