// Inhibition: the SLO-tier and tier-wide built-ins, a configured rule with equal, and inhibit config errors.

import { describe, expect, it } from 'vitest';
import {
  inhibitConfigSchema,
  inhibited,
  inhibitionIndex,
  inhibitRules,
  sloTierRules,
  tierWideRuleNames,
  type InhibitAlert,
  type RuleScope,
  type SloTiers,
} from '../alerter/inhibit/index.ts';
import { notifyError } from './fixtures/notify/config-schema.ts';

type Labels = Record<string, string>;

const CHECKOUT: SloTiers = { name: 'checkout' };
const API: SloTiers = { name: 'api-latency', groupBy: 'region' };
const CUSTOM: SloTiers = {
  name: 'search',
  burnRateTiers: [
    { name: 'slow', severity: 'ticket', factor: 2, longWindowMs: 1, shortWindowMs: 1 },
    { name: 'fast', severity: 'page', factor: 10, longWindowMs: 1, shortWindowMs: 1 },
    { name: 'also-fast', severity: 'page', factor: 10, longWindowMs: 1, shortWindowMs: 1 },
    { name: 'medium', severity: 'page', factor: 5, longWindowMs: 1, shortWindowMs: 1 },
  ],
};

/** An SLO alert labelled as alerter/slo/alerts.ts labels it (page and ticket routing differ). */
function sloAlert(slo: SloTiers, tier: string, extra: Labels = {}): InhibitAlert {
  const severity =
    tier.startsWith('page') || ['fast', 'also-fast', 'medium'].includes(tier) ? 'page' : 'ticket';
  return {
    labels: {
      team: 'payments',
      route: severity === 'page' ? 'pager' : 'queue',
      alertname: slo.name,
      slo: slo.name,
      service: 'shop',
      severity,
      burn_tier: tier,
      ...extra,
    },
    state: 'firing',
  };
}

const RULES: RuleScope[] = [
  {
    name: 'web-tier-thin',
    condition: {
      kind: 'redundancy',
      matchers: [],
      member: 'host',
      by: ['tier'],
      healthyWhen: { op: '>=', value: 1 },
      windowMs: 120_000,
      lookbackMs: 86_400_000,
      min: 2,
    },
  },
  {
    name: 'tier-silent',
    condition: { kind: 'absence', scope: 'tier', matchers: [], silentForMs: 1, lookbackMs: 2 },
  },
  {
    name: 'host-silent',
    condition: { kind: 'absence', scope: 'host', matchers: [], silentForMs: 1, lookbackMs: 2 },
  },
  {
    name: 'backend-thin',
    condition: {
      kind: 'redundancy',
      matchers: [],
      member: 'server',
      by: ['tier', 'host'],
      healthyWhen: { op: '>=', value: 1 },
      windowMs: 1,
      lookbackMs: 2,
      min: 1,
    },
  },
];

const builtins = inhibitRules(inhibitConfigSchema.parse({}), {
  slos: [CHECKOUT, API, CUSTOM],
  rules: RULES,
});

const firing = (labels: Labels): InhibitAlert => ({ labels, state: 'firing' });

