// SLO report delivery: the HTML opened in headless Chromium (pixels of the summary, the charts
// and the badges in a screenshot), the PDF, a scheduled run writing files and posting the summary
// to a real HTTP server standing in for Slack (webhook URL never in logs or errors), the config,
// and `halo report` as a process.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, htmlScreenshot, htmlToPdf } from '../alerter/report/chromium.ts';
import { reportsConfigSchema } from '../alerter/report/config.ts';
import { renderHtml } from '../alerter/report/html.ts';
import { ReportScheduler, scheduledPeriod } from '../alerter/report/schedule.ts';
import { deliverySchema, receiversSchema } from '../alerter/receivers/config.ts';
import { parseSlos } from '../alerter/slo/spec.ts';
import type { Store } from '../core/store/store.ts';
import { writeSamples } from '../core/store/write.ts';
import { capturedLogger } from './helpers/captured-logger.ts';
import { startReceiverServer, type ReceiverServer } from './helpers/receiver-server.ts';
import { sampleReport } from './helpers/report-fixture.ts';
import { openTestStore } from './helpers/store.ts';

/** Data is stamped in 2026: kept whatever day the tests run (TTLs count from the real clock). */
const LONG_RETENTION = {
  clickhouse: {
    retention: { samples: '3650d', rollups_1m: '3650d', rollups_1h: '3650d', alerts: '3650d' },
  },
};

const run = promisify(execFile);
const temp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** Pixels of the screenshot whose colour is within `tolerance` of `hex` per channel. */
function countColour(png: PNG, hex: string, tolerance = 8, rows?: [number, number]): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const [y0, y1] = rows ?? [0, png.height];
  let n = 0;
  for (let y = y0; y < y1; y++)
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * 4;
      if (
        Math.abs(png.data[i]! - r!) <= tolerance &&
        Math.abs(png.data[i + 1]! - g!) <= tolerance &&
        Math.abs(png.data[i + 2]! - b!) <= tolerance
      )
        n++;
    }
  return n;
}

describe('the HTML in headless Chromium', () => {
  const chromium = findChromium();

  it('Chromium is installed (cli/setup.sh installs it for the tests)', () => {
    expect(chromium, 'apt-get install chromium').toBeDefined();
  });

  it('a screenshot shows the summary band on top, the burn-down lines and the status badges', async () => {
    const dir = temp('halo-shot-');
    const out = join(dir, 'report.png');
    await htmlScreenshot(renderHtml(sampleReport()), out, { width: 1280, height: 4000 });
    const png = PNG.sync.read(readFileSync(out));
    expect([png.width, png.height]).toEqual([1280, 4000]);
    // The executive summary: a solid #0b3d91 band within the top 600 pixels.
    const summary = countColour(png, '#0b3d91', 4, [0, 600]);
    expect(summary).toBeGreaterThan(50_000);
    // The burn-down charts: the #1f77b4 line, drawn below the summary.
    expect(countColour(png, '#1f77b4', 24, [600, 4000])).toBeGreaterThan(500);
    // The 0% line of the charts, and the badges: met, at risk, breached.
    for (const badge of ['#2e7d32', '#f9a825', '#c62828'])
      expect(countColour(png, badge, 10), badge).toBeGreaterThan(200);
    // Not a blank page: most of it is white paper.
    expect(countColour(png, '#ffffff', 0)).toBeGreaterThan(png.width * png.height * 0.3);
  }, 60_000);

  it('prints a PDF, A4 pages', async () => {
    const out = join(temp('halo-pdf-'), 'report.pdf');
    await htmlToPdf(renderHtml(sampleReport()), out);
    const pdf = readFileSync(out);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(5_000);
    // A4 is 595 × 842 points.
    expect(pdf.toString('latin1')).toMatch(/\/MediaBox \[0 0 59[45]\.\d+ 84[12]\.\d+\]/);
  }, 60_000);

  it('without Chromium a PDF fails with a message that says how to get it', async () => {
    await expect(
      htmlToPdf('<p>x</p>', join(temp('halo-pdf-'), 'x.pdf'), {
        chromium: '/nonexistent/chromium',
      }),
    ).rejects.toThrow(
      /install it \(Debian\/Ubuntu: apt-get install chromium\) or set HALO_CHROMIUM/,
    );
  });
});

