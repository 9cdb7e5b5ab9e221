// Bound SQL: a tagged template that turns every interpolated value into a typed query parameter,
// so untrusted strings never reach the SQL text. Identifiers go through ident(), which checks them.

export interface BoundQuery {
  readonly text: string;
  readonly params: Record<string, unknown>;
}

class Identifier {
  constructor(readonly name: string) {}
}

class Typed {
  constructor(
    readonly value: unknown,
    readonly type: string,
  ) {}
}

const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** A table or column name (optionally `db.table`), checked and inlined. */
export function ident(name: string): Identifier {
  if (!IDENT_RE.test(name)) throw new Error(`not a valid identifier: ${JSON.stringify(name)}`);
  return new Identifier(name);
}

/** A parameter with an explicit ClickHouse type, e.g. param(fp, 'UInt64'). */
export function param(value: unknown, type: string): Typed {
  return new Typed(value, type);
}

function isBound(value: unknown): value is BoundQuery {
  return typeof value === 'object' && value !== null && 'text' in value && 'params' in value;
}

/** Formats a Date for a DateTime64(3, 'UTC') parameter. */
export function formatTimestamp(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

function inferType(value: unknown): { type: string; value: unknown } {
  if (value instanceof Typed) return { type: value.type, value: value.value };
  if (value instanceof Date) return { type: "DateTime64(3, 'UTC')", value: formatTimestamp(value) };
  switch (typeof value) {
    case 'string':
      return { type: 'String', value };
    case 'number':
      return { type: Number.isInteger(value) ? 'Int64' : 'Float64', value };
    case 'bigint':
      return { type: value < 0n ? 'Int64' : 'UInt64', value: value.toString() };
    case 'boolean':
      return { type: 'Bool', value };
    default:
      break;
  }
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return { type: 'Array(String)', value };
    if (value.every((v) => typeof v === 'number')) return { type: 'Array(Float64)', value };
  }
  throw new Error(
    `cannot bind a value of type ${value === null ? 'null' : typeof value}; use param(value, type)`,
  );
}

/**
 * sql`SELECT count() FROM ${ident(table)} WHERE name = ${name}` gives
 * { text: 'SELECT count() FROM halo.samples WHERE name = {p0:String}', params: { p0: name } }.
 * A nested sql`` fragment is spliced in with its parameters renamed.
 */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): BoundQuery {
  let text = strings[0] ?? '';
  const params: Record<string, unknown> = {};
  let next = 0;
  values.forEach((value, i) => {
    if (value instanceof Identifier) {
      text += value.name;
    } else if (isBound(value)) {
      const renamed: Record<string, string> = {};
      for (const [key, inner] of Object.entries(value.params)) {
        renamed[key] = `p${next++}`;
        params[renamed[key]] = inner;
      }
      // One pass, so that a new name never gets renamed again.
      text += value.text.replace(/\{(\w+):/g, (match, key: string) =>
        renamed[key] ? `{${renamed[key]}:` : match,
      );
    } else {
      const { type, value: bound } = inferType(value);
      const name = `p${next++}`;
      params[name] = bound;
      text += `{${name}:${type}}`;
    }
    text += strings[i + 1] ?? '';
  });
  return { text, params };
}

/** Joins fragments with a separator, e.g. conditions with ' AND '. */
export function join(fragments: readonly BoundQuery[], separator: string): BoundQuery {
  if (fragments.length === 0) return { text: '', params: {} };
  const strings = ['', ...fragments.slice(1).map(() => separator), ''];
  return sql(Object.assign(strings, { raw: strings }) as TemplateStringsArray, ...fragments);
}