describe('a higher burn tier of an SLO instance inhibits its lower tiers', () => {
  const cases: Array<[string, InhibitAlert, InhibitAlert, boolean]> = [
    [
      'page-fast holds down page-slow',
      sloAlert(CHECKOUT, 'page-fast'),
      sloAlert(CHECKOUT, 'page-slow'),
      true,
    ],
    [
      'page-fast holds down ticket-slow although page and ticket routing labels differ',
      sloAlert(CHECKOUT, 'page-fast'),
      sloAlert(CHECKOUT, 'ticket-slow'),
      true,
    ],
    [
      'page-slow holds down ticket-fast',
      sloAlert(CHECKOUT, 'page-slow'),
      sloAlert(CHECKOUT, 'ticket-fast'),
      true,
    ],
    [
      'ticket-fast holds down ticket-slow',
      sloAlert(CHECKOUT, 'ticket-fast'),
      sloAlert(CHECKOUT, 'ticket-slow'),
      true,
    ],
    [
      'a lower tier never holds down a higher one',
      sloAlert(CHECKOUT, 'page-slow'),
      sloAlert(CHECKOUT, 'page-fast'),
      false,
    ],
    [
      'another SLO is another incident',
      sloAlert(API, 'page-fast', { region: 'eu' }),
      sloAlert(CHECKOUT, 'page-slow'),
      false,
    ],
    [
      'the same instance (group_by region) is held down',
      sloAlert(API, 'page-fast', { region: 'eu' }),
      sloAlert(API, 'ticket-fast', { region: 'eu' }),
      true,
    ],
    [
      'another instance of the same SLO is not',
      sloAlert(API, 'page-fast', { region: 'eu' }),
      sloAlert(API, 'ticket-fast', { region: 'us' }),
      false,
    ],
    [
      'custom tiers rank page before ticket',
      sloAlert(CUSTOM, 'medium'),
      sloAlert(CUSTOM, 'slow'),
      true,
    ],
    [
      'custom tiers rank a higher factor first',
      sloAlert(CUSTOM, 'fast'),
      sloAlert(CUSTOM, 'medium'),
      true,
    ],
    [
      'custom tiers of equal rank do not hold each other down',
      sloAlert(CUSTOM, 'also-fast'),
      sloAlert(CUSTOM, 'fast'),
      false,
    ],
  ];
  it.each(cases)('%s', (_name, source, target, expected) => {
    expect(inhibited(target, [source, target], builtins)).toBe(expected);
  });

  it('a resolved or pending higher tier inhibits nothing', () => {
    const target = sloAlert(CHECKOUT, 'page-slow');
    for (const state of ['resolved', 'pending'] as const) {
      expect(inhibited(target, [{ ...sloAlert(CHECKOUT, 'page-fast'), state }], builtins)).toBe(
        false,
      );
    }
  });

  it('switched off, the tiers notify alone', () => {
    const off = inhibitRules(inhibitConfigSchema.parse({ builtin: { slo_tiers: false } }), {
      slos: [CHECKOUT],
    });
    expect(inhibited(sloAlert(CHECKOUT, 'page-slow'), [sloAlert(CHECKOUT, 'page-fast')], off)).toBe(
      false,
    );
  });

  it('makes one rule per SLO and tier that has lower tiers', () => {
    expect(sloTierRules([CHECKOUT]).map((r) => [r.name, r.targetMatchers[1]?.value])).toEqual([
      ['builtin:slo_tiers:checkout:page-fast', 'page-slow|ticket-fast|ticket-slow'],
      ['builtin:slo_tiers:checkout:page-slow', 'ticket-fast|ticket-slow'],
      ['builtin:slo_tiers:checkout:ticket-fast', 'ticket-slow'],
    ]);
  });
});

describe('a tier-wide alert inhibits the host alerts of its tier', () => {
  const thin = firing({ alertname: 'web-tier-thin', tier: 'web' });
  const external = firing({ alertname: 'WebTierDown', tier: 'web', scope: 'tier' });
  const hostDown = firing({ alertname: 'HostDown', tier: 'web', host: 'w1' });
  const cases: Array<[string, InhibitAlert, InhibitAlert, boolean]> = [
    ['a redundancy rule by tier holds down a host of the tier', thin, hostDown, true],
    ['a scope="tier" alert from outside holds it down too', external, hostDown, true],
    [
      'a host of another tier is not held down',
      thin,
      firing({ alertname: 'HostDown', tier: 'api', host: 'a1' }),
      false,
    ],
    [
      'another tier-wide alert of the tier is not held down',
      thin,
      firing({ alertname: 'tier-silent', tier: 'web' }),
      false,
    ],
    [
      'an alert with a host is not tier-wide, whatever its scope label',
      firing({ alertname: 'X', tier: 'web', host: 'w2', scope: 'tier' }),
      hostDown,
      false,
    ],
    [
      'a host-scoped absence rule is not tier-wide',
      firing({ alertname: 'host-silent', tier: 'web' }),
      hostDown,
      false,
    ],
  ];
  it.each(cases)('%s', (_name, source, target, expected) => {
    expect(inhibited(target, [source, target], builtins)).toBe(expected);
  });

  it('finds the tier-wide rules by kind: absence of scope tier, redundancy by tier without host', () => {
    expect(tierWideRuleNames(RULES)).toEqual(['web-tier-thin', 'tier-silent']);
  });

  it('switched off, host alerts notify', () => {
    const off = inhibitRules(inhibitConfigSchema.parse({ builtin: { tier_wide: false } }), {
      rules: RULES,
    });
    expect(inhibited(hostDown, [thin, external], off)).toBe(false);
  });
});