describe('scheduled reports', () => {
  const NOW = Date.parse('2026-11-01T08:00:00Z'); // Nov 1, 09:00 in Berlin
  const TOKEN = 'T0SECRET/B0SECRET/XyZsEcReTtOkEn123';
  let store: Store;
  let slack: ReceiverServer;

  beforeAll(async () => {
    ({ store } = await openTestStore(LONG_RETENTION));
    slack = await startReceiverServer();
    // A little traffic in October, 2 of 1,002 requests bad.
    const base = Date.parse('2026-10-10T12:00:00Z');
    await writeSamples(store, [
      {
        name: 'req_total',
        tier: 'app',
        host: 'a-1',
        service: 'api',
        labels: { code: '200' },
        ts: base,
        value: 1000,
      },
      {
        name: 'req_total',
        tier: 'app',
        host: 'a-1',
        service: 'api',
        labels: { code: '500' },
        ts: base,
        value: 2,
      },
    ]);
  }, 60_000);

  afterAll(async () => {
    await slack?.close();
    await store?.close();
  });

  const SLOS = parseSlos(
    `apiVersion: halo/v1
kind: SLO
metadata: { name: api-availability }
spec:
  service: api
  objective: 99
  window: { calendar: { unit: month, time_zone: Europe/Berlin } }
  sli:
    ratio:
      bad: { metric: req_total, matchers: { code: "500" } }
      total: { metric: req_total }
`,
    'api.yaml',
  );

  const captured = () => capturedLogger('debug');

  function scheduler(dir: string, logger = captured().logger) {
    const config = reportsConfigSchema.parse({
      time_zone: 'Europe/Berlin',
      schedules: [
        {
          name: 'monthly',
          cron: '0 9 1 * *',
          period: 'month',
          formats: ['html', 'csv', 'json', 'md'],
          dir,
          slack: { receiver: 'mgmt', link: 'https://reports.example.com/slo' },
        },
      ],
    });
    const receivers = receiversSchema.parse([
      { name: 'mgmt', slack_configs: [{ webhook_url: slack.url(`/services/${TOKEN}`) }] },
    ]);
    return {
      config,
      scheduler: new ReportScheduler({
        config,
        receivers,
        delivery: deliverySchema.parse({
          timeout: '2s',
          give_up_after: '1s',
          initial_backoff: '10ms',
          max_backoff: '10ms',
        }),
        store,
        slos: SLOS,
        logger,
        clock: () => NOW,
        sleep: async () => {},
        random: () => 0,
      }),
    };
  }

  it('the 09:00 run on the 1st reports the month before, in the configured zone', () => {
    const { config } = scheduler(temp('halo-sched-'));
    const p = scheduledPeriod(config.schedules[0]!, NOW, config.time_zone);
    expect(p.period.label).toBe('2026-10');
    expect(p.period.from).toBe(Date.parse('2026-09-30T22:00:00Z'));
  });

  it('a run writes every format and posts the summary with links to Slack', async () => {
    const dir = temp('halo-sched-');
    slack.requests.length = 0;
    const { scheduler: s } = scheduler(dir);
    const result = await s.run(scheduler(dir).config.schedules[0]!, NOW);
    expect(result.period).toBe('2026-10');
    expect(result.errors).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(
      [
        'slo-report-2026-10.csv',
        'slo-report-2026-10.html',
        'slo-report-2026-10.incidents.csv',
        'slo-report-2026-10.json',
        'slo-report-2026-10.md',
      ].sort(),
    );
    const json = JSON.parse(readFileSync(join(dir, 'slo-report-2026-10.json'), 'utf8')) as {
      slos: Array<{ total_events: number; attained_percent: number; status: string }>;
    };
    expect(json.slos[0]).toMatchObject({ total_events: 1002, status: 'met' });
    expect(json.slos[0]!.attained_percent).toBeCloseTo((1000 / 1002) * 100, 9);
    expect(result.slack.map((r) => r.outcome)).toEqual(['sent']);
    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0]!.path).toBe(`/services/${TOKEN}`);
    const message = JSON.parse(slack.requests[0]!.body) as { text: string; blocks: unknown[] };
    expect(message.text).toBe('SLO report: October 2026: 1 of 1 SLOs met');
    const body = JSON.stringify(message.blocks);
    expect(body).toContain('99.800%');
    expect(body).toContain(
      '<https://reports.example.com/slo/slo-report-2026-10.html|slo-report-2026-10.html>',
    );
  });

  it('a Slack that refuses: the files are kept, the error and the logs name no webhook URL', async () => {
    const dir = temp('halo-sched-');
    const { logger, lines } = captured();
    const { scheduler: s, config } = scheduler(dir, logger);
    slack.script(
      { status: 500, echo: true },
      { status: 500, echo: true },
      { status: 404, echo: true },
    );
    const result = await s.run(config.schedules[0]!, NOW);
    expect(result.files).toContain('slo-report-2026-10.html');
    expect(result.slack[0]!.outcome).not.toBe('sent');
    expect(result.slack[0]!.error).toMatch(/slack webhook #1 of receiver mgmt/);
    const everything = `${JSON.stringify(result)}\n${lines.join('')}`;
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of [TOKEN, 'XyZsEcReTtOkEn123', slack.url(`/services/${TOKEN}`)])
      expect(everything).not.toContain(secret);
  });

  it('a PDF without Chromium is reported; the other formats are still written', async () => {
    const dir = temp('halo-sched-');
    const config = reportsConfigSchema.parse({
      chromium: '/nonexistent/chromium',
      schedules: [
        { name: 'weekly', cron: '0 8 * * 1', period: 'week', formats: ['pdf', 'json'], dir },
      ],
    });
    const s = new ReportScheduler({
      config,
      receivers: [],
      store,
      slos: SLOS,
      logger: captured().logger,
      clock: () => NOW,
    });
    const result = await s.run(config.schedules[0]!, NOW);
    expect(result.files).toEqual(['slo-report-2026-W43.json']);
    expect(result.errors).toEqual([expect.stringMatching(/^pdf: a PDF needs headless Chromium/)]);
  });

  it('bad schedule config is refused line by line', () => {
    const bad = reportsConfigSchema.safeParse({
      time_zone: 'Europe/Nowhere',
      schedules: [
        { name: 'x', cron: 'every monday', period: 'fortnight', dir: '/tmp' },
        { name: 'y', cron: '0 9 1 * *', period: 'month' },
      ],
    });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'time_zone: expected an IANA time zone like Europe/Berlin',
        'schedules.0.cron: expected a cron expression like "0 9 1 * *"',
        'schedules.0.period: expected month, quarter, week or a duration of an hour or more like 7d',
        'schedules.1: expected dir, slack or both: where the report goes',
      ]),
    );
    expect(
      () =>
        new ReportScheduler({
          config: reportsConfigSchema.parse({
            schedules: [
              { name: 'z', cron: '0 9 1 * *', period: 'month', slack: { receiver: 'nobody' } },
            ],
          }),
          receivers: [],
          store,
          slos: SLOS,
          logger: captured().logger,
        }),
    ).toThrow('slack.receiver "nobody" is not in notify.receivers');
  });
});

