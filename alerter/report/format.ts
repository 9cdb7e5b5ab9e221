// How the SLO report writes its numbers, durations, dates and statuses: shared by every format.

import type { BudgetPoint, ReportPeriod, SloStatus } from './model.ts';

/** What a cell shows for a value that does not exist (no events, no previous period). */
export const NO_VALUE = '—';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Badge colours per status; the text colour keeps a contrast of at least 4.5:1. */
export const STATUS_COLORS: Readonly<Record<SloStatus, { background: string; color: string }>> = {
  met: { background: '#2e7d32', color: '#ffffff' },
  'at risk': { background: '#f9a825', color: '#1a1a1a' },
  breached: { background: '#c62828', color: '#ffffff' },
  'no data': { background: '#757575', color: '#ffffff' },
};

const STATUS_LABELS: Readonly<Record<SloStatus, string>> = {
  met: 'Met',
  'at risk': 'At risk',
  breached: 'Breached',
  'no data': 'No data',
};

export const statusLabel = (status: SloStatus): string => STATUS_LABELS[status];

/** Text for HTML (and SVG) content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** "checkout-availability", or "payments-availability (eu-central)" for one instance of it. */
export function sloLabel(s: { slo: string; instance: string }): string {
  return s.instance ? `${s.slo} (${s.instance})` : s.slo;
}

const numberFormats = new Map<string, Intl.NumberFormat>();

/** en-US grouping; "negative" keeps a value rounded to zero from printing as "-0". */
function fixed(value: number, minDigits: number, maxDigits = minDigits): string {
  const key = `${minDigits}/${maxDigits}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat('en-US', {
      minimumFractionDigits: minDigits,
      maximumFractionDigits: maxDigits,
      signDisplay: 'negative',
    });
    numberFormats.set(key, format);
  }
  return format.format(value);
}

/** A value already in percent: 62.4 → "62.4%", -38 → "-38.0%". */
export function formatPercent(percent: number, digits = 1): string {
  return `${fixed(percent, digits)}%`;
}

/** An objective as written: 99.9 → "99.9%", 99.95 → "99.95%". */
export function formatObjective(percent: number): string {
  return `${fixed(percent, 0, 4)}%`;
}

/**
 * An attained SLI in percent, precise enough to compare with its objective: 3 decimals from 99%
 * (99.960%), 2 from 90%, else 1. Truncated, not rounded, so that 99.8996 against 99.9 reads
 * 99.899% and never looks met; the epsilon absorbs binary noise (99.96 × 1000 = 99959.999…).
 */
export function formatAttainment(percent: number | null): string {
  if (percent === null) return NO_VALUE;
  if (percent === 100) return '100%';
  const digits = percent >= 99 ? 3 : percent >= 90 ? 2 : 1;
  const scale = 10 ** digits;
  return `${fixed(Math.floor(percent * scale + 1e-6) / scale, digits)}%`;
}

/** A share (0.09 is 9%): "9.0%", below 1% with 2 decimals ("0.42%"); null → "—". */
export function formatShare(fraction: number | null): string {
  if (fraction === null) return NO_VALUE;
  const percent = fraction * 100;
  return formatPercent(percent, Math.abs(percent) < 1 && percent !== 0 ? 2 : 1);
}

/** A change in percentage points: "▲ +0.019 pp", "▼ -0.180 pp", "0.000 pp"; null → "—". */
export function formatChange(points: number | null): string {
  if (points === null) return NO_VALUE;
  const text = fixed(Math.abs(points), 3);
  if (Number(text) === 0) return `${text} pp`;
  return points > 0 ? `▲ +${text} pp` : `▼ -${text} pp`;
}

/** Event counts: "12,450,000"; budgets can be fractional, so one decimal below 100 ("12.5"). */
export function formatCount(n: number): string {
  return Math.abs(n) < 100 ? fixed(n, 0, 1) : fixed(n, 0);
}

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', DAY],
  ['h', HOUR],
  ['m', MINUTE],
  ['s', SECOND],
];

/** The two largest units, truncated: "45s", "2h 15m", "3d 4h", "3d" (3d 0h 5m). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < SECOND) return '<1s';
  const i = UNITS.findIndex(([, size]) => ms >= size);
  const [unit, size] = UNITS[i]!;
  const n = Math.floor(ms / size);
  const next = UNITS[i + 1];
  const rest = next ? Math.floor((ms - n * size) / next[1]) : 0;
  return rest > 0 && next ? `${n}${unit} ${rest}${next[0]}` : `${n}${unit}`;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

function dateFormat(key: string, timeZone: string, options: Intl.DateTimeFormatOptions) {
  const id = `${key} ${timeZone}`;
  let format = dateFormats.get(id);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone, ...options });
    dateFormats.set(id, format);
  }
  return format;
}

function parts(at: number, timeZone: string): Record<string, string> {
  const format = dateFormat('full', timeZone, {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  return Object.fromEntries(format.formatToParts(new Date(at)).map((p) => [p.type, p.value]));
}

/** "2026-10-03 14:05" in the time zone (its name is printed once, in the report's header). */
export function formatDateTime(at: number, timeZone: string): string {
  const p = parts(at, timeZone);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/** "2026-10-03" in the time zone. */
export function formatDate(at: number, timeZone: string): string {
  const p = parts(at, timeZone);
  return `${p.year}-${p.month}-${p.day}`;
}

/** "3 Oct" in the time zone: a chart's axis label. */
export function formatDay(at: number, timeZone: string): string {
  return dateFormat('day', timeZone, { day: 'numeric', month: 'short' }).format(new Date(at));
}

/** "2026-10-01 00:00 – 2026-11-01 00:00" in the period's time zone. */
export function formatRange(from: number, to: number, timeZone: string): string {
  return `${formatDateTime(from, timeZone)} – ${formatDateTime(to, timeZone)}`;
}

/** The point nearest to `at` (the earlier one on a tie). */
function nearest(points: readonly BudgetPoint[], at: number): BudgetPoint | undefined {
  let best: BudgetPoint | undefined;
  for (const p of points) {
    if (!best || Math.abs(p.at - at) < Math.abs(best.at - at)) best = p;
  }
  return best;
}

/**
 * The burn-down as one line of text, sampled daily, weekly or monthly by the period's length:
 * "budget left: 100% → 93% → 77% → 60% (weekly)". For Markdown and as the chart's caption.
 */
export function burnDownText(points: readonly BudgetPoint[], period: ReportPeriod): string {
  if (points.length < 2) return 'budget left: no data';
  const sorted = [...points].sort((a, b) => a.at - b.at);
  const span = period.to - period.from;
  const [step, name] =
    span <= 14 * DAY
      ? [DAY, 'daily']
      : span <= 120 * DAY
        ? [7 * DAY, 'weekly']
        : [30 * DAY, 'monthly'];
  const picked: BudgetPoint[] = [];
  for (let at = period.from; at < period.to - step / 4; at += step) {
    const p = nearest(sorted, at);
    if (p && p !== picked.at(-1)) picked.push(p);
  }
  const last = sorted.at(-1)!;
  if (last !== picked.at(-1)) picked.push(last);
  const values = picked.map((p) => `${fixed(Math.round(p.remaining * 100), 0)}%`);
  return `budget left: ${values.join(' → ')} (${name})`;
}
