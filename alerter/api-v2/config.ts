// Configuration of the Alertmanager-v2-compatible notify API: named bearer tokens with a scope.

import { z } from 'zod';
import { holderName, refineUniqueNames, secret } from '../../core/config/schema.ts';
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

const tokenSchema = z.strictObject({
  name: holderName(),
  token: secret().unwrap(),
  scope: z.enum(API_SCOPES, { error: 'expected read or write' }),
});

/**
 * `api: { tokens: [...] }`. No tokens is valid config, but then the API refuses every request:
 * it is never open by default.
 */
export const apiConfigSchema = z
  .strictObject({
    tokens: z.array(tokenSchema, { error: 'expected a list of tokens' }).default([]),
  })
  .superRefine((api, ctx) => refineUniqueNames(api.tokens, ctx, 'tokens', 'token'));

export type ApiConfig = z.infer<typeof apiConfigSchema>;
