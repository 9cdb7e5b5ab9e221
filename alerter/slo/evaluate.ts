// Evaluates SLOs at a moment: per SLO instance, the error ratio and burn rate over every tier's
// long and short window and the budget left in the SLO period; which tiers burn fast enough to
// alert; and the rows of the SLO evaluation table.

import { TABLES } from '../../core/conventions.ts';
import { join, sql } from '../../core/store/sql.ts';
import { storeError, type Store } from '../../core/store/store.ts';
import { formatDuration } from '../../core/units.ts';
import { DEFAULT_POLICY, type SegmentPolicy } from '../query/segments.ts';
import { zonedDate, zonedDayStart } from '../../core/zoned-time.ts';
import { burnRate, errorBudget } from './burn.ts';
import { isExcluded } from './exclusions.ts';
import type { Slo } from './model.ts';
import { countsEvents, measureEvents, type SeriesSink } from './events.ts';
import { sliQuery, type MeasureWindow, type SliCounts } from './sli-query.ts';
import { periodMs, tiersForSlo, type BurnRateTier } from './windows.ts';

export interface WindowMeasure {
  /** "1h", "5m"…, or "period" for the SLO window. */
  name: string;
  ms: number;
  good: number;
  total: number;
  errorRatio: number;
  burnRate: number;
}

export interface TierState {
  tier: BurnRateTier;
  long: WindowMeasure;
  short: WindowMeasure;
  /** Both windows burn at or above the tier's factor, with enough events, outside exclusions. */
  active: boolean;
  /** Why it is not active although both windows burn: 'excluded' or 'low traffic'. */
  held?: 'excluded' | 'low traffic';
}

