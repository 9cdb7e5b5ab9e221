// The SLO report as GitHub-flavoured Markdown: the HTML report's content in the same order, with
// the burn-down as one line of text, for a wiki page, an issue or a chat message.

import {
  NO_VALUE,
  burnDownText,
  formatAttainment,
  formatChange,
  formatCount,
  formatDateTime,
  formatDuration,
  formatObjective,
  formatPercent,
  formatRange,
  formatShare,
  sloLabel,
  statusLabel,
} from './format.ts';
import type { Incident, Report, SloReport } from './model.ts';

/**
 * Text taken literally: Markdown's inline markers, HTML tags and entities are backslash-escaped
 * (so `<script>` stays text in every renderer), `_` only where it could start or end emphasis,
 * a leading `#` so that it never makes a heading; line breaks become spaces.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\`*[\]<>|~&]/g, '\\$&')
    .replace(/(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, '\\_')
    .replace(/^#/, '\\#')
    .replace(/\r\n|\r|\n/g, ' ');
}

/** A table cell: escaped, with line breaks kept as <br> (a raw one would end the row). */
export function escapeCell(text: string): string {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => escapeMarkdown(line.trim()))
    .join('<br>');
}

type Align = 'left' | 'right';

/** A GFM table; cells are Markdown already (escaped by the caller). */
function table(head: string[], align: Align[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const rule = align.map((a) => (a === 'right' ? '---:' : '---'));
  return [line(head), line(rule), ...rows.map(line)].join('\n');
}

function header(report: Report): string {
  const { period } = report;
  const range = formatRange(period.from, period.to, period.timeZone);
  return [
    `# ${escapeMarkdown(report.title)}`,
    `**${escapeMarkdown(period.title)}**: ${range} (${escapeMarkdown(period.timeZone)}) · generated ${formatDateTime(report.generatedAt, period.timeZone)}`,
  ].join('\n\n');
}

function summary(report: Report): string {
  const s = report.summary;
  const overall =
    s.weightedAttainment === null
      ? `${NO_VALUE} (no SLO has events)`
      : `**${formatAttainment(s.weightedAttainment)}** (all events, each SLO weighted by its traffic)`;
  const risks =
    s.risks.length === 0
      ? 'No SLO at risk'
      : s.risks.map((r) => `- ${escapeMarkdown(r)}`).join('\n');
  return [
    '## Summary',
    `**SLOs met: ${s.slosMet} of ${s.slosTotal}**`,
    [
      `- Overall attainment: ${overall}`,
      `- At risk: **${s.atRisk}**`,
      `- Breached: **${s.breached}**`,
      `- No data: **${s.noData}**`,
    ].join('\n'),
    '### Biggest risks',
    risks,
  ].join('\n\n');
}

function previousText(slo: SloReport): string {
  if (slo.previous === null) return 'new this period';
  const prev = slo.previous.attained === null ? 'no data' : formatAttainment(slo.previous.attained);
  return `previous ${prev}`;
}

function overview(report: Report): string {
  const rows = report.slos.map((slo) => {
    const b = slo.budget;
    const noData = slo.attained === null;
    return [
      escapeCell(slo.service),
      escapeCell(sloLabel(slo)),
      formatObjective(slo.objective),
      formatAttainment(slo.attained),
      noData ? NO_VALUE : formatCount(b.total),
      noData ? NO_VALUE : formatCount(b.used),
      noData ? NO_VALUE : formatCount(b.remaining),
      b.remainingPercent === null ? NO_VALUE : formatPercent(b.remainingPercent),
      statusLabel(slo.status),
      `${formatChange(slo.change)} (${previousText(slo)})`,
    ];
  });
  const head = [
    'Service',
    'SLO',
    'Objective',
    'Attained',
    'Budget (events)',
    'Budget used',
    'Budget remaining',
    'Remaining %',
    'Status',
    `Change vs ${escapeCell(report.previousPeriod.title)}`,
  ];
  const align: Align[] = ['left', 'left', ...Array<Align>(6).fill('right'), 'left', 'right'];
  return `## All SLOs\n\n${table(head, align, rows)}`;
}

function numbers(slo: SloReport, report: Report): string {
  const b = slo.budget;
  const budget =
    slo.attained === null
      ? `- Error budget: ${NO_VALUE} (no events)`
      : `- Error budget: ${formatCount(b.total)} events · used ${formatCount(b.used)} · remaining ${formatCount(b.remaining)} (${b.remainingPercent === null ? NO_VALUE : formatPercent(b.remainingPercent)})`;
  const previous =
    slo.previous === null
      ? 'new this period'
      : `${formatAttainment(slo.previous.attained)}, ${statusLabel(slo.previous.status).toLowerCase()} (${formatChange(slo.change)})`;
  return [
    `- Objective ${formatObjective(slo.objective)} · attained ${formatAttainment(slo.attained)}`,
    slo.total === 0
      ? '- Events: none'
      : `- Events: ${formatCount(slo.good)} good of ${formatCount(slo.total)} · ${formatCount(slo.bad)} bad`,
    budget,
    `- Previous period (${escapeMarkdown(report.previousPeriod.title)}): ${previous}`,
    `- ${burnDownText(slo.burnDown, report.period)}`,
  ].join('\n');
}

function exclusions(slo: SloReport, timeZone: string): string {
  const heading = '#### Exclusion windows';
  if (slo.exclusions.length === 0) return `${heading}\n\nNone.`;
  const rows = slo.exclusions.map((e) => [
    formatDateTime(e.from, timeZone),
    formatDateTime(e.to, timeZone),
    formatDuration(e.to - e.from),
    escapeCell(e.reason),
  ]);
  const head = ['From', 'To', 'Duration', 'Reason'];
  return `${heading}\n\n${table(head, ['left', 'left', 'right', 'left'], rows)}`;
}

function contributors(slo: SloReport): string {
  const heading = '#### Top contributors to bad events';
  if (slo.contributors.length === 0) {
    const why =
      slo.bad === 0
        ? 'No bad events in this period.'
        : 'No breakdown of the bad events is available.';
    return `${heading}\n\n${why}`;
  }
  const rows = slo.contributors.map((c) => [
    escapeCell(c.label),
    escapeCell(c.value),
    formatCount(c.bad),
    formatShare(c.share),
  ]);
  const head = ['Label', 'Value', 'Bad events', 'Share'];
  return `${heading}\n\n${table(head, ['left', 'left', 'right', 'right'], rows)}`;
}

function sloSection(slo: SloReport, report: Report): string {
  return [
    `### ${escapeMarkdown(sloLabel(slo))} — ${statusLabel(slo.status)}`,
    `Service ${escapeMarkdown(slo.service)} · SLI: ${escapeMarkdown(slo.sliKind)}`,
    ...(slo.description ? [escapeMarkdown(slo.description)] : []),
    numbers(slo, report),
    exclusions(slo, report.period.timeZone),
    contributors(slo),
  ].join('\n\n');
}

function incidentRow(incident: Incident, timeZone: string): string[] {
  const duration = formatDuration(incident.durationMs);
  return [
    escapeCell(incident.alertname),
    incident.slo ? escapeCell(sloLabel(incident)) : NO_VALUE,
    escapeCell(incident.severity || NO_VALUE),
    escapeCell(incident.tier || NO_VALUE),
    formatDateTime(incident.start, timeZone),
    incident.ongoing ? `${duration} **ongoing**` : duration,
    formatShare(incident.budgetConsumed),
    escapeCell(incident.summary),
  ];
}

function incidents(report: Report): string {
  if (report.incidents.length === 0) return '## Incidents\n\nNo alert fired in this period.';
  const head = [
    'Alert',
    'SLO',
    'Severity',
    'Tier',
    'Start',
    'Duration',
    'Budget consumed',
    'Summary',
  ];
  const align: Align[] = ['left', 'left', 'left', 'left', 'left', 'right', 'right', 'left'];
  const rows = report.incidents.map((i) => incidentRow(i, report.period.timeZone));
  return [
    '## Incidents',
    table(head, align, rows),
    "Budget consumed: bad events while the alert fired, as a share of its SLO's error budget for the period.",
  ].join('\n\n');
}

/** The whole report as one Markdown document, times in the period's time zone. */
export function renderMarkdown(report: Report): string {
  return (
    [
      header(report),
      summary(report),
      overview(report),
      '## SLOs',
      ...report.slos.map((slo) => sloSection(slo, report)),
      incidents(report),
    ].join('\n\n') + '\n'
  );
}
