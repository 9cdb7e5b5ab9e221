// Inhibition with Alertmanager's semantics: source and target matchers, equal labels, firing sources only.

import { labelsMatch, type Labels, type Matcher } from '../route/matchers.ts';

/** One inhibit rule, from the config or built in. */
export interface InhibitRule {
  /** Names the rule in the API and logs: `inhibit.rules[0]`, `builtin:tier_wide`. */
  name: string;
  sourceMatchers: Matcher[];
  targetMatchers: Matcher[];
  equal: string[];
}

/** What inhibition needs of an alert (the state machine's Alert has it). */
export interface InhibitAlert {
  labels: Labels;
  /** Only firing alerts inhibit; an alert without a state is taken as firing. */
  state?: 'pending' | 'firing' | 'resolved';
  fingerprint?: string;
}

/** Why an alert is inhibited: the rule, and one source alert that holds it down. */
export interface Inhibition<A extends InhibitAlert = InhibitAlert> {
  rule: string;
  source: A;
}

function sameAlert(a: InhibitAlert, b: InhibitAlert): boolean {
  if (a === b) return true;
  if (a.fingerprint !== undefined && b.fingerprint !== undefined)
    return a.fingerprint === b.fingerprint;
  const keys = Object.keys(a.labels);
  return (
    keys.length === Object.keys(b.labels).length && keys.every((k) => a.labels[k] === b.labels[k])
  );
}

const equalKey = (rule: InhibitRule, labels: Labels) =>
  JSON.stringify(rule.equal.map((l) => labels[l] ?? ''));

/**
 * Indexes the source alerts of every rule once, for asking about many alerts: the returned
 * function tells why an alert is inhibited, or undefined when it is not. As Alertmanager, when
 * the alert matches both sides of a rule, sources that match both sides do not count, so two
 * alerts never hold each other down, and no alert ever inhibits itself.
 */
export function inhibitionIndex<A extends InhibitAlert>(
  rules: readonly InhibitRule[],
  alerts: readonly A[],
): (alert: InhibitAlert) => Inhibition<A> | undefined {
  const firing = alerts.filter((a) => a.state === undefined || a.state === 'firing');
  const index = rules.map((rule) => {
    const sources = new Map<string, A[]>();
    for (const a of firing) {
      if (!labelsMatch(a.labels, rule.sourceMatchers)) continue;
      const key = equalKey(rule, a.labels);
      const list = sources.get(key);
      if (list) list.push(a);
      else sources.set(key, [a]);
    }
    return { rule, sources };
  });
  return (alert) => {
    for (const { rule, sources } of index) {
      if (sources.size === 0 || !labelsMatch(alert.labels, rule.targetMatchers)) continue;
      const twoSided = labelsMatch(alert.labels, rule.sourceMatchers);
      const source = sources
        .get(equalKey(rule, alert.labels))
        ?.find(
          (s) => !sameAlert(s, alert) && !(twoSided && labelsMatch(s.labels, rule.targetMatchers)),
        );
      if (source) return { rule: rule.name, source };
    }
    return undefined;
  };
}

/** True when a firing alert among `alerts` inhibits `alert` under one of the rules. */
export function inhibited(
  alert: InhibitAlert,
  alerts: readonly InhibitAlert[],
  rules: readonly InhibitRule[],
): boolean {
  return inhibitionIndex(rules, alerts)(alert) !== undefined;
}
