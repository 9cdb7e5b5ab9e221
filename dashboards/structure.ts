// Structural checks on built dashboard JSON: the mistakes Grafana accepts silently but shows wrong.

/** The part of a dashboard's JSON the checks read. */
export interface DashboardJson {
  panels?: PanelJson[];
  templating?: { list?: VariableJson[] };
}

interface VariableJson {
  name?: string;
  allValue?: string;
  query?: unknown;
}

/** A query variable's SQL: a string, or `{ query }` in newer dashboard JSON. */
function variableSql(v: VariableJson): string {
  if (typeof v.query === 'string') return v.query;
  const inner = (v.query as { query?: unknown } | undefined)?.query;
  return typeof inner === 'string' ? inner : '';
}

interface PanelJson {
  id?: number;
  title?: string;
  type?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Array<{ refId?: string; datasource?: { uid?: string } | null; rawSql?: string }>;
  panels?: PanelJson[];
}

const GRID_COLUMNS = 24;
// `$var`, `${var}` and `${var:format}`; `$__…` are macros and built-ins, not variables.
const VARIABLE = /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g;

const allPanels = (panels: PanelJson[] = []): PanelJson[] =>
  panels.flatMap((p) => [p, ...allPanels(p.panels)]);

const name = (p: PanelJson): string => `panel ${p.id ?? '?'} "${p.title ?? ''}"`;

function overlaps(
  a: NonNullable<PanelJson['gridPos']>,
  b: NonNullable<PanelJson['gridPos']>,
): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Variables a query uses, without the `$__` macros and built-ins. */
export function usedVariables(sql: string): string[] {
  const names = [...sql.matchAll(VARIABLE)].map((m) => m[1] ?? m[2] ?? '');
  return [...new Set(names.filter((n) => n !== '' && !n.startsWith('__')))];
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Mentions of a variable with a custom all value outside `inSelection`'s form: at "All" such a
 * mention receives the all value itself and matches nothing.
 */
function bareMentions(sql: string, variable: string, allValue: string): number {
  const values = escapeRegExp(`\${${variable}:singlequote}`);
  const guarded = new RegExp(
    `\\(${escapeRegExp(allValue)} IN \\(${values}\\) OR [^()]+? IN \\(${values}\\)\\)`,
    'g',
  );
  return usedVariables(sql.replace(guarded, '')).filter((v) => v === variable).length;
}

/** Every problem found, as sentences; empty when the dashboard is sound. */
export function checkDashboard(json: DashboardJson): string[] {
  const problems: string[] = [];
  const panels = allPanels(json.panels);
  const variables = json.templating?.list ?? [];
  const defined = new Set(variables.map((v) => v.name));
  const withAll = variables.filter((v) => v.name && v.allValue);
  const unguarded = (what: string, sql: string) => {
    for (const v of withAll) {
      if (bareMentions(sql, v.name!, v.allValue!) > 0) {
        problems.push(`${what} uses $${v.name} outside inSelection(), so "All" matches nothing`);
      }
    }
  };
  for (const v of variables) {
    unguarded(`variable $${v.name ?? '?'}`, variableSql(v));
  }

  const seen = new Set<number>();
  for (const p of panels) {
    if (p.id === undefined) problems.push(`${name(p)} has no id`);
    else if (seen.has(p.id)) problems.push(`${name(p)}: id ${p.id} is not unique`);
    else seen.add(p.id);
  }

  const placed = panels.filter((p) => p.gridPos !== undefined);
  for (const p of panels) {
    if (p.gridPos === undefined) problems.push(`${name(p)} has no gridPos`);
    else if (p.gridPos.x < 0 || p.gridPos.x + p.gridPos.w > GRID_COLUMNS)
      problems.push(
        `${name(p)}: x ${p.gridPos.x} + w ${p.gridPos.w} exceeds ${GRID_COLUMNS} columns`,
      );
  }
  placed.forEach((a, i) => {
    for (const b of placed.slice(i + 1)) {
      if (a.gridPos && b.gridPos && overlaps(a.gridPos, b.gridPos))
        problems.push(`${name(a)} overlaps ${name(b)}`);
    }
  });

  for (const p of panels) {
    for (const t of p.targets ?? []) {
      const target = `${name(p)} target ${t.refId ?? '?'}`;
      if (!t.datasource?.uid) problems.push(`${target} has no datasource`);
      for (const v of usedVariables(t.rawSql ?? '')) {
        if (!defined.has(v)) problems.push(`${target} uses undefined variable $${v}`);
      }
      unguarded(target, t.rawSql ?? '');
    }
  }
  return problems;
}
