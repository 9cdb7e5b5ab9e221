// Loads the alert rule files of the config into one evaluator (see alerter/rules): a rule whose
// evaluation fails is logged and left out, so its alerts keep their state until it works again.

import { expandFiles } from '../alerter/slo/load.ts';
import { requireUniqueNames } from '../alerter/slo/yaml-docs.ts';
import { evaluateRules, loadRuleFile, type AlertRule } from '../alerter/rules/index.ts';
import type { RuleEvaluation } from '../alerter/state/types.ts';
import type { Logger } from '../core/logger.ts';
import type { Store } from '../core/store/store.ts';

/** Every rule of the files; the same name in two files is an error naming both. */
export function loadRules(patterns: readonly string[]): AlertRule[] {
  const rules = expandFiles(patterns).flatMap(loadRuleFile);
  requireUniqueNames(rules);
  return rules;
}

/** Undefined when there are no rule files. */
export function ruleEvaluator(
  store: Store,
  rules: readonly AlertRule[],
  logger: Logger,
): ((at: number) => Promise<RuleEvaluation[]>) | undefined {
  if (rules.length === 0) return undefined;
  return async (at) => {
    const { evaluations, failures } = await evaluateRules(store, rules, at);
    for (const failure of failures)
      logger.warn(
        { rule: failure.rule, err: failure.error.message },
        'rule evaluation failed; its alerts keep their state',
      );
    return evaluations;
  };
}
