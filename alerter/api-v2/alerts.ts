// GET and POST /api/v2/alerts: the alert book as Alertmanager's gettableAlerts (with silences and
// inhibitions), and postable alerts from outside validated and handed to the alerter.

import { Hono } from 'hono';
import { z } from 'zod';
import type { Logger } from '../../core/logger.ts';
import { compileMatcher, LABEL_NAME } from '../silence/matcher.ts';
import type { LabelSet } from '../silence/index.ts';
import { bearerScopes, type ApiEnv } from './auth.ts';
import type { ApiToken } from './config.ts';
import { badRequest, issuesLine, jsonBody } from './errors.ts';
import { parseFilters, parseFlag } from './query.ts';

/** One alert of the book, as the API needs it (alerter/state/machine.ts Alert fits). */
export interface BookAlert {
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'resolved';
  activeSince: number;
  firedAt?: number;
  resolvedAt?: number;
}

/** An alert POSTed by an outside source (Prometheus, a script); times are epoch ms. */
export interface ExternalAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt?: number;
  endsAt?: number;
  generatorURL?: string;
}

export interface AlertRoutesDeps {
  tokens: readonly ApiToken[];
  alerts: () => readonly BookAlert[];
  silencedBy: (labels: LabelSet, at: number) => string[];
  inhibitedBy: (labels: Record<string, string>) => string | undefined;
  receive: (alerts: ExternalAlert[]) => void;
  clock: () => number;
  logger: Logger;
}

/** Go's zero time, which Alertmanager clients read as "no end yet". */
const ZERO_TIME = '0001-01-01T00:00:00Z';
const iso = (ms: number) => new Date(ms).toISOString();

const labelMap = (what: string) =>
  z.record(
    z.string().regex(LABEL_NAME, { error: `expected ${what} names of letters, digits and _` }),
    z.string({ error: 'expected a string value' }),
    { error: `expected an object of ${what} names to string values` },
  );

const time = z.iso
  .datetime({ offset: true, error: 'expected an RFC 3339 time like 2030-01-01T00:00:00Z' })
  .transform((text) => Date.parse(text));

const postableAlert = z
  .strictObject(
    {
      labels: labelMap('label').refine((labels) => (labels['alertname'] ?? '') !== '', {
        error: 'expected a non-empty alertname label',
      }),
      annotations: labelMap('annotation').optional(),
      startsAt: time.optional(),
      endsAt: time.optional(),
      generatorURL: z.string({ error: 'expected a URL' }).optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (expected labels, annotations, startsAt, endsAt, generatorURL)`
          : issue.code === 'invalid_type'
            ? 'expected an alert object with labels'
            : undefined,
    },
  )
  .superRefine((a, ctx) => {
    if (a.startsAt !== undefined && a.endsAt !== undefined && a.endsAt < a.startsAt) {
      ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must not be before startsAt' });
    }
  });

const postableAlerts = z.array(postableAlert, { error: 'expected a JSON array of alerts' });

/** Validates a POST /api/v2/alerts body; the 400 message names the index and the field. */
export function parsePostableAlerts(body: unknown): ExternalAlert[] {
  const result = postableAlerts.safeParse(body);
  if (!result.success) throw badRequest(issuesLine(result.error.issues, 'alerts'));
  return result.data.map((a) => ({
    labels: a.labels,
    annotations: a.annotations ?? {},
    ...(a.startsAt !== undefined ? { startsAt: a.startsAt } : {}),
    ...(a.endsAt !== undefined ? { endsAt: a.endsAt } : {}),
    ...(a.generatorURL !== undefined ? { generatorURL: a.generatorURL } : {}),
  }));
}

function gettableAlert(a: BookAlert, silencedBy: string[], inhibitedBy: string[]) {
  const startsAt = iso(a.firedAt ?? a.activeSince);
  return {
    labels: a.labels,
    annotations: a.annotations,
    // Routing is not evaluated here; Alertmanager would list the receivers of matching routes.
    receivers: [] as { name: string }[],
    fingerprint: a.fingerprint,
    startsAt,
    updatedAt: startsAt,
    endsAt: a.resolvedAt !== undefined ? iso(a.resolvedAt) : ZERO_TIME,
    status: {
      state: silencedBy.length > 0 || inhibitedBy.length > 0 ? 'suppressed' : 'active',
      silencedBy,
      inhibitedBy,
      mutedBy: [] as string[],
    },
  };
}

export function alertRoutes(deps: AlertRoutesDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const read = bearerScopes({ tokens: deps.tokens, scope: 'read', logger: deps.logger });
  const write = bearerScopes({ tokens: deps.tokens, scope: 'write', logger: deps.logger });

  app.get('/api/v2/alerts', read, (c) => {
    const filters = parseFilters(c.req.queries('filter')).map(compileMatcher);
    const wantActive = parseFlag(c.req.query('active'), 'active');
    const wantSilenced = parseFlag(c.req.query('silenced'), 'silenced');
    const wantInhibited = parseFlag(c.req.query('inhibited'), 'inhibited');
    parseFlag(c.req.query('unprocessed'), 'unprocessed'); // every alert of the book is processed
    const now = deps.clock();
    const out = [];
    // Like Alertmanager, which never sees pending alerts and hides resolved ones: firing only.
    for (const alert of deps.alerts()) {
      if (alert.state !== 'firing') continue;
      if (!filters.every((matches) => matches(alert.labels))) continue;
      const silencedBy = deps.silencedBy(alert.labels, now);
      const rule = deps.inhibitedBy(alert.labels);
      const inhibitedBy = rule === undefined ? [] : [rule];
      const suppressed = silencedBy.length > 0 || inhibitedBy.length > 0;
      if (!wantActive && !suppressed) continue;
      if (!wantSilenced && silencedBy.length > 0) continue;
      if (!wantInhibited && inhibitedBy.length > 0) continue;
      out.push(gettableAlert(alert, silencedBy, inhibitedBy));
    }
    return c.json(out);
  });

  app.post('/api/v2/alerts', write, async (c) => {
    const alerts = parsePostableAlerts(await jsonBody(c));
    deps.receive(alerts);
    deps.logger.debug({ caller: c.get('caller'), count: alerts.length }, 'alerts received');
    return c.body(null, 200);
  });

  return app;
}
