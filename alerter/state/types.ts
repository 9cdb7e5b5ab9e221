// The shapes shared by everything that produces alerts (SLO tiers, rules) and the alert state
// machine that turns them into pending, firing and resolved alerts.

/** One condition that holds at an evaluation: an alert candidate, identified by its labels. */
export interface Candidate {
  /** Identity of the alert (alertname included); the same labels are the same alert. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The measured value that made it active (burn rate, metric value, seconds silent…). */
  value: number;
}

/** How long a condition must hold before it fires, and how long a firing alert outlives it. */
export interface Timing {
  forMs: number;
  keepFiringForMs: number;
}

/**
 * The result of evaluating one rule (or one SLO tier) at a moment: every candidate active now.
 * Alerts of the rule that are not among them are no longer active.
 */
export interface RuleEvaluation {
  /** Unique per rule or SLO tier, e.g. "rule:HostDown" or "slo:checkout:page-fast". */
  rule: string;
  timing: Timing;
  active: Candidate[];
}
