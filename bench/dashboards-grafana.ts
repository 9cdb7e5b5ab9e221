// What Grafana does to a panel before its query reaches the datasource, for bench/dashboards: the
// panels of a dashboard (rows included), the interval for a panel's width, variables at "All".

import type { Store } from '../core/store/store.ts';
import { expandMacros, type CustomAll, type MacroContext } from '../dashboards/macros.ts';

/**
 * Grafana's interval ladder: rangeutil.ts `roundInterval` in grafana/grafana
 * (packages/grafana-data/src/datetime/rangeutil.ts), which the panel query runner applies to
 * range / maxDataPoints before raising it to the panel's min interval.
 */
export function roundInterval(ms: number): number {
  const ladder: Array<[below: number, interval: number]> = [
    [10, 1],
    [15, 10],
    [35, 20],
    [75, 50],
    [150, 100],
    [350, 200],
    [750, 500],
    [1500, 1000],
    [3500, 2000],
    [7500, 5000],
    [12500, 10000],
    [17500, 15000],
    [25000, 20000],
    [45000, 30000],
    [90000, 60000],
    [210000, 120000],
    [450000, 300000],
    [750000, 600000],
    [1050000, 900000],
    [1500000, 1200000],
    [2700000, 1800000],
    [5400000, 3600000],
    [9000000, 7200000],
    [16200000, 10800000],
    [32400000, 21600000],
    [86400000, 43200000],
    [604800000, 86400000],
    [1814400000, 604800000],
    [3628800000, 2592000000],
  ];
  return ladder.find(([below]) => ms < below)?.[1] ?? 31536000000;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };

/** A panel's min interval ("30s", "1m"); Grafana's describeInterval reads a bare number as seconds. */
export function intervalMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!m) throw new Error(`min interval ${JSON.stringify(text)}: expected e.g. 30s or 1m`);
  return Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
}

export interface Panel {
  id?: number;
  title?: string;
  type?: string;
  gridPos?: { w?: number };
  maxDataPoints?: number;
  interval?: string;
  targets?: Array<{ refId?: string; rawSql?: string }>;
  panels?: Panel[];
}

/** Panels, and the panels of rows (collapsed rows keep theirs nested). */
export function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** The interval Grafana gives a panel: range / max data points (its pixel width), rounded. */
export function panelInterval(p: Panel, rangeMs: number): number {
  const width = Math.round(((p.gridPos?.w ?? 24) / 24) * 1800);
  const points = p.maxDataPoints ?? width;
  const interval = roundInterval(rangeMs / points);
  return p.interval ? Math.max(interval, intervalMs(p.interval)) : interval;
}

export interface Variable {
  type?: string;
  name?: string;
  query?: string | { query?: string; rawSql?: string };
  current?: { value?: string | string[] };
  options?: Array<{ value?: string }>;
  allValue?: string;
}

/** "All" on a variable with a custom all value, with the options it lists. */
export interface AllOf extends CustomAll {
  options: string[];
}

/**
 * Each variable at "All", in dashboard order: a query variable's own query run on the store.
 * With a custom all value that value is what the panels receive; without one, every option.
 */
export async function variableValues(
  store: Store,
  list: Variable[],
  ctx: MacroContext,
): Promise<Record<string, string | string[] | AllOf>> {
  const values: Record<string, string | string[] | AllOf> = {};
  const atAll = (v: Variable, options: string[]) =>
    v.allValue ? { all: v.allValue, options } : options;
  for (const v of list) {
    if (!v.name) continue;
    if (v.type === 'query') {
      const sql = typeof v.query === 'string' ? v.query : (v.query?.rawSql ?? v.query?.query ?? '');
      const text = expandMacros(sql, { ...ctx, variables: { ...values } });
      const rows = await store.query<Record<string, unknown>>({ text, params: {} });
      values[v.name] = atAll(
        v,
        rows.map((r) => String(Object.values(r)[0])),
      );
    } else if (v.type === 'custom') {
      const options = (v.options ?? []).map((o) => o.value ?? '').filter((o) => o !== '$__all');
      values[v.name] = atAll(
        v,
        options.length > 0
          ? options
          : String(typeof v.query === 'string' ? v.query : '')
              .split(',')
              .map((o) => o.trim()),
      );
    } else if (v.type === 'constant' || v.type === 'textbox' || v.type === 'interval') {
      const current = v.current?.value;
      values[v.name] = current ?? (typeof v.query === 'string' ? v.query : '');
    }
  }
  return values;
}
