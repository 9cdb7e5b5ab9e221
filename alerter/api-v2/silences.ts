// Silence routes of the notify API in Alertmanager v2 shapes: list (with state and filters), get,
// create from a postableSilence, and expire.

import { Hono } from 'hono';
import { z } from 'zod';
import type { Logger } from '../../core/logger.ts';
import {
  compileMatcher,
  type Matcher,
  type SilenceStore,
  type SilenceWithState,
} from '../silence/index.ts';
import { bearerScopes, type ApiEnv } from './auth.ts';
import type { ApiToken } from './config.ts';
import { badRequest, issuesLine, jsonBody, notFound } from './errors.ts';
import { parseFilters } from './query.ts';

export interface SilenceRoutesDeps {
  tokens: readonly ApiToken[];
  silences: SilenceStore;
  clock: () => number;
  logger: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;
const iso = (ms: number) => new Date(ms).toISOString();

const time = z.iso
  .datetime({ offset: true, error: 'expected an RFC 3339 time like 2030-01-01T00:00:00Z' })
  .transform((text) => Date.parse(text));

const postableMatcher = z.strictObject({
  name: z.string({ error: 'expected a label name' }),
  value: z.string({ error: 'expected a string' }),
  isRegex: z.boolean({ error: 'expected true or false' }),
  isEqual: z.boolean({ error: 'expected true or false' }).default(true),
});

/** Shape only; the silence store checks names, regexes, lengths and times and names the field. */
const postableSilence = z.strictObject(
  {
    id: z.string().optional(),
    matchers: z.array(postableMatcher, { error: 'expected a list of matchers' }),
    startsAt: time,
    endsAt: time,
    createdBy: z.string({ error: "expected the author's name" }),
    comment: z.string({ error: 'expected a comment saying why' }),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (expected id, matchers, startsAt, endsAt, createdBy, comment)`
        : issue.code === 'invalid_type'
          ? 'expected a silence object'
          : undefined,
  },
);

const opOf = (m: { isRegex: boolean; isEqual: boolean }): Matcher['op'] =>
  m.isRegex ? (m.isEqual ? '=~' : '!~') : m.isEqual ? '=' : '!=';

function gettableSilence(s: SilenceWithState) {
  return {
    id: s.id,
    status: { state: s.state },
    updatedAt: iso(s.updatedAt),
    matchers: s.matchers.map((m) => ({
      name: m.label,
      value: m.value,
      isRegex: m.op === '=~' || m.op === '!~',
      isEqual: m.op === '=' || m.op === '=~',
    })),
    startsAt: iso(s.startsAt),
    endsAt: iso(s.endsAt),
    createdBy: s.createdBy,
    comment: s.comment,
  };
}

/**
 * A silence passes a filter matcher when it has a matcher on the same label, of the same kind
 * (equal or not equal), whose literal value the filter accepts: Alertmanager's rule, so that
 * `filter=service="web"` finds the silences written for service="web".
 */
function silenceMatches(s: SilenceWithState, filters: readonly Matcher[]): boolean {
  return filters.every((f) => {
    const accepts = compileMatcher({ ...f, op: f.op === '=~' || f.op === '!~' ? '=~' : '=' });
    const equal = f.op === '=' || f.op === '=~';
    return s.matchers.some(
      (m) =>
        m.label === f.label &&
        (m.op === '=' || m.op === '=~') === equal &&
        accepts({ [f.label]: m.value }),
    );
  });
}

export function silenceRoutes(deps: SilenceRoutesDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const read = bearerScopes({ tokens: deps.tokens, scope: 'read', logger: deps.logger });
  const write = bearerScopes({ tokens: deps.tokens, scope: 'write', logger: deps.logger });
  const { silences } = deps;

  app.get('/api/v2/silences', read, (c) => {
    const filters = parseFilters(c.req.queries('filter'));
    const list = silences.list({ at: deps.clock() });
    return c.json(list.filter((s) => silenceMatches(s, filters)).map(gettableSilence));
  });

  app.get('/api/v2/silence/:id', read, (c) => {
    const id = c.req.param('id');
    const silence = silences.get(id, deps.clock());
    if (silence === undefined) throw notFound(`silence ${id} not found`);
    return c.json(gettableSilence(silence));
  });

  app.post('/api/v2/silences', write, async (c) => {
    const result = postableSilence.safeParse(await jsonBody(c));
    if (!result.success) throw badRequest(issuesLine(result.error.issues, 'silence'));
    const body = result.data;
    if (body.id !== undefined && body.id !== '') {
      // The store has no update: a silence's matchers and times are its audit record.
      throw badRequest(
        'silence id: updating a silence is not supported; expire it and post a new one',
      );
    }
    const created = await silences.create(
      {
        matchers: body.matchers.map((m) => ({ label: m.name, op: opOf(m), value: m.value })),
        startsAt: body.startsAt,
        endsAt: body.endsAt,
        createdBy: body.createdBy,
        comment: body.comment,
      },
      deps.clock(),
    );
    deps.logger.info(
      { caller: c.get('caller'), id: created.id },
      'silence created through the API',
    );
    return c.json({ silenceID: created.id });
  });

  app.delete('/api/v2/silence/:id', write, async (c) => {
    const id = c.req.param('id');
    // Not a UUID: no silence can have it (the store would call it invalid; a client sees 404).
    if (!UUID.test(id)) throw notFound(`silence ${id} not found`);
    await silences.expire(id, deps.clock());
    deps.logger.info({ caller: c.get('caller'), id }, 'silence expired through the API');
    return c.body(null, 200);
  });

  return app;
}
