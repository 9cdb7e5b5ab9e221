// The report for spreadsheets and BI tools: CSV (one row per SLO instance, and one per incident)
// and JSON, with stable, documented columns and times in ISO 8601 UTC.

import type { Incident, Report, ReportPeriod, SloReport } from './model.ts';

/** Version of the JSON document and the CSV columns; bumped when a column changes meaning. */
export const REPORT_SCHEMA = 'halo.report/v1';

const iso = (ms: number) => new Date(ms).toISOString();

/** A number as CSV and JSON carry it: plain digits, up to 6 decimals, empty when unknown. */
function num(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '';
  return String(Number(x.toFixed(6)));
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. Text that a
 * spreadsheet would run as a formula (=, +, -, @ first) is prefixed with ' (label values are
 * untrusted input).
 */
function field(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function csv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string>>): string {
  return (
    [header, ...rows]
      .map((r) => r.map((v, i) => (isNumeric(header[i]!) ? v : field(v))).join(','))
      .join('\r\n') + '\r\n'
  );
}

/** Columns written by num(): never quoted, never prefixed (a negative change stays a number). */
const NUMERIC = /(_events|_percent|_points|_share|_seconds|^incidents)$/;
const isNumeric = (column: string) => NUMERIC.test(column);

export const SLO_COLUMNS = [
  'period',
  'period_from',
  'period_to',
  'time_zone',
  'service',
  'slo',
  'instance',
  'sli',
  'objective_percent',
  'good_events',
  'total_events',
  'bad_events',
  'attained_percent',
  'budget_total_events',
  'budget_used_events',
  'budget_remaining_events',
  'budget_remaining_percent',
  'status',
  'previous_attained_percent',
  'previous_status',
  'change_points',
  'incidents',
  'incident_budget_share',
  'excluded_seconds',
] as const;

export const INCIDENT_COLUMNS = [
  'period',
  'alertname',
  'service',
  'slo',
  'instance',
  'severity',
  'tier',
  'start',
  'end',
  'duration_seconds',
  'ongoing',
  'budget_consumed_share',
  'summary',
] as const;

function incidentsOf(report: Report, row: SloReport): Incident[] {
  return report.incidents.filter((i) => i.slo === row.slo && i.instance === row.instance);
}

function sloRow(report: Report, p: ReportPeriod, r: SloReport): string[] {
  const incidents = incidentsOf(report, r);
  const consumed = incidents.filter((i) => i.budgetConsumed !== null);
  return [
    p.label,
    iso(p.from),
    iso(p.to),
    p.timeZone,
    r.service,
    r.slo,
    r.instance,
    r.sliKind,
    num(r.objective),
    num(r.good),
    num(r.total),
    num(r.bad),
    num(r.attained),
    num(r.budget.total),
    num(r.budget.used),
    num(r.budget.remaining),
    num(r.budget.remainingPercent),
    r.status,
    num(r.previous?.attained),
    r.previous?.status ?? '',
    num(r.change),
    String(incidents.length),
    consumed.length > 0 ? num(consumed.reduce((n, i) => n + i.budgetConsumed!, 0)) : '',
    num(r.exclusions.reduce((n, e) => n + (e.to - e.from), 0) / 1000),
  ];
}

/** One row per SLO instance, SLO_COLUMNS. */
export function renderCsv(report: Report): string {
  return csv(
    SLO_COLUMNS,
    report.slos.map((r) => sloRow(report, report.period, r)),
  );
}

/** One row per incident, INCIDENT_COLUMNS. */
export function renderIncidentsCsv(report: Report): string {
  const serviceOf = new Map(report.slos.map((r) => [r.slo, r.service]));
  return csv(
    INCIDENT_COLUMNS,
    report.incidents.map((i) => [
      report.period.label,
      i.alertname,
      serviceOf.get(i.slo) ?? '',
      i.slo,
      i.instance,
      i.severity,
      i.tier,
      iso(i.start),
      iso(i.end),
      num(i.durationMs / 1000),
      i.ongoing ? 'true' : 'false',
      num(i.budgetConsumed),
      i.summary,
    ]),
  );
}

/** The whole report as JSON: times as ISO 8601 UTC strings, shares as fractions, percents as percents. */
export function renderJson(report: Report): string {
  const period = (p: ReportPeriod) => ({ ...p, from: iso(p.from), to: iso(p.to) });
  return `${JSON.stringify(
    {
      schema: REPORT_SCHEMA,
      title: report.title,
      generated_at: iso(report.generatedAt),
      period: period(report.period),
      previous_period: period(report.previousPeriod),
      summary: {
        slos: report.summary.slosTotal,
        met: report.summary.slosMet,
        at_risk: report.summary.atRisk,
        breached: report.summary.breached,
        no_data: report.summary.noData,
        weighted_attainment_percent: report.summary.weightedAttainment,
        risks: report.summary.risks,
      },
      slos: report.slos.map((r) => ({
        service: r.service,
        slo: r.slo,
        instance: r.instance,
        description: r.description,
        sli: r.sliKind,
        objective_percent: r.objective,
        good_events: r.good,
        total_events: r.total,
        bad_events: r.bad,
        attained_percent: r.attained,
        budget: {
          total_events: r.budget.total,
          used_events: r.budget.used,
          remaining_events: r.budget.remaining,
          remaining_percent: r.budget.remainingPercent,
        },
        status: r.status,
        previous: r.previous && {
          attained_percent: r.previous.attained,
          status: r.previous.status,
        },
        change_points: r.change,
        burn_down: r.burnDown.map((b) => ({ at: iso(b.at), remaining_share: b.remaining })),
        exclusions: r.exclusions.map((e) => ({
          from: iso(e.from),
          to: iso(e.to),
          reason: e.reason,
        })),
        contributors: r.contributors.map((c) => ({
          label: c.label,
          value: c.value,
          bad_events: c.bad,
          share: c.share,
        })),
      })),
      incidents: report.incidents.map((i) => ({
        alertname: i.alertname,
        slo: i.slo,
        instance: i.instance,
        severity: i.severity,
        tier: i.tier,
        summary: i.summary,
        start: iso(i.start),
        end: iso(i.end),
        duration_seconds: i.durationMs / 1000,
        ongoing: i.ongoing,
        budget_consumed_share: i.budgetConsumed,
      })),
    },
    null,
    2,
  )}\n`;
}
