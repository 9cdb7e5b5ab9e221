// The error-budget burn-down of one SLO as an inline SVG chart: plain markup, no script, no
// external resource, so that it renders the same in a browser, a mail client and a PDF.

import { zonedDate, zonedDayStart } from '../../core/zoned-time.ts';
import { escapeHtml, formatDateTime, formatDay, formatPercent } from './format.ts';
import type { BudgetPoint, ReportPeriod } from './model.ts';

export const CHART_COLORS = {
  /** The budget-remaining line, and its area fill at AREA_OPACITY. */
  line: '#1f77b4',
  /** The 0% line: below it the budget is overspent. */
  zero: '#c62828',
  /** Spending the budget evenly over the period: from 100% at its start to 0% at its end. */
  pace: '#9e9e9e',
  grid: '#e6e6e6',
  frame: '#bdbdbd',
  text: '#424242',
} as const;

export const LINE_WIDTH = 2.5;
export const AREA_OPACITY = 0.15;

export interface BurnDownOptions {
  /** @default 640 */
  width?: number;
  /** @default 240 */
  height?: number;
  /** The chart's accessible name, before its numbers. @default 'Error budget remaining' */
  title?: string;
  /** Adds the SVG namespace, for a file of its own; inline in HTML it is not needed. */
  standalone?: boolean;
}

const DAY = 86_400_000;
const MARGIN = { top: 12, right: 46, bottom: 44, left: 46 };

/** 1 decimal is finer than a printed pixel and keeps the markup short. */
const r = (n: number) => Math.round(n * 10) / 10;

/** The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `x`. */
function niceStep(x: number): number {
  const base = 10 ** Math.floor(Math.log10(x));
  for (const f of [1, 2, 2.5, 5]) if (f * base >= x - 1e-12) return f * base;
  return 10 * base;
}

/** Local midnights in [from, to]: every day, every 7th, or the 1st of each month by length. */
function dateTicks(period: ReportPeriod): Array<{ at: number; label: string }> {
  const { from, to, timeZone } = period;
  const days: number[] = [];
  const first = zonedDate(timeZone, from);
  for (let d = first.day; ; d++) {
    const at = zonedDayStart(timeZone, first.year, first.month, d);
    if (at > to) break;
    if (at >= from) days.push(at);
  }
  const span = (to - from) / DAY;
  const chosen =
    span <= 10
      ? days
      : span <= 45
        ? days.filter((_, i) => i % 7 === 0)
        : days.filter((at) => zonedDate(timeZone, at).day === 1);
  if (chosen.length >= 2) return chosen.map((at) => ({ at, label: formatDay(at, timeZone) }));
  // Shorter than two days: the period's ends, with their times.
  return [from, to].map((at) => ({ at, label: formatDateTime(at, timeZone) }));
}

/**
 * Budget remaining across the period: y in percent of the period's budget with 100% at the top
 * and the 0% line drawn (the line goes below it when overspent), x from period.from to
 * period.to with date ticks in the period's time zone. Fewer than 2 points: an empty frame
 * that says "no data".
 */