describe('a configured rule with equal', () => {
  const rules = inhibitRules(
    inhibitConfigSchema.parse({
      builtin: { slo_tiers: false, tier_wide: false },
      rules: [
        {
          source_matchers: ['severity="page"'],
          target_matchers: ['severity="ticket"'],
          equal: ['service'],
        },
        {
          name: 'same-cluster',
          source_matchers: ['severity=~"page|ticket"'],
          target_matchers: ['severity=~"page|ticket|info"'],
          equal: ['cluster'],
        },
      ],
    }),
  );
  const alert = (severity: string, labels: Labels = {}) =>
    firing({ alertname: 'A', severity, ...labels });

  const cases: Array<[string, InhibitAlert[], InhibitAlert, boolean]> = [
    [
      'a page holds down a ticket of the same service',
      [alert('page', { service: 'web', cluster: 'a' })],
      alert('ticket', { service: 'web', cluster: 'b' }),
      true,
    ],
    [
      'not of another service',
      [alert('page', { service: 'web', cluster: 'a' })],
      alert('ticket', { service: 'db', cluster: 'b' }),
      false,
    ],
    [
      'a label missing on both sides is equal',
      [alert('page', { cluster: 'a' })],
      alert('ticket', { cluster: 'b' }),
      true,
    ],
    [
      'missing on one side is not equal to a value',
      [alert('page', { cluster: 'a' })],
      alert('ticket', { service: 'web', cluster: 'b' }),
      false,
    ],
    ['an alert never inhibits itself', [], alert('page', { cluster: 'a' }), false],
    [
      'two alerts matching both sides of a rule do not hold each other down',
      [alert('page', { cluster: 'a', host: '1' })],
      alert('page', { cluster: 'a', host: '2' }),
      false,
    ],
    [
      'a resolved source inhibits nothing',
      [{ ...alert('page', { service: 'web' }), state: 'resolved' }],
      alert('ticket', { service: 'web' }),
      false,
    ],
  ];
  it.each(cases)('%s', (_name, others, target, expected) => {
    expect(inhibited(target, [...others, target], rules)).toBe(expected);
  });

  it('tells which rule and which alert inhibit', () => {
    const source = alert('page', { service: 'web', cluster: 'a' });
    const why = inhibitionIndex(rules, [source])(alert('ticket', { service: 'web', cluster: 'b' }));
    expect(why).toEqual({ rule: 'inhibit.rules[0]', source });
    const other = inhibitionIndex(rules, [source])(alert('info', { service: 'db', cluster: 'a' }));
    expect(other?.rule).toBe('same-cluster');
  });
});

describe('a broken inhibit config gives one line naming the file, the key and what is expected', () => {
  it.each([
    [
      'a rule without target matchers',
      'inhibit-without-target.yaml',
      'inhibit-without-target.yaml:7: notify.inhibit.rules.0.target_matchers: got nothing, expected at least one target matcher (none would match every alert)',
    ],
    [
      'a misspelt built-in',
      'inhibit-bad-builtin.yaml',
      'inhibit-bad-builtin.yaml:6: notify.inhibit.builtin.slo_tier: unknown key (did you mean "slo_tiers"?)',
    ],
  ])('%s', (_name, file, message) => {
    expect(notifyError(file)).toBe(message);
  });
});