export interface SloEvaluation {
  slo: Slo;
  instance: string;
  at: number;
  windows: WindowMeasure[];
  period: WindowMeasure;
  /** Share of the period's budget left (1 = untouched, below 0 = overspent). */
  budgetRemaining: number;
  tiers: TierState[];
  excluded: boolean;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Start of the SLO window that holds `at`: rolling back its length, or the calendar period. */
export function periodStart(slo: Slo, at: number): number {
  const { window } = slo;
  if (window.kind === 'rolling') return at - window.periodMs;
  const { year, month } = zonedDate(window.timeZone, at);
  const first = window.unit === 'month' ? month : month - ((month - 1) % 3);
  return zonedDayStart(window.timeZone, year, first);
}

interface Plan {
  slo: Slo;
  tiers: BurnRateTier[];
  /** Distinct tier windows, then the period last. */
  windows: Array<{ name: string; ms: number; measure: MeasureWindow }>;
}

/**
 * Where a window of `ms` ending at `at` starts. Windows of an hour or more start on the minute
 * after at − ms, and of a day or more on the hour after it (at most a minute or an hour short of
 * their nominal length, never longer): their old edge then falls on rollup buckets, and every
 * series is read in one piece instead of one more piece per window.
 */
export function windowStart(at: number, ms: number): number {
  const unit = ms >= DAY ? HOUR : ms >= HOUR ? MINUTE : 0;
  return unit === 0 ? at - ms : Math.ceil((at - ms) / unit) * unit;
}

function plan(slo: Slo, at: number): Plan {
  const tiers = tiersForSlo(slo, new Date(at));
  const lengths = [...new Set(tiers.flatMap((t) => [t.shortWindowMs, t.longWindowMs]))].sort(
    (a, b) => a - b,
  );
  const windows = lengths.map((ms) => {
    const from = windowStart(at, ms);
    return { name: formatDuration(ms), ms: at - from, measure: { from, to: at, lengthMs: ms } };
  });
  // A calendar period starts where it starts (a half-hour zone's midnight is not on the hour).
  const start =
    slo.window.kind === 'calendar'
      ? periodStart(slo, at)
      : windowStart(at, at - periodStart(slo, at));
  const length = periodMs(slo.window, new Date(at));
  windows.push({
    name: 'period',
    ms: at - start,
    measure: { from: start, to: at, lengthMs: length },
  });
  return { slo, tiers, windows };
}

function measure(
  name: string,
  ms: number,
  good: number,
  total: number,
  budget: number,
): WindowMeasure {
  const errorRatio = total > 0 ? Math.max(0, total - good) / total : 0;
  return { name, ms, good, total, errorRatio, burnRate: burnRate(errorRatio, budget) };
}

function evaluation(
  p: Plan,
  instance: string,
  at: number,
  good: number[],
  total: number[],
): SloEvaluation {
  const { slo } = p;
  const budget = errorBudget(slo.objective);
  const windows = p.windows.map((w, i) =>
    measure(w.name, w.ms, good[i] ?? 0, total[i] ?? 0, budget),
  );
  const period = windows[windows.length - 1]!;
  const byMs = new Map(p.windows.slice(0, -1).map((w, i) => [w.measure.lengthMs, windows[i]!]));
  const excluded = isExcluded(slo.exclusions, at);
  const tiers = p.tiers.map((tier): TierState => {
    const long = byMs.get(tier.longWindowMs)!;
    const short = byMs.get(tier.shortWindowMs)!;
    const burning = long.burnRate >= tier.factor && short.burnRate >= tier.factor;
    // Too few events in either window to trust its ratio (a handful of failures is not a trend).
    const lowTraffic =
      slo.minEvents !== undefined && (long.total < slo.minEvents || short.total < slo.minEvents);
    const held = !burning
      ? undefined
      : excluded
        ? 'excluded'
        : lowTraffic
          ? 'low traffic'
          : undefined;
    return { tier, long, short, active: burning && held === undefined, ...(held ? { held } : {}) };
  });
  return {
    slo,
    instance,
    at,
    windows,
    period,
    budgetRemaining: 1 - period.errorRatio / budget,
    tiers,
    excluded,
  };
}

/** SLOs of other SLI kinds (probes, logs) measured together in one query. */
const CHUNK = 5;

/** An SLO and the windows to measure it over. */
export interface MeasureItem {
  slo: Slo;
  windows: readonly MeasureWindow[];
}

/**
 * Good and total per instance and window of each item (same order). Event-count SLOs (ratio,
 * latency) are measured together, one query per distinct set of windows; the others a few per
 * query, read as `policy` says. An SLO without data has no instance. `onSeries` sees each series of the event-count
 * SLOs with its sums (see measureEvents).
 */
export async function measureMany(
  store: Store,
  items: readonly MeasureItem[],
  onSeries?: SeriesSink,
  policy: SegmentPolicy = DEFAULT_POLICY,
): Promise<Array<Map<string, SliCounts>>> {
  const out = items.map(() => new Map<string, SliCounts>());
  const events = items.map((item, k) => ({ item, k })).filter((e) => countsEvents(e.item.slo));
  const others = items.map((item, k) => ({ item, k })).filter((e) => !countsEvents(e.item.slo));
  if (events.length > 0) {
    let measured: Array<Map<string, SliCounts>>;
    try {
      measured = await measureEvents(
        store,
        events.map((e) => e.item),
        policy,
        onSeries && ((i, series) => onSeries(events[i]!.k, series)),
      );
    } catch (err) {
      throw storeError(`measure ${events.length} SLOs`, err);
    }
    events.forEach((e, i) => (out[e.k] = measured[i]!));
  }
  for (let i = 0; i < others.length; i += CHUNK) {
    const chunk = others.slice(i, i + CHUNK);
    const built = chunk.map((e) => ({
      k: e.k,
      q: sliQuery(store, e.item.slo, e.item.windows, policy),
    }));
    const branches = built
      .filter((b) => b.q !== undefined)
      .map((b) => sql`SELECT ${b.k} AS k, instance, part, total FROM (${b.q!.query})`);
    if (branches.length === 0) continue;
    let rows: Array<{ k: number; instance: string; part: number[]; total: number[] }>;
    try {
      rows = await store.query(join(branches, ' UNION ALL '));
    } catch (err) {
      throw storeError(
        `measure ${chunk.length} SLOs (${chunk.map((e) => e.item.slo.name).join(', ')})`,
        err,
      );
    }
    for (const row of rows) {
      const k = Number(row.k);
      const b = built.find((x) => x.k === k)!;
      const total = row.total.map(Number);
      const part = row.part.map(Number);
      const good = b.q!.partIsGood ? part : part.map((bad, j) => (total[j] ?? 0) - bad);
      out[k]!.set(row.instance, { good, total });
    }
  }
  return out;
}

/**
 * Evaluates every SLO at `at` (ms), each over its tiers' windows and its period. An SLO without
 * data yet has no instance and no evaluation.
 */
export async function evaluateSlos(
  store: Store,
  slos: readonly Slo[],
  at: number,
): Promise<SloEvaluation[]> {
  const plans = slos.map((slo) => plan(slo, at));
  // Store errors name the SLOs measured (measureMany).
  const measured = await measureMany(
    store,
    plans.map((p) => ({ slo: p.slo, windows: p.windows.map((w) => w.measure) })),
  );
  const out: SloEvaluation[] = [];
  plans.forEach((p, k) => {
    for (const [instance, counts] of measured[k]!)
      out.push(evaluation(p, instance, at, counts.good, counts.total));
  });
  return out;
}

/** Writes one row per SLO instance and window to the SLO evaluation table. */
export async function writeEvaluations(
  store: Store,
  evaluations: readonly SloEvaluation[],
): Promise<void> {
  const values = evaluations.flatMap((e) =>
    e.windows.map((w) => ({
      ts: e.at,
      slo: e.slo.name,
      service: e.slo.service,
      instance: e.instance,
      objective: e.slo.objective,
      window: w.name,
      window_seconds: Math.round(w.ms / 1000),
      good: w.good,
      total: w.total,
      error_ratio: w.errorRatio,
      burn_rate: w.burnRate,
      budget_remaining: e.budgetRemaining,
    })),
  );
  if (values.length === 0) return;
  try {
    await store.client.insert({
      table: `${store.database}.${TABLES.sloEvaluations}`,
      values,
      format: 'JSONEachRow',
    });
  } catch (err) {
    throw storeError(`write ${values.length} SLO evaluations`, err);
  }
}
