// Scheduled SLO reports: node-cron runs each schedule in the reports' time zone; a run builds the
// report of the last whole period at the injected clock, writes its files, and posts the summary
// to the Slack webhooks of a receiver. Of several alerters only the one leading sends.

import cron, { type ScheduledTask } from 'node-cron';
import { ConfigError, errorMessage } from '../../core/errors.ts';
import type { Logger } from '../../core/logger.ts';
import { sleep } from '../../core/sleep.ts';
import type { Store } from '../../core/store/store.ts';
import type { DeliveryConfig, ReceiverConfig } from '../receivers/config.ts';
import {
  DEFAULT_DELIVERY,
  deliver,
  deliverySettings,
  type DeliveryRuntime,
} from '../receivers/deliver.ts';
import type { DeliveryResult } from '../receivers/types.ts';
import type { Slo } from '../slo/model.ts';
import { VERSION } from '../../core/version.ts';
import { buildReport, reportSettings } from './build.ts';
import type { ReportSchedule, ReportsConfig } from './config.ts';
import { completedPeriod, lastPeriod, type PeriodKind, type ResolvedPeriod } from './period.ts';
import { slackSummary, writeReport } from './output.ts';

export interface ReportSchedulerOptions {
  config: ReportsConfig;
  /** notify.receivers: where `slack.receiver` is looked up. */
  receivers: readonly ReceiverConfig[];
  delivery?: DeliveryConfig;
  store: Store;
  slos: readonly Slo[];
  logger: Logger;
  clock?: () => number;
  /** Whether this replica sends (the alerter's lease); always when not given. */
  leading?: () => boolean;
  sleep?: DeliveryRuntime['sleep'];
  random?: () => number;
}

export interface RunResult {
  period: string;
  files: string[];
  errors: string[];
  slack: DeliveryResult[];
}

/** The period a schedule reports at `now`. */
export function scheduledPeriod(
  schedule: ReportSchedule,
  now: number,
  timeZone: string,
): ResolvedPeriod {
  const kinds: readonly string[] = ['month', 'quarter', 'week'];
  return kinds.includes(schedule.period)
    ? completedPeriod(schedule.period as PeriodKind, now, timeZone)
    : lastPeriod(schedule.period, now, timeZone);
}

export class ReportScheduler {
  readonly #o: ReportSchedulerOptions;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #tasks: ScheduledTask[] = [];
  readonly #running = new Set<Promise<unknown>>();

  constructor(o: ReportSchedulerOptions) {
    this.#o = o;
    this.#log = o.logger.child({ module: 'reports' });
    this.#clock = o.clock ?? Date.now;
    for (const s of o.config.schedules) {
      if (!s.slack) continue;
      const receiver = o.receivers.find((r) => r.name === s.slack!.receiver);
      if (!receiver)
        throw new ConfigError(
          `reports.schedules ${s.name}: slack.receiver "${s.slack.receiver}" is not in notify.receivers`,
        );
      if (receiver.slack_configs.length === 0)
        throw new ConfigError(
          `reports.schedules ${s.name}: receiver "${receiver.name}" has no slack_configs`,
        );
    }
  }

  start(): void {
    for (const schedule of this.#o.config.schedules) {
      const task = cron.schedule(schedule.cron, () => this.#fire(schedule), {
        name: `halo-report-${schedule.name}`,
        timezone: this.#o.config.time_zone,
        noOverlap: true,
      });
      this.#tasks.push(task);
    }
    if (this.#tasks.length > 0)
      this.#log.info(
        { schedules: this.#o.config.schedules.map((s) => `${s.name} (${s.cron})`) },
        'report schedules started',
      );
  }

  async stop(): Promise<void> {
    for (const task of this.#tasks) {
      await task.stop();
      await task.destroy?.();
    }
    await Promise.allSettled([...this.#running]);
  }

  #fire(schedule: ReportSchedule): void {
    if (this.#o.leading && !this.#o.leading()) {
      this.#log.debug({ schedule: schedule.name }, 'not leading: the leader sends the report');
      return;
    }
    const run = this.run(schedule, this.#clock())
      .catch((err: unknown) =>
        this.#log.error({ schedule: schedule.name, err: errorMessage(err) }, 'report failed'),
      )
      .finally(() => this.#running.delete(run));
    this.#running.add(run);
  }

  /** Builds, writes and posts one report of the schedule as of `now`. */
  async run(schedule: ReportSchedule, now: number = this.#clock()): Promise<RunResult> {
    const { config, store, slos } = this.#o;
    const period = scheduledPeriod(schedule, now, config.time_zone);
    const report = await buildReport({ store, slos, period, now, ...reportSettings(config) });
    const result: RunResult = { period: period.period.label, files: [], errors: [], slack: [] };
    if (schedule.dir !== undefined) {
      const written = await writeReport(report, schedule.formats, schedule.dir, {
        chromium: config.chromium,
      });
      result.files = written.files;
      result.errors = written.errors;
      for (const error of written.errors)
        this.#log.error({ schedule: schedule.name, error }, 'report format failed');
    }
    if (schedule.slack) result.slack = await this.#postSlack(schedule, report, result.files);
    this.#log.info(
      {
        schedule: schedule.name,
        period: result.period,
        files: result.files,
        slack: result.slack.map((r) => r.outcome),
      },
      'report sent',
    );
    return result;
  }

  async #postSlack(
    schedule: ReportSchedule,
    report: Awaited<ReturnType<typeof buildReport>>,
    files: readonly string[],
  ): Promise<DeliveryResult[]> {
    const slack = schedule.slack!;
    const receiver = this.#o.receivers.find((r) => r.name === slack.receiver)!;
    const base = slack.link === undefined ? undefined : slack.link.replace(/\/?$/, '/');
    const links =
      base === undefined
        ? []
        : files.map((name) => ({ name, url: new URL(encodeURIComponent(name), base).href }));
    const runtime: DeliveryRuntime = {
      logger: this.#log,
      settings: this.#o.delivery ? deliverySettings(this.#o.delivery) : DEFAULT_DELIVERY,
      clock: this.#clock,
      sleep: this.#o.sleep ?? sleep,
      random: this.#o.random ?? Math.random,
      userAgent: `Halo/${VERSION}`,
    };
    const results: DeliveryResult[] = [];
    for (const [i, c] of receiver.slack_configs.entries()) {
      const url = c.webhook_url.reveal();
      const message = {
        ...slackSummary(report, links),
        ...(c.channel !== undefined ? { channel: c.channel } : {}),
        ...(c.username !== undefined ? { username: c.username } : {}),
      };
      const target = `slack webhook #${i + 1} of receiver ${receiver.name}`;
      const parsed = new URL(url);
      results.push(
        await deliver(
          {
            target,
            url,
            body: JSON.stringify(message),
            secrets: [url, parsed.pathname + parsed.search],
          },
          runtime,
        ),
      );
    }
    return results;
  }
}
