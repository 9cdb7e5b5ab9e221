// Maps OpenSLO AlertPolicy and AlertCondition documents to halo/v1 burn-rate tiers, warning about what is not applied.

import {
  fail,
  OPENSLO_DURATION,
  slug,
  type ConditionDoc,
  type Found,
  type Index,
  type Path,
  type PolicyDoc,
  type SloSpec,
} from './openslo-schema.ts';
import { positionOf, type YamlDoc } from './yaml-docs.ts';

export function convertPolicies(
  y: YamlDoc,
  what: string,
  spec: SloSpec,
  index: Index,
  warnings: string[],
): unknown[] | undefined {
  if (!spec.alertPolicies || spec.alertPolicies.length === 0) return undefined;
  const tiers: unknown[] = [];
  spec.alertPolicies.forEach((entry, i) => {
    let policy: Found<PolicyDoc['spec']>;
    let base: Path;
    if ('alertPolicyRef' in entry) {
      const found = index.policy.get(entry['alertPolicyRef']!);
      if (!found)
        fail(
          y,
          what,
          ['spec', 'alertPolicies', i, 'alertPolicyRef'],
          `got "${entry['alertPolicyRef']}", expected the name of an AlertPolicy document in the file`,
        );
      policy = found;
      base = ['spec'];
    } else {
      policy = { y, doc: entry as PolicyDoc };
      base = ['spec', 'alertPolicies', i, 'spec'];
    }
    const pwhat = `AlertPolicy ${policy.doc.metadata.name}`;
    const p = policy.doc.spec;
    if (p.alertWhenBreaching === false)
      fail(
        policy.y,
        pwhat,
        [...base, 'alertWhenBreaching'],
        'got false, expected true: a halo tier alerts when it burns',
      );
    if (p.alertWhenNoData)
      warnings.push(
        `${positionOf(policy.y, [...base, 'alertWhenNoData'])}: ${pwhat}: alertWhenNoData is not applied; use an absence rule`,
      );
    if (p.notificationTargets?.length)
      warnings.push(
        `${positionOf(policy.y, [...base, 'notificationTargets'])}: ${pwhat}: notificationTargets are not applied; route alerts with halo's routing tree`,
      );
    p.conditions.forEach((c, j) => {
      let cond: Found<ConditionDoc['spec']>;
      let cbase: Path;
      if ('conditionRef' in c) {
        const found = index.condition.get(c['conditionRef']!);
        if (!found)
          fail(
            policy.y,
            pwhat,
            [...base, 'conditions', j, 'conditionRef'],
            `got "${c['conditionRef']}", expected the name of an AlertCondition document in the file`,
          );
        cond = found;
        cbase = ['spec'];
      } else {
        cond = { y: policy.y, doc: c as ConditionDoc };
        cbase = [...base, 'conditions', j, 'spec'];
      }
      tiers.push(convertCondition(cond, cbase, warnings));
    });
  });
  return tiers;
}

function convertCondition(
  { y, doc }: Found<ConditionDoc['spec']>,
  base: Path,
  warnings: string[],
): unknown {
  const what = `AlertCondition ${doc.metadata.name}`;
  const c = doc.spec.condition;
  const at = [...base, 'condition'];
  if (c.kind !== 'burnrate') fail(y, what, [...at, 'kind'], `got "${c.kind}", expected burnrate`);
  if (c.op !== 'gte' && c.op !== 'gt')
    fail(
      y,
      what,
      [...at, 'op'],
      `got "${c.op}", expected gte: a tier fires when the burn rate reaches its threshold`,
    );
  const severity = doc.spec.severity.toLowerCase();
  if (severity !== 'page' && severity !== 'ticket') {
    fail(y, what, [...base, 'severity'], `got "${doc.spec.severity}", expected page or ticket`);
  }
  const long = OPENSLO_DURATION.exec(c.lookbackWindow);
  if (!long || 'MQY'.includes(long[2]!))
    fail(
      y,
      what,
      [...at, 'lookbackWindow'],
      `got "${c.lookbackWindow}", expected a duration like 1h`,
    );
  if (c.alertAfter !== undefined && !/^0[smh]?$/.test(c.alertAfter)) {
    warnings.push(
      `${positionOf(y, [...at, 'alertAfter'])}: ${what}: alertAfter ${c.alertAfter} is not applied; halo confirms a burn with a short window of lookbackWindow/12`,
    );
  }
  const seconds = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[long[2] as 's'] * Number(long[1]);
  return {
    name: slug(doc.metadata.name),
    severity,
    factor: c.threshold,
    long_window: c.lookbackWindow,
    short_window: `${Math.max(1, Math.round(seconds / 12))}s`,
  };
}
