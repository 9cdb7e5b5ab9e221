// The SLO report as data: what every format (HTML, Markdown, CSV, JSON, PDF) renders.

/** A report period: [from, to) in ms, named as asked (2026-10, 2026-Q4, last 7d). */
export interface ReportPeriod {
  /** "2026-10", "2026-Q4", "last 7d". */
  label: string;
  /** "October 2026", "Q4 2026", "7 days to 2026-11-26 09:00". */
  title: string;
  from: number;
  to: number;
  /** IANA time zone the calendar boundaries are taken in. */
  timeZone: string;
}

/** met: within objective with budget to spare; at risk: within it but little budget left or
 * spending faster than the period allows; breached: below objective; no data: no events. */
export type SloStatus = 'met' | 'at risk' | 'breached' | 'no data';

/** Budget left at a moment of the period, as a share of the period's budget (1 = untouched). */
export interface BudgetPoint {
  at: number;
  remaining: number;
}

/** An exclusion window of an SLO within the period: its events neither count nor burn. */
export interface ExclusionWindow {
  from: number;
  to: number;
  reason: string;
}

/** A label value's bad events: the share is of the SLO instance's bad events in the period. */
export interface Contributor {
  label: string;
  value: string;
  bad: number;
  share: number;
}

/** One SLO (one instance of it when the SLO is grouped by a label) over the period. */
export interface SloReport {
  slo: string;
  service: string;
  /** The group-by label's value; empty for an ungrouped SLO. */
  instance: string;
  description: string;
  /** ratio, latency, probe or log_ratio. */
  sliKind: string;
  /** Objective in percent (99.9). */
  objective: number;
  /** Events (time slices for probes) in the period, exclusions left out. */
  good: number;
  total: number;
  bad: number;
  /** Attained SLI in percent; null without events. */
  attained: number | null;
  /** Error budget in events: allowed bad events over the period, used, remaining. */
  budget: {
    total: number;
    used: number;
    remaining: number;
    /** Remaining as a percent of the total (negative when overspent); null without events. */
    remainingPercent: number | null;
  };
  status: SloStatus;
  /** The same SLO instance over the previous period of the same kind. */
  previous: { attained: number | null; status: SloStatus } | null;
  /** Attained minus the previous period's, in percentage points; null when either is missing. */
  change: number | null;
  /** Budget remaining through the period, from its start (1) to its end. */
  burnDown: BudgetPoint[];
  exclusions: ExclusionWindow[];
  /** Label values with the most bad events (host, route, status…), largest first. */
  contributors: Contributor[];
}

/** An alert that fired in the period (an episode: from firing to resolved). */
export interface Incident {
  alertname: string;
  /** The SLO it burns, empty for a rule's alert. */
  slo: string;
  instance: string;
  severity: string;
  /** Burn tier of an SLO alert (page-fast, ticket-slow…), empty otherwise. */
  tier: string;
  summary: string;
  start: number;
  /** When it resolved, or the period's end while it still fires. */
  end: number;
  durationMs: number;
  ongoing: boolean;
  /** Bad events while it fired as a share of its SLO instance's period budget; null for rules. */
  budgetConsumed: number | null;
}

export interface ReportSummary {
  slosTotal: number;
  slosMet: number;
  atRisk: number;
  breached: number;
  noData: number;
  /**
   * Good over total events of every SLO with data, in percent: each SLO weighs by its traffic.
   * Null when no SLO has data.
   */
  weightedAttainment: number | null;
  /** The SLOs breached or at risk, least budget first, as sentences. */
  risks: string[];
}

export interface Report {
  title: string;
  generatedAt: number;
  period: ReportPeriod;
  previousPeriod: ReportPeriod;
  summary: ReportSummary;
  slos: SloReport[];
  incidents: Incident[];
}
