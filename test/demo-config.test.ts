// The demo's settings under halo.yaml: they apply only where the file is silent, add PagerDuty,
// Slack and webhook receivers from the environment without printing their secrets, and keep a
// write token per data dir; its SLO and rule files load.

import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSlos } from '../alerter/slo/load.ts';
import { haloConfigSchema } from '../cli/config-schema.ts';
import { DEMO_FILES, demoDefaults, demoToken, keepDemoToken } from '../cli/demo/config.ts';
import { loadRules } from '../cli/rules.ts';
import { loadConfig } from '../core/config/load.ts';
import { tempDir } from './helpers/temp.ts';

const ROUTING_KEY = 'pdR0utingKeySECRET0123456789abcd';
const SLACK_URL = 'https://hooks.slack.com/services/T0/B0/slackSECRET';
const HOOK_URL = 'https://hooks.example.com/in?token=hookSECRET';

function load(yaml: string | undefined, env: Record<string, string> = {}) {
  const cwd = tempDir('halo-demo-config-');
  if (yaml !== undefined) writeFileSync(join(cwd, 'halo.yaml'), yaml);
  return loadConfig({
    schema: haloConfigSchema,
    cwd,
    env: {},
    defaults: demoDefaults({ token: 'demo-token-value', env }),
    wholeSections: ['notify'],
  }).config;
}

describe('the demo settings', () => {
  it('without a halo.yaml: the demo SLOs and rules, a 5 s evaluation, the console, a write token', () => {
    const config = load(undefined);
    expect(config.alerter.slos).toEqual([join(DEMO_FILES, 'slos.yaml')]);
    expect(config.alerter.rules).toEqual([join(DEMO_FILES, 'rules.yaml')]);
    expect(config.alerter.interval.ms).toBe(5000);
    expect(config.notify?.receivers.map((r) => r.name)).toEqual(['console']);
    expect(config.notify?.route.receiver).toBe('console');
    expect(config.api.tokens.map((t) => [t.name, t.scope, t.token.reveal()])).toEqual([
      ['demo', 'write', 'demo-token-value'],
    ]);
  });

  it('halo.yaml wins where it speaks: its SLO list and notify section replace the demo ones, other keys merge', () => {
    const config = load(
      [
        "alerter: { slos: ['mine.yaml'], interval: 30s }",
        'notify:',
        '  receivers: [{ name: ops }]',
        '  route: { receiver: ops }',
        '',
      ].join('\n'),
    );
    expect(config.alerter.slos).toEqual(['mine.yaml']);
    expect(config.alerter.interval.ms).toBe(30_000);
    // Not said in the file: the demo's.
    expect(config.alerter.rules).toEqual([join(DEMO_FILES, 'rules.yaml')]);
    expect(config.notify?.receivers.map((r) => r.name)).toEqual(['ops']);
    expect(config.notify?.route.receiver).toBe('ops');
    // A notify section is a whole routing tree: none of the demo's routes or timings in it.
    expect(config.notify?.route.routes).toEqual([]);
    expect(config.notify?.route.groupBy).toEqual([]);
  });

  it('adds PagerDuty (pages), Slack and a signed webhook from the environment, secrets kept secret', () => {
    const keyFile = join(tempDir('halo-demo-secret-'), 'key');
    writeFileSync(keyFile, `${ROUTING_KEY}\n`);
    const config = load(undefined, {
      HALO_PAGERDUTY_ROUTING_KEY_FILE: keyFile,
      HALO_SLACK_WEBHOOK_URL: SLACK_URL,
      HALO_WEBHOOK_URL: HOOK_URL,
      HALO_WEBHOOK_SECRET: 'whsec_c2lnbmluZy1rZXk=',
    });
    const receivers = config.notify!.receivers;
    expect(receivers.map((r) => r.name)).toEqual(['console', 'pagerduty', 'slack', 'webhook']);
    expect(receivers[1]!.pagerduty_configs[0]!.routing_key.reveal()).toBe(ROUTING_KEY);
    expect(receivers[2]!.slack_configs[0]!.webhook_url.reveal()).toBe(SLACK_URL);
    expect(receivers[3]!.webhook_configs[0]!.url.reveal()).toBe(HOOK_URL);
    expect(config.notify!.route.routes.map((r) => [r.receiver, r.matchers, r.continue])).toEqual([
      ['console', [], true],
      ['pagerduty', [{ label: 'severity', op: '=', value: 'page' }], true],
      ['slack', [], true],
      ['webhook', [], true],
    ]);
    const printed = JSON.stringify(config);
    for (const secret of [ROUTING_KEY, 'slackSECRET', 'hookSECRET', 'c2lnbmluZy1rZXk']) {
      expect(printed).not.toContain(secret);
    }
  });

  it('keeps one write token per data dir, readable by its owner only, written once Halo runs', () => {
    const dir = tempDir('halo-demo-token-');
    const first = demoToken(dir);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // Loading the config writes nothing: a start that fails leaves the data dir alone.
    expect(existsSync(first.file)).toBe(false);
    expect(keepDemoToken(dir, first.token)).toBe(first.file);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    expect(demoToken(dir)).toEqual(first);
    expect(keepDemoToken(dir, 'another')).toBe(first.file);
    expect(demoToken(dir).token).toBe(first.token);
    expect(demoToken(tempDir('halo-demo-token-')).token).not.toBe(first.token);
  });

  it('its SLO and rule files load: three SLOs, a redundancy rule per tier, the absence rule', () => {
    const { slos, warnings } = loadSlos([join(DEMO_FILES, 'slos.yaml')]);
    expect(warnings).toEqual([]);
    expect(slos.map((s) => s.name)).toEqual([
      'front-door-availability',
      'shop-latency',
      'shop-log-availability',
    ]);
    const rules = loadRules([join(DEMO_FILES, 'rules.yaml')]);
    expect(rules.map((r) => [r.name, r.condition.kind])).toEqual([
      ['lb-redundancy', 'redundancy'],
      ['web-redundancy', 'redundancy'],
      ['app-redundancy', 'redundancy'],
      ['cache-redundancy', 'redundancy'],
      ['db-redundancy', 'redundancy'],
      ['mq-redundancy', 'redundancy'],
      ['member-silent', 'absence'],
    ]);
    // The host alert waits longer than the tier-wide ones, so they can hold it down.
    const member = rules.find((r) => r.name === 'member-silent')!;
    for (const r of rules.filter((x) => x.condition.kind === 'redundancy')) {
      expect(r.forMs).toBeLessThan(member.forMs);
    }
  });
});
