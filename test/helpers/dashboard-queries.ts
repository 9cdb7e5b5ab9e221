// Runs a built dashboard's panel targets and variable queries on chDB and checks each result has
// the shape its panel type needs (long-format time series, one-row stats, named table columns).

import { expect } from 'vitest';
import type { Store } from '../../core/store/store.ts';
import { sqlInDatabase } from '../../dashboards/build.ts';
import { expandMacros, type MacroContext } from '../../dashboards/macros.ts';

export interface TargetJson {
  refId: string;
  rawSql: string;
}
export interface PanelJson {
  id: number;
  type: string;
  title: string;
  targets?: TargetJson[];
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults?: { links?: Array<{ url: string }> } };
}
export interface VariableJson {
  name: string;
  type: string;
  query?: unknown;
}
export interface BuiltDashboard {
  uid: string;
  title: string;
  panels: PanelJson[];
  templating: { list: VariableJson[] };
  links?: Array<{ url?: string }>;
}

export interface QueryResult {
  meta: Array<{ name: string; type: string }>;
  data: Array<Record<string, unknown>>;
}

export const HOUR = 3_600_000;

/** The JSON Grafana receives: builder output without functions or undefined fields. */
export const toJson = (builder: { build(): unknown }): BuiltDashboard =>
  JSON.parse(JSON.stringify(builder.build())) as BuiltDashboard;

/** Every panel with targets, as `[label, panel, target]` for `it.each`. */
export function targetsOf(json: BuiltDashboard) {
  return json.panels
    .filter((p) => p.type !== 'row')
    .flatMap((p) =>
      (p.targets ?? []).map((t) => [`${p.id} ${p.title} (${p.type}) ${t.refId}`, p, t] as const),
    );
}

/** Variables whose options come from a query. */
export const queryVariables = (json: BuiltDashboard) =>
  json.templating.list.filter((v) => v.type === 'query');

export async function runSql(
  store: Store,
  database: string,
  sql: string,
  ctx: MacroContext,
  textboxes: Record<string, string> = {},
): Promise<QueryResult> {
  const variables = { ...ctx.variables, ...textboxes };
  const expanded = sqlInDatabase(expandMacros(sql, { ...ctx, variables }), database);
  const result = await store.client.query({ query: expanded, format: 'JSON' });
  return (await result.json()) as QueryResult;
}

/** ClickHouse column types as the plugin reads them: a time, a number, a string label. */
export const isTime = (type: string): boolean => /^(Nullable\()?DateTime/.test(type);
export const isNumber = (type: string): boolean => /^(Nullable\()?(U?Int|Float|Decimal)/.test(type);
export const isString = (type: string): boolean =>
  /^(LowCardinality\()?(Nullable\()?String/.test(type);
const isLabel = (type: string): boolean =>
  /^(LowCardinality\()?(Nullable\()?(String|Enum8)/.test(type);

/** Asserts the result fits the panel type and holds data. */
export function expectShape(panel: PanelJson, { meta, data }: QueryResult): void {
  expect(data.length, `${panel.title}: no rows`).toBeGreaterThan(0);
  if (panel.type === 'timeseries') {
    const [first, ...rest] = meta;
    expect(isTime(first?.type ?? ''), `${panel.title}: first column ${first?.type}`).toBe(true);
    expect(rest.some((c) => isNumber(c.type))).toBe(true);
    for (const c of rest) expect(isNumber(c.type) || isLabel(c.type), c.name).toBe(true);
    expect(data.some((r) => rest.some((c) => isNumber(c.type) && r[c.name] !== null))).toBe(true);
  } else if (panel.type === 'stat') {
    expect(data).toHaveLength(1);
    for (const c of meta) expect(isNumber(c.type), `${panel.title}: ${c.name}`).toBe(true);
    expect(Object.values(data[0] ?? {}).some((v) => typeof v === 'number')).toBe(true);
  } else if (panel.type === 'logs') {
    const [first, ...rest] = meta;
    expect(isTime(first?.type ?? '')).toBe(true);
    expect(rest.map((c) => c.name)).toEqual(expect.arrayContaining(['body', 'level']));
    for (const c of rest) expect(isLabel(c.type), c.name).toBe(true);
  } else {
    expect(panel.type).toBe('table');
    for (const c of meta) expect(c.name).toMatch(/^[a-z_][a-z0-9_]*$/);
  }
}
