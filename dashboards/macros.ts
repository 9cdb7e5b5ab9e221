// Expands the ClickHouse plugin's macros and Grafana template variables the way a query reaches
// ClickHouse, so that tests can run every panel's SQL on a real engine.
//
// Source: grafana/clickhouse-datasource pkg/macros/macros.go (the backend, so the same expansion
// serves alerting) and the macro table of its docs ("Macros" in the query editor page).

export interface MacroContext {
  /** Start of the time range, ms since the epoch. */
  from: number;
  /** End of the time range, ms since the epoch. */
  to: number;
  /** The panel's interval (Grafana's `$__interval_ms`). */
  intervalMs: number;
  /** Template variables; an array is a multi-value selection. */
  variables?: Record<string, VariableValue>;
}

/** "All" on a variable with a custom all value: Grafana puts `all` into the SQL unformatted. */
export interface CustomAll {
  all: string;
}

export type VariableValue = string | string[] | CustomAll;

export class MacroError extends Error {
  override name = 'MacroError';
}

const unixSeconds = (ms: number): number => Math.floor(ms / 1000);
// Docs: "$__fromTime ... toDateTime(1415792726)"; Go: fmt.Sprintf("toDateTime(%d)", t.Unix()).
const dateTime = (ms: number): string => `toDateTime(${unixSeconds(ms)})`;
// Docs: "$__fromTime_ms ... fromUnixTimestamp64Milli(1415792726123)".
const dateTime64 = (ms: number): string => `fromUnixTimestamp64Milli(${Math.trunc(ms)})`;
// Go: fmt.Sprintf("toDate('%s')", t.Format("2006-01-02")); the time range reaches the plugin in
// UTC, so the date is the UTC one.
const date = (ms: number): string => `toDate('${new Date(ms).toISOString().slice(0, 10)}')`;
// Go: int(math.Max(query.Interval.Seconds(), 1)): at least 1, truncated.
const intervalSeconds = (ctx: MacroContext): number =>
  Math.trunc(Math.max(ctx.intervalMs / 1000, 1));
const intervalMillis = (ctx: MacroContext): number => Math.trunc(Math.max(ctx.intervalMs, 1));

type Macro = (args: string[], ctx: MacroContext) => string;

function oneArg(name: string, fn: (column: string, ctx: MacroContext) => string): Macro {
  return (args, ctx) => {
    const [column] = args;
    if (args.length !== 1 || column === undefined || column === '') {
      throw new MacroError(`macro $__${name}: expected 1 argument, received ${args.length}`);
    }
    return fn(column, ctx);
  };
}

function noArgs(name: string, fn: (ctx: MacroContext) => string): Macro {
  return (args, ctx) => {
    if (args.length > 0) {
      throw new MacroError(`macro $__${name}: expected no argument, received ${args.length}`);
    }
    return fn(ctx);
  };
}

/** The plugin's `Macros` map, name for name. */
const MACROS: Record<string, Macro> = {
  // "columnName >= toDateTime(1415792726) AND columnName <= toDateTime(1447328726)"
  timeFilter: oneArg(
    'timeFilter',
    (c, ctx) => `${c} >= ${dateTime(ctx.from)} AND ${c} <= ${dateTime(ctx.to)}`,
  ),
  // "columnName >= fromUnixTimestamp64Milli(1415792726123) AND columnName <= fromUnixTimestamp64Milli(1447328726456)"
  timeFilter_ms: oneArg(
    'timeFilter_ms',
    (c, ctx) => `${c} >= ${dateTime64(ctx.from)} AND ${c} <= ${dateTime64(ctx.to)}`,
  ),
  // "columnName >= toDate('2022-10-21') AND columnName <= toDate('2022-10-23')"
  dateFilter: oneArg(
    'dateFilter',
    (c, ctx) => `${c} >= ${date(ctx.from)} AND ${c} <= ${date(ctx.to)}`,
  ),
  fromTime: noArgs('fromTime', (ctx) => dateTime(ctx.from)),
  toTime: noArgs('toTime', (ctx) => dateTime(ctx.to)),
  fromTime_ms: noArgs('fromTime_ms', (ctx) => dateTime64(ctx.from)),
  toTime_ms: noArgs('toTime_ms', (ctx) => dateTime64(ctx.to)),
  // "toStartOfInterval(toDateTime(columnName), INTERVAL 20 second)"
  timeInterval: oneArg(
    'timeInterval',
    (c, ctx) => `toStartOfInterval(toDateTime(${c}), INTERVAL ${intervalSeconds(ctx)} second)`,
  ),
  // "toStartOfInterval(toDateTime64(columnName, 3), INTERVAL 20 millisecond)"
  timeInterval_ms: oneArg(
    'timeInterval_ms',
    (c, ctx) =>
      `toStartOfInterval(toDateTime64(${c}, 3), INTERVAL ${intervalMillis(ctx)} millisecond)`,
  ),
  // "$__interval_s ... 20"
  interval_s: noArgs('interval_s', (ctx) => String(intervalSeconds(ctx))),
};

