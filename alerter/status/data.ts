// What the status page reads from the store: the SLOs' burn-rate history and the redundancy groups' health.

import { errorMessage } from '../../core/errors.ts';
import { ident, param, sql } from '../../core/store/sql.ts';
import { storeError, type Store } from '../../core/store/store.ts';
import { formatDuration } from '../../core/units.ts';
import type { AlertRule, RedundancyCondition } from '../rules/model.ts';
import { redundancyGroups, type RedundancyGroup } from '../rules/redundancy.ts';
import type { Slo } from '../slo/model.ts';
import { tiersForSlo } from '../slo/windows.ts';
import type { ChartPoint } from './svg.ts';

/** The window whose burn rate a chart shows: the long window of the SLO's first (fastest) tier. */
export interface ChartedWindow {
  /** As the evaluation table names it ("1h"). */
  window: string;
  /** The factor of that tier: its alert threshold. */
  factor: number;
}

/** The charted window of an SLO at `at` (windows scale with a calendar period's length). */
export function chartedWindow(slo: Slo, at: number): ChartedWindow | undefined {
  const [first] = tiersForSlo(slo, new Date(at));
  return first && { window: formatDuration(first.longWindowMs), factor: first.factor };
}

/** The key of an SLO instance in a BurnHistory. */
export const instanceKey = (slo: string, instance: string): string => `${slo}\u0000${instance}`;

/** Burn-rate points per SLO instance (instanceKey), one per bucket: the worst of the bucket. */
export type BurnHistory = Map<string, ChartPoint[]>;

interface BurnRow {
  slo: string;
  instance: string;
  window: string;
  at: string | number;
  burn: number;
}

/**
 * The burn rate of each SLO instance over its charted window, in [from, to], the highest per
 * bucket of `bucketMs`. One query; names and windows are bound parameters.
 */
export async function readBurnHistory(
  store: Store,
  charted: ReadonlyMap<string, ChartedWindow>,
  from: number,
  to: number,
  bucketMs: number,
): Promise<BurnHistory> {
  const history: BurnHistory = new Map();
  if (charted.size === 0) return history;
  const names = [...charted.keys()];
  const windows = [...new Set([...charted.values()].map((c) => c.window))];
  const step = param(bucketMs, 'Int64');
  const query = sql`SELECT slo, instance, window,
      intDiv(toUnixTimestamp64Milli(ts), ${step}) * ${step} AS at,
      max(burn_rate) AS burn
    FROM ${ident(store.table('sloEvaluations'))}
    WHERE slo IN ${names} AND window IN ${windows}
      AND ts >= ${new Date(from)} AND ts <= ${new Date(to)}
    GROUP BY slo, instance, window, at
    ORDER BY slo, instance, at`;
  let rows: BurnRow[];
  try {
    rows = await store.query<BurnRow>(query);
  } catch (err) {
    throw storeError(`read the burn-rate history of ${names.length} SLOs`, err);
  }
  for (const row of rows) {
    // Another SLO's window in the IN list: not this SLO's chart.
    if (charted.get(row.slo)?.window !== row.window) continue;
    const key = instanceKey(row.slo, row.instance);
    const points = history.get(key) ?? [];
    points.push({ at: Number(row.at), value: Number(row.burn) });
    history.set(key, points);
  }
  return history;
}

/** The groups of one redundancy rule, or why they could not be read. */
export interface TierHealth {
  rule: string;
  /** Where the rule was defined, "file:line". */
  source: string;
  condition: RedundancyCondition;
  groups: RedundancyGroup[];
  error?: string;
}

const isRedundancy = (rule: AlertRule): rule is AlertRule & { condition: RedundancyCondition } =>
  rule.condition.kind === 'redundancy';

/** The redundancy rules among `rules`. */
export function redundancyRules(
  rules: readonly AlertRule[],
): Array<AlertRule & { condition: RedundancyCondition }> {
  return rules.filter(isRedundancy);
}

/**
 * Every group of every redundancy rule at `at` (the rules are read at once); a rule whose read
 * fails carries its error and does not hold up the others.
 */
export async function readTierHealth(
  store: Store,
  rules: readonly AlertRule[],
  at: number,
): Promise<TierHealth[]> {
  return Promise.all(
    redundancyRules(rules).map(async (rule): Promise<TierHealth> => {
      const base = { rule: rule.name, source: rule.source, condition: rule.condition };
      try {
        return { ...base, groups: await redundancyGroups(store, rule.condition, at) };
      } catch (err) {
        const wrapped = storeError(`read redundancy rule ${rule.name} (${rule.source})`, err);
        return { ...base, groups: [], error: errorMessage(wrapped) };
      }
    }),
  );
}

/** Thrown by within() when a read takes longer than the page may wait. */
export class ReadTimeoutError extends Error {
  override readonly name = 'ReadTimeoutError';
}

/**
 * The promise's value, or a ReadTimeoutError after `ms`: a page about trouble must render even
 * when the store hangs. The read itself goes on; its late result is dropped.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ReadTimeoutError(`${what}: the store did not answer within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
