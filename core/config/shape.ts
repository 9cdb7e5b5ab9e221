// Walks the config schema: the keys allowed at a path, and the closest one to a misspelt key.

import type { z } from 'zod';
import { configSchema } from './schema.ts';

type AnySchema = z.ZodType;

function unwrap(schema: AnySchema): AnySchema {
  let current: AnySchema = schema;
  for (let i = 0; i < 20; i++) {
    const def = (current as unknown as { def: Record<string, unknown> }).def;
    const inner = (def['innerType'] ?? def['in']) as AnySchema | undefined;
    if (def['type'] === 'object' || inner === undefined) return current;
    current = inner;
  }
  return current;
}

/**
 * Keys the schema allows at a key path ([] for the top level). Through a list, the path's
 * index selects the element schema; for a union of objects (the agent's sources) the keys of
 * all members are offered, which is enough for a "did you mean".
 */
export function allowedKeys(path: readonly string[], schema: AnySchema = configSchema): string[] {
  let nodes: AnySchema[] = [unwrap(schema)];
  for (const key of path) {
    const next: AnySchema[] = [];
    for (const node of nodes) {
      const def = (node as unknown as { def: Record<string, unknown> }).def;
      if (def['type'] === 'array' && /^\d+$/.test(key)) {
        next.push(...expandUnion(unwrap(def['element'] as AnySchema)));
        continue;
      }
      const shape = (node as unknown as { shape?: Record<string, AnySchema> }).shape;
      const child = shape?.[key];
      if (child) next.push(...expandUnion(unwrap(child)));
    }
    if (next.length === 0) return [];
    nodes = next;
  }
  const keys = new Set<string>();
  for (const node of nodes) {
    const shape = (node as unknown as { shape?: Record<string, AnySchema> }).shape;
    for (const key of Object.keys(shape ?? {})) keys.add(key);
  }
  return [...keys];
}

function expandUnion(node: AnySchema): AnySchema[] {
  const def = (node as unknown as { def: Record<string, unknown> }).def;
  if (def['type'] === 'union') return (def['options'] as AnySchema[]).map(unwrap);
  return [node];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The allowed key nearest to a misspelt one, when it is near enough to be a likely typo. */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

/** The end of an "unknown key" message: a likely typo's fix, or the keys allowed there. */
export function unknownKeyHint(key: string, allowed: readonly string[]): string {
  const hint = closest(key, allowed);
  if (hint) return ` (did you mean "${hint}"?)`;
  return allowed.length > 0 ? ` (expected one of: ${allowed.join(', ')})` : '';
}
