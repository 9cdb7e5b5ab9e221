// The `inhibit:` config (zod): built-in rules on or off and Alertmanager-style rules, turned into InhibitRules.

import { z } from 'zod';
import { matchersField } from '../route/matchers.ts';
import { sloTierRules, tierWideRules, type RuleScope, type SloTiers } from './builtin.ts';
import type { InhibitRule } from './inhibit.ts';

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const someMatchers = (side: string) =>
  matchersField.refine((m) => m.length > 0, {
    error: `expected at least one ${side} matcher (none would match every alert)`,
  });

const equal = z
  .array(
    z
      .string({ error: 'expected a label name' })
      .regex(LABEL_NAME, { error: 'expected a label name of letters, digits and _' }),
    { error: 'expected a list of label names' },
  )
  .superRefine((labels, ctx) => {
    labels.forEach((l, i) => {
      if (labels.indexOf(l) !== i)
        ctx.addIssue({ code: 'custom', path: [i], message: `expected ${l} only once`, input: l });
    });
  })
  .default([]);

export const inhibitRuleSchema = z.strictObject({
  /** Shown in the API and logs as what inhibits an alert; `inhibit.rules[i]` when left out. */
  name: z.string({ error: 'expected a name' }).min(1, { error: 'expected a name' }).optional(),
  /** What a firing alert must match to inhibit others. */
  source_matchers: someMatchers('source'),
  /** What an alert must match to be inhibited. */
  target_matchers: someMatchers('target'),
  /** Labels whose values must be the same in the source and the target (missing = empty). */
  equal,
});

export const inhibitConfigSchema = z
  .strictObject({
    builtin: z
      .strictObject({
        /** A higher burn-rate tier of an SLO instance inhibits its lower tiers. */
        slo_tiers: z.boolean({ error: 'expected true or false' }).default(true),
        /** A tier-wide alert inhibits the host alerts of its tier. */
        tier_wide: z.boolean({ error: 'expected true or false' }).default(true),
      })
      .prefault({}),
    rules: z.array(inhibitRuleSchema, { error: 'expected a list of inhibit rules' }).default([]),
  })
  .prefault({});

export type InhibitConfig = z.output<typeof inhibitConfigSchema>;

/** What the built-in rules are made from: the SLOs and alert rules the alerter evaluates. */
export interface InhibitSources {
  slos?: readonly SloTiers[];
  rules?: readonly RuleScope[];
}

/** The rules to apply: the configured ones in order, then the built-ins that are on. */
export function inhibitRules(config: InhibitConfig, from: InhibitSources = {}): InhibitRule[] {
  const configured = config.rules.map((r, i): InhibitRule => ({
    name: r.name ?? `inhibit.rules[${i}]`,
    sourceMatchers: r.source_matchers,
    targetMatchers: r.target_matchers,
    equal: r.equal,
  }));
  return [
    ...configured,
    ...(config.builtin.slo_tiers ? sloTierRules(from.slos ?? []) : []),
    ...(config.builtin.tier_wide ? tierWideRules(from.rules ?? []) : []),
  ];
}
