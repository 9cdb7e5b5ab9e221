// Halo's built-in inhibit rules: higher SLO burn tiers hold down lower ones; tier-wide alerts hold down host alerts.

import type { AlertRule } from '../rules/model.ts';
import type { Slo } from '../slo/model.ts';
import { tiersFor, workbookTable, type BurnRateTier } from '../slo/windows.ts';
import type { InhibitRule } from './inhibit.ts';

/**
 * The label by which an alert says it is about a whole tier: a rule that emits tier-wide
 * alerts (a redundancy rule by tier, an absence rule of scope tier) carries `scope: tier` in
 * its labels; alerts from outside Halo may carry it too. Halo's own such rules are also
 * recognised by name (tierWideRuleNames), so the label is needed only for other alerts.
 */
export const SCOPE_LABEL = 'scope';
export const TIER_SCOPE = 'tier';

/** What the SLO built-in needs of an SLO. */
export type SloTiers = Pick<Slo, 'name' | 'groupBy' | 'burnRateTiers'>;

/** What the tier-wide built-in needs of a rule. */
export type RuleScope = Pick<AlertRule, 'name' | 'condition'>;

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Higher first: page before ticket, then the higher burn factor. */
function rank(a: BurnRateTier, b: BurnRateTier): number {
  if (a.severity !== b.severity) return a.severity === 'page' ? -1 : 1;
  return b.factor - a.factor;
}

/**
 * For each SLO and each of its burn-rate tiers, a rule by which an alert of that tier holds
 * down the SLO's lower tiers for the same instance: the same `slo` label and the same value of
 * the SLO's group_by label (an SLO without group_by has one instance). Other labels are not
 * compared: page_labels and ticket_labels, severity and burn_tier differ between tiers by
 * design. With the default table: page-fast > page-slow > ticket-fast > ticket-slow. Tiers
 * of equal rank (same severity and factor) do not hold each other down.
 */
export function sloTierRules(slos: readonly SloTiers[]): InhibitRule[] {
  const defaults = tiersFor(workbookTable().periodMs);
  const rules: InhibitRule[] = [];
  for (const slo of slos) {
    const tiers = [...(slo.burnRateTiers ?? defaults)].sort(rank);
    for (const higher of tiers) {
      const lower = tiers.filter((t) => rank(higher, t) < 0).map((t) => t.name);
      if (lower.length === 0) continue;
      rules.push({
        name: `builtin:slo_tiers:${slo.name}:${higher.name}`,
        sourceMatchers: [
          { label: 'slo', op: '=', value: slo.name },
          { label: 'burn_tier', op: '=', value: higher.name },
        ],
        targetMatchers: [
          { label: 'slo', op: '=', value: slo.name },
          { label: 'burn_tier', op: '=~', value: lower.map(escapeRegex).join('|') },
        ],
        equal: slo.groupBy !== undefined ? [slo.groupBy] : [],
      });
    }
  }
  return rules;
}

/** Halo rules whose alerts are about a whole tier: absence of scope tier, redundancy by tier. */
export function tierWideRuleNames(rules: readonly RuleScope[]): string[] {
  return rules
    .filter(({ condition: c }) =>
      c.kind === 'absence'
        ? c.scope === 'tier'
        : c.kind === 'redundancy' && c.by.includes('tier') && !c.by.includes('host'),
    )
    .map((r) => r.name);
}

const ABOUT_A_TIER = [
  { label: 'tier', op: '!=', value: '' },
  { label: 'host', op: '=', value: '' },
] as const;
const ABOUT_A_HOST = [
  { label: 'tier', op: '!=', value: '' },
  { label: 'host', op: '!=', value: '' },
] as const;

/**
 * A tier-wide alert (a `tier` label, no `host` label, and `scope="tier"` or the name of a
 * tier-wide Halo rule) holds down every alert with a `host` label of the same tier.
 */
export function tierWideRules(rules: readonly RuleScope[]): InhibitRule[] {
  const target = [...ABOUT_A_HOST];
  const out: InhibitRule[] = [
    {
      name: 'builtin:tier_wide',
      sourceMatchers: [{ label: SCOPE_LABEL, op: '=', value: TIER_SCOPE }, ...ABOUT_A_TIER],
      targetMatchers: target,
      equal: ['tier'],
    },
  ];
  const names = tierWideRuleNames(rules);
  if (names.length > 0) {
    out.push({
      name: 'builtin:tier_wide:rules',
      sourceMatchers: [
        { label: 'alertname', op: '=~', value: names.map(escapeRegex).join('|') },
        ...ABOUT_A_TIER,
      ],
      targetMatchers: target,
      equal: ['tier'],
    });
  }
  return out;
}
