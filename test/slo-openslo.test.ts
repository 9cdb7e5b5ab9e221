// OpenSLO v1 import: what maps to halo/v1 SLOs, and the clear error for each construct that does not.

import { describe, expect, it } from 'vitest';
import { parseOpenSlo } from '../alerter/slo/openslo.ts';
import { ConfigError } from '../core/errors.ts';

const SLI = `apiVersion: openslo/v1
kind: SLI
metadata:
  name: checkout-errors
spec:
  ratioMetric:
    counter: true
    bad:
      metricSource:
        type: halo
        spec:
          metric: http_requests_total
          matchers: { service: checkout, code: { op: '=~', value: '5..' } }
    total:
      metricSource:
        type: halo
        spec: { metric: http_requests_total, matchers: { service: checkout } }
`;

const CONDITION = `apiVersion: openslo/v1
kind: AlertCondition
metadata:
  name: fast-burn
spec:
  severity: page
  condition:
    kind: burnrate
    op: gte
    threshold: 14.4
    lookbackWindow: 1h
    alertAfter: 5m
`;

const slo = (spec: string) => `apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout
  displayName: Checkout
  labels: { team: [payments] }
spec:
  service: checkout
${spec}`;

const ROLLING = `  indicatorRef: checkout-errors
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
`;

