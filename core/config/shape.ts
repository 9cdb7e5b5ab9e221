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

/** Keys the schema allows at a key path ([] for the top level). */
export function allowedKeys(path: readonly string[]): string[] {
  let node = unwrap(configSchema);
  for (const key of path) {
    const shape = (node as unknown as { shape?: Record<string, AnySchema> }).shape;
    const next = shape?.[key];
    if (!next) return [];
    node = unwrap(next);
  }
  const shape = (node as unknown as { shape?: Record<string, AnySchema> }).shape;
  return shape ? Object.keys(shape) : [];
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
