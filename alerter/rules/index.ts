// Halo's classic alert rules as code: the halo/v1 AlertRule loader and the evaluator.

export type * from './model.ts';
export { loadRuleFile, parseRules, ruleDocumentSchema } from './spec.ts';
export { candidateOf, evaluateRule, evaluateRules, type RuleFailure } from './evaluate.ts';
export { expandTemplate } from './template.ts';
