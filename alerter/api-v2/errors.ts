// The one place where errors of the notify API become JSON responses `{ error }`.

import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../../core/logger.ts';
import {
  SilenceExpiredError,
  SilenceNotFoundError,
  SilenceValidationError,
} from '../silence/index.ts';

/** A request the API refuses; thrown by handlers, rendered by errorResponder. */
export const badRequest = (message: string) => new HTTPException(400, { message });
export const notFound = (message: string) => new HTTPException(404, { message });

function statusOf(err: Error): { status: ContentfulStatusCode; message: string } {
  if (err instanceof HTTPException) return { status: err.status, message: err.message };
  if (err instanceof SilenceValidationError) return { status: 400, message: err.message };
  if (err instanceof SilenceNotFoundError) return { status: 404, message: err.message };
  if (err instanceof SilenceExpiredError) return { status: 409, message: err.message };
  return { status: 500, message: 'internal error; see the alerter log' };
}

export function errorResponder(logger: Logger) {
  return function respondWithError(err: Error, c: Context) {
    const { status, message } = statusOf(err);
    if (status >= 500) {
      // The message of an unexpected error stays in the log (BusError messages hold no secrets).
      logger.error(
        { method: c.req.method, path: c.req.path, err: err.message },
        'notify API failed',
      );
    }
    if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="halo"');
    return c.json({ error: message }, status);
  };
}

/** `[0].labels.alertname` for a zod issue path. */
export function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) =>
      typeof part === 'number' ? `[${part}]` : `${i > 0 ? '.' : ''}${String(part)}`,
    )
    .join('');
}

/** The issues of a failed parse as one line, each prefixed with `what` and its path. */
export function issuesLine(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  what: string,
): string {
  return issues
    .map((issue) => {
      const at = pathText(issue.path);
      return `${what}${at === '' || at.startsWith('[') ? at : `.${at}`}: ${issue.message}`;
    })
    .join('; ');
}

/** The JSON body of a request; invalid JSON is a 400. */
export async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json<unknown>();
  } catch {
    throw badRequest('request body: expected JSON');
  }
}