describe('halo report, the command', () => {
  const dir = temp('halo-report-cli-');
  const sloFile = join(dir, 'slo.yaml');
  const configFile = join(dir, 'halo.yaml');
  writeFileSync(
    sloFile,
    `apiVersion: halo/v1
kind: SLO
metadata: { name: web-availability }
spec:
  service: web
  objective: 99.9
  window: { rolling: 30d }
  sli:
    ratio:
      bad: { metric: web_requests_total, matchers: { code: "500" } }
      total: { metric: web_requests_total }
`,
  );
  writeFileSync(
    configFile,
    `data_dir: ${join(dir, 'data')}\nreports: { time_zone: America/New_York }\n`,
  );
  const halo = (...args: string[]) =>
    run(process.execPath, ['cli/bin.js', '-c', configFile, 'report', ...args], {
      timeout: 120_000,
    });

  it('writes CSV of an empty store: the columns, the SLO with no data', async () => {
    await run(process.execPath, ['cli/bin.js', '-c', configFile, 'migrate'], { timeout: 120_000 });
    const { stdout } = await halo('--period', '2026-10', '--format', 'csv', '--slos', sloFile);
    const [header, line] = stdout.trimEnd().split('\r\n');
    expect(header).toMatch(/^period,period_from,period_to,time_zone,service,slo,instance,sli,/);
    expect(line).toMatch(
      /^2026-10,2026-10-01T04:00:00\.000Z,2026-11-01T04:00:00\.000Z,America\/New_York,web,web-availability,,ratio,99\.9,0,0,0,,/,
    );
    expect(line).toContain(',no data,');
  }, 120_000);

  it('refuses a bad period, format or missing --out for pdf, and exits 2', async () => {
    for (const [args, message] of [
      [['--period', '2026-13'], 'month 13 is not 01–12'],
      [
        ['--period', '2026-10', '--format', 'docx'],
        '--format "docx": expected html, md, csv, json, pdf',
      ],
      [['--period', '2026-10', '--format', 'pdf'], '--format pdf writes a file: give --out PATH'],
      [[], 'give one of --period'],
    ] as const) {
      const err = (await halo(...args, '--slos', sloFile).then(
        () => undefined,
        (e: unknown) => e,
      )) as { code: number; stderr: string } | undefined;
      expect(err, args.join(' ')).toBeDefined();
      expect(err!.code).toBe(2);
      expect(err!.stderr).toContain(message);
    }
  }, 120_000);
});
