// Inline SVG for the status page: an SLO's burn-rate sparkline and its budget bar, plain markup that prints.

import { escapeHtml as esc } from '../report/format.ts';

export interface ChartPoint {
  at: number;
  value: number;
}

export interface SparklineOptions {
  /** The time span drawn, whatever the points cover. */
  from: number;
  to: number;
  /** The accessible name; the value range is appended. */
  title: string;
  /** Dashed horizontal lines (a tier's factor, 1× for a sustainable burn) drawn when in range. */
  marks?: readonly number[];
  /** A gap longer than this between two points breaks the line (the alerter was not evaluating). */
  maxGapMs: number;
  /** @default 180 */
  width?: number;
  /** @default 40 */
  height?: number;
}

export const SPARK_COLORS = {
  line: '#1f5fa8',
  hot: '#c62828',
  mark: '#9e9e9e',
  frame: '#d0d0d0',
  text: '#616161',
} as const;

const PAD = 2;

/** One decimal is finer than a pixel and keeps the markup short. */
const r = (n: number) => Math.round(n * 10) / 10;

/** "14.4×", "0.25×", "312×". */
export function formatFactor(x: number): string {
  if (!Number.isFinite(x)) return '—';
  const digits = x === 0 ? 0 : x < 1 ? 2 : x < 100 ? 1 : 0;
  return `${x.toFixed(digits)}×`;
}

/** The SVG path of the points, broken where two points are further apart than maxGapMs. */
export function sparkPath(
  points: readonly ChartPoint[],
  x: (at: number) => number,
  y: (value: number) => number,
  maxGapMs: number,
): string {
  let d = '';
  let previous: ChartPoint | undefined;
  for (const p of points) {
    const move = previous === undefined || p.at - previous.at > maxGapMs;
    d += `${move ? 'M' : 'L'}${r(x(p.at))} ${r(y(p.value))}`;
    previous = p;
  }
  return d;
}

/**
 * A line of values over [from, to] from 0 at the bottom to max(1, the largest value) at the top,
 * with the marks in range drawn dashed; values above the highest mark drawn in red. Without
 * points: an empty frame that says "no data".
 */
export function sparklineSvg(points: readonly ChartPoint[], opts: SparklineOptions): string {
  const width = opts.width ?? 180;
  const height = opts.height ?? 40;
  const sorted = points
    .filter((p) => Number.isFinite(p.value) && p.at >= opts.from && p.at <= opts.to)
    .sort((a, b) => a.at - b.at);
  const frame = `<rect x="0.5" y="0.5" width="${width - 1}" height="${height - 1}" fill="none" stroke="${SPARK_COLORS.frame}"/>`;
  if (sorted.length === 0) {
    const title = `${opts.title}: no data`;
    return (
      `<svg class="spark" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-label="${esc(title)}"><title>${esc(title)}</title>${frame}` +
      `<text x="${width / 2}" y="${height / 2 + 4}" text-anchor="middle" font-size="11" fill="${SPARK_COLORS.text}">no data</text></svg>`
    );
  }
  const values = sorted.map((p) => p.value);
  const max = Math.max(1, ...values);
  const top = max * 1.08;
  const span = Math.max(1, opts.to - opts.from);
  const x = (at: number) => PAD + ((at - opts.from) / span) * (width - 2 * PAD);
  const y = (v: number) => height - PAD - (Math.max(0, v) / top) * (height - 2 * PAD);
  const marks = (opts.marks ?? []).filter((m) => m > 0 && m <= top);
  const hot = marks.length > 0 && Math.max(...values) >= Math.max(...marks);
  const lines = marks
    .map(
      (m) =>
        `<line x1="${PAD}" x2="${width - PAD}" y1="${r(y(m))}" y2="${r(y(m))}" stroke="${SPARK_COLORS.mark}" stroke-dasharray="3 2" stroke-width="1"/>`,
    )
    .join('');
  const path = sparkPath(sorted, x, y, opts.maxGapMs);
  // A lone point (or one after a gap) is a zero-length segment: round caps make it a dot.
  const stroke = hot ? SPARK_COLORS.hot : SPARK_COLORS.line;
  const title = `${opts.title}: from ${formatFactor(Math.min(...values))} to ${formatFactor(Math.max(...values))}, now ${formatFactor(sorted.at(-1)!.value)}`;
  return (
    `<svg class="spark" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-label="${esc(title)}"><title>${esc(title)}</title>${frame}${lines}` +
    `<path d="${path}" fill="none" stroke="${stroke}" stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round"/></svg>`
  );
}

export const BAR_COLORS = { ok: '#2e7d32', low: '#f9a825', out: '#c62828', track: '#e6e6e6' };

/** A horizontal bar of the budget left: green from 50%, amber from 25%, red below; empty when spent. */
export function budgetBarSvg(remaining: number, width = 80, height = 8): string {
  const share = Math.min(1, Math.max(0, Number.isFinite(remaining) ? remaining : 0));
  const color =
    remaining >= 0.5 ? BAR_COLORS.ok : remaining >= 0.25 ? BAR_COLORS.low : BAR_COLORS.out;
  return (
    `<svg class="bar" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-hidden="true">` +
    `<rect width="${width}" height="${height}" fill="${BAR_COLORS.track}"/>` +
    `<rect width="${r(share * width)}" height="${height}" fill="${color}"/></svg>`
  );
}
