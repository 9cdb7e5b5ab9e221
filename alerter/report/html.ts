// The SLO report as one self-contained HTML page for managers: summary first, then the table of
// SLOs, a section per SLO with its burn-down chart, and the incidents. No script, no external
// resource; prints on A4 with its colours.

import {
  NO_VALUE,
  STATUS_COLORS,
  burnDownText,
  escapeHtml as esc,
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
import type { Incident, Report, SloReport, SloStatus } from './model.ts';
import { burnDownSvg } from './svg.ts';

export { escapeHtml } from './format.ts';

/** The summary block's background; its text is white. */
export const SUMMARY_BACKGROUND = '#0b3d91';

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1120px; padding: 24px; color: #1a1a1a; background: #ffffff;
  font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.period { margin: 0; color: #424242; }
#summary { background: ${SUMMARY_BACKGROUND}; color: #ffffff; border-radius: 8px; padding: 16px 22px; margin: 18px 0 8px; }
#summary h2 { margin: 0 0 8px; font-size: 18px; color: #ffffff; }
#summary h3 { color: #ffffff; }
#summary .headline { font-size: 24px; font-weight: 700; margin: 0 0 8px; }
#summary .figures { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 8px 24px; }
#summary .risks { margin: 0; padding-left: 20px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; vertical-align: middle; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid #e0e0e0; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f0f3f8; font-weight: 600; vertical-align: bottom; }
th.group { text-align: center; border-bottom: 1px solid #c5cbd6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.change.up { color: #2e7d32; }
.change.down { color: #c62828; }
.muted { color: #616161; font-size: 12px; }
section.slo { border-top: 2px solid #e0e0e0; margin-top: 28px; }
section.slo h2 .badge { margin-left: 8px; }
.numbers { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 6px 20px; margin: 10px 0; }
.numbers div { margin: 0; }
.numbers dt { font-size: 12px; color: #616161; }
.numbers dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
figure.chart { margin: 10px 0; }
figure.chart svg { width: 100%; max-width: 640px; height: auto; display: block; }
figure.chart figcaption { font-size: 12px; color: #616161; }
.bar { display: inline-block; width: 80px; height: 8px; background: #e3edf6; vertical-align: middle; margin-right: 6px; }
.bar span { display: block; height: 100%; background: #1f77b4; }
footer { margin-top: 32px; color: #757575; font-size: 12px; }
@media print {
  @page { size: A4; margin: 14mm 12mm 16mm; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  table { font-size: 8.5pt; }
  thead { display: table-header-group; }
  tr, figure, svg, #summary, .numbers, section.slo { break-inside: avoid; page-break-inside: avoid; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  section.slo { break-before: auto; }
  a { color: inherit; text-decoration: none; }
}
`;

/** A status as a coloured label; the colours are inline too, so that a mail client keeps them. */
export function statusBadge(status: SloStatus): string {
  const { background, color } = STATUS_COLORS[status];
  const cls = `badge badge-${status.replace(' ', '-')}`;
  return `<span class="${cls}" style="background:${background};color:${color}">${esc(statusLabel(status))}</span>`;
}

const td = (text: string, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${text}</td>`;
const th = (text: string, cls = '', rows = 1) =>
  `<th${cls ? ` class="${cls}"` : ''}${rows > 1 ? ` rowspan="${rows}"` : ''}>${text}</th>`;

/** A table from its header row(s) and body rows, all markup already. */
const table = (head: string, rows: string[]) =>
  `<table>\n<thead>\n${head}\n</thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;

function header(report: Report): string {
  const { period } = report;
  const zone = esc(period.timeZone);
  return `<header>
<h1>${esc(report.title)}</h1>
<p class="period"><strong>${esc(period.title)}</strong>: ${esc(formatRange(period.from, period.to, period.timeZone))} (${zone}) · generated ${esc(formatDateTime(report.generatedAt, period.timeZone))}</p>
</header>`;
}

function summary(report: Report): string {
  const s = report.summary;
  const overall =
    s.weightedAttainment === null
      ? `${NO_VALUE} (no SLO has events)`
      : formatAttainment(s.weightedAttainment);
  const risks =
    s.risks.length === 0
      ? '<p>No SLO at risk</p>'
      : `<ul class="risks">\n${s.risks.map((r) => `<li>${esc(r)}</li>`).join('\n')}\n</ul>`;
  return `<section id="summary" style="background:${SUMMARY_BACKGROUND};color:#ffffff" aria-labelledby="summary-title">
<h2 id="summary-title">Summary</h2>
<p class="headline">SLOs met: ${s.slosMet} of ${s.slosTotal}</p>
<ul class="figures">
<li>Overall attainment: <strong>${overall}</strong> <span>(all events, each SLO weighted by its traffic)</span></li>
<li>At risk: <strong>${s.atRisk}</strong></li>
<li>Breached: <strong>${s.breached}</strong></li>
<li>No data: <strong>${s.noData}</strong></li>
</ul>
<h3>Biggest risks</h3>
${risks}
</section>`;
}

/** The change cell: arrow and points, with the previous attainment under it. */
function change(slo: SloReport): string {
  const cls = slo.change === null ? '' : slo.change > 0 ? ' up' : slo.change < 0 ? ' down' : '';
  const text = `<span class="change${cls}">${esc(formatChange(slo.change))}</span>`;
  if (slo.previous === null) return `${text}<br><span class="muted">new this period</span>`;
  const prev = slo.previous.attained === null ? 'no data' : formatAttainment(slo.previous.attained);
  return `${text}<br><span class="muted">previous ${esc(prev)}</span>`;
}

/** Budget cells: "—" without events, where a budget of 0 events would mislead. */
function budgetCells(slo: SloReport): string[] {
  if (slo.attained === null) return [NO_VALUE, NO_VALUE, NO_VALUE, NO_VALUE];
  const b = slo.budget;
  const pct = b.remainingPercent === null ? NO_VALUE : formatPercent(b.remainingPercent);
  return [formatCount(b.total), formatCount(b.used), formatCount(b.remaining), pct];
}

function overview(report: Report): string {
  const rows = report.slos.map((slo, i) => {
    const name = `<a href="#slo-${i + 1}">${esc(sloLabel(slo))}</a>`;
    return `<tr>${[
      td(esc(slo.service)),
      td(name),
      td(formatObjective(slo.objective), 'num'),
      td(formatAttainment(slo.attained), 'num'),
      ...budgetCells(slo).map((c) => td(c, 'num')),
      td(statusBadge(slo.status)),
      td(change(slo), 'num'),
    ].join('')}</tr>`;
  });
  const changeHead = `Change vs ${esc(report.previousPeriod.title)}`;
  const head = [
    `<tr>${th('Service', '', 2)}${th('SLO', '', 2)}${th('Objective', 'num', 2)}${th('Attained', 'num', 2)}`,
    `<th colspan="4" class="group">Error budget (events)</th>`,
    `${th('Status', '', 2)}${th(changeHead, 'num', 2)}</tr>\n`,
    `<tr>${th('Total', 'num')}${th('Used', 'num')}${th('Remaining', 'num')}${th('Remaining %', 'num')}</tr>`,
  ].join('');
  return `<section id="overview">\n<h2>All SLOs</h2>\n${table(head, rows)}\n</section>`;
}

function numbers(slo: SloReport, report: Report): string {
  const b = slo.budget;
  const noData = slo.attained === null;
  const remaining = noData
    ? NO_VALUE
    : `${formatCount(b.remaining)} (${b.remainingPercent === null ? NO_VALUE : formatPercent(b.remainingPercent)})`;
  const previous =
    slo.previous === null
      ? 'new this period'
      : `${formatAttainment(slo.previous.attained)}, ${statusLabel(slo.previous.status).toLowerCase()} (${formatChange(slo.change)})`;
  const items: Array<[string, string]> = [
    ['Objective', formatObjective(slo.objective)],
    ['Attained', formatAttainment(slo.attained)],
    [
      'Good / total events',
      noData ? 'none' : `${formatCount(slo.good)} / ${formatCount(slo.total)}`,
    ],
    ['Bad events', formatCount(slo.bad)],
    ['Error budget (events)', noData ? NO_VALUE : formatCount(b.total)],
    ['Budget used', noData ? NO_VALUE : formatCount(b.used)],
    ['Budget remaining', remaining],
    [`Previous period (${report.previousPeriod.title})`, previous],
  ];
  const cells = items.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`);
  return `<dl class="numbers">\n${cells.join('\n')}\n</dl>`;
}

function exclusions(slo: SloReport, timeZone: string): string {
  if (slo.exclusions.length === 0) return '<h3>Exclusion windows</h3>\n<p>None.</p>';
  const rows = slo.exclusions.map(
    (e) =>
      `<tr>${td(esc(formatDateTime(e.from, timeZone)))}${td(esc(formatDateTime(e.to, timeZone)))}${td(esc(formatDuration(e.to - e.from)), 'num')}${td(esc(e.reason))}</tr>`,
  );
  return `<h3>Exclusion windows</h3>
${table(`<tr>${th('From')}${th('To')}${th('Duration', 'num')}${th('Reason')}</tr>`, rows)}`;
}

function contributors(slo: SloReport): string {
  const heading = '<h3>Top contributors to bad events</h3>';
  if (slo.contributors.length === 0) {
    const why =
      slo.bad === 0
        ? 'No bad events in this period.'
        : 'No breakdown of the bad events is available.';
    return `${heading}\n<p>${why}</p>`;
  }
  const rows = slo.contributors.map((c) => {
    const width = Math.min(100, Math.max(0, c.share * 100)).toFixed(1);
    const bar = `<span class="bar" aria-hidden="true"><span style="width:${width}%"></span></span>`;
    return `<tr>${td(esc(c.label))}${td(esc(c.value))}${td(formatCount(c.bad), 'num')}${td(`${bar}${formatShare(c.share)}`, 'num')}</tr>`;
  });
  return `${heading}
${table(`<tr>${th('Label')}${th('Value')}${th('Bad events', 'num')}${th('Share', 'num')}</tr>`, rows)}`;
}

function sloSection(slo: SloReport, index: number, report: Report): string {
  const { period } = report;
  const name = esc(sloLabel(slo));
  const chart = burnDownSvg(slo.burnDown, period, {
    title: `Error budget remaining of ${sloLabel(slo)}`,
  });
  const description = slo.description ? `<p>${esc(slo.description)}</p>\n` : '';
  return `<section class="slo" id="slo-${index + 1}">
<h2>${name} ${statusBadge(slo.status)}</h2>
<p class="muted">Service ${esc(slo.service)} · SLI: ${esc(slo.sliKind)}</p>
${description}${numbers(slo, report)}
<figure class="chart">
${chart}
<figcaption>Error budget remaining across ${esc(period.title)}: ${esc(burnDownText(slo.burnDown, period))}</figcaption>
</figure>
${exclusions(slo, period.timeZone)}
${contributors(slo)}
</section>`;
}

function incidentRow(incident: Incident, timeZone: string): string {
  const slo = incident.slo ? sloLabel(incident) : NO_VALUE;
  const duration = incident.ongoing
    ? `${esc(formatDuration(incident.durationMs))} <strong>ongoing</strong>`
    : esc(formatDuration(incident.durationMs));
  return `<tr>${[
    td(esc(incident.alertname)),
    td(esc(slo)),
    td(esc(incident.severity || NO_VALUE)),
    td(esc(incident.tier || NO_VALUE)),
    td(esc(formatDateTime(incident.start, timeZone)), 'num'),
    td(duration, 'num'),
    td(formatShare(incident.budgetConsumed), 'num'),
    td(esc(incident.summary)),
  ].join('')}</tr>`;
}

function incidents(report: Report): string {
  if (report.incidents.length === 0)
    return `<section id="incidents">\n<h2>Incidents</h2>\n<p>No alert fired in this period.</p>\n</section>`;
  const rows = report.incidents.map((i) => incidentRow(i, report.period.timeZone));
  return `<section id="incidents">
<h2>Incidents</h2>
${table(`<tr>${th('Alert')}${th('SLO')}${th('Severity')}${th('Tier')}${th('Start', 'num')}${th('Duration', 'num')}${th('Budget consumed', 'num')}${th('Summary')}</tr>`, rows)}
<p class="muted">Budget consumed: bad events while the alert fired, as a share of its SLO's error budget for the period.</p>
</section>`;
}

/** The whole report as one HTML5 document. */
export function renderHtml(report: Report): string {
  const sections = report.slos.map((slo, i) => sloSection(slo, i, report));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`${report.title} — ${report.period.title}`)}</title>
<style>${CSS}</style>
</head>
<body>
${header(report)}
${summary(report)}
${overview(report)}
${sections.join('\n')}
${incidents(report)}
<footer>Times are in ${esc(report.period.timeZone)}. Attainment is truncated, never rounded up: a value shown equal to its objective meets it.</footer>
</body>
</html>
`;
}
