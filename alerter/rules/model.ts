// The halo/v1 AlertRule model: the validated, typed rule that the evaluators work with.

import type { Matcher } from '../slo/model.ts';

export type Comparison = '>' | '>=' | '<' | '<=' | '==' | '!=';
export const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const satisfies Comparison[];

/** How the samples of a window become one number (counters are stored as deltas). */
export const AGGREGATIONS = [
  'avg',
  'sum',
  'min',
  'max',
  'last',
  'count',
  'rate',
  'increase',
] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

export const ABSENCE_SCOPES = ['host', 'tier', 'source'] as const;
export type AbsenceScope = (typeof ABSENCE_SCOPES)[number];

/** A threshold's measurement: an aggregation of a metric, or a query of the rule's own. */
export type ThresholdQuery =
  | {
      kind: 'metric';
      metric: string;
      matchers: Matcher[];
      aggregation: Aggregation;
      /** Labels to group by; undefined means every series on its own. */
      by?: string[];
    }
  | { kind: 'sql'; sql: string };

export interface ThresholdCondition {
  kind: 'threshold';
  query: ThresholdQuery;
  overMs: number;
  op: Comparison;
  value: number;
}

export interface AbsenceCondition {
  kind: 'absence';
  scope: AbsenceScope;
  matchers: Matcher[];
  silentForMs: number;
  lookbackMs: number;
}

export interface RedundancyCondition {
  kind: 'redundancy';
  /** Without a metric, a member is healthy when it sent any sample in the window. */
  metric?: string;
  matchers: Matcher[];
  member: string;
  by: string[];
  healthyWhen: { op: '>=' | '>' | '<=' | '<' | '=='; value: number };
  windowMs: number;
  lookbackMs: number;
  min: number;
}

export type RuleCondition = ThresholdCondition | AbsenceCondition | RedundancyCondition;

/** One alert rule, validated; durations are milliseconds. */
export interface AlertRule {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  forMs: number;
  keepFiringForMs: number;
  condition: RuleCondition;
  /** Where the rule was defined, "file:line". */
  source: string;
}

/** One active instance of a rule: its grouping labels and the measured value. */
export interface Instance {
  labels: Record<string, string>;
  value: number;
}
