// Readers of a decoded OTLP request's plain shape (one for protobuf and JSON): each names the
// path of what it refuses; and OTLP AnyValues flattened to strings or JSON.

import { IntakeError } from './types.ts';
import type { Plain } from './otlp-proto.ts';

// --- readers of the plain shape: each names the path of what it refuses ---

export function isPlain(value: unknown): value is Plain {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  );
}

const bad = (path: string, what: string) => new IntakeError(400, `${path}: ${what}`);

/** A repeated field: absent or null is empty. */
export function list(parent: Plain, key: string, path: string): unknown[] {
  const value = parent[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw bad(`${path}${path ? '.' : ''}${key}`, 'expected an array');
  return value;
}

/** A message: absent or null is undefined. */
export function plainAt(parent: Plain, key: string, path: string): Plain | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (!isPlain(value)) throw bad(`${path}.${key}`, 'expected an object');
  return value;
}

export function asPlain(value: unknown, path: string): Plain {
  if (!isPlain(value)) throw bad(path, 'expected an object');
  return value;
}

export function stringAt(parent: Plain, key: string, path: string): string | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw bad(`${path}.${key}`, 'expected a string');
  return value;
}

/** A 64-bit integer (a decimal string or a number) as a BigInt. */
export function bigintOf(value: unknown, path: string, signed = true): bigint {
  if (typeof value === 'string' && (signed ? /^-?\d+$/ : /^\d+$/).test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isInteger(value) && (signed || value >= 0)) {
    return BigInt(value);
  }
  throw bad(path, `expected ${signed ? 'an' : 'a non-negative'} integer, got ${short(value)}`);
}

/** A uint64 or int32 field as a number (counts, flags, enums): 0 when absent. */
export function countAt(parent: Plain, key: string, path: string): number {
  const value = parent[key];
  return value === undefined || value === null
    ? 0
    : Number(bigintOf(value, `${path}.${key}`, false));
}

/** A double field: a number, or (OTLP/JSON) "NaN", "Infinity", "-Infinity" or a numeric string. */
export function doubleOf(value: unknown, path: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (value === 'NaN') return NaN;
    const n = Number(value);
    if (value.trim() !== '' && !Number.isNaN(n)) return n;
  }
  throw bad(path, `expected a number, got ${short(value)}`);
}

/** A fixed64 nanosecond timestamp in whole milliseconds (BigInt: 1.7e18 ns is past 2^53). */
export function msAt(parent: Plain, key: string, path: string): number | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  const ns = bigintOf(value, `${path}.${key}`, false);
  return ns === 0n ? undefined : Number(ns / 1_000_000n);
}

function short(value: unknown): string {
  const text = value instanceof Uint8Array ? 'bytes' : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

// --- AnyValue ---

/** Arrays and kvlists nested deeper are refused (and cannot exhaust the stack). */
export const MAX_DEPTH = 32;

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** An AnyValue as a JSON-able value: int64s past 2^53 and bytes (base64) become strings. */
export function anyToJson(any: unknown, path: string, depth = 0): JsonValue {
  if (depth > MAX_DEPTH) throw bad(path, `nested deeper than ${MAX_DEPTH} levels`);
  const v = asPlain(any, path);
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  if (v.intValue !== undefined && v.intValue !== null) {
    const n = bigintOf(v.intValue, `${path}.intValue`);
    const small = Number(n);
    return Number.isSafeInteger(small) ? small : n.toString();
  }
  if (v.doubleValue !== undefined && v.doubleValue !== null) {
    const d = doubleOf(v.doubleValue, `${path}.doubleValue`);
    return Number.isFinite(d) ? d : String(d);
  }
  const array = plainAt(v, 'arrayValue', path);
  if (array)
    return list(array, 'values', `${path}.arrayValue`).map((x, i) =>
      anyToJson(x, `${path}.arrayValue.values[${i}]`, depth + 1),
    );
  const kvlist = plainAt(v, 'kvlistValue', path);
  if (kvlist) {
    const out: { [key: string]: JsonValue } = {};
    keyValues(kvlist, 'values', `${path}.kvlistValue`, (key, value, at) => {
      out[key] = value === undefined ? null : anyToJson(value, at, depth + 1);
    });
    return out;
  }
  if (v.bytesValue instanceof Uint8Array) return Buffer.from(v.bytesValue).toString('base64');
  if (typeof v.bytesValue === 'string') return v.bytesValue;
  for (const key of ['stringValue', 'boolValue']) {
    if (v[key] !== undefined && v[key] !== null)
      throw bad(`${path}.${key}`, `unexpected ${short(v[key])}`);
  }
  return null;
}

/**
 * An AnyValue as a label or attribute value: strings as they are, bools 'true'/'false', ints in
 * decimal, doubles as JavaScript prints them, bytes in base64, arrays and kvlists as JSON, empty ''.
 */
export function anyToString(any: unknown, path: string): string {
  const json = anyToJson(any, path);
  if (json === null) return '';
  if (typeof json === 'object') return JSON.stringify(json);
  return String(json);
}

/** Calls `each` for every {key, value} of a repeated KeyValue field (value undefined when unset). */
export function keyValues(
  parent: Plain,
  field: string,
  path: string,
  each: (key: string, value: unknown, valuePath: string) => void,
): void {
  list(parent, field, path).forEach((item, i) => {
    const at = `${path}.${field}[${i}]`;
    const kv = asPlain(item, at);
    const key = stringAt(kv, 'key', at) ?? '';
    const value = kv.value === null ? undefined : kv.value;
    each(key, value, `${at}.value`);
  });
}

/** Resource attributes with their dotted names, values as anyToString makes them. */
export function resourceAttributes(parent: Plain, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  const resource = plainAt(parent, 'resource', path);
  if (resource) {
    keyValues(resource, 'attributes', `${path}.resource`, (key, value, at) => {
      if (key) out[key] = value === undefined ? '' : anyToString(value, at);
    });
  }
  return out;
}
