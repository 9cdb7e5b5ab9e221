// Reads multi-document YAML with line positions, and turns zod issues into "file:line: key: got …, expected …" errors.

import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { z } from 'zod';
import { allowedKeys, unknownKeyHint } from '../../core/config/shape.ts';
import { ConfigError } from '../../core/errors.ts';

/** A parsed YAML document with what error messages need to point at a line. */
export interface YamlDoc {
  raw: unknown;
  doc: Document;
  lines: LineCounter;
  label: string;
}

/** Splits a multi-document YAML text; a syntax error names label:line:col. Empty documents are dropped. */
export function readYamlDocuments(text: string, label: string): YamlDoc[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const list = Array.isArray(docs) ? docs : [];
  const out: YamlDoc[] = [];
  for (const doc of list) {
    const first = doc.errors[0];
    if (first) {
      const pos = lines.linePos(first.pos[0]);
      const message = first.message.split('\n')[0];
      throw new ConfigError(`${label}:${pos.line}:${pos.col}: invalid YAML: ${message}`);
    }
    const raw: unknown = doc.toJS();
    if (raw === null || raw === undefined) continue;
    out.push({ raw, doc, lines, label });
  }
  return out;
}

/** label:line of the deepest node of `path` that the document has. */
export function positionOf(y: YamlDoc, path: readonly PropertyKey[]): string {
  for (let depth = path.length; depth > 0; depth--) {
    const parent = depth === 1 ? y.doc.contents : y.doc.getIn(path.slice(0, depth - 1), true);
    const key = path[depth - 1];
    let range: [number, number, number] | undefined;
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === key);
      range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
    } else if (isSeq(parent)) {
      range = (parent.items[Number(key)] as { range?: [number, number, number] } | undefined)
        ?.range;
    }
    if (range) return `${y.label}:${y.lines.linePos(range[0]).line}`;
  }
  const start = (y.doc.contents as { range?: [number, number, number] } | null)?.range;
  return start ? `${y.label}:${y.lines.linePos(start[0]).line}` : y.label;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let node = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

export function showValue(value: unknown): string | undefined {
  if (value === undefined) return 'nothing';
  if (typeof value === 'object' && value !== null) return undefined;
  const shown = JSON.stringify(value) ?? String(value);
  return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

/**
 * Validates `value` (found at `base` in the YAML document) with a schema, or throws a
 * ConfigError with one line per issue: "file:line: key.path: got VALUE, expected …".
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  y: YamlDoc,
  base: readonly PropertyKey[] = [],
  value: unknown = valueAt(y.raw, base),
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const messages = result.error.issues.map((issue) => {
    const local = issue.path.map((key) => (typeof key === 'number' ? key : String(key)));
    if (issue.code === 'unrecognized_keys') {
      return issue.keys
        .map((key) => {
          const full = [...base, ...local, key];
          const expected = unknownKeyHint(key, allowedKeys(local.map(String), schema));
          return `${positionOf(y, full)}: ${full.join('.')}: unknown key${expected}`;
        })
        .join('\n');
    }
    const full = [...base, ...local];
    const found = valueAt(value, local);
    const shown = showValue(found);
    const keys = allowedKeys(local.map(String), schema);
    const message =
      issue.code === 'invalid_type' && issue.expected === 'object' && keys.length > 0
        ? `expected a mapping with ${keys.join(', ')}`
        : issue.message.replace(/^Invalid input: /, '');
    const subject = full.length === 0 ? '(top level)' : full.join('.');
    const got = found === undefined ? 'missing, ' : shown === undefined ? '' : `got ${shown}, `;
    return `${positionOf(y, full)}: ${subject}: ${got}${message}`;
  });
  throw new ConfigError(messages.join('\n'));
}

/** What one kind of halo/v1 document needs to be read: its kind, schema and how to build it. */
export interface DocumentKind<S extends z.ZodType<{ metadata: { name: string } }>, T> {
  kind: string;
  schema: S;
  build: (doc: z.output<S>, source: string, y: YamlDoc) => T;
  /** A hint added when a document of another kind turns up, e.g. where SLOs are loaded. */
  hint?: (raw: Record<string, unknown>) => string;
}

/**
 * Every `---` document of a halo/v1 file of one kind, validated, each name used once; errors
 * point at file:line.
 */
export function parseHaloDocuments<S extends z.ZodType<{ metadata: { name: string } }>, T>(
  text: string,
  label: string,
  kind: DocumentKind<S, T>,
): T[] {
  const out: T[] = [];
  const seen = new Map<string, string>();
  for (const y of readYamlDocuments(text, label)) {
    const source = positionOf(y, []);
    if (typeof y.raw !== 'object' || Array.isArray(y.raw)) {
      throw new ConfigError(`${source}: expected a mapping with apiVersion, kind, metadata, spec`);
    }
    const raw = y.raw as Record<string, unknown>;
    if (raw['apiVersion'] !== 'halo/v1' || raw['kind'] !== kind.kind) {
      const key = raw['apiVersion'] !== 'halo/v1' ? 'apiVersion' : 'kind';
      const got = showValue(raw[key]) ?? 'a mapping';
      const expected = key === 'apiVersion' ? '"halo/v1"' : `"${kind.kind}"`;
      throw new ConfigError(
        `${positionOf(y, [key])}: ${key}: got ${got}, expected ${expected}${kind.hint?.(raw) ?? ''}`,
      );
    }
    const doc = parseWith(kind.schema, y);
    const where = positionOf(y, ['metadata', 'name']);
    const previous = seen.get(doc.metadata.name);
    if (previous !== undefined) {
      throw new ConfigError(
        `${where}: metadata.name: got "${doc.metadata.name}", expected a name not used before (${previous})`,
      );
    }
    seen.set(doc.metadata.name, where);
    out.push(kind.build(doc, source, y));
  }
  return out;
}

/** A file's text, or a ConfigError naming the file and what it should have held. */
export function readDocumentFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError(`${path}: cannot read ${what} file: ${why}`, { cause: err });
  }
}

/** Throws when two items (from different files) share a name; errors name both places. */
export function requireUniqueNames(items: ReadonlyArray<{ name: string; source: string }>): void {
  const seen = new Map<string, string>();
  for (const item of items) {
    const previous = seen.get(item.name);
    if (previous !== undefined) {
      throw new ConfigError(
        `${item.source}: metadata.name: got "${item.name}", expected a name not used before (${previous})`,
      );
    }
    seen.set(item.name, item.source);
  }
}
