// The halo/v1 SLO model: the validated, typed shape that every stage after the loader works with.

import type { Severity } from '../../core/conventions.ts';
import type { BurnRateTier } from './windows.ts';

export type MatchOp = '=' | '!=' | '=~' | '!~';
export interface Matcher {
  label: string;
  op: MatchOp;
  value: string;
}
export interface Selector {
  metric: string;
  matchers: Matcher[];
}
export interface LogMatcher {
  service?: string;
  severity?: Severity;
  attributes: Matcher[];
  bodyContains?: string;
}
export type Sli =
  | { kind: 'ratio'; good?: Selector; bad?: Selector; total: Selector }
  | { kind: 'latency'; metric: string; thresholdSeconds: number; matchers: Matcher[] }
  | {
      kind: 'probe';
      metric: string;
      matchers: Matcher[];
      sliceMs: number;
      goodWhen: { op: '>=' | '>' | '<=' | '<' | '=='; value: number };
    }
  | { kind: 'log_ratio'; good?: LogMatcher; bad?: LogMatcher; total: LogMatcher };
export type SloWindow =
  | { kind: 'rolling'; periodMs: number }
  | { kind: 'calendar'; unit: 'month' | 'quarter'; timeZone: string };
export type Exclusion =
  | { kind: 'once'; from: string; to: string; reason?: string }
  | {
      kind: 'recurring';
      cron?: string;
      days?: Weekday[];
      start?: string;
      durationMs: number;
      timeZone: string;
      reason?: string;
    };
export type Weekday = (typeof WEEKDAYS)[number];

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** One SLO, validated; durations are milliseconds. */
export interface Slo {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  service: string;
  description?: string;
  /** Percent of good events, 0 < objective < 100. */
  objective: number;
  window: SloWindow;
  sli: Sli;
  groupBy?: string;
  minEvents?: number;
  exclusions: Exclusion[];
  alerting: {
    pageLabels: Record<string, string>;
    ticketLabels: Record<string, string>;
    annotations: Record<string, string>;
  };
  /** Replaces the default tier table when set; windows are used as written, not scaled. */
  burnRateTiers?: BurnRateTier[];
  /** Where the SLO was defined, "file:line". */
  source: string;
}
