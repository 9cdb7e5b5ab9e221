// A built report in the formats asked for: rendered, written to a directory under stable names,
// and summed up for Slack with links to the files.

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { errorMessage } from '../../core/errors.ts';
import { escapeMrkdwn } from '../receivers/slack.ts';
import { htmlToPdf, type ChromiumOptions } from './chromium.ts';
import { formatDateTime } from './format.ts';
import type { ReportFormat } from './config.ts';
import { renderHtml } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import type { Report } from './model.ts';
import { renderCsv, renderIncidentsCsv, renderJson } from './tabular.ts';

/** The report's file name without extension: slo-report-2026-10, slo-report-last-7d-20261126-0900. */
export function reportBaseName(report: Report): string {
  const { label, to, timeZone } = report.period;
  const name = label.startsWith('last ')
    ? `${label.replace(' ', '-')}-${formatDateTime(to, timeZone).replace(/[-:]/g, '').replace(' ', '-')}`
    : label;
  return `slo-report-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/** The text formats; a PDF is a file Chromium writes (see writeFormat). */
export function renderText(report: Report, format: Exclude<ReportFormat, 'pdf'>): string {
  switch (format) {
    case 'html':
      return renderHtml(report);
    case 'md':
      return renderMarkdown(report);
    case 'csv':
      return renderCsv(report);
    case 'json':
      return renderJson(report);
  }
}

/** Writes through a temporary name, so a reader never sees half a file. */
function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Where the incidents of a CSV report go: next to it, `NAME.incidents.csv`. */
const incidentsPath = (csv: string) => csv.replace(/(\.csv)?$/i, '.incidents.csv');

/**
 * Writes one format to `path` and returns the paths written: a PDF through Chromium, a CSV with
 * its incidents next to it. Each file appears whole or not at all.
 */
export async function writeFormat(
  report: Report,
  format: ReportFormat,
  path: string,
  options: ChromiumOptions = {},
): Promise<string[]> {
  if (format === 'pdf') {
    const tmp = `${path}.tmp-${process.pid}`;
    await htmlToPdf(renderHtml(report), tmp, options);
    renameSync(tmp, path);
    return [path];
  }
  writeAtomic(path, renderText(report, format));
  if (format !== 'csv') return [path];
  writeAtomic(incidentsPath(path), renderIncidentsCsv(report));
  return [path, incidentsPath(path)];
}

/**
 * Writes each format to `dir` (created when missing) under reportBaseName. A format that fails (a
 * PDF without Chromium) does not stop the others: its error is returned with the names of the
 * files written.
 */
export async function writeReport(
  report: Report,
  formats: readonly ReportFormat[],
  dir: string,
  options: ChromiumOptions = {},
): Promise<{ files: string[]; errors: string[] }> {
  mkdirSync(dir, { recursive: true });
  const base = reportBaseName(report);
  const files: string[] = [];
  const errors: string[] = [];
  for (const format of formats) {
    try {
      const written = await writeFormat(report, format, join(dir, `${base}.${format}`), options);
      files.push(...written.map((path) => basename(path)));
    } catch (err) {
      errors.push(`${format}: ${errorMessage(err)}`);
    }
  }
  return { files, errors };
}

const pct = (x: number | null, digits = 3) => (x === null ? 'n/a' : `${x.toFixed(digits)}%`);

/** A Slack message: the executive summary, the risks, and links to the files when served. */
export function slackSummary(report: Report, links: readonly { name: string; url: string }[]) {
  const s = report.summary;
  const headline =
    `${report.title}: ${s.slosMet} of ${s.slosTotal} SLOs met` +
    (s.breached > 0 ? `, ${s.breached} breached` : '') +
    (s.atRisk > 0 ? `, ${s.atRisk} at risk` : '');
  const risks =
    s.risks.length > 0
      ? s.risks
          .slice(0, 5)
          .map((r) => `• ${escapeMrkdwn(r)}`)
          .join('\n')
      : 'No SLO at risk.';
  const fields = [
    `*SLOs met*\n${s.slosMet} of ${s.slosTotal}`,
    `*Weighted attainment*\n${pct(s.weightedAttainment)}`,
    `*Breached*\n${s.breached}`,
    `*At risk*\n${s.atRisk}`,
    `*Incidents*\n${report.incidents.length}`,
    `*No data*\n${s.noData}`,
  ];
  const blocks: unknown[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: escapeMrkdwn(report.title).slice(0, 150) },
    },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
    { type: 'section', text: { type: 'mrkdwn', text: `*Biggest risks*\n${risks}`.slice(0, 3000) } },
  ];
  if (links.length > 0)
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: links.map((l) => `<${l.url}|${escapeMrkdwn(l.name)}>`).join(' · '),
        },
      ],
    });
  return { text: escapeMrkdwn(headline), blocks };
}
