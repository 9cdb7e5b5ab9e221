// `halo demo-app`, the demo's shop on its own: its routes with the demo's statuses, /metrics as
// the agent's prometheus source reads it, JSON log lines the logs source parses, and its traffic.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemoApp, type DemoApp } from '../cli/demo/app.ts';
import { silentLogger } from '../core/logger.ts';
import { freePort } from './helpers/ports.ts';
import { tempDir } from './helpers/temp.ts';
import { until } from './helpers/wait.ts';

let app: DemoApp | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

const counter = (metrics: string, route: string) =>
  [
    ...metrics.matchAll(
      new RegExp(
        `^http_requests_total\\{[^}]*route="${route.replace(/\//g, '\\/')}"[^}]*\\} (\\d+)`,
        'gm',
      ),
    ),
  ].reduce((n, m) => n + Number(m[1]), 0);

describe('halo demo-app', () => {
  it('serves the shop routes, counts them on /metrics and logs a JSON line per request', async () => {
    const logFile = join(tempDir('halo-demo-app-'), 'logs', 'app.log');
    app = await startDemoApp({
      address: '127.0.0.1',
      port: await freePort(),
      rps: 20,
      logFile,
      logger: silentLogger(),
      seed: 7,
    });
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${app.url}/no-such-page`)).status).toBe(404);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push((await fetch(`${app.url}/api/products/${i + 1}`)).status);
    }
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(15);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(counter(metrics, '/api/products')).toBe(20);
    expect(metrics).toMatch(
      /^http_request_duration_seconds_bucket\{le="0\.5",method="GET",route="\/api\/products"\} \d+$/m,
    );
    const lines = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(20);
    expect(lines[0]).toMatchObject({
      method: 'GET',
      path: '/api/products/1',
      route: '/api/products',
    });
    expect(['info', 'warn', 'error']).toContain(lines[0]!['level']);
  });

  it('sends the demo traffic mix to a URL, here its own', async () => {
    const port = await freePort();
    app = await startDemoApp({
      address: '127.0.0.1',
      port,
      rps: 50,
      traffic: `http://127.0.0.1:${port}`,
      logger: silentLogger(),
      seed: 3,
    });
    await until(
      async () => {
        const metrics = await (await fetch(`${app!.url}/metrics`)).text();
        return counter(metrics, '/api/products') > 10 && counter(metrics, '/') > 2;
      },
      'traffic through the routes',
      15_000,
    );
  });
});
