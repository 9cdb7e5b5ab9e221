// Bearer-token middleware with scopes for the notify API: 401 without a valid token (or when no
// token is configured at all), 403 when the token's scope is too small. Tokens are compared in
// constant time (tokenLookup, shared with the status page's silence form) and never logged.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { Logger } from '../../core/logger.ts';
import type { ApiScope, ApiToken } from './config.ts';

export interface BearerScopesOptions {
  tokens: readonly ApiToken[];
  /** The scope this route needs; a write token may also read. */
  scope: ApiScope;
  logger: Logger;
}

/** Variables a handler can read after the middleware passed: the name of the caller's token. */
export interface ApiEnv {
  Variables: { caller: string };
}

export const NO_TOKENS_MESSAGE =
  'the notify API is disabled: configure api.tokens (each with a name, a token and scope read or write)';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** The configured token a caller presented: its holder's name and its scope. */
export interface PresentedToken {
  name: string;
  scope: ApiScope;
}

/**
 * A lookup of presented tokens among the configured ones: undefined for a token that matches
 * none. Hashes make every comparison the same length, so timingSafeEqual can compare any token;
 * the configured tokens are hashed once, here.
 */
export function tokenLookup(
  tokens: readonly ApiToken[],
): (presented: string) => PresentedToken | undefined {
  const hashed = tokens.map((t) => ({
    name: t.name,
    hash: digest(t.token.reveal()),
    scope: t.scope,
  }));
  return function findToken(presented) {
    const hash = digest(presented);
    let found: PresentedToken | undefined;
    // No early exit: every configured token is compared whatever matched.
    for (const entry of hashed) {
      if (timingSafeEqual(entry.hash, hash) && found === undefined)
        found = { name: entry.name, scope: entry.scope };
    }
    return found;
  };
}

export function bearerScopes(options: BearerScopesOptions): MiddlewareHandler<ApiEnv> {
  const findToken = tokenLookup(options.tokens);
  const configured = options.tokens.length;
  const log = options.logger;
  return async function bearerScopesMiddleware(c, next) {
    const where = { method: c.req.method, path: c.req.path };
    if (configured === 0) {
      throw new HTTPException(401, { message: NO_TOKENS_MESSAGE });
    }
    const header = c.req.header('Authorization') ?? '';
    const match = /^Bearer[ \t]+(\S+)\s*$/iu.exec(header);
    if (match?.[1] === undefined) {
      log.warn({ ...where, reason: 'no bearer token' }, 'notify API request refused');
      throw new HTTPException(401, {
        message: 'expected an Authorization: Bearer <token> header',
      });
    }
    const token = findToken(match[1]);
    if (token === undefined) {
      log.warn({ ...where, reason: 'unknown token' }, 'notify API request refused');
      throw new HTTPException(401, { message: 'the bearer token is not valid' });
    }
    if (options.scope === 'write' && token.scope !== 'write') {
      log.warn(
        { ...where, caller: token.name, reason: 'read-only token' },
        'notify API request refused',
      );
      throw new HTTPException(403, {
        message: `token ${JSON.stringify(token.name)} may only read; this needs a write token`,
      });
    }
    c.set('caller', token.name);
    await next();
  };
}
