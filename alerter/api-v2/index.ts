// createNotifyApi: the Alertmanager-v2-compatible HTTP API of the alerter (alerts and silences),
// behind bearer tokens with read and write scopes. Mount it with app.route('/', …).

import { Hono } from 'hono';
import type { Logger } from '../../core/logger.ts';
import type { SilenceStore } from '../silence/index.ts';
import { alertRoutes, type BookAlert, type ExternalAlert } from './alerts.ts';
import type { ApiEnv } from './auth.ts';
import type { ApiToken } from './config.ts';
import { errorResponder } from './errors.ts';
import { silenceRoutes } from './silences.ts';

export {
  apiConfigSchema,
  API_SCOPES,
  type ApiConfig,
  type ApiScope,
  type ApiToken,
} from './config.ts';
export { bearerScopes, NO_TOKENS_MESSAGE, type ApiEnv, type BearerScopesOptions } from './auth.ts';
export { parsePostableAlerts, type BookAlert, type ExternalAlert } from './alerts.ts';

export interface NotifyApiDeps {
  /** From `api.tokens`; none configured means every request gets 401. */
  tokens: readonly ApiToken[];
  silences: SilenceStore;
  /** The alert book now (firing ones are listed). */
  alerts: () => readonly BookAlert[];
  /** The name of the inhibit rule that mutes alerts with these labels, or undefined. */
  inhibitedBy: (labels: Record<string, string>) => string | undefined;
  /** Alerts POSTed from outside, already validated. */
  receive: (alerts: ExternalAlert[]) => void;
  /** @default Date.now */
  clock?: () => number;
  logger: Logger;
}

export function createNotifyApi(deps: NotifyApiDeps): Hono<ApiEnv> {
  const logger = deps.logger.child({ module: 'notify-api' });
  const clock = deps.clock ?? Date.now;
  const app = new Hono<ApiEnv>();
  app.route(
    '/',
    alertRoutes({
      tokens: deps.tokens,
      alerts: deps.alerts,
      silencedBy: (labels, at) => deps.silences.silencedBy(labels, at),
      inhibitedBy: deps.inhibitedBy,
      receive: deps.receive,
      clock,
      logger,
    }),
  );
  app.route('/', silenceRoutes({ tokens: deps.tokens, silences: deps.silences, clock, logger }));
  app.notFound((c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));
  app.onError(errorResponder(logger));
  return app;
}