function errorOf(text: string): string {
  try {
    parseOpenSlo(text, 'openslo.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('OpenSLO documents that halo can express', () => {
  it('a ratio SLI by reference, one objective and a burn-rate alert policy become one SLO with custom tiers', () => {
    const text = [
      SLI,
      CONDITION,
      `apiVersion: openslo/v1
kind: AlertPolicy
metadata: { name: page-on-fast-burn }
spec:
  alertWhenBreaching: true
  conditions:
    - conditionRef: fast-burn
  notificationTargets:
    - targetRef: pagerduty
`,
      slo(`${ROLLING}  objectives:
    - displayName: availability
      target: 0.999
  alertPolicies:
    - alertPolicyRef: page-on-fast-burn
`),
    ].join('---\n');
    const { slos, warnings } = parseOpenSlo(text, 'openslo.yaml');
    expect(slos).toHaveLength(1);
    const [s] = slos;
    expect(s).toMatchObject({
      name: 'checkout',
      labels: { team: 'payments' },
      annotations: { display_name: 'Checkout' },
      service: 'checkout',
      objective: 99.9,
      window: { kind: 'rolling', periodMs: 28 * 86_400_000 },
      sli: {
        kind: 'ratio',
        bad: {
          metric: 'http_requests_total',
          matchers: [
            { label: 'service', op: '=', value: 'checkout' },
            { label: 'code', op: '=~', value: '5..' },
          ],
        },
        total: { metric: 'http_requests_total' },
      },
      burnRateTiers: [
        {
          name: 'fast-burn',
          severity: 'page',
          factor: 14.4,
          longWindowMs: 3_600_000,
          shortWindowMs: 300_000,
        },
      ],
    });
    expect(warnings).toEqual([
      expect.stringMatching(
        /openslo.yaml:\d+: AlertPolicy page-on-fast-burn: notificationTargets are not applied/,
      ),
      expect.stringMatching(/AlertCondition fast-burn: alertAfter 5m is not applied/),
    ]);
  });

  it('several objectives become one SLO per objective named after it', () => {
    const text = `${SLI}---\n${slo(`${ROLLING}  objectives:
    - displayName: Normal
      targetPercent: 99.9
    - displayName: Relaxed
      target: 0.99
`)}`;
    const { slos } = parseOpenSlo(text, 'openslo.yaml');
    expect(slos.map((s) => [s.name, s.objective])).toEqual([
      ['checkout-normal', 99.9],
      ['checkout-relaxed', 99],
    ]);
  });

  it('a threshold metric with an lte objective is a latency SLI on a calendar month', () => {
    const text = slo(`  indicator:
    metadata: { name: checkout-latency }
    spec:
      thresholdMetric:
        metricSource:
          type: halo
          spec: { metric: http_request_duration_seconds, matchers: { service: checkout } }
  timeWindow:
    - duration: 1M
      isRolling: false
      calendar: { startTime: '2025-01-01 00:00:00', timeZone: Europe/Berlin }
  budgetingMethod: Occurrences
  objectives:
    - op: lte
      value: 0.3
      target: 0.99
`);
    const [s] = parseOpenSlo(text, 'openslo.yaml').slos;
    expect(s?.window).toEqual({ kind: 'calendar', unit: 'month', timeZone: 'Europe/Berlin' });
    expect(s?.sli).toMatchObject({ kind: 'latency', thresholdSeconds: 0.3 });
  });

  it('a threshold metric budgeted in time slices is a probe SLI', () => {
    const text = slo(`  indicator:
    metadata: { name: homepage-up }
    spec:
      thresholdMetric:
        metricSource: { type: halo, spec: { metric: probe_success } }
  timeWindow: [{ duration: 7d, isRolling: true }]
  budgetingMethod: Timeslices
  objectives:
    - op: gte
      value: 1
      target: 0.995
      timeSliceWindow: 1m
`);
    const [s] = parseOpenSlo(text, 'openslo.yaml').slos;
    expect(s?.sli).toEqual({
      kind: 'probe',
      metric: 'probe_success',
      matchers: [],
      sliceMs: 60_000,
      goodWhen: { op: '>=', value: 1 },
    });
  });
});

describe('OpenSLO constructs halo cannot express give an error naming the document and field', () => {
  const prometheusSli = SLI.replace('type: halo', 'type: Prometheus').replace(
    /metric: http_requests_total\n {10}matchers: .*/,
    'query: sum(rate(http_requests_total{code=~"5.."}[5m]))',
  );
  const objectives = `  objectives: [{ target: 0.999 }]\n`;
  const cases: Array<[string, string, string]> = [
    [
      'a Prometheus query is not a halo selector',
      `${prometheusSli}---\n${slo(ROLLING + objectives)}`,
      'openslo.yaml:10: SLI checkout-errors: spec.ratioMetric.bad.metricSource.type: got "Prometheus", expected "halo"',
    ],
    [
      'RatioTimeslices has no halo counterpart',
      `${SLI}---\n${slo(ROLLING.replace('Occurrences', 'RatioTimeslices') + objectives)}`,
      'openslo.yaml:31: SLO checkout: spec.budgetingMethod: got "RatioTimeslices", not expressible',
    ],
    [
      'Timeslices over a ratio metric has no halo counterpart',
      `${SLI}---\n${slo(ROLLING.replace('Occurrences', 'Timeslices') + objectives)}`,
      'spec.budgetingMethod: got "Timeslices", not expressible for a ratioMetric',
    ],
    [
      'a rolling window in months varies in length',
      `${SLI}---\n${slo(ROLLING.replace('28d', '1M') + objectives)}`,
      'openslo.yaml:29: SLO checkout: spec.timeWindow.0.duration: got "1M", expected a rolling window in s, m, h, d or w',
    ],
    [
      'an objective out of range',
      `${SLI}---\n${slo(ROLLING + '  objectives: [{ target: 99.9 }]\n')}`,
      'SLO checkout: spec.objectives.0.target: got 99.9, expected a number between 0 and 1, like 0.999 (exclusive)',
    ],
    [
      'several objectives without names',
      `${SLI}---\n${slo(ROLLING + '  objectives: [{ target: 0.999 }, { target: 0.99 }]\n')}`,
      'SLO checkout: spec.objectives.0: expected a name or displayName: the SLO has several objectives',
    ],
    [
      'an indicator that is not in the file',
      slo(ROLLING + objectives),
      'SLO checkout: spec.indicatorRef: got "checkout-errors", expected the name of an SLI document in the file',
    ],
    [
      'a threshold alert condition is not a burn rate',
      `${SLI}---\n${CONDITION.replace('burnrate', 'threshold')}---\n${slo(
        ROLLING +
          objectives +
          '  alertPolicies:\n    - kind: AlertPolicy\n      metadata: { name: p }\n      spec:\n        conditions: [{ conditionRef: fast-burn }]\n',
      )}`,
      'openslo.yaml:26: AlertCondition fast-burn: spec.condition.kind: got "threshold", expected burnrate',
    ],
    [
      'an unknown OpenSLO key is refused',
      `${SLI}---\n${slo(ROLLING + objectives + '  budgetMethod: Occurrences\n')}`,
      'spec.budgetMethod: unknown key (did you mean "budgetingMethod"?)',
    ],
    [
      'a DataSource document is not supported',
      'apiVersion: openslo/v1\nkind: DataSource\nmetadata: { name: prom }\nspec: {}\n',
      'openslo.yaml:2: document: kind: got "DataSource", expected one of SLO, SLI, AlertPolicy, AlertCondition, Service',
    ],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(errorOf(text)).toContain(expected);
  });
});
