// Bearer-token middleware with scopes for the notify API: 401 without a valid token (or when no
// token is configured at all), 403 when the token's scope is too small. Tokens are compared in
// constant time (tokenLookup, shared with the status page's silence form) and never logged.

import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { bearerToken, secretLookup } from '../../core/http/bearer.ts';
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

/** The configured token a caller presented: its holder's name and its scope. */
export interface PresentedToken {
  name: string;
  scope: ApiScope;
}

/** A constant-time lookup of presented tokens among the configured ones (see secretLookup). */
export function tokenLookup(
  tokens: readonly ApiToken[],
): (presented: string) => PresentedToken | undefined {
  const find = secretLookup(tokens);
  return (presented) => {
    const found = find(presented);
    return found && { name: found.name, scope: found.scope };
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
    const presented = bearerToken(c.req.header('Authorization'));
    if (presented === undefined) {
      log.warn({ ...where, reason: 'no bearer token' }, 'notify API request refused');
      throw new HTTPException(401, {
        message: 'expected an Authorization: Bearer <token> header',
      });
    }
    const token = findToken(presented);
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
