// Reads multi-document YAML with line positions, and turns zod issues into "file:line: key: got …, expected …" errors.

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
