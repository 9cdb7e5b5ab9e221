// The settings `halo up` runs its demo with where the config file is silent: the demo's SLOs and
// rules, a 5 s evaluation, notifications to the console (and to PagerDuty, Slack or a webhook
// when their settings are in the environment), and a write token for the status page's silences.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileVariable } from '../../core/config/env.ts';
import { readSecretFile } from '../../core/config/load.ts';
import { Secret } from '../../core/config/secret.ts';

/** Where the demo's SLO and rule files are. */
export const DEMO_FILES = dirname(fileURLToPath(import.meta.url));

/** The environment variables that add a receiver, and the `_FILE` forms of each. */
export const DEMO_RECEIVER_ENV = {
  pagerduty: 'HALO_PAGERDUTY_ROUTING_KEY',
  slack: 'HALO_SLACK_WEBHOOK_URL',
  webhook: 'HALO_WEBHOOK_URL',
  webhookSecret: 'HALO_WEBHOOK_SECRET',
} as const;

/**
 * The variable's value as a secret, or the file its `_FILE` form names, read as the HALO_*
 * secrets of halo.yaml are (core/config/env.ts).
 */
function fromEnv(env: Record<string, string | undefined>, name: string): Secret | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return new Secret(direct);
  const file = env[fileVariable(name)];
  if (file === undefined || file === '') return undefined;
  return readSecretFile(file, `env ${fileVariable(name)}`);
}

/** The name of the demo's write token in `api.tokens`. */
export const DEMO_TOKEN_NAME = 'demo';

const tokenFile = (dataDir: string) => join(dataDir, 'demo', 'write-token');

/**
 * The demo's write token: the one kept in the data dir, else a new one (kept by keepDemoToken
 * once Halo has started on that dir). The status page's silence form asks for it; it is never
 * logged, the log names the file.
 */
export function demoToken(dataDir: string): { file: string; token: string } {
  const file = tokenFile(dataDir);
  if (existsSync(file)) return { file, token: readFileSync(file, 'utf8').trim() };
  return { file, token: randomBytes(24).toString('base64url') };
}

/** Writes the token to its file, readable by its owner only, unless the file exists. */
export function keepDemoToken(dataDir: string, token: string): string {
  const file = tokenFile(dataDir);
  if (existsSync(file)) return file;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  return file;
}

/** The demo's config defaults (raw, as halo.yaml would hold them). */
export function demoDefaults(options: {
  token: string;
  env?: Record<string, string | undefined>;
  /** Where Halo is reached, for links in notifications. */
  externalUrl?: string;
}): Record<string, unknown> {
  const env = options.env ?? process.env;
  const receivers: Array<Record<string, unknown>> = [
    { name: 'console', console_configs: [{ format: 'text' }] },
  ];
  const routes: Array<Record<string, unknown>> = [];
  const routingKey = fromEnv(env, DEMO_RECEIVER_ENV.pagerduty);
  if (routingKey !== undefined) {
    receivers.push({ name: 'pagerduty', pagerduty_configs: [{ routing_key: routingKey }] });
    routes.push({ receiver: 'pagerduty', matchers: ['severity="page"'], continue: true });
  }
  const slack = fromEnv(env, DEMO_RECEIVER_ENV.slack);
  if (slack !== undefined) {
    receivers.push({ name: 'slack', slack_configs: [{ webhook_url: slack }] });
    routes.push({ receiver: 'slack', continue: true });
  }
  const webhook = fromEnv(env, DEMO_RECEIVER_ENV.webhook);
  if (webhook !== undefined) {
    const secret = fromEnv(env, DEMO_RECEIVER_ENV.webhookSecret);
    receivers.push({
      name: 'webhook',
      webhook_configs: [{ url: webhook, ...(secret !== undefined ? { secret } : {}) }],
    });
    routes.push({ receiver: 'webhook', continue: true });
  }
  return {
    alerter: {
      slos: [join(DEMO_FILES, 'slos.yaml')],
      rules: [join(DEMO_FILES, 'rules.yaml')],
      interval: '5s',
    },
    notify: {
      ...(options.externalUrl !== undefined ? { external_url: options.externalUrl } : {}),
      receivers,
      route: {
        receiver: 'console',
        group_by: ['alertname', 'tier'],
        group_wait: '5s',
        group_interval: '1m',
        repeat_interval: '4h',
        // Every alert reaches the console; the others get theirs too (continue).
        routes: [{ receiver: 'console', continue: true }, ...routes],
      },
    },
    api: { tokens: [{ name: DEMO_TOKEN_NAME, token: options.token, scope: 'write' }] },
  };
}
