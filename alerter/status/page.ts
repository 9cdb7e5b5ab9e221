// Halo's status page as a Hono app (no script, no build): GET /status, an alert's silence form, POST /status/silence.

import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import type { Store } from '../../core/store/store.ts';
import type { AlerterStatus } from '../alerter.ts';
import { sloStatusJson } from '../api.ts';
import { tokenLookup, type PresentedToken } from '../api-v2/auth.ts';
import type { ApiToken } from '../api-v2/config.ts';
import type { AlertRule } from '../rules/model.ts';
import { formatMatchers, SilenceValidationError, type SilenceStore } from '../silence/index.ts';
import type { Slo } from '../slo/model.ts';
import type { Alert } from '../state/machine.ts';
import {
  chartedWindow,
  readBurnHistory,
  readTierHealth,
  within,
  type BurnHistory,
  type ChartedWindow,
  type TierHealth,
} from './data.ts';
import {
  AUTHOR_MAX,
  COMMENT_MAX,
  SILENCE_DURATIONS,
  renderAlertPage,
  renderMessagePage,
  renderStatusPage,
  silenceMatchers,
  utcTime,
  type AlertView,
  type Silencing,
} from './html.ts';

export interface StatusPageDeps {
  status: () => AlerterStatus;
  slos: readonly Slo[];
  /** Redundancy rules give the tier health; other rules are ignored here. */
  rules: readonly AlertRule[];
  /** Absent: no Silence button, and the page says why. */
  silences?: SilenceStore;
  /** The notify API's tokens: a write token creates silences, a read token is refused. */
  tokens: readonly ApiToken[];
  store: Store;
  /** The inhibit rule muting alerts with these labels now, if any (the notifier's inhibitedBy). */
  inhibitedBy?: (labels: Record<string, string>) => string | undefined;
  /** @default Date.now */
  clock?: () => number;
  logger: Logger;
  /** @default 'Halo status' */
  title?: string;
}

/** How far back the burn-rate charts go, and the width of one point. */
const CHART_SPAN_MS = 6 * 3_600_000;
const CHART_BUCKET_MS = 5 * 60_000;
/** A page about trouble must render even when the store hangs. */
const STORE_WAIT_MS = 5000;
/** A silence form is a few hundred bytes. */
const BODY_LIMIT = 32 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu;

