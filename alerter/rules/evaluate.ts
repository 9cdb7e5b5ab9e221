// Evaluates alert rules at an injected moment into RuleEvaluations: the active candidates with labels, annotations, value.

import type { StoreError } from '../../core/errors.ts';
import { storeError, type Store } from '../../core/store/store.ts';
import type { Candidate, RuleEvaluation } from '../state/types.ts';
import { evaluateAbsence } from './absence.ts';
import type { AlertRule, Instance } from './model.ts';
import { evaluateRedundancy } from './redundancy.ts';
import { expandAnnotations } from './template.ts';
import { evaluateThreshold } from './threshold.ts';

function instancesOf(store: Store, rule: AlertRule, at: number): Promise<Instance[]> {
  const c = rule.condition;
  switch (c.kind) {
    case 'threshold':
      return evaluateThreshold(store, c, at);
    case 'absence':
      return evaluateAbsence(store, c, at);
    case 'redundancy':
      return evaluateRedundancy(store, c, at);
  }
}

/** The rule's candidate for one instance; alertname is the rule's name whatever the data says. */
export function candidateOf(rule: AlertRule, instance: Instance): Candidate {
  const labels = { ...rule.labels, ...instance.labels, alertname: rule.name };
  return {
    labels,
    annotations: expandAnnotations(rule.annotations, labels, instance.value),
    value: instance.value,
  };
}

const byLabels = (a: Candidate, b: Candidate) => {
  const x = JSON.stringify(Object.entries(a.labels).sort());
  const y = JSON.stringify(Object.entries(b.labels).sort());
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Evaluates one rule at `at` (ms); a store failure throws a StoreError naming the rule. */
export async function evaluateRule(
  store: Store,
  rule: AlertRule,
  at: number,
): Promise<RuleEvaluation> {
  let instances: Instance[];
  try {
    instances = await instancesOf(store, rule, at);
  } catch (err) {
    throw storeError(`evaluate rule ${rule.name} (${rule.source})`, err);
  }
  return {
    rule: `rule:${rule.name}`,
    timing: { forMs: rule.forMs, keepFiringForMs: rule.keepFiringForMs },
    active: instances.map((i) => candidateOf(rule, i)).sort(byLabels),
  };
}

export interface RuleFailure {
  rule: string;
  error: StoreError;
}

/**
 * Evaluates every rule at `at`. A rule that fails has no evaluation (its alerts keep their state
 * rather than resolve) and is reported among the failures; the others are not held up.
 */
export async function evaluateRules(
  store: Store,
  rules: readonly AlertRule[],
  at: number,
  concurrency = 4,
): Promise<{ evaluations: RuleEvaluation[]; failures: RuleFailure[] }> {
  const results: Array<RuleEvaluation | RuleFailure | undefined> = new Array(rules.length);
  let next = 0;
  const worker = async () => {
    while (next < rules.length) {
      const i = next++;
      const rule = rules[i]!;
      try {
        results[i] = await evaluateRule(store, rule, at);
      } catch (err) {
        results[i] = { rule: `rule:${rule.name}`, error: err as StoreError };
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, rules.length)) }, worker),
  );
  const evaluations: RuleEvaluation[] = [];
  const failures: RuleFailure[] = [];
  for (const r of results) {
    if (r && 'error' in r) failures.push(r);
    else if (r) evaluations.push(r);
  }
  return { evaluations, failures };
}