export function burnDownSvg(
  points: BudgetPoint[],
  period: ReportPeriod,
  opts: BurnDownOptions = {},
): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 240;
  const name = opts.title ?? 'Error budget remaining';
  const left = MARGIN.left;
  const right = width - MARGIN.right;
  const top = MARGIN.top;
  const bottom = height - MARGIN.bottom;
  const span = Math.max(1, period.to - period.from);
  const x = (at: number) =>
    r(
      left +
        ((Math.min(Math.max(at, period.from), period.to) - period.from) / span) * (right - left),
    );

  const sorted = [...points].sort((a, b) => a.at - b.at);
  const hasData = sorted.length >= 2;
  const lowest = Math.min(0, ...sorted.map((p) => p.remaining));
  const step = niceStep((1 - lowest) / 4);
  const yMin = Math.floor(lowest / step + 1e-9) * step;
  const y = (remaining: number) =>
    r(top + ((1 - Math.min(remaining, 1)) / (1 - yMin)) * (bottom - top));

  const out: string[] = [];
  const ns = opts.standalone ? ' xmlns="http://www.w3.org/2000/svg"' : '';
  const first = sorted[0];
  const last = sorted.at(-1);
  const summary =
    hasData && first && last
      ? `${formatPercent(first.remaining * 100, 0)} at ${formatDateTime(first.at, period.timeZone)}, ${formatPercent(last.remaining * 100, 0)} at ${formatDateTime(last.at, period.timeZone)}`
      : 'no data';
  out.push(
    `<svg${ns} class="burn-down" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif" font-size="11" fill="${CHART_COLORS.text}">`,
    `<title>${escapeHtml(`${name}, ${period.title}: ${summary}`)}</title>`,
    `<rect class="plot" x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="#ffffff" stroke="${CHART_COLORS.frame}"/>`,
  );

  for (const tick of dateTicks(period)) {
    const tx = x(tick.at);
    out.push(
      `<line x1="${tx}" y1="${bottom}" x2="${tx}" y2="${bottom + 4}" stroke="${CHART_COLORS.frame}"/>`,
      `<text x="${tx}" y="${bottom + 16}" text-anchor="middle">${escapeHtml(tick.label)}</text>`,
    );
  }

  if (!hasData) {
    out.push(
      `<text class="no-data" x="${r((left + right) / 2)}" y="${r((top + bottom) / 2)}" text-anchor="middle" dominant-baseline="middle" font-size="14" fill="#757575">no data</text>`,
      '</svg>',
    );
    return out.join('\n');
  }

  const yTicks: number[] = [];
  for (let k = Math.round(yMin / step); k * step <= 1 + 1e-9; k++) yTicks.push(k * step);
  if (Math.abs(yTicks.at(-1)! - 1) > 1e-9) {
    // The top is always labelled 100%; a tick too close under it would collide.
    if (1 - yTicks.at(-1)! < step / 2) yTicks.pop();
    yTicks.push(1);
  }
  for (const v of yTicks) {
    const ty = y(v);
    if (Math.abs(v) > 1e-9 && Math.abs(v - 1) > 1e-9)
      out.push(
        `<line x1="${left}" y1="${ty}" x2="${right}" y2="${ty}" stroke="${CHART_COLORS.grid}"/>`,
      );
    out.push(
      `<text x="${left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${formatPercent(v * 100, 0)}</text>`,
    );
  }

  const zeroY = y(0);
  const coords = sorted.map((p) => `${x(p.at)},${y(p.remaining)}`);
  const x0 = x(sorted[0]!.at);
  const xn = x(sorted.at(-1)!.at);
  out.push(
    `<path class="area" d="M${x0},${zeroY} L${coords.join(' L')} L${xn},${zeroY} Z" fill="${CHART_COLORS.line}" fill-opacity="${AREA_OPACITY}" stroke="none"/>`,
    `<line class="pace" x1="${left}" y1="${y(1)}" x2="${right}" y2="${zeroY}" stroke="${CHART_COLORS.pace}" stroke-width="1.5" stroke-dasharray="5 4"/>`,
    `<line class="zero" x1="${left}" y1="${zeroY}" x2="${right}" y2="${zeroY}" stroke="${CHART_COLORS.zero}" stroke-width="1.5"/>`,
    `<path class="line" d="M${coords.join(' L')}" fill="none" stroke="${CHART_COLORS.line}" stroke-width="${LINE_WIDTH}" stroke-linejoin="round" stroke-linecap="round"/>`,
    `<text class="last" x="${r(xn + 5)}" y="${y(sorted.at(-1)!.remaining)}" dominant-baseline="middle" font-weight="600" fill="${CHART_COLORS.line}">${formatPercent(sorted.at(-1)!.remaining * 100, 0)}</text>`,
  );

  // Legend under the date labels: what the three lines mean, for readers who never saw the chart.
  const ly = height - 10;
  out.push(
    `<line x1="${left}" y1="${ly}" x2="${left + 18}" y2="${ly}" stroke="${CHART_COLORS.line}" stroke-width="${LINE_WIDTH}"/>`,
    `<text x="${left + 23}" y="${ly}" dominant-baseline="middle">budget left</text>`,
    `<line x1="${left + 110}" y1="${ly}" x2="${left + 128}" y2="${ly}" stroke="${CHART_COLORS.pace}" stroke-width="1.5" stroke-dasharray="5 4"/>`,
    `<text x="${left + 133}" y="${ly}" dominant-baseline="middle">spent evenly</text>`,
    `<line x1="${left + 225}" y1="${ly}" x2="${left + 243}" y2="${ly}" stroke="${CHART_COLORS.zero}" stroke-width="1.5"/>`,
    `<text x="${left + 248}" y="${ly}" dominant-baseline="middle">budget exhausted</text>`,
    '</svg>',
  );
  return out.join('\n');
}
