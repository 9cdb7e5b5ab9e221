// Bearer tokens from config: the token an Authorization header presents, and a constant-time
// lookup of it among the configured ones. Tokens are Secrets and are never logged or echoed.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../config/secret.ts';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer[ \t]+(\S+)\s*$/iu.exec(header ?? '')?.[1];
}

/**
 * A lookup of presented tokens among the configured ones: the matching entry, or undefined.
 * Hashes make every comparison the same length, so timingSafeEqual can compare any token; the
 * configured tokens are hashed once, here, and every one is compared whatever matched.
 */
export function secretLookup<T extends { token: Secret }>(
  tokens: readonly T[],
): (presented: string) => T | undefined {
  const hashed = tokens.map((entry) => ({ entry, hash: digest(entry.token.reveal()) }));
  return function findToken(presented) {
    const hash = digest(presented);
    let found: T | undefined;
    for (const { entry, hash: configured } of hashed) {
      if (timingSafeEqual(configured, hash) && found === undefined) found = entry;
    }
    return found;
  };
}
