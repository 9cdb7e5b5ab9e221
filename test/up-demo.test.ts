// The README's main command as a newcomer runs it: `halo up` with its demo HA stack catches the
// scripted incident, pages a webhook and resolves; the status page shows both, in Chromium too;
// SIGINT leaves no process behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { findChromium } from '../alerter/report/chromium.ts';
import { alive, haloEnv } from './helpers/halo-process.ts';
import { freePort } from './helpers/ports.ts';
import { startReceiverServer, type ReceiverServer } from './helpers/receiver-server.ts';
import { tempDir } from './helpers/temp.ts';
import { until } from './helpers/wait.ts';

const bin = join(import.meta.dirname, '..', 'cli', 'bin.js');

interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  fingerprint: string;
}
interface WebhookBody {
  status: 'firing' | 'resolved';
  alerts: WebhookAlert[];
}

let child: ChildProcess | undefined;
let receiver: ReceiverServer | undefined;
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await receiver?.close();
});

/** Processes whose command line names `dir` (the data dir of this run). */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(dir)) pids.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return pids;
}

/** The time of the first JSON log line that `match` accepts. */
function logTime(log: string, match: (line: Record<string, unknown>) => boolean): number {
  for (const text of log.split('\n')) {
    if (!text.startsWith('{')) continue;
    const line = JSON.parse(text) as Record<string, unknown>;
    if (match(line)) {
      const time = line['time'];
      return typeof time === 'number' ? time : Date.parse(String(time));
    }
  }
  throw new Error('no such log line');
}

/** Count of pixels near an RGB colour. */
function pixelsNear(png: PNG, [r, g, b]: [number, number, number], tolerance = 24): number {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    if (
      Math.abs(png.data[i]! - r) <= tolerance &&
      Math.abs(png.data[i + 1]! - g) <= tolerance &&
      Math.abs(png.data[i + 2]! - b) <= tolerance
    )
      n++;
  }
  return n;
}

describe('halo up with the demo HA stack', () => {
  it('pages for the scripted incident, resolves it, shows both on the status page and stops clean', async () => {
    receiver = await startReceiverServer();
    const cwd = tempDir('halo-up-demo-');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const started = Date.now();
    child = spawn(
      process.execPath,
      [
        bin,
        'up',
        '--incident-after',
        '30s',
        '--incident-errors-for',
        '45s',
        '--incident-down-for',
        '60s',
      ],
      {
        cwd,
        env: haloEnv({ HALO_HTTP_PORT: String(port), HALO_WEBHOOK_URL: receiver.url('/hook') }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const failed = () => `\n--- stderr (last 3000) ---\n${stderr.slice(-3000)}`;

    await until(async () => (await fetch(`${url}/readyz`)).status === 200, 'readyz', 60_000);
    // First data: an SLO evaluated over stored samples of the demo's load balancer.
    await until(
      async () => {
        const body = (await (await fetch(`${url}/api/v1/slos`)).json()) as {
          slos: Array<{ name: string; instances: Array<{ total: number }> }>;
        };
        const front = body.slos.find((s) => s.name === 'front-door-availability');
        return (front?.instances[0]?.total ?? 0) > 0;
      },
      'first data',
      90_000,
    ).catch((err: Error) => {
      throw new Error(err.message + failed());
    });
    const firstData = Date.now() - started;

    const notifications = () =>
      receiver!.requests
        .filter((r) => r.path === '/hook')
        .map((r) => ({ at: r.at, body: JSON.parse(r.body) as WebhookBody }));
    const pageAlert = (status: 'firing' | 'resolved') =>
      notifications().find((n) =>
        n.body.alerts.some(
          (a) =>
            a.status === status &&
            a.labels['slo'] === 'front-door-availability' &&
            a.labels['severity'] === 'page',
        ),
      );

    await until(async () => pageAlert('firing') !== undefined, 'the page', 150_000).catch(
      (err: Error) => {
        throw new Error(err.message + failed());
      },
    );
    const page = pageAlert('firing')!;
    const incidentAt = logTime(stderr, (line) => line['phase'] === 'errors');
    // The console receiver printed it too.
    expect(stdout).toContain('[FIRING:1] front-door-availability');

    // On the status page while it fires: the SLO's row, and the alert's row marked firing.
    const fingerprint = page.body.alerts.find((a) => a.labels['severity'] === 'page')!.fingerprint;
    const alertRow = (html: string) =>
      new RegExp(`<tr class="([^"]*)" data-fingerprint="${fingerprint}">`).exec(html)?.[1];
    const firingHtml = await (await fetch(`${url}/status`)).text();
    expect(firingHtml).toContain('<tr data-slo="front-door-availability"');
    expect(alertRow(firingHtml)).toMatch(/^firing/);

    // In Chromium: the page renders, with its firing colour on it.
    const executablePath = findChromium();
    expect(executablePath, 'Chromium (apt-get install chromium)').toBeDefined();
    browser = await chromium.launch({ executablePath: executablePath!, args: ['--no-sandbox'] });
    const tab = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    await tab.goto(`${url}/status`);
    const shot = PNG.sync.read(await tab.screenshot({ fullPage: false }));
    expect(shot.width).toBe(1280);
    expect(await tab.locator('text=front-door-availability').count()).toBeGreaterThan(0);
    expect(pixelsNear(shot, FIRING_RGB), 'firing colour on the page').toBeGreaterThan(200);
    expect(pixelsNear(shot, [255, 255, 255]), 'a mostly light page').toBeGreaterThan(
      (shot.width * shot.height) / 3,
    );

    // The web tier loses a member: its redundancy alert fires, and holds down web-2's own.
    await until(
      async () =>
        notifications().some((n) =>
          n.body.alerts.some(
            (a) => a.status === 'firing' && a.labels['alertname'] === 'web-redundancy',
          ),
        ),
      'the web tier redundancy alert',
      120_000,
    );

    await until(async () => pageAlert('resolved') !== undefined, 'the resolve', 240_000).catch(
      (err: Error) => {
        throw new Error(err.message + failed());
      },
    );
    const resolvedHtml = await (await fetch(`${url}/status`)).text();
    const firingNow = (await (await fetch(`${url}/api/v1/alerts?state=firing`)).json()) as {
      alerts: Array<{ labels: Record<string, string> }>;
    };
    expect(
      firingNow.alerts.filter(
        (a) => a.labels['slo'] === 'front-door-availability' && a.labels['severity'] === 'page',
      ),
    ).toEqual([]);
    expect(resolvedHtml).toContain('<tr data-slo="front-door-availability"');
    expect(alertRow(resolvedHtml)).toBeUndefined();
    // web-2's own silence was never paged while the tier-wide alert covered it.
    expect(
      notifications().some((n) =>
        n.body.alerts.some(
          (a) =>
            a.status === 'firing' &&
            a.labels['alertname'] === 'member-silent' &&
            a.labels['host'] === 'web-2',
        ),
      ),
    ).toBe(false);

    console.log(
      `halo up demo: first data ${(firstData / 1000).toFixed(1)} s after start; ` +
        `page ${((page.at - incidentAt) / 1000).toFixed(1)} s after the incident started`,
    );

    // SIGINT: exit 0, and nothing of this run left running (nats-server included).
    const natsPid = Number(readFileSync(join(cwd, 'data', 'nats', 'nats-server.pid'), 'utf8'));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(alive(natsPid)).toBe(false);
    expect(processesUsing(cwd)).toEqual([]);
  }, 600_000);
});

/** The status page's colour of a firing state (alerter/status/html.ts). */
const FIRING_RGB: [number, number, number] = [0xc6, 0x28, 0x28];
