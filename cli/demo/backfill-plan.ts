// The backfill's plan: its options and errors, the demo's past incidents, the traffic shape and
// the day-long chunks of minutes every generator walks.

import type { Slo } from '../../alerter/slo/model.ts';
import { HaloError } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { type Store } from '../../core/store/store.ts';
import { param } from '../../core/store/sql.ts';
import { createRandom } from './random.ts';
import { FAULT_RATE } from './shop.ts';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** Share of requests that fail outside incidents: the shop's own fault rate. */
export const BASELINE_ERROR_SHARE = FAULT_RATE;
/** Nights run at this share of the mid-day peak (13:30 UTC); weekends at WEEKEND of weekdays. */
const NIGHT = 0.18;
const PEAK_HOUR = 13.5;
const WEEKEND = 0.7;
const DAY_DRIFT = 0.08;
/** Series per insert: bounds each insert's memory and, on a server, its URL. */
export const SERIES_PER_INSERT = 1000;
/** Replayed SLO evaluations (and transitions) are written in batches of about this many. */
export const WRITE_BATCH = 500;
export const DEFAULT_LOGS_RETENTION_MS = 14 * DAY;
/** How far behind the live samples the store may be. */
export const INGEST_LAG_MS = 5_000;
/** Scrape interval assumed for a source with too few live samples to tell. */
export const DEFAULT_INTERVAL_MS = 10_000;

export class BackfillError extends HaloError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKFILL', message, options);
  }
}

export interface BackfillIncident {
  from: number;
  to: number;
  /** Share of requests failing while it lasts (0.08 = 8 %). */
  errorShare: number;
}

export interface BackfillOptions {
  store: Store;
  slos: readonly Slo[];
  /** The demo members whose series to extend back. */
  hosts: readonly string[];
  /** Milliseconds; `to` is the first live sample's time (nothing is written at or after it). */
  from: number;
  to: number;
  logger: Logger;
  /** @default 1 */
  seed?: number;
  onProgress?: (done: number, total: number, what: string) => void;
  /** Stops the backfill between steps; samples are attached only once all are made. */
  signal?: AbortSignal;
  /** @default demoIncidents(from, to) */
  incidents?: readonly BackfillIncident[];
  /** Live data read for the series' rates: [to, to + liveMs), waited for if need be. @default 60 s */
  liveMs?: number;
}

export interface BackfillResult {
  series: number;
  samples: number;
  logLines: number;
  /** SLO evaluations written: one per SLO instance and replay step. */
  evaluations: number;
  transitions: number;
  incidents: BackfillIncident[];
  seconds: number;
  /** Seconds of each phase. */
  phases: { samples: number; logs: number; replay: number };
}

/** The demo's incidents, by days back from `to`'s day (UTC): a page, a blip under every tier, a ticket. */
const DEMO_INCIDENTS = [
  { daysBack: 23, atMs: 14 * HOUR + 10 * MINUTE, minutes: 30, errorShare: 0.08 },
  { daysBack: 12, atMs: 2 * HOUR + 40 * MINUTE, minutes: 20, errorShare: 0.03 },
  // 1.2 % stays under the page tier's 14.4× of a 99.9 % SLO; over 100 minutes the 6 h window passes 3×.
  { daysBack: 4, atMs: 9 * HOUR + 5 * MINUTE, minutes: 100, errorShare: 0.012 },
] as const;

/** The demo's incidents that lie inside [from, to). */
export function demoIncidents(from: number, to: number): BackfillIncident[] {
  const day = Math.floor(to / DAY) * DAY;
  return DEMO_INCIDENTS.map((i) => {
    const start = day - i.daysBack * DAY + i.atMs;
    return { from: start, to: start + i.minutes * MINUTE, errorShare: i.errorShare };
  }).filter((i) => i.from >= from && i.to <= to);
}

function dayLevel(day: number, seed: number): number {
  const weekday = new Date(day * DAY).getUTCDay();
  const weekend = weekday === 0 || weekday === 6 ? WEEKEND : 1;
  return weekend * (1 + DAY_DRIFT * (createRandom(seed * 7919 + day).next() - 0.5));
}

/**
 * Relative traffic at `t`: a day curve (quiet nights, the peak mid-day UTC) times a level per day
 * (weekends lower, a little drift), the levels blended from noon to noon so midnight has no step.
 */
export function trafficShape(t: number, seed = 1): number {
  const hour = (((t % DAY) + DAY) % DAY) / HOUR;
  const curve = ((1 - Math.cos((2 * Math.PI * (hour - PEAK_HOUR + 12)) / 24)) / 2) ** 1.6;
  const x = t / DAY - 0.5;
  const d = Math.floor(x);
  const f = x - d;
  const level = dayLevel(d, seed) * (1 - f) + dayLevel(d + 1, seed) * f;
  return (NIGHT + (1 - NIGHT) * curve) * level;
}

/** One run of whole minutes [start, start + minutes·1 min) and what each minute carries. */
export interface Chunk {
  start: number;
  minutes: number;
  /** Traffic relative to the live traffic at `to`, per minute (before each host's jitter). */
  traffic: number[];
  /** Share of failing requests, per minute. */
  share: number[];
}

/** The minutes of [from, to) by UTC day: one chunk per day, so one partition per insert. */
export function chunks(from: number, to: number, o: Plan): Chunk[] {
  const out: Chunk[] = [];
  const scale = trafficShape(o.to, o.seed);
  for (let start = Math.ceil(from / MINUTE) * MINUTE; start < to;) {
    const end = Math.min(to, (Math.floor(start / DAY) + 1) * DAY);
    const minutes = Math.ceil((end - start) / MINUTE);
    const random = createRandom(o.seed * 131 + Math.floor(start / DAY));
    const traffic: number[] = [];
    const share: number[] = [];
    for (let m = 0; m < minutes; m++) {
      const t = start + m * MINUTE;
      traffic.push(trafficShape(t, o.seed) / scale);
      const incident = o.incidents.find((i) => t >= i.from && t < i.to);
      share.push(
        incident ? incident.errorShare : BASELINE_ERROR_SHARE * (0.4 + 1.2 * random.next()),
      );
    }
    out.push({ start, minutes, traffic, share });
    start += minutes * MINUTE;
  }
  return out;
}

export interface Plan {
  from: number;
  to: number;
  seed: number;
  incidents: BackfillIncident[];
}

/** Bound array parameters of the generators. */
export const strings = (values: readonly string[]) => param([...values], 'Array(String)');
export const floats = (values: readonly number[]) => param([...values], 'Array(Float64)');
export const bytes = (values: readonly number[]) => param([...values], 'Array(UInt8)');
