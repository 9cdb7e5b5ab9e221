// Configuration of the Alertmanager-v2-compatible notify API: named bearer tokens with a scope.

import { z } from 'zod';
import { secret } from '../../core/config/schema.ts';
import type { Secret } from '../../core/config/secret.ts';

export const API_SCOPES = ['read', 'write'] as const;
/** `write` implies `read`. */
export type ApiScope = (typeof API_SCOPES)[number];

export interface ApiToken {
  /** Who holds the token; logged instead of the token itself. */
  name: string;
  token: Secret;
  scope: ApiScope;
}

const tokenSchema = z.strictObject(
  {
    name: z
      .string({ error: 'expected the name of the token holder' })
      .trim()
      .min(1, { error: 'expected the name of the token holder, not an empty string' }),
    token: secret().unwrap(),
    scope: z.enum(API_SCOPES, { error: 'expected read or write' }),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (expected name, token, scope)`
        : undefined,
  },
);

/**
 * `api: { tokens: [...] }`. No tokens is valid config, but then the API refuses every request:
 * it is never open by default.
 */
export const apiConfigSchema = z
  .strictObject({
    tokens: z.array(tokenSchema, { error: 'expected a list of tokens' }).default([]),
  })
  .superRefine((api, ctx) => {
    const names = new Set<string>();
    api.tokens.forEach((t, i) => {
      if (names.has(t.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['tokens', i, 'name'],
          message: `duplicate token name ${JSON.stringify(t.name)}; each token needs its own name`,
          input: t.name,
        });
      }
      names.add(t.name);
    });
  });

export type ApiConfig = z.infer<typeof apiConfigSchema>;