/** No script, no framing (the Silence form), nothing cached, no referrer. */
const headers: MiddlewareHandler = async function statusPageHeaders(c, next) {
  await next();
  c.header(
    'Content-Security-Policy',
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Referrer-Policy', 'no-referrer');
  c.header('Cache-Control', 'no-store');
};

/** Text of a form field; a file or a missing field is ''. */
function field(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  return typeof value === 'string' ? value : '';
}

/** Why no silence can be made here, or undefined when one can. */
function silencingOff(deps: StatusPageDeps): string | undefined {
  if (!deps.silences)
    return 'this alerter runs without a silence store (silences live in NATS and need the notify section of the config).';
  if (deps.tokens.length === 0)
    return 'no API token is configured (api.tokens); silencing here needs a token of scope write.';
  return undefined;
}

const clip = (text: string, max = 80) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** What a person typed in the silence form (the token aside). */
export interface SilenceForm {
  duration: string;
  comment: string;
  author: string;
}

/** The silence's length, or every problem of the form, each naming its field. */
export function checkSilenceForm(
  form: SilenceForm,
): { durationMs: number } | { problems: string[] } {
  const durationMs = SILENCE_DURATIONS.get(form.duration);
  const problems = [
    durationMs === undefined &&
      `duration: expected one of ${[...SILENCE_DURATIONS.keys()].join(', ')} (got ${JSON.stringify(clip(form.duration, 20))})`,
    form.comment === '' && 'comment: say why you silence this alert',
    form.comment.length > COMMENT_MAX &&
      `comment: at most ${COMMENT_MAX} characters (got ${form.comment.length})`,
    form.author.length > AUTHOR_MAX &&
      `author: at most ${AUTHOR_MAX} characters (got ${form.author.length})`,
  ].filter((p): p is string => typeof p === 'string');
  return problems.length > 0 || durationMs === undefined ? { problems } : { durationMs };
}

/** The dependencies with their defaults, shared by the routes. */
interface Page {
  deps: StatusPageDeps;
  log: Logger;
  clock: () => number;
  title: string;
  findToken: (presented: string) => PresentedToken | undefined;
  /** Why no silence can be made here; undefined when one can. */
  off: string | undefined;
  silencing: Silencing;
}

function alertView(page: Page, alert: Alert, now: number): AlertView {
  const { silences, inhibitedBy } = page.deps;
  return {
    alert,
    silencedBy: (silences?.silencedBy(alert.labels, now) ?? []).map((id) => {
      const s = silences?.get(id, now);
      return { id, endsAt: s?.endsAt, createdBy: s?.createdBy };
    }),
    inhibitedBy: inhibitedBy?.(alert.labels),
  };
}

const findAlert = (page: Page, fingerprint: string): Alert | undefined =>
  page.deps.status().alerts.find((a) => a.fingerprint === fingerprint);

function message(
  page: Page,
  c: Context,
  status: ContentfulStatusCode,
  heading: string,
  text: string,
): Response {
  return c.html(renderMessagePage(`${page.title}: ${heading}`, heading, text), status);
}

/** The burn history and the tier health, read at once; a failure is said on the page. */
async function readStore(
  page: Page,
  now: number,
  charted: ReadonlyMap<string, ChartedWindow>,
): Promise<{ burn: BurnHistory | { error: string }; tiers: TierHealth[] | { error: string } }> {
  const { store, rules } = page.deps;
  const [burn, tiers] = await Promise.allSettled([
    within(
      readBurnHistory(store, charted, now - CHART_SPAN_MS, now, CHART_BUCKET_MS),
      STORE_WAIT_MS,
      'read the burn-rate history',
    ),
    within(readTierHealth(store, rules, now), STORE_WAIT_MS, 'read the tier health'),
  ]);
  const failed = (r: PromiseRejectedResult, what: string) => {
    const error = errorMessage(r.reason);
    page.log.warn({ err: error }, `status page: reading the ${what} failed`);
    return { error };
  };
  if (tiers.status === 'fulfilled') {
    for (const t of tiers.value)
      if (t.error) page.log.warn({ rule: t.rule, err: t.error }, 'status page: tier health');
  }
  return {
    burn: burn.status === 'fulfilled' ? burn.value : failed(burn, 'burn-rate history'),
    tiers: tiers.status === 'fulfilled' ? tiers.value : failed(tiers, 'tier health'),
  };
}

/** The notice after a silence was created here: its id, what it mutes and until when. */
function noticeOf(page: Page, id: string | undefined, now: number): string | undefined {
  if (id === undefined || !UUID.test(id)) return undefined;
  const s = page.deps.silences?.get(id, now);
  if (!s) return `Silence ${id} not found.`;
  return `Silence ${s.id} created by ${s.createdBy}: it mutes ${formatMatchers(s.matchers)} until ${utcTime(s.endsAt)}.`;
}

async function statusPage(page: Page, c: Context): Promise<Response> {
  const began = performance.now();
  const now = page.clock();
  const { slos } = page.deps;
  const status = page.deps.status();
  const charted = new Map<string, ChartedWindow>();
  for (const slo of slos) {
    const w = chartedWindow(slo, now);
    if (w) charted.set(slo.name, w);
  }
  const { burn, tiers } = await readStore(page, now, charted);
  const notice = noticeOf(page, c.req.query('silenced'), now);
  const html = renderStatusPage({
    title: page.title,
    now,
    leading: status.leading,
    evaluatedAt: status.lastEvaluation,
    ...(notice !== undefined ? { notice } : {}),
    slos: slos.map((slo) => ({ slo, status: sloStatusJson(slo, status) })),
    charted,
    chart: { from: now - CHART_SPAN_MS, to: now, bucketMs: CHART_BUCKET_MS },
    burn,
    alerts: status.alerts.filter((a) => a.state !== 'resolved').map((a) => alertView(page, a, now)),
    silencing: page.silencing,
    tiers,
    renderedInMs: performance.now() - began,
  });
  return c.html(html);
}

function alertPage(page: Page, c: Context): Response {
  const fingerprint = c.req.param('fingerprint') ?? '';
  const alert = findAlert(page, fingerprint);
  if (!alert) {
    const text = `No alert has the fingerprint ${clip(fingerprint)}: it may have resolved and been forgotten.`;
    return message(page, c, 404, 'Alert not found', text);
  }
  const now = page.clock();
  const view = { title: page.title, now, alert: alertView(page, alert, now) };
  return c.html(renderAlertPage({ ...view, silencing: page.silencing }));
}

/**
 * POST /status/silence: 401 without a valid token, 403 with a read token, 400 for a bad form,
 * 404 for an alert no longer known; else the silence is created and the page shown again. The
 * token is never logged, echoed back or put in a URL.
 */
async function silenceRequest(page: Page, c: Context): Promise<Response> {
  const body: Record<string, unknown> = await c.req.parseBody();
  const fingerprint = field(body, 'fingerprint');
  const token = field(body, 'token');
  const form: SilenceForm = {
    duration: field(body, 'duration'),
    comment: field(body, 'comment').trim(),
    author: field(body, 'author').trim(),
  };
  const now = page.clock();
  const alert = findAlert(page, fingerprint);
  const where = { fingerprint: clip(fingerprint, 24) };
  /** The alert's form again, with what was typed (never the token) and why it was refused. */
  const refuse = (status: ContentfulStatusCode, heading: string, text: string) => {
    if (!alert) return message(page, c, status, heading, text);
    const view = { title: page.title, now, alert: alertView(page, alert, now), form, error: text };
    return c.html(renderAlertPage({ ...view, silencing: page.silencing }), status);
  };

  const silences = page.deps.silences;
  if (page.off !== undefined || silences === undefined) {
    page.log.warn({ ...where, reason: 'silences unavailable' }, 'silence refused');
    return refuse(503, 'Silences unavailable', `No silence can be made here: ${page.off ?? ''}`);
  }
  const caller = token === '' ? undefined : page.findToken(token);
  if (caller === undefined) {
    const reason = token === '' ? 'no token' : 'unknown token';
    page.log.warn({ ...where, reason }, 'silence refused');
    return refuse(
      401,
      'Not authorised',
      token === ''
        ? 'Enter an API token of scope write to silence an alert.'
        : 'That API token is not valid; nothing was silenced.',
    );
  }
  if (caller.scope !== 'write') {
    page.log.warn({ ...where, caller: caller.name, reason: 'read-only token' }, 'silence refused');
    const text = `The token of ${caller.name} may only read; silencing needs a token of scope write. Nothing was silenced.`;
    return refuse(403, 'Forbidden', text);
  }
  if (!alert) {
    const text = `No alert has the fingerprint ${clip(fingerprint)}: it may have resolved and been forgotten. Nothing was silenced.`;
    return message(page, c, 404, 'Alert not found', text);
  }
  const checked = checkSilenceForm(form);
  if ('problems' in checked) {
    return refuse(400, 'Invalid form', `${checked.problems.join('; ')}. Nothing was silenced.`);
  }
  let id: string;
  try {
    const created = await silences.create(
      {
        matchers: silenceMatchers(alert),
        startsAt: now,
        endsAt: now + checked.durationMs,
        createdBy: form.author || caller.name,
        comment: form.comment,
      },
      now,
    );
    id = created.id;
  } catch (err) {
    const text = errorMessage(err);
    page.log.warn(
      { ...where, caller: caller.name, err: text },
      'silence from the status page failed',
    );
    return err instanceof SilenceValidationError
      ? refuse(400, 'Invalid silence', `${text}. Nothing was silenced.`)
      : refuse(503, 'Silence not stored', `The silence could not be stored: ${text}`);
  }
  page.log.info(
    { ...where, caller: caller.name, id, duration: form.duration },
    'silence created from the status page',
  );
  return c.redirect(`/status?silenced=${id}`, 303);
}

/**
 * The status page under /status; mount it with app.route('/', …). GET /status refreshes itself
 * every 15 s, so each alert's Silence form lives on a page of its own (GET
 * /status/alerts/:fingerprint) that does not: a refresh would wipe a half-typed form.
 */
export function createStatusPage(deps: StatusPageDeps): Hono {
  const off = silencingOff(deps);
  const page: Page = {
    deps,
    log: deps.logger.child({ module: 'status-page' }),
    clock: deps.clock ?? Date.now,
    title: deps.title ?? 'Halo status',
    findToken: tokenLookup(deps.tokens),
    off,
    silencing: off === undefined ? { enabled: true } : { enabled: false, reason: off },
  };
  const app = new Hono();
  // Only under /status: mounted at '/', a '*' middleware would reach every other route too.
  app.use('/status', headers);
  app.use('/status/*', headers);
  app.get('/status', (c) => statusPage(page, c));
  app.get('/status/alerts/:fingerprint', (c) => alertPage(page, c));
  app.post(
    '/status/silence',
    bodyLimit({
      maxSize: BODY_LIMIT,
      onError: (c) =>
        message(page, c, 413, 'Form too large', `A silence form is at most ${BODY_LIMIT} bytes.`),
    }),
    (c) => silenceRequest(page, c),
  );
  app.onError((err, c) => {
    page.log.error({ err: errorMessage(err), path: c.req.path }, 'status page failed');
    return message(page, c, 500, 'Status page error', errorMessage(err));
  });
  return app;
}
