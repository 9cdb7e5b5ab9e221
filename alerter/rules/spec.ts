// The halo/v1 AlertRule loader: parses rule files into the model; errors name file:line, key, value and what is expected.

import { parseHaloDocuments, readDocumentFile } from '../slo/yaml-docs.ts';
import type { AlertRule, RuleCondition } from './model.ts';
import { ruleDocumentSchema, type RuleDocument } from './spec-schema.ts';

export type * from './model.ts';
export { ruleDocumentSchema } from './spec-schema.ts';

function toCondition(spec: RuleDocument['spec']): RuleCondition {
  const { threshold: t, absence: a, redundancy: r } = spec;
  if (t) {
    return {
      kind: 'threshold',
      query:
        t.sql !== undefined
          ? { kind: 'sql', sql: t.sql }
          : {
              kind: 'metric',
              metric: t.metric!,
              matchers: t.matchers,
              aggregation: t.aggregation!,
              ...(t.by !== undefined ? { by: t.by } : {}),
            },
      overMs: t.over,
      op: t.op,
      value: t.value,
    };
  }
  if (a) {
    return {
      kind: 'absence',
      scope: a.scope,
      matchers: a.matchers,
      silentForMs: a.silent_for,
      lookbackMs: a.lookback,
    };
  }
  return {
    kind: 'redundancy',
    ...(r!.metric !== undefined ? { metric: r!.metric } : {}),
    matchers: r!.matchers,
    member: r!.member,
    by: r!.by,
    healthyWhen: r!.healthy_when ?? { op: '>=', value: 1 },
    windowMs: r!.window,
    lookbackMs: r!.lookback,
    min: r!.min,
  };
}

/** Parses every `---` document of a halo/v1 AlertRule file; `label` names the file in errors. */
export function parseRules(text: string, label: string): AlertRule[] {
  return parseHaloDocuments(text, label, {
    kind: 'AlertRule',
    schema: ruleDocumentSchema,
    hint: (raw) => (raw['kind'] === 'SLO' ? ' (SLOs are loaded by the SLO spec loader)' : ''),
    build: (doc, source) => ({
      name: doc.metadata.name,
      labels: doc.metadata.labels,
      annotations: doc.metadata.annotations,
      forMs: doc.spec.for,
      keepFiringForMs: doc.spec.keep_firing_for,
      condition: toCondition(doc.spec),
      source,
    }),
  });
}

/** Reads and parses a halo/v1 AlertRule file. */
export function loadRuleFile(path: string): AlertRule[] {
  return parseRules(readDocumentFile(path, 'rule'), path);
}