/** A ClickHouse string literal: backslash and quote escaped, so a value can never end it. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * A variable's value as it reaches the SQL. Without a format, the plugin's own `format` (its
 * CHDatasource.ts, handed to templateSrv.replace): a multi-value selection as `'a','b'` (values
 * not escaped), a single value as is. With one, Grafana's formats that SQL panels use.
 */
const SQL_FORMATS = new Set(['raw', 'singlequote', 'sqlstring']);

function formatVariable(name: string, value: VariableValue, format: string | undefined): string {
  // @grafana/scenes CustomAllValue.formatter: percentencode encodes the value, the SQL formats
  // leave it as written.
  if (typeof value === 'object' && !Array.isArray(value)) {
    if (format === 'percentencode') return percentEncode(value.all);
    if (format === undefined || SQL_FORMATS.has(format)) return value.all;
    throw new MacroError(`variable $${name}: format ${format} is not supported here`);
  }
  const values = typeof value === 'string' ? [value] : value;
  if (typeof value !== 'string' && value.length === 0) {
    throw new MacroError(`variable $${name}: no value selected`);
  }
  switch (format) {
    case undefined:
      return typeof value === 'string' ? value : `'${value.join("','")}'`;
    case 'raw':
      return values.join(',');
    // Grafana: each value in single quotes, `'` escaped with a backslash, joined by commas.
    case 'singlequote':
      return values.map((v) => `'${v.replace(/'/g, "\\'")}'`).join(',');
    // Grafana: each value in single quotes, `'` doubled, joined by commas.
    case 'sqlstring':
      return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',');
    // Grafana: encodeURIComponent plus !'()*; several values as `{a,b}`.
    case 'percentencode':
      return percentEncode(typeof value === 'string' ? value : `{${value.join(',')}}`);
    default:
      throw new MacroError(`variable $${name}: format ${format} is not supported here`);
  }
}

const percentEncode = (text: string): string =>
  encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

/** Splits `a, f(b, c)` at top-level commas, as sqlds does for macro arguments. */
function splitArgs(inner: string): string[] {
  if (inner.trim() === '') return [];
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      args.push(inner.slice(start, i).trim());
      start = i + 1;
    }
  }
  args.push(inner.slice(start).trim());
  return args;
}

/** Index just past the `)` matching the `(` at `open`; nested parentheses allowed. */
function closingParen(sql: string, open: number, name: string): number {
  let depth = 0;
  for (let i = open; i < sql.length; i++) {
    if (sql[i] === '(') depth++;
    else if (sql[i] === ')' && --depth === 0) return i + 1;
  }
  throw new MacroError(`macro $__${name}: unbalanced parentheses`);
}

// `$__macro`, then `${var}` or `${var:format}`, then `$var`: one pass, so an expanded value is
// never scanned again.
const TOKEN = /\$__(\w+)|\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g;

/** The SQL as the plugin hands it to ClickHouse; unknown macros and variables throw by name. */
export function expandMacros(sql: string, ctx: MacroContext): string {
  let out = '';
  let last = 0;
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(sql); m !== null; m = TOKEN.exec(sql)) {
    const [token, macroName, bracedVar, format, plainVar] = m;
    out += sql.slice(last, m.index);
    let end = m.index + token.length;
    if (macroName !== undefined) {
      const macro = MACROS[macroName];
      if (macro === undefined) throw new MacroError(`unknown macro $__${macroName}`);
      let args: string[] = [];
      if (sql[end] === '(') {
        const close = closingParen(sql, end, macroName);
        args = splitArgs(sql.slice(end + 1, close - 1));
        end = close;
      }
      out += macro(args, ctx);
    } else {
      const name = (bracedVar ?? plainVar)!;
      const value = ctx.variables?.[name];
      if (value === undefined) throw new MacroError(`unknown variable $${name}`);
      out += formatVariable(name, value, format);
    }
    last = end;
    TOKEN.lastIndex = end;
  }
  return out + sql.slice(last);
}
