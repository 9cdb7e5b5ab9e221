// `halo report`: the SLO report of a period from the store, in one format to a file or stdout;
// or `--schedule NAME` to run a configured schedule now (its files and its Slack post).

import { ConfigError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { openStore } from '../core/store/store.ts';
import { buildReport, reportSettings } from '../alerter/report/build.ts';
import { REPORT_FORMATS, type ReportFormat } from '../alerter/report/config.ts';
import { renderText, writeFormat } from '../alerter/report/output.ts';
import { lastPeriod, parsePeriod } from '../alerter/report/period.ts';
import { ReportScheduler } from '../alerter/report/schedule.ts';
import { expandFiles, loadSlos } from '../alerter/slo/load.ts';
import type { FullConfig } from './config-schema.ts';

export interface ReportOptions {
  period?: string;
  last?: string;
  format: string;
  out?: string;
  timeZone?: string;
  slos?: string[];
  schedule?: string;
  /** The clock, ISO 8601: what "now" is for --last and for a period not over yet. */
  now?: string;
}

function parseNow(text: string | undefined): number {
  if (text === undefined) return Date.now();
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new ConfigError(`--now "${text}": expected an ISO 8601 time`);
  return at;
}

/** Runs the command; returns what goes to stdout. */
export async function runReport(
  config: FullConfig,
  logger: Logger,
  o: ReportOptions,
): Promise<string | Buffer> {
  const reports = config.reports;
  const timeZone = o.timeZone ?? reports.time_zone;
  const now = parseNow(o.now);
  const files = o.slos && o.slos.length > 0 ? o.slos : config.alerter.slos;
  const { slos } = loadSlos(expandFiles(files));
  if (slos.length === 0)
    throw new ConfigError('no SLOs: give --slos FILE… or set alerter.slos in the config');
  const schedule =
    o.schedule === undefined ? undefined : reports.schedules.find((s) => s.name === o.schedule);
  if (o.schedule !== undefined && !schedule)
    throw new ConfigError(
      `--schedule "${o.schedule}": no such schedule in reports.schedules` +
        (reports.schedules.length > 0
          ? ` (there are: ${reports.schedules.map((s) => s.name).join(', ')})`
          : ''),
    );
  if (!schedule && (o.period === undefined) === (o.last === undefined))
    throw new ConfigError('give one of --period (2026-10, 2026-Q4, 2026-W47) or --last (7d)');
  if (!(REPORT_FORMATS as readonly string[]).includes(o.format))
    throw new ConfigError(`--format "${o.format}": expected ${REPORT_FORMATS.join(', ')}`);
  const format = o.format as ReportFormat;
  if (format === 'pdf' && o.out === undefined)
    throw new ConfigError('--format pdf writes a file: give --out PATH');

  const store = await openStore({ config, logger });
  try {
    if (schedule) {
      const scheduler = new ReportScheduler({
        config: { ...reports, time_zone: timeZone },
        receivers: config.notify?.receivers ?? [],
        ...(config.notify ? { delivery: config.notify.delivery } : {}),
        store,
        slos,
        logger,
      });
      const r = await scheduler.run(schedule, now);
      const lines = [
        `report ${r.period}: ${r.files.length} file(s)${schedule.dir ? ` in ${schedule.dir}` : ''}`,
        ...r.files.map((f) => `  ${f}`),
        ...r.errors.map((e) => `  failed: ${e}`),
        ...r.slack.map(
          (s, i) => `  slack #${i + 1}: ${s.outcome}${s.error ? ` (${s.error})` : ''}`,
        ),
      ];
      if (r.errors.length > 0 || r.slack.some((s) => s.outcome !== 'sent'))
        throw new ConfigError(lines.join('\n'));
      return `${lines.join('\n')}\n`;
    }
    const period =
      o.period !== undefined ? parsePeriod(o.period, timeZone) : lastPeriod(o.last!, now, timeZone);
    const report = await buildReport({ store, slos, period, now, ...reportSettings(reports) });
    if (o.out === undefined) return renderText(report, format as Exclude<ReportFormat, 'pdf'>);
    const written = await writeFormat(report, format, o.out, { chromium: reports.chromium });
    return `wrote ${written.join(' and ')}\n`;
  } finally {
    await store.close();
  }
}
